"""§C2 ingestion: validate, dedupe durably, aggregate by order; bad fills rejected with reasons."""

from __future__ import annotations

import asyncio
import math

import pytest

from tailgate.domain import aggregate_fills
from tailgate.domain.models import Action, LeaderFill
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import Signal, SignalOutcome
from tailgate.engine.ingestion import TRUST_WINDOW_MS, Fetched, LeaderTradeIngestor
from tailgate.store import Store
from tailgate.venues.protocols import FillPage, RejectedPayload

NOW = 1_740_000_000_000
LEADER = "0x" + "a" * 40


def fill(
    tid: str,
    *,
    oid: int = 1,
    px: float = 100.0,
    sz: float = 1.0,
    coin: str = "SOL",
    start: float = 0.0,
    t: int = NOW - 60_000,
) -> LeaderFill:
    return LeaderFill(
        leader=LEADER,
        coin=coin,
        price=px,
        size=sz,
        is_buy=True,
        direction="Open Long",
        start_position=start,
        time_ms=t,
        order_id=oid,
        fill_id=tid,
    )


class FakeFeed:
    def __init__(self, page: FillPage) -> None:
        self.page = page
        self.windows: list[tuple[int, int]] = []

    async def leader_fills(self, leader, start_ms, end_ms):
        self.windows.append((start_ms, end_ms))
        return self.page


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path}/i.db")
    yield s
    s.close()


PAGE = FillPage(
    fills=[
        fill("1", oid=7, px=100.0, sz=1.0),
        fill("2", oid=7, px=102.0, sz=3.0, start=1.0),
        fill("3", px=math.nan),
        fill("4", sz=-2.0),
        fill("5", coin="NOPE"),
    ],
    rejects=[RejectedPayload(ReasonCode.MALFORMED_PAYLOAD, "missing field 'px'", "{...}")],
)


def test_fills_of_one_order_become_one_trade_and_bad_fills_are_recorded(store):
    ingestor = LeaderTradeIngestor(FakeFeed(PAGE), store, ["BTC", "SOL"])
    result = asyncio.run(ingestor.poll([LEADER], NOW))
    (trade,) = result.trades
    assert (trade.action, trade.size) == (Action.OPEN, 4.0)
    assert trade.price == pytest.approx((100 + 3 * 102) / 4)
    assert result.rejected == 4
    with store.engine.connect() as conn:
        reasons = sorted(r[0] for r in conn.exec_driver_sql("SELECT reason FROM rejected_fills"))
    assert reasons == ["INVALID_PRICE", "INVALID_SIZE", "MALFORMED_PAYLOAD", "UNKNOWN_COIN"]


def test_the_same_fills_are_never_processed_twice_even_after_a_restart(store):
    feed = FakeFeed(PAGE)
    first = LeaderTradeIngestor(feed, store, ["SOL"])
    (trade,) = asyncio.run(first.poll([LEADER], NOW)).trades
    again = asyncio.run(first.poll([LEADER], NOW + 300_000))
    assert (again.trades, again.rejected) == ([], 0)  # in memory: nothing judged or logged twice
    store.record_trade(
        trade, Signal(trade, SignalOutcome.EXIT, ReasonCode.EXIT_ACTION), seen_ms=NOW
    )
    restarted = LeaderTradeIngestor(feed, store, ["SOL"])
    result = asyncio.run(restarted.poll([LEADER], NOW + 600_000))
    assert result.trades == []  # durable: the store knows the keys
    assert result.duplicates == 5  # the trade's two fills and the three rejected ones
    assert result.rejected == 1  # only the unparseable payload: it has no key to remember


def test_polling_covers_the_last_hour_and_backfills_a_gap_after_a_restart(store):
    feed = FakeFeed(FillPage(fills=[]))
    ingestor = LeaderTradeIngestor(feed, store, ["SOL"])
    asyncio.run(ingestor.poll([LEADER], NOW))
    assert feed.windows[-1] == (NOW - 3_600_000, NOW + 1)
    ingestor.checkpoint(NOW)
    later = NOW + 5 * 3_600_000
    asyncio.run(LeaderTradeIngestor(feed, store, ["SOL"]).poll([LEADER], later))
    assert feed.windows[-1] == (NOW, later + 1)  # from the last checkpoint, not just an hour


def _counting(store, monkeypatch) -> list[list[str]]:
    asked: list[list[str]] = []
    real = store.seen_fill_keys

    def seen_fill_keys(keys):
        keys = list(keys)
        asked.append(keys)
        return real(keys)

    monkeypatch.setattr(store, "seen_fill_keys", seen_fill_keys)
    return asked


def test_a_new_fill_inside_the_trust_window_costs_no_store_query(store, monkeypatch):
    old = fill("1", oid=1, t=NOW - 2 * TRUST_WINDOW_MS)
    recorded = fill("2", oid=2, t=NOW - 3_600_000)
    (trade,) = aggregate_fills([recorded])
    store.record_trade(
        trade, Signal(trade, SignalOutcome.EXIT, ReasonCode.EXIT_ACTION), seen_ms=NOW
    )
    asked = _counting(store, monkeypatch)
    new = fill("3", oid=3, t=NOW - 60_000)
    ingestor = LeaderTradeIngestor(FakeFeed(FillPage([])), store, ["SOL"])
    result = ingestor.accept([Fetched(LEADER, FillPage([old, recorded, new]))], NOW)
    assert [t.order_id for t in result.trades] == [1, 3]  # the old one is new too: asked
    assert result.duplicates == 1  # the recorded one, known from the first look
    assert asked == [[old.dedupe_key]]  # only the fill older than what memory vouches for


def test_a_forgotten_fill_is_looked_up_in_the_store_again(store, monkeypatch):
    f = fill("1", t=NOW - 60_000)
    ingestor = LeaderTradeIngestor(FakeFeed(FillPage([])), store, ["SOL"])
    (trade,) = ingestor.accept([Fetched(LEADER, FillPage([f]))], NOW).trades
    # its handling failed after the commit: recorded, yet given back to be looked at again
    store.record_trade(
        trade, Signal(trade, SignalOutcome.EXIT, ReasonCode.EXIT_ACTION), seen_ms=NOW
    )
    ingestor.forget(trade.fill_keys)
    asked = _counting(store, monkeypatch)
    again = ingestor.accept([Fetched(LEADER, FillPage([f]))], NOW + 1)
    assert (again.trades, again.duplicates) == ([], 1)
    assert asked == [[f.dedupe_key]]
