"""Small in-process caches of values that never go stale for their key (built URLs,
signed tokens, rendered reference text): a dict, emptied when it reaches its size."""
from typing import Callable, Hashable, TypeVar

V = TypeVar("V")


def kept(cache: dict, key: Hashable, make: Callable[[], V], most: int) -> V:
    """`cache[key]`, made with `make()` on first use; the cache starts over when full."""
    value = cache.get(key)
    if value is None:
        if len(cache) >= most:
            cache.clear()
        value = cache[key] = make()
    return value
