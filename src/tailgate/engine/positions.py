"""Position management (SPEC §C5): the venue stop, the monitor loop, and `close_position`.

Every entry gets a hard stop resting at the venue — the first line of defence, there even if
this process dies. Every MONITOR_INTERVAL the monitor settles stops that fired, moves the
trailing stop with the best mark, and closes on the trailing stop, the time stop, the hard stop
(as a backup), a profit tier (partially, once each), or the leader's liquidation (then the
leader is blacklisted for LIQUIDATION_COOLDOWN_DAYS). Every close records its reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from tailgate.domain.models import MS_PER_DAY, Market, Side
from tailgate.domain.params import CopyParams
from tailgate.domain.precision import round_size
from tailgate.domain.stops import (
    CloseReason,
    LeaderCheck,
    check_trader_position,
    profit_tier_due,
    stop_loss_triggered,
    time_stop_triggered,
    trailing_stop_triggered,
    update_trailing_stop,
)
from tailgate.engine.execution import OrderExecutor, claimed
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.portfolio import Portfolio
from tailgate.logs import get_logger
from tailgate.store import DuplicateOrderError, Store
from tailgate.store.records import (
    ObligationKind,
    ObligationRecord,
    OrderPurpose,
    OrderRecord,
    OrderState,
    PositionRecord,
    PositionStatus,
)
from tailgate.venues.protocols import LeaderFeed, MarketData

__all__ = ["PositionManager", "close_obligation"]

log = get_logger("tailgate.positions")

LEADER_CHECK_INTERVAL_MS = 300_000  # leaders' positions are checked every 5 minutes
TRAIL_FLUSH_INTERVAL_MS = 300_000  # moved trailing stops are persisted every 5 minutes
MAX_STOPS_PER_INSTANT = 100  # stops planned for one position at one instant (retries)


def close_obligation(position: PositionRecord, reason: str, now_ms: int) -> ObligationRecord:
    """The obligation to end up flat in `position` (one per position: it closes once)."""
    assert position.id is not None
    return ObligationRecord(
        key=f"close:{position.id}",
        kind=ObligationKind.CLOSE,
        account=position.account,
        position_id=position.id,
        created_ms=now_ms,
        due_ms=now_ms,
        reason=reason,
    )


class PositionManager:
    def __init__(
        self,
        *,
        store: Store,
        feed: LeaderFeed,
        market: MarketData,
        executor: OrderExecutor,
        portfolio: Portfolio,
        leaders: LeaderBook,
        params: CopyParams,
        markets: Mapping[str, Market],
    ) -> None:
        self._store = store
        self._feed = feed
        self._market = market
        self._executor = executor
        self._portfolio = portfolio
        self._leaders = leaders
        self._params = params
        self._markets = markets
        self._stops: dict[int, OrderRecord] = {
            o.position_id: o
            for o in store.load_orders([OrderState.SUBMITTED], account=portfolio.account)
            if o.purpose is OrderPurpose.STOP and o.position_id is not None
        }
        self._leader_checked: dict[int, int] = {}
        # positions being closed / protected right now: no second close or stop in parallel
        self._closing: set[int] = set()
        self._protecting: set[int] = set()
        self._dirty: dict[int, PositionRecord] = {}  # trailing stops moved since the last flush
        self._flushed_ms = 0

    # ---- the venue stop ---------------------------------------------------------------------

    def stop_of(self, position_id: int) -> OrderRecord | None:
        """The stop resting at the venue for the position, as we know it."""
        return self._stops.get(position_id)

    def resting_stops(self) -> list[OrderRecord]:
        """The stops we believe rest at the venue, one per protected position."""
        return [o for o in self._stops.values() if o.state is OrderState.SUBMITTED]

    def forget_stop(self, stop: OrderRecord) -> None:
        """Reconciliation settled this stop outside the monitor: stop tracking it."""
        tracked = self._stops.get(stop.position_id or -1)
        if tracked is not None and tracked.client_order_id == stop.client_order_id:
            del self._stops[stop.position_id or -1]

    def is_protected(self, position: PositionRecord) -> bool:
        """A stop rests for the position's whole current size (or it is no longer open)."""
        if position.status is not PositionStatus.OPEN:
            return True
        assert position.id is not None
        stop = self._stops.get(position.id)
        if stop is None or stop.state is not OrderState.SUBMITTED:
            return False
        return stop.size >= round_size(position.size, self._markets[position.coin]) - 1e-12

    def busy(self, position_id: int) -> bool:
        """Someone is closing or protecting the position right now (wait for them)."""
        return position_id in self._closing or position_id in self._protecting

    async def ensure_protected(self, position: PositionRecord, now_ms: int) -> bool:
        """The obligation's work: place the stop unless one already covers the position."""
        if not self.is_protected(position):
            await self.protect(position, now_ms)
        return self.is_protected(position)

    async def protect(self, position: PositionRecord, now_ms: int) -> None:
        """(Re)place the venue stop for the position's current size and stop price; once it
        rests, the position's PROTECT obligations are done."""
        assert position.id is not None
        if position.id in self._protecting:
            return
        self._protecting.add(position.id)
        try:
            await self._protect(position, now_ms)
        finally:
            self._protecting.discard(position.id)

    async def _protect(self, position: PositionRecord, now_ms: int) -> None:
        assert position.id is not None
        old = self._stops.pop(position.id, None)
        if old is not None:
            await self._executor.cancel(old, now_ms)
            if old.state is OrderState.FILLED:  # it fired before we could move it
                return
        if position.stop_price is None or position.size <= 0:
            return
        stop = self._executor.plan_stop(position, now_ms)
        if stop.size <= 0:
            return
        for attempt in range(1, MAX_STOPS_PER_INSTANT + 1):
            claimed(stop, now_ms)  # sent right below: one commit before the send
            try:
                self._store.insert_order(stop)
                break
            except DuplicateOrderError:  # a stop was already planned at this instant
                stop = self._executor.plan_stop(position, now_ms, attempt)
        else:
            raise RuntimeError(f"position {position.id}: too many stops at {now_ms}")
        await self._executor.execute(stop, now_ms)
        if stop.state is OrderState.SUBMITTED:
            self._stops[position.id] = stop
            self._store.complete_obligations(position.id, ObligationKind.PROTECT, now_ms)
        else:
            log.error(
                "stop_not_placed",
                position=position.id,
                coin=position.coin,
                state=stop.state.value,
                reason=stop.reason,
            )

    # ---- closing ----------------------------------------------------------------------------

    async def close_position(
        self,
        position: PositionRecord,
        reason: str,
        now_ms: int,
        *,
        size: float | None = None,
        mark: float | None = None,
    ) -> None:
        """Market-close `size` of the position (all of it by default), then cancel its venue
        stop, persist status and reason; a partial close re-places the stop for what remains.
        A position already being closed is left to that close.

        The close goes first: waiting for the stop's cancel (and the venue's answer about it)
        would hold every exit back by two round trips to the venue. Both orders are reduce-only,
        so together they can never trade more than the position: a stop that fires first leaves
        the close nothing (or less) to take, and the cancel's answer then settles that stop. A
        stop the cancel does not reach (the venue failed, or we crashed) stays tracked and is
        cancelled by the monitor (`cancel_stray_stops`), at startup first."""
        assert position.id is not None
        if position.id in self._closing:
            return
        self._closing.add(position.id)
        try:
            await self._close(position, reason, now_ms, size, mark)
        finally:
            self._closing.discard(position.id)

    async def _close(
        self,
        position: PositionRecord,
        reason: str,
        now_ms: int,
        size: float | None,
        mark: float | None,
    ) -> None:
        assert position.id is not None
        if mark is None:
            mark = (await self._market.mids()).get(position.coin)
            if mark is None:
                log.error("close_without_price", position=position.id, reason=reason)
                return
        full = size is None or size >= position.size
        take = position.size if full else size
        cause = f"pos{position.id}:{reason}:{position.tiers_taken}:{now_ms}"
        order = self._executor.plan_exit(position, take, mark, reason, cause, now_ms)
        if order.size > 0:
            claimed(order, now_ms)  # sent right below: one commit before the send
            # a full close must happen even if this order is lost: its obligation says so
            owed = [close_obligation(position, reason, now_ms)] if full else []
            self._store.insert_order(order, owed)
            if owed:
                self._executor.on_obligation(now_ms)
            await self._executor.execute(order, now_ms)
        stop = self._stops.get(position.id)
        if stop is not None:
            await self._retire_stop(position.id, stop, now_ms)
        log.info(
            "position_close",
            position=position.id,
            coin=position.coin,
            side=position.side.value,
            reason=reason,
            size=order.size,
            mark=mark,
            state=order.state.value,
            remaining=position.size,
        )
        if position.status is PositionStatus.OPEN:
            await self.protect(position, now_ms)

    async def _retire_stop(self, position_id: int, stop: OrderRecord, now_ms: int) -> None:
        """Cancel a stop whose position was closed or reduced (settling it if it fired); it is
        tracked until the venue has answered, so a failed cancel is tried again."""
        await self._executor.cancel(stop, now_ms)
        if self._stops.get(position_id) is stop:
            del self._stops[position_id]

    async def cancel_stray_stops(self, now_ms: int) -> int:
        """Cancel the stops still resting for positions that are no longer open (a close whose
        cancel failed, or a crash between the two) → how many were left to cancel. A stray
        stop must not outlive its position: reduce-only, it would still cut a later position
        in the same coin."""
        stray = [
            (position_id, stop)
            for position_id, stop in self._stops.items()
            if self._portfolio.get(position_id) is None and position_id not in self._closing
        ]
        for position_id, stop in stray:
            log.warning("stray_stop_cancelled", position=position_id, stop=stop.client_order_id)
            try:
                await self._retire_stop(position_id, stop, now_ms)
            except Exception as exc:  # the venue failed again: the next look tries again
                log.warning(
                    "stray_stop_cancel_failed",
                    stop=stop.client_order_id,
                    error=f"{type(exc).__name__}: {exc}",
                )
        return len(stray)

    # ---- the monitor ------------------------------------------------------------------------

    async def monitor(self, now_ms: int) -> None:
        if now_ms - self._flushed_ms >= TRAIL_FLUSH_INTERVAL_MS:
            self.flush(now_ms)
        if self._stops:
            await self.cancel_stray_stops(now_ms)
        if not self._portfolio.open_positions:
            return
        marks = await self._market.mids()
        for position in list(self._portfolio.open_positions):
            if await self._stop_fired(position, now_ms):
                continue
            mark = marks.get(position.coin)
            if mark is None:
                continue
            self._trail(position, mark)
            reason = self._exit_reason(position, mark, now_ms)
            if reason is not None:
                await self.close_position(position, reason, now_ms, mark=mark)
                continue
            tier = profit_tier_due(position, mark, self._params)
            if tier is not None and self._params.profit_tiers:
                take = position.size * self._params.profit_tiers[tier].take_fraction
                position.tiers_taken |= 1 << tier
                market = self._markets[position.coin]
                if round_size(take, market) > 0:
                    await self.close_position(
                        position,
                        f"{CloseReason.PROFIT_TIER.value}_{tier + 1}",
                        now_ms,
                        size=take,
                        mark=mark,
                    )
                else:
                    self._store.save_position(position)
                continue
            await self._check_leader(position, now_ms, mark)

    async def _stop_fired(self, position: PositionRecord, now_ms: int) -> bool:
        assert position.id is not None
        stop = self._stops.get(position.id)
        if stop is None:
            return False
        await self._executor.refresh(stop, now_ms)
        if stop.state is OrderState.SUBMITTED or self._stops.get(position.id) is not stop:
            return False  # still resting, or taken meanwhile by a close that settles it
        self._stops.pop(position.id, None)
        if stop.state in (OrderState.FILLED, OrderState.PARTIAL):
            log.info(
                "stop_fired",
                position=position.id,
                coin=position.coin,
                price=stop.avg_price,
                size=stop.filled_size,
            )
        if position.status is PositionStatus.OPEN:  # partial, or cancelled by the venue: re-protect
            await self.protect(position, now_ms)
        return position.status is not PositionStatus.OPEN

    def _trail(self, position: PositionRecord, mark: float) -> None:
        t = update_trailing_stop(position, mark, self._params)
        if (t.extreme_price, t.trailing_stop) != (position.extreme_price, position.trailing_stop):
            position.extreme_price, position.trailing_stop = t.extreme_price, t.trailing_stop
            assert position.id is not None
            self._dirty[position.id] = position

    def flush(self, now_ms: int) -> None:
        """Persist moved trailing stops (batched: the venue's hard stop is what protects a
        position across a crash; the trail is the monitor's, restored to its last flush)."""
        for position in self._dirty.values():
            if position.status is PositionStatus.OPEN:
                self._store.save_position(position)
        self._dirty.clear()
        self._flushed_ms = now_ms

    def _exit_reason(self, position: PositionRecord, mark: float, now_ms: int) -> str | None:
        if stop_loss_triggered(position, mark):
            return CloseReason.STOP_LOSS.value  # the venue stop should have fired: backup
        if trailing_stop_triggered(position, mark):
            return CloseReason.TRAILING_STOP.value
        if time_stop_triggered(position.opened_ms, now_ms, self._params):
            return CloseReason.TIME_STOP.value
        return None

    async def _check_leader(self, position: PositionRecord, now_ms: int, mark: float) -> None:
        """Leader liquidation (§C5): their position vanished and no Close fill explains it."""
        assert position.id is not None
        if position.leader is None:
            return
        last = self._leader_checked.get(position.id)
        if last is not None and now_ms - last < LEADER_CHECK_INTERVAL_MS:
            return
        self._leader_checked[position.id] = now_ms
        state = await self._feed.leader_state(position.leader)
        live = state.position(position.coin)
        if live is not None and live.side is position.side:
            return
        close_seen = await self._leader_closed_since(position, now_ms)
        verdict = check_trader_position(position.side, live, close_seen)
        if verdict is LeaderCheck.LIQUIDATED:
            until = now_ms + int(self._params.liquidation_cooldown_days * MS_PER_DAY)
            self._leaders.blacklist(position.leader, until, CloseReason.TRADER_LIQUIDATED.value)
            log.warning(
                "leader_liquidated",
                leader=position.leader,
                coin=position.coin,
                position=position.id,
                blacklisted_until_ms=until,
            )
            await self.close_position(
                position, CloseReason.TRADER_LIQUIDATED.value, now_ms, mark=mark
            )

    async def _leader_closed_since(self, position: PositionRecord, now_ms: int) -> bool:
        """Did a fill of the leader close (or flip) this position since they opened it?
        (Their open precedes our copy by the confirmation delay; a day back is ample.)"""
        assert position.leader is not None
        since = position.opened_ms - MS_PER_DAY
        page = await self._feed.leader_fills(position.leader, since, now_ms + 1)
        for fill in page.fills:
            if fill.coin != position.coin:
                continue
            start_side = Side.LONG if fill.start_position > 0 else Side.SHORT
            if (
                fill.start_position != 0
                and start_side is position.side
                and (fill.end_position == 0 or (fill.end_position > 0) != (fill.start_position > 0))
            ):
                return True
        return False
