using Passthrough.Domain;
using Passthrough.Errors;
using Passthrough.Rom;

namespace Passthrough.Adapters.Files;

/// <summary>Looks at a ROM file for lint: exists, readable, and (when the ROM parser can tell) UEFI-capable.</summary>
public static class RomFacts
{
    public static RomFileFacts Read(HostRoot root, string path)
    {
        var full = path.StartsWith('/') ? root.Path(path) : path;
        if (!File.Exists(full))
        {
            return new RomFileFacts(false, false, null);
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new RomFileFacts(true, false, null, e.Message);
        }

        try
        {
            var rom = RomParser.Parse(bytes);
            return new RomFileFacts(true, true, rom.UefiCapable, rom.UefiCapable ? null : rom.Images.Any(i => i.CodeType == RomCodeType.Efi) ? rom.UefiRefusal : $"{rom.Images.Count} image(s), none EFI");
        }
        catch (PassthroughException e)
        {
            return new RomFileFacts(true, true, false, "not a PCI option ROM: " + e.Message);
        }
    }
}
