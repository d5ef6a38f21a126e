"""§E6 in the execution path: one leader trade fans out to four followers on three signers —
different signers' orders are in flight at the same time, one signer's never are, and every
signer's nonces strictly increase in the order its orders reach the venue. A follower whose
venue blows up is isolated (§E10)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from itertools import pairwise

from tailgate.config import load_settings
from tailgate.domain.followers import ALL_LEADERS, Follower, Subscription
from tailgate.domain.models import Action, LeaderTrade, Market, OrderType, Side
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import Signal, SignalOutcome
from tailgate.engine.desk import open_desk
from tailgate.engine.fanout import Fanout
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.locks import NonceSource, ScopedLocks
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState
from tailgate.venues.protocols import OrderRequest, OrderResult, OrderStatus, VenueFill

T0 = 1_740_000_000_000
BTC = Market("BTC", sz_decimals=5, max_leverage=40)
SEND_S = 0.02  # each order takes this long at the venue


class SlowVenue:
    """Fills every order after SEND_S; logs (signer, start, end, nonce) per order."""

    def __init__(self, signer: str, log: list, *, broken: bool = False) -> None:
        self.signer = signer
        self.log = log
        self.broken = broken

    async def markets(self) -> list[Market]:
        return [BTC]

    async def place_order(self, request: OrderRequest) -> OrderResult:
        start = time.perf_counter()
        await asyncio.sleep(SEND_S)
        self.log.append((self.signer, start, time.perf_counter(), request.nonce))
        if self.broken:
            raise RuntimeError("follower venue exploded")
        if request.trigger_price is not None:
            return OrderResult(request.client_order_id, OrderStatus.OPEN)
        fill = VenueFill(f"f-{request.client_order_id}", 60_000.0, request.size, 0.0, T0)
        return OrderResult(
            request.client_order_id, OrderStatus.FILLED, request.size, 60_000.0, 0.0, None, (fill,)
        )

    async def cancel_order(self, client_order_id: str) -> bool:
        return True

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        return None


def test_signers_run_in_parallel_one_signers_orders_never_overlap(tmp_path):
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/t.db", workdir=tmp_path)
    store = Store.open(settings.resolved_database_url())
    followers = [
        Follower("a1", signer="0xA", capital_usd=10_000),
        Follower("a2", signer="0xA", capital_usd=10_000),  # shares a signer with a1
        Follower("b", signer="0xB", capital_usd=10_000),
        Follower("c", signer="0xC", capital_usd=10_000),
        Follower("boom", signer="0xD", capital_usd=10_000),
    ]
    sent: list = []
    locks, nonces = ScopedLocks(), NonceSource(lambda: T0)
    markets = {"BTC": BTC}
    params = settings.copy_params()

    async def run() -> Fanout:
        leaders = LeaderBook(SlowVenue("x", []), store, params, markets)  # type: ignore[arg-type]
        desks = []
        for f in followers:
            store.save_follower(f, T0)
            venue = SlowVenue(f.signer, sent, broken=f.account == "boom")
            desks.append(
                await open_desk(
                    settings,
                    store,
                    account=f.account,
                    signer=f.signer,
                    starting_cash=f.capital_usd,
                    gateway=venue,  # type: ignore[arg-type]
                    venue_account=None,
                    feed=venue,  # type: ignore[arg-type]
                    market=venue,  # type: ignore[arg-type]
                    markets=markets,
                    leaders=leaders,
                    params=params,
                    now_ms=T0,
                    clock_ms=lambda: T0,
                    follower=f,
                    locks=locks,
                    nonces=nonces,
                )
            )
        subs = [Subscription(f.account, ALL_LEADERS, 0.01) for f in followers]
        fanout = Fanout(store, desks, subs, markets)
        trade = LeaderTrade("0xL", "BTC", Side.LONG, Action.OPEN, 2.0, 60_000.0, T0, 1, 0.0, 2.0)
        signal = Signal(
            trade,
            SignalOutcome.ACCEPTED,
            ReasonCode.SIZED,
            [],
            order_type=OrderType.MARKET,
            limit_price=60_300.0,
            size_usd=1_000.0,
        )
        orders = fanout.plan(trade, signal, T0, {"BTC": 60_000.0}, market_seen_ms=T0)
        store.record_trade(trade, signal, seen_ms=T0, fanout=orders)
        await fanout.execute(orders, T0)
        return fanout

    fanout = asyncio.run(run())

    by_signer: dict[str, list] = defaultdict(list)
    for signer, start, end, nonce in sent:
        by_signer[signer].append((start, end, nonce))
    # every follower sent its entry, and the filled ones their stop: a1+a2 on 0xA → 4 orders
    assert {s: len(v) for s, v in by_signer.items()} == {"0xA": 4, "0xB": 2, "0xC": 2, "0xD": 1}
    for signer, orders in by_signer.items():
        orders.sort()
        for (_, end, n1), (start, _, n2) in pairwise(orders):
            assert start >= end, f"{signer}: two orders in flight at once"
            assert n2 > n1, f"{signer}: nonces must increase"
    first = {s: min(o[0] for o in v) for s, v in by_signer.items()}
    last_end = {s: max(o[1] for o in v) for s, v in by_signer.items()}
    assert first["0xB"] < last_end["0xC"] and first["0xC"] < last_end["0xB"]  # overlapped

    states = {o.account: o.state for o in store.load_orders() if o.purpose is OrderPurpose.ENTRY}
    assert states == {
        "a1": OrderState.FILLED,
        "a2": OrderState.FILLED,
        "b": OrderState.FILLED,
        "c": OrderState.FILLED,
        "boom": OrderState.UNKNOWN,  # ambiguous: settled by asking the venue, never resent
    }
    assert fanout.failed == 0
    store.close()
