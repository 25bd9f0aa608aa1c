"""In-process token buckets: ``rate_per_minute`` requests per key, burst up to the same number.

One :class:`RateLimiter` per worker process (each gunicorn worker counts on its own, so the
effective limit is ``workers × rate``; with the default single worker it is exact).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Token buckets by key; :meth:`take` answers ``0`` (allowed) or seconds to wait."""

    def __init__(
        self, rate_per_minute: int, *, clock: Callable[[], float] = time.monotonic,
        max_keys: int = 50_000,
    ) -> None:
        self.capacity = float(rate_per_minute)
        self.refill_per_s = rate_per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """Spend one token of ``key``'s bucket; ``0`` when allowed, else Retry-After seconds."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.refill_per_s)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return 0
            self._store(key, tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.refill_per_s))

    def _store(self, key: str, tokens: float, now: float) -> None:
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            # Forget full buckets first: they carry no information (a fresh bucket is full).
            full = [k for k, (t, a) in self._buckets.items()
                    if t + (now - a) * self.refill_per_s >= self.capacity]
            for k in full or list(self._buckets)[: self._max_keys // 10]:
                del self._buckets[k]
        self._buckets[key] = (tokens, now)
