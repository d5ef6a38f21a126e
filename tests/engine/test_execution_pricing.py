"""§E7–§E9 on the real execution path: every entry is priced by the fallback chain from the
engine's quote cache, stored with its price source, and checked against our margin first."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from tailgate.domain.guardrails import GuardrailLimits
from tailgate.domain.models import (
    Action,
    LeaderPosition,
    LeaderTrade,
    Level,
    OrderBook,
    Side,
    Tier,
    Trader,
)
from tailgate.domain.params import CopyParams
from tailgate.domain.reasons import ReasonCode
from tailgate.engine.balances import BalanceCache
from tailgate.engine.copier import Copier
from tailgate.engine.execution import OrderExecutor, client_order_id
from tailgate.engine.guardrails import Guardrails
from tailgate.engine.ingestion import LeaderTradeIngestor
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.engine.quotes import QuoteCache
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState
from tailgate.venues.protocols import PayloadError
from tests.engine.scripted import LEADER, MARKETS, T0, ScriptedVenue, entry_order

MARK = 3_000.0
QUOTE_TTL_MS = 1_000
BALANCE_TTL_MS = 60_000  # long: only an invalidation makes the preflight fetch again
PARAMS = CopyParams(copy_delay_minutes=0.0)  # entries are planned at first sight
# 20 ETH more at 3 000 on a 500 000 account, 7-day ROI 0: a 4 500 USD copy, 1.5 ETH at the mid
COPY_USD = 4_500.0


def book(ask_sizes: tuple[float, ...]) -> OrderBook:
    """Asks 1, 2, 3 … USD above the mark, bids as deep below."""
    asks = tuple(Level(MARK + i, size) for i, size in enumerate(ask_sizes, start=1))
    bids = tuple(Level(MARK - i, size) for i, size in enumerate(ask_sizes, start=1))
    return OrderBook("ETH", T0, bids, asks)


DEEP = book((10.0, 10.0))
THIN = book((0.5,))


class PricedVenue(ScriptedVenue):
    """The scripted venue with a book and a mid that can go missing; it counts its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.book: OrderBook | None = DEEP
        self.mid: float | None = MARK
        self.leader_positions = (LeaderPosition("ETH", Side.LONG, 20.0, MARK),)
        self.book_reads = 0
        self.snapshot_reads = 0

    async def mids(self):
        return {} if self.mid is None else {"ETH": self.mid}

    async def order_book(self, coin):
        self.book_reads += 1
        if self.book is None:
            raise PayloadError(ReasonCode.NO_PRICE, f"no book of {coin}")
        return self.book

    async def account_snapshot(self):
        self.snapshot_reads += 1
        return await super().account_snapshot()


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def now_ms(self) -> int:
        return self.t


@dataclass
class Desk:
    store: Store
    venue: PricedVenue
    clock: Clock
    quotes: QuoteCache
    balances: BalanceCache
    executor: OrderExecutor
    copier: Copier

    def trade(self, n: int, *, action: Action = Action.OPEN, age_ms: int = 500) -> None:
        """The leader's n-th trade (+20 ETH at the mark), seen `age_ms` after it happened."""
        start = 20.0 * (n - 1)
        trade = LeaderTrade(
            leader=LEADER,
            coin="ETH",
            side=Side.LONG,
            action=action,
            size=20.0,
            price=MARK,
            time_ms=self.clock.t - age_ms,
            order_id=n,
            start_position=start,
            end_position=start + 20.0,
            fill_keys=(f"fill-{n}",),
        )
        now = self.clock.t
        mids = asyncio.run(self.venue.mids())
        self.copier._guardrails.market_seen(now)
        asyncio.run(self.copier.handle_trade(trade, now, mids))

    def entries(self) -> list:
        return [o for o in self.store.load_orders() if o.purpose is OrderPurpose.ENTRY]

    def signal_reason(self) -> str:
        return self.store.load_signals(limit=1)[0].reason


@pytest.fixture
def desk(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/pricing.db")
    venue = PricedVenue()
    clock = Clock()
    quotes = QuoteCache(venue, clock.now_ms, QUOTE_TTL_MS)
    balances = BalanceCache(venue, clock.now_ms, BALANCE_TTL_MS)
    portfolio = Portfolio("paper", store.ensure_account("paper", 100_000.0, T0), [])
    executor = OrderExecutor(venue, store, MARKETS, portfolio, PARAMS, balances)
    leaders = LeaderBook(venue, store, PARAMS, MARKETS)
    leaders.traders[LEADER] = Trader(LEADER, account_value=500_000.0, tier=Tier.PRIMARY)
    manager = PositionManager(
        store=store,
        feed=venue,
        market=venue,
        executor=executor,
        portfolio=portfolio,
        leaders=leaders,
        params=PARAMS,
        markets=MARKETS,
    )
    guardrails = Guardrails(
        store, portfolio, GuardrailLimits(max_order_usd=50_000.0, max_market_data_age_ms=120_000)
    )
    copier = Copier(
        store=store,
        feed=venue,
        market=venue,
        ingestor=LeaderTradeIngestor(venue, store, MARKETS),
        leaders=leaders,
        executor=executor,
        positions=manager,
        portfolio=portfolio,
        params=PARAMS,
        guardrails=guardrails,
        quotes=quotes,
    )
    yield Desk(store, venue, clock, quotes, balances, executor, copier)
    store.close()


# ---- §E9: the price source of every entry --------------------------------------------------


def test_an_entry_the_book_can_fill_is_priced_at_the_vwap_and_stores_book(desk):
    desk.trade(1)
    (entry,) = desk.entries()
    assert entry.price_source == "book"
    assert entry.size == pytest.approx(round(COPY_USD / (MARK + 1), 4))  # 10 ETH at 3 001
    assert entry.state is OrderState.FILLED


def test_a_book_too_thin_for_our_size_falls_back_to_the_mid(desk):
    desk.venue.book = THIN  # 0.5 ETH offered, we want 1.5
    desk.trade(1)
    (entry,) = desk.entries()
    assert (entry.price_source, entry.size) == ("mid", COPY_USD / MARK)


def test_no_book_at_all_falls_back_to_the_mid(desk):
    desk.venue.book = None
    desk.trade(1)
    (entry,) = desk.entries()
    assert entry.price_source == "mid" and entry.state is OrderState.FILLED


def test_no_book_and_no_mid_but_a_fresh_leader_fill_prices_at_the_leader_fill(desk):
    desk.venue.book, desk.venue.mid = None, None
    desk.trade(1, age_ms=5_000)
    (entry,) = desk.entries()
    assert entry.price_source == "leader_fill"
    assert entry.size == COPY_USD / MARK
    assert entry.state is OrderState.FILLED


def test_nothing_usable_is_written_price_unavailable_and_nothing_is_sent(desk):
    desk.venue.book, desk.venue.mid = None, None
    desk.trade(1, age_ms=90_000)  # the leader's fill is past the 60 s bound
    assert desk.signal_reason() == ReasonCode.PRICE_UNAVAILABLE.value
    (signal,) = desk.store.load_signals()
    assert signal.outcome == "rejected"
    assert "90000 ms old" in str(signal.steps[-1]["detail"])
    assert desk.entries() == [] and desk.venue.requests == {}


# ---- §E7: one quote cache behind the prices ------------------------------------------------


def test_a_second_entry_on_the_coin_within_the_ttl_hits_the_quote_cache_and_after_it_misses(
    desk,
):
    desk.trade(1)  # fetches the book
    assert (desk.quotes.misses, desk.quotes.hits, desk.venue.book_reads) == (1, 0, 1)
    desk.clock.t += QUOTE_TTL_MS - 1
    desk.trade(2, action=Action.ADD)  # tops up the copy: the same book, still fresh
    assert (desk.quotes.misses, desk.quotes.hits, desk.venue.book_reads) == (1, 1, 1)
    desk.clock.t += 1  # the first fetch is now a TTL old
    desk.trade(3, action=Action.ADD)
    assert (desk.quotes.misses, desk.quotes.hits, desk.venue.book_reads) == (2, 1, 2)
    assert [e.price_source for e in desk.entries()] == ["book"] * 3


# ---- §E8: the balance preflight ------------------------------------------------------------


def test_an_entry_larger_than_the_free_margin_is_skipped_insufficient_balance_and_not_sent(desk):
    desk.venue.cash = 3_000.0  # the venue says 3 000; the copy wants 4 500 at 1×
    desk.trade(1)
    (entry,) = desk.entries()
    assert entry.state is OrderState.SKIPPED
    assert entry.reason == ReasonCode.INSUFFICIENT_BALANCE.value
    assert desk.venue.requests == {}


def test_our_fill_invalidates_the_balance_cache_so_the_next_preflight_fetches_again(desk):
    order = entry_order(client_order_id("paper", "pre"), size=1.0)
    assert asyncio.run(desk.executor.preflight(order)) is None
    assert asyncio.run(desk.executor.preflight(order)) is None
    assert (desk.venue.snapshot_reads, desk.balances.hits) == (1, 1)  # reused within the TTL
    desk.store.insert_order(order)
    asyncio.run(desk.executor.execute(order, T0))  # fills
    assert asyncio.run(desk.executor.preflight(order)) is None
    assert (desk.venue.snapshot_reads, desk.balances.misses) == (2, 2)


def test_each_filled_entry_of_the_copier_leaves_the_next_preflight_a_fresh_snapshot(desk):
    desk.trade(1)
    desk.trade(2, action=Action.ADD)  # same instant, well within the balance TTL
    assert [e.state for e in desk.entries()] == [OrderState.FILLED] * 2
    assert desk.venue.snapshot_reads == 2 and desk.balances.hits == 0


def test_exits_are_not_held_back_by_the_preflight(desk):
    desk.venue.cash = 0.0
    order = entry_order("0xexit", size=1.0)
    order.purpose = OrderPurpose.EXIT
    assert asyncio.run(desk.executor.preflight(order)) is None
    assert desk.venue.snapshot_reads == 0


# ---- §E1 on the copy path: one commit before the send --------------------------------------


def test_an_entry_is_written_claimed_in_the_trades_transaction_one_commit_before_the_send(
    desk, monkeypatch
):
    seen_at_send: list[OrderState] = []
    place = desk.venue.place_order

    async def placing(order):
        seen_at_send.append(desk.store.order_by_client_id(order.client_order_id).state)
        return await place(order)

    claimed: list[str] = []
    claim = desk.store.claim_order

    def claim_order(order, now_ms):  # the stop placed after the fill is claimed as before
        claimed.append(order.client_order_id)
        return claim(order, now_ms)

    monkeypatch.setattr(desk.venue, "place_order", placing)
    monkeypatch.setattr(desk.store, "claim_order", claim_order)
    desk.trade(1)
    (entry,) = desk.entries()
    assert seen_at_send[0] is OrderState.SUBMITTED  # durable, as maybe-sent, before the send
    assert entry.client_order_id not in claimed  # no second transaction for it
    assert entry.state is OrderState.FILLED


def test_a_crash_before_the_send_expires_the_entry_on_restart_and_never_sends_it(desk):
    async def crash(order):
        raise SystemExit("killed between the commit and the send")

    desk.venue.place_order = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        desk.trade(1)
    (written,) = desk.entries()
    assert written.state is OrderState.SUBMITTED
    del desk.venue.place_order  # the venue as it is: it never saw the order
    fresh = asyncio.run(desk.executor.resolve_open_orders(desk.clock.t, 60_000))
    assert fresh == []  # not sent again
    (settled,) = desk.entries()
    assert (settled.state, settled.reason) == (OrderState.EXPIRED, "RESTART_UNRESOLVED")
    assert desk.venue.requests == {}
