"""The real engine against the simulator: copies happen, gates hold, selection finds skill,
malformed input is rejected without stopping the run, and restarts lose or repeat nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tailgate.config import Settings, load_settings
from tailgate.domain.models import MS_PER_DAY, TraderStyle
from tailgate.engine.sim_session import SimSession, run_sim_session
from tailgate.interfaces.summary import entry_orders_filled, summarize
from tailgate.logs import configure_logging
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState
from tailgate.venues.protocols import OrderRequest, OrderResult
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld

pytestmark = pytest.mark.integration

DAYS = 30
SEED = 7


def _settings(tmp_path: Path, **overrides) -> Settings:
    configure_logging("WARNING", "json", tmp_path / "engine.log")
    return load_settings(database_url=f"sqlite:///{tmp_path}/t.db", workdir=tmp_path, **overrides)


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return SimWorld(SimConfig(seed=SEED, forward_days=DAYS + 32))


@pytest.fixture(scope="module")
def month(world, tmp_path_factory) -> SimSession:
    tmp = tmp_path_factory.mktemp("month")
    session = asyncio.run(run_sim_session(_settings(tmp), days=DAYS, world=world))
    yield session
    session.store.close()


def test_the_engine_copies_leaders_over_30_days(month):
    summary = summarize(month, month.world.mids_at(month.end_ms))
    assert month.simulated_days == pytest.approx(DAYS)
    assert entry_orders_filled(summary) >= 5
    assert summary.closed_positions, "leader closes are mirrored"
    outcomes = {o for o, _, _ in summary.signal_outcomes}
    assert {"accepted", "rejected", "exit"} <= outcomes


def test_hft_and_disqualified_leaders_are_never_copied(month):
    copied = month.store.copied_leaders()
    assert copied
    for address in copied:
        truth = month.world.hidden_skill(address)
        assert truth.archetype not in ("hft", "tiny_win"), (address, truth)
    # every entry order came from a signal of a leader that was primary and qualified then
    for signal in month.store.load_signals(limit=100_000):
        if signal.outcome == "accepted":
            assert [s["step"] for s in signal.steps] == list(range(1, 10))
    liquidated = [
        t for t in month.store.load_leaders() if t.blacklist_reason == "TRADER_LIQUIDATED"
    ]
    assert liquidated, "over-leveraged leaders get liquidated and blacklisted"
    assert {month.world.hidden_skill(t.address).archetype for t in liquidated} & {"overleveraged"}
    for trader in month.engine.leaders.primary:
        assert not trader.is_blacklisted(month.end_ms)
        assert trader.style is not TraderStyle.HFT
        assert trader.disqualified_reason is None
        assert 0.35 <= trader.win_rate <= 0.85


def test_selected_primary_leaders_are_mostly_the_genuinely_skilled_ones(month):
    summary = summarize(month, {})
    base_rate = summary.skilled_in_population / summary.population  # 35 of 200 = 17.5 %
    # Precision of the primary tier averaged over the run's 30 daily selections, against the
    # population's base rate of skilled leaders (seed 7: ~0.6 with a modest edge of 5-10 %).
    assert len(summary.precision_by_refresh) == DAYS + 1  # days 0 … 30
    assert summary.mean_precision >= 0.5, summary.precision_by_refresh
    assert summary.mean_precision > 2.5 * base_rate
    assert summary.primary_precision >= 0.4  # and the last day's tier on its own


def test_every_fill_is_processed_at_most_once(month):
    counts = month.store.table_counts()
    assert counts["leader_fills_seen"] >= counts["leader_trades"] > 0
    trades = month.store.load_leader_trades()
    assert len({t.key for t in trades}) == len(trades)


def test_no_leader_fill_is_lost_or_recorded_twice(month):
    """For the leaders followed all month, the trades recorded are exactly the venue's fills
    aggregated by order: none missing, none extra, each fill key stored once."""
    from tailgate.domain import aggregate_fills

    followed = set.intersection(*(set(p) for _, p in month.engine.leaders.selections))
    assert followed, "some leaders stay primary all month"
    start = month.start_ms + 3_600_000  # the first poll reaches an hour back: skip the edge
    end = month.end_ms - 2 * month.settings.poll_interval_trades_sec * 1000  # last polls
    with month.store.engine.connect() as conn:
        seen = {r[0] for r in conn.exec_driver_sql("SELECT dedupe_key FROM leader_fills_seen")}
    for leader in sorted(followed):
        served = asyncio.run(month.venue.leader_fills(leader, start, end)).fills
        assert {f.dedupe_key for f in served} <= seen, leader  # nothing lost
        expected = {t.key for t in aggregate_fills(served)}
        recorded = {
            t.key for t in month.store.load_leader_trades(leader) if start <= t.time_ms < end
        }
        assert recorded == expected, leader  # nothing extra, nothing twice


def test_malformed_leader_fills_are_rejected_with_a_reason_and_the_run_continues(world, tmp_path):
    settings = _settings(tmp_path, sim_malformed_fill_rate=0.05)
    corrupt_world = SimWorld(SimConfig(seed=SEED, forward_days=12, malformed_fill_rate=0.05))
    session = asyncio.run(run_sim_session(settings, days=10, world=corrupt_world))
    try:
        with session.store.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT reason FROM rejected_fills").fetchall()
        reasons = {r[0] for r in rows}
        assert reasons, "corrupted fills must be recorded"
        assert reasons <= {
            "MALFORMED_PAYLOAD",
            "INVALID_PRICE",
            "INVALID_SIZE",
            "UNKNOWN_COIN",
            "INVALID_TIME",
            "INCONSISTENT_FILL",
        }
        assert session.store.table_counts()["leader_trades"] > 0, "the run went on"
        assert session.engine.stats.loop_errors == 0
        log = (tmp_path / "engine.log").read_text()
        assert "leader_fill_rejected" in log
    finally:
        session.store.close()


def _outcomes_by_trade(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT t.trade_key, s.outcome, s.reason FROM signals s "
            "JOIN leader_trades t ON t.id = s.leader_trade_id ORDER BY s.id"
        ).fetchall()
    final: dict[str, str] = {}
    for key, outcome, reason in rows:
        final[key] = f"{outcome}:{reason}"
    return final


def test_a_restart_resumes_from_the_store_without_losing_or_repeating_work(world, tmp_path):
    continuous = asyncio.run(run_sim_session(_settings(tmp_path / "a"), days=12, world=world))
    first = asyncio.run(run_sim_session(_settings(tmp_path / "b"), days=6, world=world))
    waiting_at_stop = {d.id for d in first.store.load_pending_deferred()}
    first.store.close()
    # our process restarts; the venue (and its record of our positions) does not
    second = asyncio.run(
        run_sim_session(
            _settings(tmp_path / "b"), days=6, world=world, resume=True, venue=first.venue
        )
    )
    try:
        assert second.start_ms == first.end_ms
        assert second.end_ms == continuous.end_ms
        assert waiting_at_stop, "the stop should fall while signals wait for confirmation"
        still_waiting = {d.id for d in second.store.load_pending_deferred()}
        assert not waiting_at_stop & still_waiting, "deferred signals resumed after restart"
        # the same decisions, trade for trade, as a run that never stopped
        assert _outcomes_by_trade(second.store) == _outcomes_by_trade(continuous.store)
        assert (
            second.store.table_counts()["leader_fills_seen"]
            == (continuous.store.table_counts()["leader_fills_seen"])
        )
    finally:
        continuous.store.close()
        second.store.close()


class _CrashAfterVenueFill:
    """Our process dies right after the venue filled the Nth order, before we recorded it."""

    def __init__(self, venue: SimVenue, crash_on: int) -> None:
        self._venue = venue
        self._crash_on = crash_on
        self.sent: list[str] = []

    async def place_order(self, order: OrderRequest) -> OrderResult:
        result = await self._venue.place_order(order)
        if order.trigger_price is None:  # market orders (stops rest; they are not the point)
            self.sent.append(order.client_order_id)
            if len(self.sent) == self._crash_on:
                raise SystemExit("simulated crash")
        return result

    async def cancel_order(self, client_order_id: str) -> bool:
        return await self._venue.cancel_order(client_order_id)

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        return await self._venue.order_by_client_id(client_order_id)


def test_a_crash_between_venue_fill_and_record_is_settled_from_the_venue(world, tmp_path):
    settings = _settings(tmp_path)
    clock_box = {"now": world.config.start_ms}
    venue = SimVenue(world, lambda: clock_box["now"], account_value=100_000.0)
    crashing = _CrashAfterVenueFill(venue, crash_on=12)
    with pytest.raises(SystemExit):
        asyncio.run(run_sim_session(settings, days=20, world=world, venue=venue, gateway=crashing))
    store = Store.open(settings.resolved_database_url())
    crashed_cid = crashing.sent[-1]
    assert store.order_by_client_id(crashed_cid).state is OrderState.SUBMITTED
    store.close()
    # restart: the venue survived; our store says SUBMITTED; we must ask, not resend
    session = asyncio.run(run_sim_session(settings, days=5, world=world, venue=venue, resume=True))
    try:
        order = session.store.order_by_client_id(crashed_cid)
        assert order.state in (OrderState.FILLED, OrderState.PARTIAL)
        assert order.filled_size > 0
        assert len(session.store.load_fills(order.id)) >= 1
        entries = [o for o in session.store.load_orders() if o.purpose is OrderPurpose.ENTRY]
        assert len({o.client_order_id for o in entries}) == len(entries)
        assert session.start_ms > world.config.start_ms
        assert session.start_ms < world.config.start_ms + 20 * MS_PER_DAY
    finally:
        session.store.close()


def test_a_new_process_with_a_fresh_simulator_gets_the_paper_account_back(world, tmp_path):
    """`tailgate run` in a new process: the simulator is rebuilt, our store is the truth."""
    first = asyncio.run(run_sim_session(_settings(tmp_path), days=6, world=world))
    open_before = {p.id for p in first.store.load_positions() if p.status.value == "open"}
    first.store.close()
    second = asyncio.run(run_sim_session(_settings(tmp_path), days=6, world=world, resume=True))
    try:
        assert open_before, "the restart should fall while positions are open"
        orders = second.store.load_orders()
        exits = [o for o in orders if o.purpose is OrderPurpose.EXIT]
        assert exits and all(o.state is OrderState.FILLED for o in exits), {o.state for o in exits}
        closed_after = {p.id for p in second.store.load_positions() if p.status.value == "closed"}
        assert open_before & closed_after, "positions opened before the restart closed after it"
        fills = second.store.load_fills()
        assert len({f.fill_id for f in fills}) == len(fills)
        filled = [o for o in orders if o.state in (OrderState.FILLED, OrderState.PARTIAL)]
        assert len(fills) >= len(filled)
    finally:
        second.store.close()


def test_every_open_position_has_its_stop_resting_at_the_venue(month):
    stops = {
        o.position_id: o
        for o in month.store.load_orders([OrderState.SUBMITTED])
        if o.purpose is OrderPurpose.STOP
    }
    open_positions = [p for p in month.store.load_positions() if p.status.value == "open"]
    assert open_positions
    for p in open_positions:
        stop = stops[p.id]
        assert stop.trigger_price == pytest.approx(p.stop_price, rel=1e-3)
        assert stop.size == pytest.approx(p.size)
        venue_view = asyncio.run(month.venue.order_by_client_id(stop.client_order_id))
        assert venue_view.status.value == "open"


def test_every_close_records_its_reason_and_stops_do_fire(month):
    reasons = {p.close_reason for p in month.store.load_positions() if p.status.value == "closed"}
    known = {"LEADER_CLOSED", "STOP_LOSS", "TRAILING_STOP", "TIME_STOP", "TRADER_LIQUIDATED"}
    assert all(r in known or r.startswith("PROFIT_TIER_") for r in reasons), reasons
    assert {"LEADER_CLOSED", "STOP_LOSS"} <= reasons
    fired = [
        o for o in month.store.load_orders([OrderState.FILLED]) if o.purpose is OrderPurpose.STOP
    ]
    assert fired and all(o.filled_size > 0 for o in fired)
