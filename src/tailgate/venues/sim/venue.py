"""`SimVenue`: the simulated world served through the venue protocols, at a clock's `now`.

It implements LeaderFeed, MarketData, OrderGateway and AccountState. Every read builds the
Hyperliquid-shaped JSON (`payloads.py`) and parses it with the real adapter's parser, so the
engine receives exactly what a Hyperliquid adapter would hand it — including rejects. The
hottest reads (leaders' fills, states and account histories; the mids) are built straight
into the parser's result instead (`parsed.py`, held equal to the round trip by a test);
corrupted fills still take the round trip.

No look-ahead: every answer is computed at `now_ms()`: fills at or before now, prices of the
last completed minute, positions and account values at now.

Orders are IOC against the book at now (walked up to the limit, one fill per level taken), with
the venue's checks first: known coin, size on the lot, price on the grid, and $10 minimum
notional unless reduce-only. A client order id seen before returns the first result and never
trades again, like Hyperliquid's duplicate-cloid rejection. A reduce-only order must face an
open position and is clipped to its size (FILLED when that much fills). Our account
(collateral, positions with average entry, realised PnL, fees) is tracked for
`account_snapshot`; there is no margin check. `OrderResult.reason` is a ReasonCode value
(ORDER_FILLED, ORDER_PARTIAL, ORDER_NOT_FILLED), or for rejections "CODE: detail" — the part
before ':' is the code.

By default all of this lives in memory and dies with our process. Given a `state_path`, the
venue keeps it in its own SQLite file (`state_file.py`), like a real exchange that outlives
our crashes: every call commits what it changed before it answers, and a venue opened on the
same file (over the same world) carries on where the last commit left it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tailgate.domain.models import (
    LeaderboardEntry,
    LeaderState,
    Market,
    OrderBook,
)
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.constants import TAKER_FEE_RATE
from tailgate.venues.hyperliquid.leaderboard import LeaderboardRow
from tailgate.venues.hyperliquid.parse import (
    parse_l2_book,
    parse_meta,
    parse_user_fills,
    read_leaderboard_row,
)
from tailgate.venues.paper import (
    PaperAccount,
    PaperOrders,
    execute_ioc,
    reject,
    validate_order,
)
from tailgate.venues.protocols import (
    AccountSnapshot,
    FillPage,
    OpenOrder,
    OrderRequest,
    OrderResult,
    OrderStatus,
    PayloadError,
    VenuePosition,
)
from tailgate.venues.sim import payloads
from tailgate.venues.sim.parsed import account_values, all_mids, fill_page, leader_state
from tailgate.venues.sim.state_file import (
    Journal,
    Submission,
    VenueFillRecord,
    VenueState,
    VenueStateFile,
)
from tailgate.venues.sim.triggers import PendingTrigger, settle_trigger
from tailgate.venues.sim.world import SimWorld

__all__ = ["SimVenue"]

FIRST_VENUE_ORDER_ID = 1_000_000


class SimVenue:
    """A Hyperliquid look-alike over a `SimWorld`, seen at `now_ms()`."""

    def __init__(
        self,
        world: SimWorld,
        now_ms: Callable[[], int],
        account_value: float = 100_000.0,
        fee_rate: float = TAKER_FEE_RATE,
        state_path: Path | None = None,
    ) -> None:
        """With `state_path`, the venue's state lives in that file: loaded when the file
        exists (`account_value` then is ignored), created with `account_value` otherwise."""
        self.world = world
        self.now_ms = now_ms  # public: a restarted engine may hand the venue its new clock
        self.account = PaperAccount(account_value, fee_rate)
        self.orders: PaperOrders[PendingTrigger] = PaperOrders()
        self._next_order_id = FIRST_VENUE_ORDER_ID
        self._leaderboard_cache: tuple[int, list[LeaderboardRow]] | None = None
        self._settled_minute = -1
        self._mids_cache: tuple[int, dict[str, float]] | None = None
        self._last_time_ms: int | None = None
        self._file: VenueStateFile | None = None
        self._journal: Journal | None = None  # set exactly when _file is
        if state_path is not None:
            self._file = VenueStateFile(
                state_path,
                world=repr(world.config),
                fee_rate=fee_rate,
                account_value=account_value,
                first_order_id=FIRST_VENUE_ORDER_ID,
            )
            self._journal = Journal()
            self._restore(self._file.load())

    def restore_account(self, cash: float, positions: Iterable[VenuePosition]) -> None:
        """Rebuild our account after a restart of the process that held this simulator.

        The in-process simulator dies with our process; in paper mode the store is the
        account's truth, so a restarted engine hands it back here before trading. A venue
        with a state file kept the account itself: it is the truth, and refuses.
        """
        if self._file is not None:
            raise RuntimeError(
                f"venue state is kept in {self._file.path}: reconcile against it, not restore"
            )
        self.account.restore(cash, positions)

    # --- the state file -----------------------------------------------------------------------
    @property
    def state_path(self) -> Path | None:
        return None if self._file is None else self._file.path

    @property
    def last_time_ms(self) -> int | None:
        """The latest `now_ms()` at which this venue committed a change (an order, a stop
        resting, firing or cancelled, a minute of bars settled): an exchange's time never goes
        back, so a restarted engine resumes its clock from here. None for a fresh venue, and
        always without a state file (nothing is committed)."""
        return self._last_time_ms

    def submissions(self) -> list[Submission]:
        """Every `place_order` call this venue's file has received, in order."""
        return self._state_file().submissions()

    def submissions_by_client_id(self) -> dict[str, int]:
        """How many times each client order id was sent (a retry shows as > 1)."""
        return self._state_file().submissions_by_client_id()

    def venue_fills(self) -> list[VenueFillRecord]:
        """Every fill the venue made for us (orders and fired stops), in order."""
        return self._state_file().venue_fills()

    def close(self) -> None:
        """Close the state file (nothing to do in memory)."""
        if self._file is not None:
            self._file.close()

    def _state_file(self) -> VenueStateFile:
        if self._file is None:
            raise RuntimeError("an in-memory SimVenue keeps no logs: give it a state_path")
        return self._file

    def _restore(self, state: VenueState) -> None:
        self.account = state.account
        self.orders = state.orders
        self._next_order_id = state.next_order_id
        self._settled_minute = state.settled_minute
        self._last_time_ms = state.last_time_ms

    @contextmanager
    def _committed(self) -> Iterator[None]:
        """One call against the state file: what it changed is committed before it answers;
        if it fails (or the commit does), the venue goes back to the file — the call never
        happened."""
        assert self._file is not None and self._journal is not None
        journal = self._journal
        try:
            yield
            if journal:
                now = self.now_ms()
                last = self._last_time_ms
                self._last_time_ms = now if last is None or now > last else last
                self._file.commit(
                    journal,
                    VenueState(
                        self.account,
                        self.orders,
                        self._next_order_id,
                        self._settled_minute,
                        self._last_time_ms,
                    ),
                )
        except BaseException:
            journal.clear()
            self._restore(self._file.load())
            raise
        journal.clear()

    def _settle(self) -> None:
        """Settle resting stops, committed when the venue keeps a file."""
        if self._file is None or not self.orders.resting:
            self._settle_triggers()
            return
        with self._committed():
            self._settle_triggers()

    # --- LeaderFeed ---------------------------------------------------------------------------
    async def leaderboard(self, window_days: int) -> list[LeaderboardEntry]:
        """Every leader with history at or before now, best PnL over the window first."""
        now = self.now_ms()
        if self._leaderboard_cache is None or self._leaderboard_cache[0] != now:
            rows = payloads.leaderboard_rows(self.world, now)  # read once for every window
            self._leaderboard_cache = (now, [read_leaderboard_row(row) for row in rows])
        entries: list[LeaderboardEntry] = []
        for row in self._leaderboard_cache[1]:
            entry = row.entry(window_days)
            if entry is None:  # as the venue's parser refuses a row without the window
                raise PayloadError(
                    ReasonCode.MALFORMED_PAYLOAD, f"leaderboard row: no {window_days}-day window"
                )
            entries.append(entry)
        entries.sort(key=lambda e: (-e.pnl, e.leader))
        return entries

    async def leader_fills(self, leader: str, start_ms: int, end_ms: int) -> FillPage:
        """Fills with start ≤ time < end, never after now; oldest first."""
        ledger = self.world.ledger(leader)
        if ledger is None:
            return parse_user_fills([], leader)
        i0, i1 = ledger.fill_range(start_ms, min(end_ms, self.now_ms() + 1))
        limit = self.world.config.fills_page_limit
        if limit is not None:
            i1 = min(i1, i0 + limit)
        return fill_page(self.world, ledger, i0, i1, leader, self.world.config.malformed_fill_rate)

    async def leader_state(self, leader: str) -> LeaderState:
        return leader_state(self.world, self.world.ledger(leader), leader, self.now_ms())

    async def leader_portfolio(self, leader: str) -> list[tuple[int, float]]:
        """Daily account values over the last 90 days up to now (since the account exists)."""
        return account_values(self.world, self.world.ledger(leader), self.now_ms())

    # --- MarketData ---------------------------------------------------------------------------
    async def markets(self) -> list[Market]:
        return parse_meta(payloads.meta(self.world))

    async def mids(self) -> dict[str, float]:
        self._settle()
        minute = self.world.paths.minute_of(self.now_ms())
        if self._mids_cache is None or self._mids_cache[0] != minute:  # prices move per minute
            mids = all_mids(self.world, self.now_ms())
            self._mids_cache = (minute, mids)
        return dict(self._mids_cache[1])

    async def order_book(self, coin: str) -> OrderBook:
        if self.world.market(coin) is None:
            raise PayloadError(ReasonCode.UNKNOWN_COIN, f"no market {coin!r}")
        return parse_l2_book(payloads.l2_book(self.world.book(coin, self.now_ms())))

    # --- OrderGateway -------------------------------------------------------------------------
    async def place_order(self, order: OrderRequest) -> OrderResult:
        if self._file is None:
            return self._place(order)
        with self._committed():
            return self._place(order)

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        self._settle()
        return self.orders.answer(client_order_id)

    async def cancel_order(self, client_order_id: str) -> bool:
        """Cancel a resting stop; False when there is nothing resting under that id."""
        if self._file is None:
            self._settle_triggers()
            return self.orders.cancel(client_order_id)
        with self._committed():
            return self._cancel(client_order_id)

    def _place(self, order: OrderRequest) -> OrderResult:
        self._settle_triggers()
        journal = self._journal
        previous = self.orders.answer(order.client_order_id)
        if previous is not None:
            if journal is not None:
                journal.submissions.append(Submission.of(order, self.now_ms(), duplicate=True))
            return previous
        if order.trigger_price is not None:
            result = self._rest_trigger(order)
        else:
            result = self._execute(order)
        self.orders.answers[order.client_order_id] = result
        if journal is not None:
            journal.submissions.append(Submission.of(order, self.now_ms(), duplicate=False))
            journal.answers.append((result, order.coin, order.is_buy))
            if result.status is OrderStatus.OPEN:
                journal.rested.append(self.orders.resting[order.client_order_id])
        return result

    def _cancel(self, client_order_id: str) -> bool:
        """`cancel_order` of a venue with a state file: the change goes in the journal."""
        assert self._journal is not None
        self._settle_triggers()
        stop = self.orders.resting.get(client_order_id)
        if stop is None or not self.orders.cancel(client_order_id):
            return False
        self._journal.unrested.append(client_order_id)
        self._journal.answers.append((self.orders.answers[client_order_id], stop.coin, stop.is_buy))
        return True

    def _rest_trigger(self, order: OrderRequest) -> OrderResult:
        market = self.world.market(order.coin)
        if market is None:
            return reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        probe = OrderRequest(
            order.client_order_id,
            order.coin,
            order.is_buy,
            order.size,
            order.trigger_price or 0.0,
            order.order_type,
            reduce_only=True,
        )
        rejected = validate_order(probe, market, probe.limit_price)
        if rejected is not None:
            return rejected
        if not order.reduce_only:
            return reject(order, ReasonCode.ORDER_REJECTED, "stops must be reduce-only")
        assert order.trigger_price is not None
        self.orders.resting[order.client_order_id] = PendingTrigger(
            order.client_order_id,
            order.coin,
            order.is_buy,
            order.size,
            order.trigger_price,
            self.now_ms(),
        )
        return OrderResult(order.client_order_id, OrderStatus.OPEN, reason="resting")

    def _settle_triggers(self) -> None:
        """Fill every resting stop the bars since it was last checked went through."""
        if not self.orders.resting:
            return
        now = self.now_ms()
        minute = self.world.paths.minute_of(now)
        if minute == self._settled_minute:  # bars complete once a minute: nothing new yet
            return
        self._settled_minute = minute
        journal = self._journal
        if journal is not None:
            journal.checked = True
        for cid in sorted(self.orders.resting):
            stop = self.orders.resting[cid]
            fill = settle_trigger(self.world, stop, now)
            if fill is None:
                continue
            del self.orders.resting[cid]
            market = self.world.market(stop.coin)
            assert market is not None
            answer = self.orders.answers[cid] = self.account.stop_out(
                cid,
                self._venue_id(cid),
                stop.coin,
                stop.is_buy,
                stop.size,
                lambda _size, price=fill.price: price,
                fill.time_ms,
                market,
            )
            if journal is not None:
                journal.unrested.append(cid)
                journal.answers.append((answer, stop.coin, stop.is_buy))

    # --- AccountState -------------------------------------------------------------------------
    async def account_snapshot(self) -> AccountSnapshot:
        self._settle()
        now = self.now_ms()
        return self.account.snapshot(lambda coin: self.world.price_at(coin, now), now)

    async def open_orders(self) -> list[OpenOrder]:
        """Our stops still resting (stop-market: no limit), by client order id."""
        self._settle()
        return [
            OpenOrder(cid, s.coin, s.is_buy, s.size, s.trigger_price, None)
            for cid, s in sorted(self.orders.resting.items())
        ]

    def account_value(self, now_ms: int | None = None) -> float:
        """Collateral plus unrealised PnL at the last completed minute's price."""
        now = self.now_ms() if now_ms is None else now_ms
        return self.account.value(lambda coin: self.world.price_at(coin, now))

    # --- execution ----------------------------------------------------------------------------
    def _venue_id(self, client_order_id: str) -> str:
        """Unique across restarts of this simulator, like a real venue's ids: derived from the
        (unique) client order id, numbered for readability."""
        self._next_order_id += 1
        return f"{self._next_order_id - 1}-{client_order_id.removeprefix('0x')[:16]}"

    def _execute(self, order: OrderRequest) -> OrderResult:
        market = self.world.market(order.coin)
        if market is None:
            return reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        now = self.now_ms()
        book = self.world.book(order.coin, now)
        venue_id = self._venue_id(order.client_order_id)
        return execute_ioc(order, market, book, self.account, venue_id, now)
