"""Leaders, accounts, checkpoints, equity and reporting."""

from __future__ import annotations

import pytest

from tailgate.domain.models import Tier, Trader, TraderStyle
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import SignalOutcome
from tailgate.store import Store, UnknownAccountError
from tailgate.store.schema import metadata

from .factories import T0, make_signal, make_trade

DAY_MS = 86_400_000


def _trader(address: str, score: float, **kwargs: object) -> Trader:
    return Trader(
        address=address,
        account_value=250_000.0,
        roi_7d=0.12,
        roi_30d=0.3,
        roi_90d=0.8,
        smart_money=True,
        max_drawdown=0.18,
        avg_leverage=3.0,
        days_active=120.5,
        trade_count=340,
        win_rate=0.61,
        style=TraderStyle.SWING,
        score=score,
        score_components={"roi": 0.9, "sharpe": 0.4},
        tier=Tier.PRIMARY,
        **kwargs,  # type: ignore[arg-type]
    )


def test_leaders_round_trip_and_update(store: Store) -> None:
    a, b = _trader("0xa", 0.7), _trader("0xb", 0.9, disqualified_reason=None)
    b.style = None
    store.save_leaders([a, b], T0)
    assert store.load_leaders() == [b, a]  # best score first
    a.score, a.tier = 0.95, Tier.SECONDARY
    store.save_leaders([a], T0 + DAY_MS)
    assert store.load_leaders() == [a, b]
    store.save_leaders([], T0)


def test_blacklist_survives_a_refresh_that_does_not_know_it(store: Store) -> None:
    leader = _trader("0xa", 0.7)
    store.save_leaders([leader], T0)
    store.blacklist_leader("0xa", T0 + 14 * DAY_MS, "TRADER_LIQUIDATED")
    store.save_leaders([_trader("0xa", 0.8)], T0 + DAY_MS)  # refresh: no blacklist in it
    (loaded,) = store.load_leaders()
    assert loaded.score == 0.8
    assert loaded.blacklisted_until_ms == T0 + 14 * DAY_MS
    assert loaded.blacklist_reason == "TRADER_LIQUIDATED"
    assert loaded.is_blacklisted(T0 + 2 * DAY_MS)

    store.blacklist_leader("0xnew", T0 + DAY_MS, "manual")  # a leader never scored
    unknown = next(t for t in store.load_leaders() if t.address == "0xnew")
    assert unknown.blacklist_reason == "manual" and unknown.tier is Tier.NONE


def test_accounts(store: Store) -> None:
    assert store.ensure_account("paper", 100_000.0, T0) == 100_000.0
    assert store.ensure_account("paper", 5.0, T0 + 1) == 100_000.0  # exists: unchanged
    assert store.get_cash("paper") == 100_000.0
    with pytest.raises(UnknownAccountError):
        store.get_cash("nobody")


def test_checkpoints_round_trip_json(store: Store) -> None:
    assert store.get_state("tracker") is None
    value = {"queue": [[T0, "0xa:1:open"]], "n": 3, "ok": True, "ratio": 0.25, "none": None}
    store.set_state("tracker", value, T0)
    assert store.get_state("tracker") == value
    store.set_state("tracker", [1, 2], T0 + 1)
    assert store.get_state("tracker") == [1, 2]


def test_several_checkpoints_in_one_read(store: Store) -> None:
    store.set_state("kill_switch", True, T0)
    store.set_state("halted:a", {"reason": "drift"}, T0)
    store.set_state("halted:b", {"reason": "other"}, T0)
    assert store.get_states("kill_switch", "halted:a", "halted:c") == {
        "kill_switch": True,
        "halted:a": {"reason": "drift"},
    }
    assert store.get_states() == {}


def test_several_checkpoints_in_one_write(store: Store) -> None:
    store.set_state("cursors", {"0xa": 1}, T0)
    store.set_states({"cursors": {"0xa": 2}, "clock_ms": T0 + 5, "nonces": {"s": 9}}, T0 + 5)
    store.set_states({}, T0 + 6)  # nothing to write: no transaction, no error
    assert store.get_states("cursors", "clock_ms", "nonces") == {
        "cursors": {"0xa": 2},
        "clock_ms": T0 + 5,
        "nonces": {"s": 9},
    }


def test_equity_curve_upserts_by_time(store: Store) -> None:
    store.record_equity("paper", T0 + 2, 101.0, 50.0)
    store.record_equity("paper", T0 + 1, 100.0, 50.0)
    store.record_equity("paper", T0 + 2, 102.5, 49.0)
    store.record_equity("other", T0, 1.0, 1.0)
    assert store.load_equity("paper") == [(T0 + 1, 100.0), (T0 + 2, 102.5)]


def test_signal_steps_round_trip_as_json(store: Store) -> None:
    trade = make_trade(1)
    signal = make_signal(trade, SignalOutcome.REJECTED, ReasonCode.SLIPPAGE_EXCEEDED)
    recorded = store.record_trade(trade, signal, seen_ms=T0)
    (stored,) = store.load_signals()
    assert stored.id == recorded.signal_id
    assert stored.leader_trade_id == recorded.trade_id
    assert (stored.leader, stored.coin, stored.action) == (trade.leader, "BTC", "open")
    assert (stored.outcome, stored.reason) == ("rejected", "SLIPPAGE_EXCEEDED")
    assert stored.steps == [
        {
            "step": d.step,
            "name": d.name,
            "passed": d.passed,
            "reason": d.reason.value,
            "detail": d.detail,
        }
        for d in signal.steps
    ]
    assert stored.steps[1]["detail"] == "value 120000 ≥ 50000"  # non-ASCII survives
    assert stored.order_type is None and stored.limit_price is None


def test_load_signals_newest_first_with_limit(store: Store) -> None:
    for i in range(5):
        trade = make_trade(i)
        store.record_trade(trade, make_signal(trade), seen_ms=T0 + i)
    signals = store.load_signals(limit=3)
    assert [s.evaluated_ms for s in signals] == [T0 + 4, T0 + 3, T0 + 2]
    assert signals[0].order_type == "market" and signals[0].size_usd == 5_000.0


def test_table_counts_cover_every_table(store: Store) -> None:
    counts = store.table_counts()
    assert set(counts) == set(metadata.tables)
    assert set(counts.values()) == {0}
    trade = make_trade(1)
    store.record_trade(trade, make_signal(trade), seen_ms=T0)
    counts = store.table_counts()
    assert (counts["leader_trades"], counts["leader_fills_seen"], counts["signals"]) == (1, 2, 1)
