"""When a condition becomes an alert and when it stops being one: pure, no I/O.

A condition must hold for ``raise_after_s`` (and be seen ``raise_after_count`` times) before it
raises, and must stay clear for ``clear_after_s`` before it clears. Feed observations with
monotonic times; ``observe`` returns ``"raise"`` or ``"clear"`` exactly once per transition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

K = TypeVar("K")
Transition = Literal["raise", "clear"]


@dataclass(frozen=True)
class Debounce:
    raise_after_s: float = 0.0
    raise_after_count: int = 1
    clear_after_s: float = 30.0


@dataclass
class _State:
    active: bool = False
    bad_since: float | None = None
    bad_count: int = 0
    good_since: float | None = None


@dataclass
class ConditionTracker(Generic[K]):
    """Per-key debounced state of conditions; one tracker per rule family is typical."""

    policy: Debounce = field(default_factory=Debounce)
    _states: dict[K, _State] = field(default_factory=dict)

    def observe(self, key: K, bad: bool, now: float, policy: Debounce | None = None) -> Transition | None:
        p = policy or self.policy
        st = self._states.setdefault(key, _State())
        if bad:
            st.good_since = None
            if st.bad_since is None:
                st.bad_since, st.bad_count = now, 0
            st.bad_count += 1
            if (not st.active and now - st.bad_since >= p.raise_after_s
                    and st.bad_count >= p.raise_after_count):
                st.active = True
                return "raise"
            return None
        st.bad_since, st.bad_count = None, 0
        if not st.active:
            return None
        if st.good_since is None:
            st.good_since = now
        if now - st.good_since >= p.clear_after_s:
            st.active = False
            st.good_since = None
            return "clear"
        return None

    def is_active(self, key: K) -> bool:
        st = self._states.get(key)
        return bool(st and st.active)

    def forget(self, key: K) -> None:
        self._states.pop(key, None)

    def keys(self) -> list[K]:
        return list(self._states)
