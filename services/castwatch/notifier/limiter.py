"""Asyncio rate limiter for Telegram: 1 message/s per chat, 30/s overall — as the peer sees it.

Per key (chat), sends are serialised and the next one starts no earlier than ``1/per_key``
seconds after the previous one *finished*, so the gap the provider observes can never shrink
below the limit, whatever the event loop's or the network's jitter (and messages to one chat
keep their order). Overall, at most ``overall/margin`` sends start in any 1 s window (the
margin absorbs jitter between starting a request and its arrival). A provider's
``retry_after`` pushes a key's next start (:meth:`penalize`). One event loop only.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class RateLimiter:
    def __init__(
        self, per_key_per_s: float, overall_per_s: float,
        clock: Callable[[], float] = time.monotonic, overall_margin: float = 1.2,
    ) -> None:
        self._key_gap = 1.0 / per_key_per_s
        self.capacity = max(1, int(overall_per_s / overall_margin))
        self._clock = clock
        self._free_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._recent: deque[float] = deque()
        self._overall = asyncio.Lock()

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold the right to send one request to ``key`` for the duration of the block."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            wait = self._free_at.get(key, 0.0) - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._admit()
            try:
                yield
            finally:
                self._free_at[key] = max(self._free_at.get(key, 0.0), self._clock() + self._key_gap)
                self._forget_idle()

    async def _admit(self) -> None:
        async with self._overall:
            while True:
                now = self._clock()
                while self._recent and self._recent[0] <= now - 1.0:
                    self._recent.popleft()
                if len(self._recent) < self.capacity:
                    self._recent.append(now)
                    return
                await asyncio.sleep(self._recent[0] + 1.0 - now)

    def penalize(self, key: str, seconds: float) -> None:
        """The provider said: wait ``seconds`` before sending to ``key`` again."""
        self._free_at[key] = max(self._free_at.get(key, 0.0), self._clock() + seconds)

    def _forget_idle(self) -> None:
        if len(self._locks) <= 10_000:
            return
        now = self._clock()
        for key in [k for k, lock in self._locks.items()
                    if not lock.locked() and self._free_at.get(k, 0.0) < now]:
            self._locks.pop(key, None)
            self._free_at.pop(key, None)
