"""Circuit breaker per endpoint: every transition, on a fake clock (SPEC §R2)."""

from __future__ import annotations

import pytest

from tailgate.transport.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from tailgate.transport.errors import CircuitOpenError


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def changes() -> list[BreakerState]:
    return []


@pytest.fixture
def breaker(clock: FakeClock, changes: list[BreakerState]) -> CircuitBreaker:
    return CircuitBreaker(
        "info",
        BreakerPolicy(failure_threshold=3, cooldown_s=30.0),
        now=clock,
        on_change=lambda _, state: changes.append(state),
    )


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.allow())


def test_stays_closed_below_the_threshold_and_a_success_resets_the_count(
    breaker: CircuitBreaker,
) -> None:
    fail(breaker, 2)
    assert breaker.consecutive_failures == 2
    breaker.record_success(breaker.allow())
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 2


def test_opens_after_three_consecutive_failures_and_fails_fast_with_the_time_left(
    breaker: CircuitBreaker, clock: FakeClock, changes: list[BreakerState]
) -> None:
    fail(breaker, 3)
    assert breaker.state is BreakerState.OPEN
    assert changes == [BreakerState.OPEN]
    clock.t += 10.0
    with pytest.raises(CircuitOpenError) as refused:
        breaker.allow()
    assert refused.value.retry_after == pytest.approx(20.0)
    assert refused.value.maybe_processed is False


def test_after_the_cooldown_one_probe_goes_through_and_its_success_closes(
    breaker: CircuitBreaker, clock: FakeClock, changes: list[BreakerState]
) -> None:
    fail(breaker, 3)
    clock.t += 30.0
    probe = breaker.allow()
    assert probe.probe
    assert breaker.state is BreakerState.HALF_OPEN
    with pytest.raises(CircuitOpenError):
        breaker.allow()  # only ONE probe at a time
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0
    assert not breaker.allow().probe
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_probe_reopens_for_a_fresh_cooldown(
    breaker: CircuitBreaker, clock: FakeClock, changes: list[BreakerState]
) -> None:
    fail(breaker, 3)
    clock.t += 31.0
    breaker.record_failure(breaker.allow())
    assert breaker.state is BreakerState.OPEN
    clock.t += 29.0
    with pytest.raises(CircuitOpenError) as refused:
        breaker.allow()
    assert refused.value.retry_after == pytest.approx(1.0)
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN]


def test_a_released_probe_lets_the_next_call_probe(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    fail(breaker, 3)
    clock.t += 30.0
    breaker.release(breaker.allow())  # e.g. cancelled before it was sent
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow().probe


def test_a_late_outcome_from_before_the_breaker_opened_is_ignored(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    slow = breaker.allow()  # started while closed, answers much later
    fail(breaker, 3)
    clock.t += 30.0
    probe = breaker.allow()
    breaker.record_success(slow)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_failure(slow)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED


def test_a_policy_needs_a_positive_threshold() -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(failure_threshold=0)
