"""Circuit breaker per endpoint: stop calling an endpoint that keeps failing, probe it later.

closed ──N consecutive failures──► open ──cooldown elapsed, next call──► half-open (ONE probe)
half-open ──probe succeeds──► closed;  half-open ──probe fails──► open (cooldown restarts)

While open, calls fail fast with `CircuitOpenError` (nothing is sent, so it is safe even for an
order) instead of piling timeouts onto a struggling venue. Every permit carries the breaker's
generation: the outcome of a call that started before a transition is ignored, so a slow
request from the closed era cannot close a breaker that is waiting on its probe.

The clock is injected (`now`, seconds), so every transition is testable without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tailgate.transport.errors import CircuitOpenError

__all__ = ["BreakerPolicy", "BreakerState", "CircuitBreaker", "Permit"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5  # consecutive failures that open the breaker
    cooldown_s: float = 30.0  # time open before one probe is let through

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.cooldown_s < 0:
            raise ValueError("breaker needs failure_threshold >= 1 and cooldown_s >= 0")


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one call; hand it back with the outcome."""

    generation: int
    probe: bool


class CircuitBreaker:
    def __init__(
        self,
        endpoint: str,
        policy: BreakerPolicy | None = None,
        *,
        now: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.policy = policy or BreakerPolicy()
        self._now = now
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._generation = 0
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> Permit:
        """A permit to call, or `CircuitOpenError` (with the time left) when calls must wait."""
        if self._state is BreakerState.OPEN:
            remaining = self._opened_at + self.policy.cooldown_s - self._now()
            if remaining > 0:
                raise CircuitOpenError(self.endpoint, retry_after=remaining)
            self._enter(BreakerState.HALF_OPEN)
        if self._state is BreakerState.HALF_OPEN:
            if self._probe_out:
                raise CircuitOpenError(self.endpoint, retry_after=None)
            self._probe_out = True
            return Permit(self._generation, probe=True)
        return Permit(self._generation, probe=False)

    def record_success(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        self._failures = 0
        if self._state is BreakerState.HALF_OPEN:
            self._enter(BreakerState.CLOSED)

    def record_failure(self, permit: Permit) -> None:
        if permit.generation != self._generation:
            return
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self._failures >= self.policy.failure_threshold:
            self._open()

    def release(self, permit: Permit) -> None:
        """The call never reached the endpoint (cancelled, denied locally): no verdict.

        A released probe frees the half-open slot so the next call can probe instead.
        """
        if permit.probe and permit.generation == self._generation:
            self._probe_out = False

    def _open(self) -> None:
        self._opened_at = self._now()
        self._enter(BreakerState.OPEN)

    def _enter(self, state: BreakerState) -> None:
        self._state = state
        self._generation += 1
        self._probe_out = False
        if state is BreakerState.CLOSED:
            self._failures = 0
        if self._on_change is not None:
            self._on_change(self.endpoint, state)
