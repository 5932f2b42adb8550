using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using Passthrough.Errors;
using Passthrough.Rom;
using Passthrough.Testing;

namespace Passthrough.Tests.Rom;

public class RomParserPropertyTests
{
    /// <summary>Small valid ROMs (a few blocks per image, so 10,000 runs stay fast).</summary>
    private static readonly byte[][] Bases =
    [
        new RomImageBuilder().Add(RomImageSpec.Legacy with { Blocks = 4 }).Build(),
        new RomImageBuilder().Add(RomImageSpec.Legacy with { Blocks = 4 }).Add(RomImageSpec.Efi with { Blocks = 2 }).Build(),
        new RomImageBuilder().Header(0x21C).Add(RomImageSpec.Legacy with { Blocks = 2, PcirOffset = 0x40 }).Add(RomImageSpec.Efi with { Blocks = 2 }).Build(),
        new RomImageBuilder().Add(RomImageSpec.Legacy with { Blocks = 2, DeviceList = [0x744c, 0x7448] }).Add(RomImageSpec.Efi with { Blocks = 1 }).Trailing(64).Build(),
    ];

    /// <summary>One change: set a byte, set a 16-bit word, cut the file, or insert or remove bytes.</summary>
    private sealed record Mutation(int Kind, int Position, int Value);

    [Test]
    public void Random_mutations_of_valid_roms_never_raise_anything_but_our_own_error()
    {
        var mutation = Gen.Choose(0, 4).SelectMany(kind => Gen.Choose(0, int.MaxValue).SelectMany(position => Gen.Choose(0, 0xFFFF).Select(value => new Mutation(kind, position, value))));
        var cases = Gen.Choose(0, Bases.Length - 1).SelectMany(b => Gen.Choose(0, 1).SelectMany(bias => Gen.ListOf(mutation).Select(ms => (b, bias, ms))));
        var outcomes = new int[2];

        Prop.ForAll(Arb.From(cases), c =>
        {
            var bytes = Mutate(Bases[c.b], c.bias == 1, c.ms);
            try
            {
                var rom = RomParser.Parse(bytes);
                outcomes[0]++;
                return rom.Images.Count > 0 && rom.Images.All(i => i.Offset + i.Length <= bytes.Length);
            }
            catch (PassthroughException e)
            {
                outcomes[1]++;
                return e.Kind == FailureKind.InvalidInput && e.Message.Contains("0x", StringComparison.Ordinal);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(10_000).WithQuietOnSuccess(true));

        Assert.That(outcomes.Sum(), Is.GreaterThanOrEqualTo(10_000));
        Assert.That(outcomes, Has.All.GreaterThan(500), "both parsed and rejected inputs are exercised");
    }

    private static byte[] Mutate(byte[] original, bool structural, IEnumerable<Mutation> mutations)
    {
        var bytes = new List<byte>(original);
        foreach (var m in mutations)
        {
            if (bytes.Count == 0)
            {
                break;
            }

            var at = Position(bytes, structural, m.Position);
            switch (m.Kind)
            {
                case 0:
                    bytes[at] = (byte)m.Value;
                    break;
                case 1:
                    bytes[at] = (byte)m.Value;
                    if (at + 1 < bytes.Count)
                    {
                        bytes[at + 1] = (byte)(m.Value >> 8);
                    }

                    break;
                case 2:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 3:
                    bytes.InsertRange(at, Enumerable.Repeat((byte)m.Value, 1 + (m.Value % 7)));
                    break;
                default:
                    bytes.RemoveRange(at, Math.Min(1 + (m.Value % 7), bytes.Count - at));
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Half the runs aim at the fields the parser reads (ROM header, PCIR area).</summary>
    private static int Position(List<byte> bytes, bool structural, int seed)
    {
        if (!structural)
        {
            return seed % bytes.Count;
        }

        int[] hot = [0x00, 0x01, 0x02, 0x04, 0x08, 0x0C, 0x16, 0x18, 0x19, 0x21C, 0x234, 0x235];
        var pcir = 0x190 + (seed % 0x20);
        var pick = (seed / 0x20) % (hot.Length + 2);
        var at = pick < hot.Length ? hot[pick] : pick == hot.Length ? pcir : 0x800 + (seed % 0x40);
        return at % bytes.Count;
    }
}
