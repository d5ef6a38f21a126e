"""The guardrails' switches on the entry path: read from the store at most once per
SWITCH_CACHE_MS, and at once after this process wrote a checkpoint (a halt)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tailgate.domain.guardrails import GuardrailLimits
from tailgate.domain.reasons import ReasonCode
from tailgate.engine.guardrails import KILL_SWITCH_KEY, SWITCH_CACHE_MS, Guardrails, halted_key
from tailgate.engine.portfolio import Portfolio
from tailgate.store import Store
from tests.engine.scripted import T0, entry_order

LIMITS = GuardrailLimits(max_order_usd=50_000.0, max_market_data_age_ms=120_000)


@pytest.fixture
def stores(tmp_path) -> Iterator[tuple[Store, Store]]:
    """The engine's store, and another process's (`tailgate kill on`) on the same file."""
    url = f"sqlite:///{tmp_path}/switches.db"
    ours, theirs = Store.open(url), Store.open(url)
    yield ours, theirs
    ours.close()
    theirs.close()


def _guardrails(store: Store) -> Guardrails:
    guard = Guardrails(store, Portfolio("house", 100_000.0, []), LIMITS)
    guard.market_seen(T0)
    return guard


def test_a_kill_switch_from_another_process_is_seen_within_the_cache_time(stores) -> None:
    ours, theirs = stores
    guard = _guardrails(ours)
    order = entry_order("c1")
    assert guard.check(order, T0, {"ETH": 3_000.0}) is None  # (writes the day's equity)
    assert guard.switches(T0) == (False, False)
    theirs.set_state(KILL_SWITCH_KEY, True, T0)
    assert guard.switches(T0 + SWITCH_CACHE_MS - 1) == (False, False)  # still trusted
    assert guard.switches(T0 + SWITCH_CACHE_MS) == (True, False)
    assert guard.check(order, T0 + SWITCH_CACHE_MS, {"ETH": 3_000.0}) is ReasonCode.KILL_SWITCH


def test_a_halt_written_by_this_process_takes_effect_at_once(stores) -> None:
    ours, _ = stores
    guard = _guardrails(ours)
    assert guard.switches(T0) == (False, False)
    ours.set_state(halted_key("house"), {"reason": "drift"}, T0)
    assert guard.switches(T0 + 1) == (False, True)
    ours.clear_state(halted_key("house"))
    assert guard.switches(T0 + 2) == (False, False)


def test_the_switches_cost_one_read_per_cache_time(stores, monkeypatch) -> None:
    ours, _ = stores
    guard = _guardrails(ours)
    reads = []
    real = ours.get_states
    monkeypatch.setattr(ours, "get_states", lambda *keys: reads.append(keys) or real(*keys))
    for t in range(T0, T0 + 3 * SWITCH_CACHE_MS, 100):
        guard.switches(t)
    assert len(reads) == 3
    guard.switches(T0 - 10)  # a clock that went back never trusts a stale read
    assert len(reads) == 4


def test_a_checkpoint_of_other_keys_keeps_the_switches_cached(stores, monkeypatch) -> None:
    ours, _ = stores
    guard = _guardrails(ours)
    guard.switches(T0)
    reads = []
    real = ours.get_states
    monkeypatch.setattr(ours, "get_states", lambda *keys: reads.append(keys) or real(*keys))
    ours.set_states({"ingest_cursor": {"0xabc": T0}}, T0)  # the ingestion's, every poll
    ours.set_state("halted:someone-else", {"reason": "drift"}, T0)
    assert guard.switches(T0 + 1) == (False, False)
    assert reads == []


def test_reading_ahead_keeps_entries_from_reading(stores, monkeypatch) -> None:
    """The engine reads the switches every half cache time while fills are pushed: an entry
    in between finds them fresh, and a kill switch is still seen within the cache time."""
    ours, theirs = stores
    guard = _guardrails(ours)
    half = SWITCH_CACHE_MS // 2
    reads = []
    real = ours.get_states
    monkeypatch.setattr(ours, "get_states", lambda *keys: reads.append(keys) or real(*keys))
    for tick in range(T0, T0 + 4 * SWITCH_CACHE_MS, half):
        guard.read_switches(tick)
        assert guard.switches(tick + half - 1) == (False, False)  # an entry just before the next
    assert len(reads) == 8  # the read-ahead's only
    theirs.set_state(KILL_SWITCH_KEY, True, T0)
    guard.read_switches(T0 + 4 * SWITCH_CACHE_MS)
    assert guard.switches(T0 + 4 * SWITCH_CACHE_MS + 1) == (True, False)


def test_switches_read_for_many_accounts_at_once_need_no_read_of_their_own(
    stores, monkeypatch
) -> None:
    ours, theirs = stores
    guard = _guardrails(ours)
    theirs.set_state(halted_key("house"), {"reason": "drift"}, T0)
    values = ours.get_states(KILL_SWITCH_KEY) | ours.states_with_prefix(halted_key(""))
    reads = []
    monkeypatch.setattr(ours, "get_states", lambda *keys: reads.append(keys))
    assert guard.read_switches(T0, values) == (False, True)
    assert guard.switches(T0 + 1) == (False, True) and reads == []
