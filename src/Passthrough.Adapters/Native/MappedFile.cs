using System.Buffers;

namespace Passthrough.Adapters.Native;

/// <summary>
/// A whole file mapped read-only (<see cref="LibC.MapReadOnly"/>) as <see cref="Memory{T}"/>: the bytes stay in
/// the page cache, so a 1.4 MB dictionary costs neither a heap array nor a copy. Valid until disposed.
/// </summary>
internal sealed unsafe class MappedFile : MemoryManager<byte>
{
    private nint _address;
    private readonly int _length;

    private MappedFile(nint address, int length)
    {
        _address = address;
        _length = length;
    }

    /// <summary>The mapped file, or null when it is missing, empty or cannot be mapped.</summary>
    public static MappedFile? Open(string path) =>
        LibC.MapReadOnly(path) is var (address, length) ? new MappedFile(address, length) : null;

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_address == 0, this);
        return new Span<byte>((void*)_address, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_address == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle((byte*)_address + elementIndex);
    }

    public override void Unpin()
    {
        // A mapping never moves.
    }

    protected override void Dispose(bool disposing)
    {
        if (_address != 0)
        {
            LibC.Unmap(_address, _length);
            _address = 0;
        }
    }
}
