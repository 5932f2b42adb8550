using System.Text.Json;
using NUnit.Framework;
using Passthrough.Adapters;
using Passthrough.Adapters.Processes;
using Passthrough.Testing;

namespace Passthrough.Tests.Rom;

public class RomVerbTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("rom-verb");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public void I_can_inspect_a_rom_as_json_in_the_documented_shape()
    {
        var file = Write("navi31.rom", RomImageBuilder.LegacyAndEfi());

        var result = CliRun.Run("rom", "inspect", file, "--json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "file", "size", "headerBytes", "images", "uefiCapable", "findings" }));
        Assert.That(root.GetProperty("file").GetString(), Is.EqualTo(file));
        Assert.That(root.GetProperty("size").GetInt32(), Is.EqualTo(49152));
        Assert.That(root.GetProperty("headerBytes").GetInt32(), Is.Zero);
        Assert.That(root.GetProperty("uefiCapable").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("findings").GetArrayLength(), Is.Zero);
        var first = root.GetProperty("images")[0];
        Assert.That(first.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "offset", "codeType", "vendorId", "deviceId", "classCode", "length", "last", "checksumOk", "codeRevision", "efi" }));
        Assert.That(first.GetRawText(), Does.Contain("\"vendorId\": \"1002\"").And.Contain("\"deviceId\": \"744c\"").And.Contain("\"classCode\": \"030000\""));
        Assert.That(first.GetProperty("length").GetInt32(), Is.EqualTo(32768));
        Assert.That(first.GetProperty("last").GetBoolean(), Is.False);
        Assert.That(first.GetProperty("checksumOk").GetBoolean(), Is.True);
        var efi = root.GetProperty("images")[1];
        Assert.That(efi.GetProperty("codeType").GetInt32(), Is.EqualTo(3));
        Assert.That(efi.GetProperty("offset").GetInt32(), Is.EqualTo(32768));
        Assert.That(efi.GetProperty("last").GetBoolean(), Is.True);
        Assert.That(efi.GetProperty("checksumOk").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(first.GetProperty("codeRevision").GetInt32(), Is.EqualTo(1));
        Assert.That(first.GetProperty("efi").ValueKind, Is.EqualTo(JsonValueKind.Null), "not an EFI image");
        Assert.That(efi.GetProperty("codeRevision").GetInt32(), Is.Zero);
        var efiHeader = efi.GetProperty("efi");
        Assert.That(efiHeader.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "subsystem", "machineType", "compressed" }));
        Assert.That(efiHeader.GetProperty("subsystem").GetInt32(), Is.EqualTo(11));
        Assert.That(efiHeader.GetProperty("machineType").GetString(), Is.EqualTo("8664"));
        Assert.That(efiHeader.GetProperty("compressed").GetBoolean(), Is.True);
    }

    [Test]
    public void I_see_the_efi_fields_of_an_aarch64_application_image_as_json_and_why_it_is_not_uefi_capable()
    {
        var bytes = new RomImageBuilder().Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi with { EfiMachine = 0xAA64, EfiCompression = 0, CodeRevision = 7 }).Build();
        var file = Write("arm.rom", bytes);

        var json = CliRun.Run("rom", "inspect", file, "--json");
        var text = CliRun.Run("rom", "inspect", file);

        Assert.That(json.ExitCode, Is.EqualTo(1), json.ToString());
        using var document = JsonDocument.Parse(json.Stdout);
        var efi = document.RootElement.GetProperty("images")[1];
        Assert.That(efi.GetProperty("codeRevision").GetInt32(), Is.EqualTo(7));
        Assert.That(efi.GetProperty("efi").GetProperty("machineType").GetString(), Is.EqualTo("aa64"));
        Assert.That(efi.GetProperty("efi").GetProperty("compressed").GetBoolean(), Is.False);
        Assert.That(document.RootElement.GetProperty("uefiCapable").GetBoolean(), Is.False);
        Assert.That(text.Stdout, Does.Contain("UEFI capable: no (the EFI image at 0x8000: it is an EFI image for AArch64 (0xAA64): OVMF on x86-64 will not load it)"));
    }

    [Test]
    public void A_stray_signature_in_an_nvflash_header_neither_reads_as_damage_nor_blocks_rom_fix()
    {
        const int header = (200 * 1024) + 0x21C;
        var original = RomBytes.WithU16(
            new RomImageBuilder().RandomHeader(header, seed: 64, 0x2001, 0x15557, header - (3 * 512)).Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi).Build(),
            header - (3 * 512) + 0x18,
            0x40);
        var input = Write("nvflash.rom", original);
        var output = _dir.Combine("fixed.rom");

        var inspect = CliRun.Run("rom", "inspect", input);
        var fix = CliRun.Run("rom", "fix", input, "-o", output);

        Assert.That(inspect.ExitCode, Is.EqualTo(1), inspect.ToString());
        Assert.That(inspect.Stdout, Does.Contain(FormattableString.Invariant($"Header: {header} bytes")).And.Contain("UEFI capable: yes").And.Contain("rom fix"));
        Assert.That(inspect.Stdout, Does.Not.Contain("damaged").And.Not.Contain("do not cut"));
        Assert.That(fix.ExitCode, Is.Zero, fix.ToString());
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(original[header..]), "55 AA at offset 0, as OVMF needs");
        Assert.That(CliRun.Run("rom", "inspect", output).ExitCode, Is.Zero, "the fixed ROM inspects clean");
    }

    [Test]
    public void I_am_told_a_legacy_option_rom_is_not_a_gpu_rom()
    {
        var result = CliRun.Run("rom", "inspect", Write("serial.rom", RomImageBuilder.LegacyOptionRom()));

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("legacy BIOS option ROM without a PCI data structure").And.Contain("not usable as a GPU ROM"));
        Assert.That(result.Stderr, Does.Not.Contain("damaged"));
    }

    [Test]
    public void I_can_read_the_images_and_verdicts_as_text()
    {
        var file = Write("navi31.rom", RomImageBuilder.LegacyAndEfi());

        var result = CliRun.Run("rom", "inspect", file);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("49152 bytes, 2 images"));
        Assert.That(result.Stdout, Does.Contain("0 (x86 PC-AT)").And.Contain("3 (EFI)").And.Contain("1002:744c"));
        Assert.That(result.Stdout, Does.Contain("Boot Service Driver, x64, EFI compression"));
        Assert.That(result.Stdout, Does.Contain("UEFI capable: yes").And.Contain("Header: none"));
    }

    [Test]
    public void I_get_exit_1_and_a_warning_for_a_rom_with_a_header_or_without_an_efi_image()
    {
        var withHeader = Write("dl.rom", RomImageBuilder.WithVendorHeader(0x21C));
        var legacy = Write("legacy.rom", RomImageBuilder.LegacyOnly());

        var header = CliRun.Run("rom", "inspect", withHeader, "--json");
        var noUefi = CliRun.Run("rom", "inspect", legacy);

        Assert.That(header.ExitCode, Is.EqualTo(1), header.ToString());
        using var json = JsonDocument.Parse(header.Stdout);
        Assert.That(json.RootElement.GetProperty("headerBytes").GetInt32(), Is.EqualTo(0x21C));
        Assert.That(json.RootElement.GetProperty("images")[0].GetProperty("offset").GetInt32(), Is.EqualTo(0x21C));
        var finding = json.RootElement.GetProperty("findings")[0];
        // Issue 13: one finding type, one JSON key: `id` as in doctor and xml lint (this contract said `code`).
        Assert.That(finding.GetProperty("id").GetString(), Is.EqualTo("header"));
        Assert.That(finding.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(noUefi.ExitCode, Is.EqualTo(1));
        Assert.That(noUefi.Stdout, Does.Contain("UEFI capable: no").And.Contain("warning: No EFI image"));
    }

    [Test]
    public void I_can_check_that_a_rom_belongs_to_my_gpu()
    {
        var root = HostWithGpu(vendor: "0x1002", device: "0x744c", rom: null);
        var right = Write("right.rom", RomImageBuilder.LegacyAndEfi(0x1002, 0x744c));
        var wrong = Write("wrong.rom", RomImageBuilder.LegacyAndEfi(0x10de, 0x2204));

        var ok = CliRun.Run("--root", root, "rom", "inspect", right, "--slot", "0000:03:00");
        var mismatch = CliRun.Run("--root", root, "rom", "inspect", wrong, "--slot", "03:00");

        Assert.That(ok.ExitCode, Is.Zero, ok.ToString());
        Assert.That(ok.Stdout, Does.Contain("The ROM is for 0000:03:00.0 (1002:744c)"));
        Assert.That(mismatch.ExitCode, Is.EqualTo(1), mismatch.ToString());
        Assert.That(mismatch.Stdout, Does.Contain("The ROM is for 10de:2204, but 0000:03:00.0 is 1002:744c"));
    }

    [Test]
    public void I_get_exit_2_for_a_slot_that_is_not_on_the_host()
    {
        var root = HostWithGpu("0x1002", "0x744c", rom: null);

        var result = CliRun.Run("--root", root, "rom", "inspect", Write("gpu.rom", RomImageBuilder.LegacyAndEfi()), "--slot", "0000:0a:00.0");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("No PCI device 0000:0a:00.0"));
    }

    [Test]
    public void I_get_exit_2_and_the_offset_for_a_truncated_rom()
    {
        var file = Write("cut.rom", RomImageBuilder.LegacyAndEfi()[..40000]);

        var result = CliRun.Run("rom", "inspect", file);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain(file).And.Contain("offset 0x8000").And.Contain("past the end"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
        Assert.That(result.Stdout, Is.Empty);
    }

    [TestCase(0)]
    [TestCase(100)]
    public void I_get_exit_2_for_an_empty_file_or_random_bytes(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        if (length > 0)
        {
            bytes[0] = 0;
        }

        var result = CliRun.Run("rom", "inspect", Write("junk.rom", bytes));

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("offset 0x0"));
    }

    [Test]
    public void I_can_cut_the_header_off_a_downloaded_rom_and_nothing_else_changes()
    {
        var original = new RomImageBuilder().Header(0x21C).Add(RomImageSpec.Legacy).Add(RomImageSpec.Efi).Trailing(100).Build();
        var input = Write("dl.rom", original);
        var output = _dir.Combine("fixed.rom");

        var result = CliRun.Run("rom", "fix", input, "-o", output);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(original[0x21C..]));
        Assert.That(File.ReadAllBytes(input), Is.EqualTo(original), "the input is left as it was");
        Assert.That(File.GetUnixFileMode(output), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead));
        Assert.That(result.Stdout, Does.Contain("540-byte header"));
        Assert.That(CliRun.Run("rom", "inspect", output).ExitCode, Is.Zero, "the fixed ROM inspects clean");
    }

    [Test]
    public void I_am_told_there_is_nothing_to_fix_and_nothing_is_written()
    {
        var input = Write("clean.rom", RomImageBuilder.LegacyAndEfi());
        var output = _dir.Combine("out.rom");

        var result = CliRun.Run("rom", "fix", input, "-o", output);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("Nothing to fix"));
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void I_get_exit_2_and_the_offset_when_fixing_a_damaged_rom()
    {
        // The legacy image after the header keeps its PCIR structure but declares a length of 0.
        var damaged = RomBytes.WithU16(RomImageBuilder.WithVendorHeader(0x21C), 0x21C + 0x190 + 0x10, 0);
        var output = _dir.Combine("out.rom");

        var result = CliRun.Run("rom", "fix", Write("bad.rom", damaged), "-o", output);
        var inspect = CliRun.Run("rom", "inspect", Write("bad.rom", damaged));

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("0x21c").And.Contain("nothing was written"));
        Assert.That(inspect.Stdout, Does.Contain("damaged image").And.Not.Contain("Write the ROM without it"), "no advice to run rom fix next to a possibly damaged image");
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void I_can_dump_the_rom_of_a_gpu_from_a_host_tree()
    {
        var image = RomImageBuilder.LegacyAndEfi();
        var root = HostWithGpu("0x1002", "0x744c", image);
        var output = _dir.Combine("dumped.rom");

        var result = CliRun.Run("--root", root, "rom", "dump", "0000:03:00", "-o", output);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(image));
        Assert.That(File.ReadAllBytes(Path.Join(root, "sys/bus/pci/devices/0000:03:00.0/rom")), Is.EqualTo(image), "the captured tree is left alone");
        Assert.That(result.Stdout, Does.Contain("49152 bytes read from 0000:03:00.0").And.Contain("UEFI capable: yes"));
    }

    [Test]
    public void I_get_no_file_when_the_dumped_rom_is_not_valid()
    {
        var root = HostWithGpu("0x1002", "0x744c", Enumerable.Repeat((byte)0xFF, 4096).ToArray());
        var output = _dir.Combine("dumped.rom");

        var result = CliRun.Run("--root", root, "rom", "dump", "03:00.0", "-o", output);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("4096 bytes read from 0000:03:00.0's ROM are not a valid ROM").And.Contain("Nothing was written"));
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void I_get_exit_3_when_the_gpu_has_no_rom_file()
    {
        var root = HostWithGpu("0x1002", "0x744c", rom: null);

        var result = CliRun.Run("--root", root, "rom", "dump", "0000:03:00", "-o", _dir.Combine("x.rom"));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.ToString());
        Assert.That(result.Stderr, Does.Contain("has no expansion ROM"));
    }

    [Test]
    public void I_can_install_a_rom_on_fedora_and_am_told_to_restore_the_selinux_context()
    {
        var root = HostWithGpu("0x1002", "0x744c", rom: null);
        File.WriteAllText(Path.Join(root, "etc/os-release"), "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=44\n");
        Directory.CreateDirectory(Path.Join(root, "sys/fs/selinux"));
        File.WriteAllText(Path.Join(root, "sys/fs/selinux/enforce"), "1");
        var rom = RomImageBuilder.LegacyAndEfi();
        var runner = new RecordingRunnerFake();

        var result = CliRun.RunWith(null, runner, "--root", root, "rom", "install", Write("rx7900xtx.rom", rom));

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var installed = Path.Join(root, "usr/share/qemu/rx7900xtx.rom");
        Assert.That(File.ReadAllBytes(installed), Is.EqualTo(rom));
        Assert.That(File.GetUnixFileMode(installed), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead));
        Assert.That(result.Stdout, Does.Contain("run: restorecon -v /usr/share/qemu/rx7900xtx.rom"));
        Assert.That(runner.Commands, Is.Empty, "nothing runs against the live system when --root is not /");
        Assert.That(result.Stdout, Does.Contain("<rom file='/usr/share/qemu/rx7900xtx.rom'/>"));
    }

    [Test]
    public void On_fedora_atomic_the_rom_goes_to_a_writable_directory_qemu_may_read_not_the_read_only_usr()
    {
        var root = HostWithGpu("0x1002", "0x744c", rom: null);
        File.WriteAllText(Path.Join(root, "etc/os-release"), "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=43\nVARIANT_ID=kinoite\n");
        Directory.CreateDirectory(Path.Join(root, "run"));
        File.WriteAllText(Path.Join(root, "run/ostree-booted"), string.Empty);
        Directory.CreateDirectory(Path.Join(root, "sys/fs/selinux"));
        File.WriteAllText(Path.Join(root, "sys/fs/selinux/enforce"), "1");

        var result = CliRun.Run("--root", root, "rom", "install", Write("rx7900xtx.rom", RomImageBuilder.LegacyAndEfi()));

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(File.Exists(Path.Join(root, "var/lib/libvirt/boot/rx7900xtx.rom")), Is.True);
        Assert.That(Directory.Exists(Path.Join(root, "usr/share/qemu")), Is.False, "nothing is written under the read-only /usr");
        Assert.That(result.Stdout, Does.Contain("read-only").And.Contain("virt_content_t"));
        Assert.That(result.Stdout, Does.Contain("restorecon -v /var/lib/libvirt/boot/rx7900xtx.rom").And.Contain("<rom file='/var/lib/libvirt/boot/rx7900xtx.rom'/>"));
    }

    [Test]
    public async Task On_the_live_system_with_selinux_on_the_context_is_restored_through_restorecon()
    {
        var root = HostWithGpu("0x1002", "0x744c", rom: null);
        Directory.CreateDirectory(Path.Join(root, "sys/fs/selinux"));
        File.WriteAllText(Path.Join(root, "sys/fs/selinux/enforce"), "0");
        var runner = new RecordingRunnerFake();
        using var output = new StringWriter();
        var context = new Passthrough.Cli.CliContext(output, TextWriter.Null, runner: runner);

        await Passthrough.Cli.Verbs.RomVerb.RestoreContextAsync(context, new HostRoot(root), live: true, "/usr/share/qemu/gpu.rom", CancellationToken.None);

        Assert.That(runner.Commands, Is.EqualTo(new[] { "restorecon -v /usr/share/qemu/gpu.rom" }), "permissive (0) still means SELinux is on");
        Assert.That(output.ToString(), Does.Contain("Restored the SELinux context"));
    }

    [Test]
    public void I_can_install_a_rom_on_debian_where_apparmor_lets_qemu_read_usr_share_kvm()
    {
        var root = HostWithGpu("0x1002", "0x744c", rom: null);
        File.WriteAllText(Path.Join(root, "etc/os-release"), "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nID=ubuntu\nID_LIKE=debian\n");

        var result = CliRun.Run("--root", root, "rom", "install", Write("gpu.rom", RomImageBuilder.LegacyAndEfi()), "--name", "navi31.rom");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(File.Exists(Path.Join(root, "usr/share/kvm/navi31.rom")), Is.True);
        Assert.That(result.Stdout, Does.Contain("AppArmor").And.Contain("<rom file='/usr/share/kvm/navi31.rom'/>"));
        Assert.That(result.Stdout, Does.Not.Contain("restorecon"));
    }

    [Test]
    public void I_cannot_install_a_rom_with_a_header_or_overwrite_another_one_by_accident()
    {
        var root = HostWithGpu("0x1002", "0x744c", rom: null);
        var header = CliRun.Run("--root", root, "rom", "install", Write("dl.rom", RomImageBuilder.WithVendorHeader()));
        Assert.That(header.ExitCode, Is.EqualTo(2), header.ToString());
        Assert.That(header.Stderr, Does.Contain("rom fix"));

        var first = CliRun.Run("--root", root, "rom", "install", Write("a/gpu.rom", RomImageBuilder.LegacyAndEfi()));
        var again = CliRun.Run("--root", root, "rom", "install", Write("a/gpu.rom", RomImageBuilder.LegacyAndEfi()));
        var other = CliRun.Run("--root", root, "rom", "install", Write("b/gpu.rom", RomImageBuilder.LegacyAndEfi(0x10de, 0x2204)));

        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(again.ExitCode, Is.Zero, again.ToString());
        Assert.That(again.Stdout, Does.Contain("already installed"));
        Assert.That(other.ExitCode, Is.EqualTo(2), other.ToString());
        Assert.That(other.Stderr, Does.Contain("exists with different content").And.Contain("--force"));
        Assert.That(File.ReadAllBytes(Path.Join(root, "usr/share/qemu/gpu.rom")), Is.EqualTo(RomImageBuilder.LegacyAndEfi()));
    }

    private string Write(string name, byte[] bytes)
    {
        var path = _dir.Combine("files", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A host tree (HostTreeBuilder) with the GPU at 0000:03:00.0 and its audio function; the GPU's rom file holds <paramref name="rom"/>, or is absent.</summary>
    private string HostWithGpu(string vendor, string device, byte[]? rom)
    {
        var gpu = "/sys/devices/pci0000:03/0000:03:00.0";
        var builder = new HostTreeBuilder()
            .Amd()
            .Function("0000:03:00.0", $"{vendor[2..]}:{device[2..]}", 0x030000, group: 19, rom: rom is not null)
            .Function("0000:03:00.1", $"{vendor[2..]}:ab30", 0x040300, group: 20);
        if (rom is not null)
        {
            builder.Bytes(gpu + "/rom", rom);
        }

        var root = _dir.Combine("host-" + Guid.NewGuid().ToString("N")[..8]);
        builder.WriteTo(root);
        Directory.CreateDirectory(Path.Join(root, "etc"));
        return root;
    }

    /// <summary>Records commands instead of running them; every run "succeeds".</summary>
    private sealed class RecordingRunnerFake : IProcessRunner
    {
        public List<string> Commands { get; } = [];

        public Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, ProcessOptions? options = null, CancellationToken cancellationToken = default)
        {
            var command = string.Join(' ', new[] { program }.Concat(arguments));
            Commands.Add(command);
            return Task.FromResult(new ProcessResult(command, 0, string.Empty, string.Empty, false, TimeSpan.Zero));
        }
    }
}
