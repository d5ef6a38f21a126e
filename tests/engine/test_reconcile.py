"""§R1: our books against the venue's — clean when they agree, the venue's truth adopted (with
a stop owed) or the account halted when they do not, and fail closed when the venue is mute."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.domain.guardrails import GuardrailLimits
from tailgate.domain.reasons import ReasonCode
from tailgate.engine.execution import client_order_id
from tailgate.engine.guardrails import Guardrails
from tailgate.engine.obligations import ObligationKeeper
from tailgate.engine.reconcile import Reconciler, ReconciliationError, last_run_key
from tailgate.store import Store
from tailgate.store.records import ObligationKind, OrderPurpose, OrderState, PositionStatus
from tailgate.venues.protocols import OpenOrder, OrderResult, OrderStatus, VenueFill
from tests.engine.scripted import MARKETS, T0, Rig, build_rig, entry_order

NOW = T0 + 60_000


@pytest.fixture
def rig(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/rec.db")
    rig = build_rig(store)
    entry = entry_order(client_order_id("paper", "t1"), size=2.0)
    store.insert_order(entry)
    asyncio.run(rig.executor.execute(entry, T0))
    (position,) = rig.portfolio.open_positions
    asyncio.run(rig.manager.protect(position, T0))
    yield rig
    store.close()


def reconciler(rig: Rig, **kw) -> Reconciler:
    return Reconciler(
        store=rig.store,
        account=rig.venue,
        market=rig.venue,
        portfolio=rig.portfolio,
        positions=rig.manager,
        executor=rig.executor,
        params=rig.manager._params,
        markets=MARKETS,
        **kw,
    )


def the_stop(rig: Rig):
    (stop,) = [o for o in rig.store.load_orders() if o.purpose is OrderPurpose.STOP]
    return stop


def test_books_that_agree_are_clean_and_the_run_is_remembered(rig):
    report = asyncio.run(reconciler(rig).run(NOW))
    assert report.clean and report.attempts == 1
    assert rig.store.load_discrepancies() == []
    assert rig.store.get_state(last_run_key("paper"))["drifts"] == 0


def test_a_stop_that_fired_while_we_were_away_is_settled_by_its_fills_not_adopted(rig):
    stop = the_stop(rig)
    fill = VenueFill("f-stop", 2_850.0, 2.0, 0.5, NOW)
    rig.venue.orders[stop.client_order_id] = OrderResult(
        stop.client_order_id, OrderStatus.FILLED, 2.0, 2_850.0, 0.5, "v2", (fill,)
    )
    rig.venue.holdings["ETH"] = 0.0
    report = asyncio.run(reconciler(rig).run(NOW))
    assert [d.kind.value for d in report.drifts if d.kind.value != "account_value"] == []
    (closed,) = rig.store.load_positions(status=PositionStatus.CLOSED)
    assert closed.exit_price == 2_850.0 and closed.close_reason == "STOP_LOSS"


def test_a_venue_that_is_flat_closes_ours_and_says_so_in_the_audit(rig):
    stop = the_stop(rig)
    rig.venue.orders[stop.client_order_id] = OrderResult(
        stop.client_order_id, OrderStatus.CANCELLED, reason="cancelled"
    )
    rig.venue.holdings["ETH"] = 0.0
    report = asyncio.run(reconciler(rig).run(NOW))
    assert "position_missing_at_venue" in [d.kind.value for d in report.drifts]
    (closed,) = rig.store.load_positions(status=PositionStatus.CLOSED)
    assert closed.close_reason == ReasonCode.RECONCILED_FLAT.value
    audit = {d.kind: d.resolution for d in rig.store.load_discrepancies()}
    assert audit["position_missing_at_venue"] == "closed ours: the venue is flat"
    assert rig.portfolio.open_positions == []


def test_a_position_only_the_venue_knows_is_adopted_and_owed_a_stop(rig):
    rig.venue.holdings["BTC"] = -0.5
    report = asyncio.run(reconciler(rig, threshold_usd=10.0).run(NOW))
    assert "position_unknown_locally" in [d.kind.value for d in report.drifts]
    adopted = [p for p in rig.portfolio.open_positions if p.coin == "BTC"]
    assert len(adopted) == 1 and adopted[0].size == 0.5 and adopted[0].leader is None
    owed = rig.store.open_obligations()
    assert [o.kind for o in owed] == [ObligationKind.PROTECT]
    assert owed[0].position_id == adopted[0].id


def test_a_size_difference_adopts_the_venues_size_and_owes_a_stop_for_it(rig):
    rig.venue.holdings["ETH"] = 3.0
    asyncio.run(reconciler(rig).run(NOW))
    (position,) = rig.portfolio.open_positions
    assert position.size == 3.0
    keeper = ObligationKeeper(rig.store, rig.manager, rig.portfolio)
    rig.executor.on_obligation = keeper.wake
    asyncio.run(keeper.run_due(NOW))
    live = [
        o for o in rig.store.load_orders([OrderState.SUBMITTED]) if o.purpose is OrderPurpose.STOP
    ]
    assert [o.size for o in live] == [3.0]


def test_halt_mode_records_and_halts_and_the_guardrails_then_refuse_entries(rig):
    rig.venue.holdings["ETH"] = 3.0
    report = asyncio.run(reconciler(rig, on_drift="halt").run(NOW))
    assert report.halted
    (position,) = rig.portfolio.open_positions
    assert position.size == 2.0  # nothing repaired
    guard = Guardrails(
        rig.store, rig.portfolio, GuardrailLimits(max_order_usd=1e9, max_market_data_age_ms=1)
    )
    guard.market_seen(NOW)
    assert guard.check(entry_order("0xnext"), NOW, {"ETH": 3_000.0}) is ReasonCode.ACCOUNT_HALTED


def test_a_difference_gone_on_a_re_read_is_not_drift(rig):
    real = rig.venue.account_snapshot
    reads = 0

    async def settling():
        nonlocal reads
        reads += 1
        if reads == 1:
            rig.venue.holdings["ETH"] = 3.0  # an order of ours settling just then
        else:
            rig.venue.holdings["ETH"] = 2.0
        return await real()

    rig.venue.account_snapshot = settling
    report = asyncio.run(reconciler(rig).run(NOW))
    assert report.clean and report.attempts == 2
    assert rig.store.load_discrepancies() == []


def test_an_unreadable_venue_fails_closed_after_its_retries(rig):
    calls = 0

    async def mute():
        nonlocal calls
        calls += 1
        raise TimeoutError("venue did not answer")

    rig.venue.account_snapshot = mute
    with pytest.raises(ReconciliationError, match="4 attempts"):
        asyncio.run(reconciler(rig, retries=3).run(NOW))
    assert calls == 4


def test_an_order_we_never_wrote_is_recorded_not_touched(rig):
    real = rig.venue.open_orders

    async def with_stranger():
        return [*await real(), OpenOrder("0xstranger", "ETH", True, 1.0, None, 2_900.0)]

    rig.venue.open_orders = with_stranger
    report = asyncio.run(reconciler(rig).run(NOW))
    (audit,) = rig.store.load_discrepancies()
    assert (audit.kind, audit.resolution) == ("order_unknown_locally", "recorded")
    assert not report.halted
