"""RemovableHandle: what every register_*hook returns, as torch.utils.hooks.RemovableHandle."""

import itertools
import weakref

_next_id = itertools.count()


class RemovableHandle:
    """Removes one hook from the dict that holds it; usable as a context manager.

    The handle holds the dict weakly, so it keeps neither the hook nor its owner alive.
    """

    def __init__(self, hooks_dict, *extra_dicts):
        self.id = next(_next_id)
        self._refs = [weakref.ref(d) for d in (hooks_dict, *extra_dicts)]

    def remove(self):
        for ref in self._refs:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


class HookDict(dict):
    """A dict that can be weakly referenced (a plain dict cannot), keyed by handle id."""
