"""Asyncio rate limiter for Telegram: 1 message/s per chat, 30/s overall — as the peer sees it.

Both limits are enforced on what the provider can observe, whatever the event loop's or the
network's jitter: per key (chat), sends are serialised and the next one starts no earlier than
``1/per_key`` seconds after the previous one *finished* (messages to one chat keep their order);
overall, a send starts only while fewer than ``overall`` requests are in flight or finished
within the last second. A provider's ``retry_after`` pushes a key's next start
(:meth:`penalize`). One event loop only.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress


class RateLimiter:
    def __init__(
        self, per_key_per_s: float, overall_per_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key_gap = 1.0 / per_key_per_s
        self.capacity = max(1, int(overall_per_s))
        self._clock = clock
        self._free_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._in_flight = 0
        self._done: deque[float] = deque()  # completion times of the last second
        self._changed = asyncio.Event()

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
                self._in_flight -= 1
                self._done.append(self._clock())
                self._changed.set()
                self._free_at[key] = max(self._free_at.get(key, 0.0), self._clock() + self._key_gap)
                self._forget_idle()

    async def _admit(self) -> None:
        """Admit when requests in flight plus those finished within 1 s are under capacity.

        Every request arrives at the peer between its admission and its completion, so no 1 s
        window at the peer can hold more than ``capacity`` requests.
        """
        while True:
            now = self._clock()
            while self._done and self._done[0] <= now - 1.0:
                self._done.popleft()
            if self._in_flight + len(self._done) < self.capacity:
                self._in_flight += 1
                return
            self._changed.clear()
            timeout = self._done[0] + 1.0 - now if self._done else None
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)

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
