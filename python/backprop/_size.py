"""backprop.Size: what ``x.shape`` and ``x.size()`` return, a tuple of ints as torch.Size is."""


class Size(tuple):
    """A tuple of ints that prints as ``backprop.Size([2, 3])``; slices and sums stay Sizes."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        items = tuple(sizes)
        for s in items:
            if isinstance(s, bool) or not hasattr(s, "__index__"):
                raise TypeError(f"Size(): expected a sequence of ints, got an element of type {type(s).__name__}")
        return super().__new__(cls, (s.__index__() for s in items))

    def __repr__(self):
        return f"backprop.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def numel(self):
        """The number of elements a tensor of this shape holds (1 for the empty Size)."""
        n = 1
        for s in self:
            n *= s
        return n

    def __reduce__(self):
        return (Size, (tuple(self),))
