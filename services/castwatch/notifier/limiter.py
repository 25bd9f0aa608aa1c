"""Asyncio rate limiter: at most one send per ``1/per_key`` seconds per key and ``overall``/s.

Spacing-based: each grant reserves a time slot at least ``1/per_key`` after the key's previous
slot and at least ``1/overall`` away from every other reserved slot (the earliest free gap, so
a chat waiting for its next second never holds up other chats). Bursts never exceed the
limits even for an instant. A provider's 429 ``retry_after`` pushes a key's next slot (:meth:`penalize`).
Single event loop only; no locks needed.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self, per_key_per_s: float, overall_per_s: float,
        clock: Callable[[], float] = time.monotonic, margin: float = 1.02,
    ) -> None:
        self._key_gap = margin / per_key_per_s
        self._overall_gap = margin / overall_per_s
        self._clock = clock
        self._next_key: dict[str, float] = {}
        self._slots: list[float] = []  # reserved slots, sorted

    def reserve(self, key: str) -> float:
        """Reserve the earliest slot for ``key``; returns how long to wait for it."""
        now = self._clock()
        gap = self._overall_gap
        drop = bisect.bisect_left(self._slots, now - gap)
        if drop:
            del self._slots[:drop]
        slot = max(now, self._next_key.get(key, 0.0))
        i = bisect.bisect_left(self._slots, slot - gap + 1e-9)
        while i < len(self._slots) and self._slots[i] < slot + gap - 1e-9:
            slot = max(slot, self._slots[i] + gap)
            i += 1
        bisect.insort(self._slots, slot)
        self._next_key[key] = slot + self._key_gap
        if len(self._next_key) > 10_000:  # forget idle keys
            self._next_key = {k: v for k, v in self._next_key.items() if v > now}
        return slot - now

    async def acquire(self, key: str) -> None:
        wait = self.reserve(key)
        if wait > 0:
            await asyncio.sleep(wait)

    def penalize(self, key: str, seconds: float) -> None:
        """The provider said wait ``seconds`` for ``key``."""
        self._next_key[key] = max(self._next_key.get(key, 0.0), self._clock() + seconds)
