"""Exponential backoff with jitter, shared by HTTP retries and WebSocket reconnects.

Jitter spreads the retries of many clients (or many of our own tasks) that failed together, so
they do not hammer a recovering venue in lock-step. The random source is injected: a seeded
`random.Random` (or `jitter=0`) makes every delay reproducible in tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """`base_s · 2^(attempt-1)`, capped at `max_s`, then scaled by a random factor.

    `jitter` is the fraction of the delay that is random: 1.0 is "full jitter" (uniform over
    [0, delay]), 0.0 is no jitter (exactly the exponential delay).
    """

    base_s: float = 0.25
    max_s: float = 10.0
    jitter: float = 1.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.max_s < self.base_s:
            raise ValueError(f"backoff needs 0 <= base_s <= max_s, got {self.base_s}, {self.max_s}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"backoff jitter is a fraction in [0, 1], got {self.jitter}")

    def delay(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1 = the first retry)."""
        exponent = min(max(attempt, 1) - 1, 62)  # 2**62 · base is past any cap; no overflow
        ceiling = min(self.max_s, self.base_s * 2.0**exponent)
        return ceiling * (1.0 - self.jitter * self.rng.random())
