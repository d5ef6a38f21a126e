"""Order execution: plan → write → claim → send → record (SPEC §E1, §E2, §E5).

Every order is a row (state PENDING, deterministic client order id) before the venue hears of
it. Sending starts by *claiming* the row (PENDING → SUBMITTED, atomically, so of several
executors exactly one sends it), and the outcome — fills, position, cash and the obligations it
creates (an open position must get its stop) — is written in one transaction after. An
ambiguous failure (timeout, transport error) leaves it UNKNOWN — never sent again; startup
settles every non-final order by asking the venue by client order id, sends entries that were
written but never sent if they are still fresh, and expires the rest (the stale sweep does the
same while running). Prices and sizes are rounded to the venue's grid here, at the boundary.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import replace

from tailgate.domain.models import LeaderTrade, Market, OrderType, Side
from tailgate.domain.orders import IllegalTransition, advance
from tailgate.domain.params import DEFAULT_PARAMS, CopyParams
from tailgate.domain.positions import average_entry, pnl
from tailgate.domain.precision import round_price, round_size
from tailgate.domain.pricing import PriceQuote
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.signals import Signal
from tailgate.domain.stops import CloseReason, compute_stop_price, compute_trailing_stop_initial
from tailgate.engine.balances import BalanceCache, preflight
from tailgate.engine.locks import NonceSource, ScopedLocks
from tailgate.engine.portfolio import Portfolio
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.store.records import (
    FillRecord,
    ObligationKind,
    ObligationRecord,
    OrderPurpose,
    OrderRecord,
    OrderState,
    PositionRecord,
    PositionStatus,
)
from tailgate.venues.hyperliquid.constants import MIN_ORDER_NOTIONAL_USD
from tailgate.venues.protocols import OrderGateway, OrderRequest, OrderResult, OrderStatus

__all__ = [
    "OrderExecutor",
    "claimed",
    "client_order_id",
    "entry_intent",
    "protect_obligation",
    "state_for_answer",
]

log = get_logger("tailgate.execution")

EXIT_SLIPPAGE_CAP = 0.05  # exits must happen: a wide cap, still a cap
# §E8 preflight: the engine sets no leverage at the venue, so an entry is assumed to lock its
# whole notional (1×: the most margin it could need); a reserve is kept back for fees,
# slippage and funding.
ENTRY_MARGIN_LEVERAGE = 1.0
BALANCE_RESERVE_FRACTION = 0.05


def state_for_answer(result: OrderResult | None, ordered_size: float) -> OrderState:
    """Our state for the venue's record of an order; None: the venue never had it (§E1)."""
    if result is None:
        return OrderState.EXPIRED
    if result.status is OrderStatus.OPEN:
        return OrderState.SUBMITTED
    if result.status is OrderStatus.REJECTED:
        return OrderState.REJECTED
    if result.filled_size <= 0:
        return OrderState.EXPIRED
    full = math.isclose(result.filled_size, ordered_size, rel_tol=1e-9)
    return OrderState.FILLED if full else OrderState.PARTIAL


def client_order_id(account: str, cause: str) -> str:
    """Deterministic 16-byte id (Hyperliquid `cloid` shape) from what caused the order."""
    return "0x" + hashlib.sha256(f"{account}|{cause}".encode()).hexdigest()[:32]


def entry_intent(
    account: str,
    trade: LeaderTrade,
    size: float,
    limit: float,
    order_type: OrderType,
    price_source: str,
    now_ms: int,
) -> OrderRecord:
    """The PENDING entry of `account` copying `trade` (its client id derived from both): the
    house's (`OrderExecutor.plan_entry`) and every follower's (`engine.fanout`)."""
    return OrderRecord(
        client_order_id=client_order_id(account, f"{trade.key}:entry"),
        account=account,
        coin=trade.coin,
        is_buy=trade.side is Side.LONG,
        size=size,
        limit_price=limit,
        order_type=order_type,
        purpose=OrderPurpose.ENTRY,
        state=OrderState.PENDING,
        created_ms=now_ms,
        updated_ms=now_ms,
        leader=trade.leader,
        price_source=price_source,
    )


def claimed(order: OrderRecord | None, now_ms: int) -> OrderRecord | None:
    """An intent this process sends next (an entry, an exit, a stop), to be written already
    SUBMITTED (claimed): one commit before the send instead of two (SPEC §N). §E1 holds —
    the intent is durable before anything is sent — and a crash before the send leaves an
    intent that may have been sent, which the restart settles by asking the venue (none: it
    expires, and what it was for is owed by its obligation), never by sending it again."""
    if order is not None and order.state is OrderState.PENDING:
        order.state = advance(order.state, OrderState.SUBMITTED)
        order.updated_ms = now_ms
    return order


def protect_obligation(order: OrderRecord, now_ms: int) -> ObligationRecord:
    """The obligation a fill leaving a position open creates: its stop must rest at the venue
    (keyed by the order that changed the position, so it is written once)."""
    return ObligationRecord(
        key=f"protect:{order.client_order_id}",
        kind=ObligationKind.PROTECT,
        account=order.account,
        position_id=order.position_id if order.purpose is not OrderPurpose.ENTRY else None,
        created_ms=now_ms,
        due_ms=now_ms,
        reason="stop must rest at the venue",
    )


class OrderExecutor:
    def __init__(
        self,
        gateway: OrderGateway,
        store: Store,
        markets: Mapping[str, Market],
        portfolio: Portfolio,
        params: CopyParams = DEFAULT_PARAMS,
        balances: BalanceCache | None = None,
        *,
        margin_leverage: float = ENTRY_MARGIN_LEVERAGE,
        reserve_fraction: float = BALANCE_RESERVE_FRACTION,
        signer: str | None = None,
        locks: ScopedLocks | None = None,
        nonces: NonceSource | None = None,
    ) -> None:
        self._params = params
        self._gateway = gateway
        # §E6: the account's orders are signed by `signer`, one action at a time per signer
        # (shared `locks` across desks), each with the signer's next nonce
        self.signer = signer or portfolio.account
        self._locks = locks if locks is not None else ScopedLocks()  # (empty is falsy)
        self._nonces = nonces
        # §E8 preflight of entries; None: no account state to check them against. Public, like
        # `on_obligation`: the composition root may attach it once the account is known
        self.balances = balances
        self._margin_leverage = margin_leverage
        self._reserve_fraction = reserve_fraction
        self._store = store
        self._markets = markets
        self._portfolio = portfolio
        # told when this executor writes an obligation, so the keeper wakes for it
        self.on_obligation: Callable[[int], None] = lambda _due_ms: None
        self.in_flight: dict[str, str] = {}  # client order id → coin, while being sent

    # ---- planning -------------------------------------------------------------------------

    def plan_entry(
        self, signal: Signal, trade: LeaderTrade, quote: PriceQuote, now_ms: int
    ) -> OrderRecord | ReasonCode:
        """The order for an accepted signal, sized at the §E9 quote, or why none can be placed."""
        market = self._markets[trade.coin]
        is_buy = trade.side is Side.LONG
        assert signal.limit_price is not None
        limit = round_price(signal.limit_price, market, is_buy=is_buy)
        price = quote.price
        size = round_size(signal.size_usd / price, market)
        if size <= 0 or size * price < MIN_ORDER_NOTIONAL_USD:
            return ReasonCode.SIZE_BELOW_VENUE_MINIMUM
        order = entry_intent(
            self._portfolio.account,
            trade,
            size,
            limit,
            signal.order_type or OrderType.MARKET,
            quote.source.value,
            now_ms,
        )
        log.info(
            "entry_priced",
            client_order_id=order.client_order_id,
            coin=order.coin,
            price=price,
            price_source=quote.source.value,
            detail=quote.detail,
            size=size,
            limit_price=limit,
        )
        return order

    async def warm_balance(self) -> None:
        """Read the account snapshot into the preflight's cache ahead of an entry (its
        failure is the preflight's to judge, when it reads again)."""
        if self.balances is not None:
            with contextlib.suppress(Exception):
                await self.balances.snapshot()

    async def preflight(self, order: OrderRecord) -> ReasonCode | None:
        """§E8: INSUFFICIENT_BALANCE when an entry's margin does not fit in our free collateral
        (the cached account snapshot); None when it does, or when there is nothing to check.

        Margin in use is our open positions' notional at entry over the same leverage. A
        snapshot that cannot be had fails closed: the entry is skipped, not sent unchecked.
        """
        if self.balances is None or order.purpose is not OrderPurpose.ENTRY:
            return None
        try:
            snapshot = await self.balances.snapshot()
        except Exception as exc:
            log.warning(
                "preflight_unavailable",
                client_order_id=order.client_order_id,
                error=f"{type(exc).__name__}: {exc}",
            )
            return ReasonCode.INSUFFICIENT_BALANCE
        leverage = self._margin_leverage
        in_use = sum(p.size * p.entry_price for p in snapshot.positions) / leverage
        notional = order.size * order.limit_price  # the most the order can cost
        reason = preflight(
            snapshot.account_value, notional, leverage, self._reserve_fraction, in_use
        )
        if reason is not None:
            log.warning(
                "entry_skipped_by_preflight",
                reason=reason.value,
                client_order_id=order.client_order_id,
                coin=order.coin,
                order_usd=round(notional, 2),
                account_value=round(snapshot.account_value, 2),
                margin_in_use=round(in_use, 2),
            )
        return reason

    def plan_exit(
        self,
        position: PositionRecord,
        size: float,
        mark: float,
        reason: str,
        cause: str,
        now_ms: int,
    ) -> OrderRecord:
        """A reduce-only marketable order taking `size` off `position`."""
        market = self._markets[position.coin]
        is_buy = position.side is Side.SHORT
        cap = mark * (1 + EXIT_SLIPPAGE_CAP) if is_buy else mark * (1 - EXIT_SLIPPAGE_CAP)
        return OrderRecord(
            client_order_id=client_order_id(self._portfolio.account, f"{cause}:exit"),
            account=self._portfolio.account,
            coin=position.coin,
            is_buy=is_buy,
            size=min(round_size(size, market), position.size),
            limit_price=round_price(cap, market, is_buy=is_buy),
            order_type=OrderType.MARKET,
            purpose=OrderPurpose.EXIT,
            state=OrderState.PENDING,
            created_ms=now_ms,
            updated_ms=now_ms,
            reduce_only=True,
            position_id=position.id,
            leader=position.leader,
            price_source="mid",
            reason=reason,
        )

    def plan_stop(self, position: PositionRecord, now_ms: int, attempt: int = 0) -> OrderRecord:
        """The protective stop for `position` at its stop price, for its whole size; `attempt`
        tells apart two stops planned at the same instant (a retry right after a refusal)."""
        assert position.stop_price is not None and position.id is not None
        market = self._markets[position.coin]
        is_buy = position.side is Side.SHORT
        # round the trigger so it fires no later than asked: sell stops up, buy stops down
        trigger = round_price(position.stop_price, market, is_buy=is_buy)
        worst = trigger * (1 + EXIT_SLIPPAGE_CAP) if is_buy else trigger * (1 - EXIT_SLIPPAGE_CAP)
        cause = f"pos{position.id}:stop:{position.size:.10g}:{now_ms}"
        if attempt:
            cause += f":{attempt}"
        return OrderRecord(
            client_order_id=client_order_id(self._portfolio.account, cause),
            account=self._portfolio.account,
            coin=position.coin,
            is_buy=is_buy,
            size=round_size(position.size, market),
            limit_price=round_price(worst, market, is_buy=is_buy),
            order_type=OrderType.MARKET,
            purpose=OrderPurpose.STOP,
            state=OrderState.PENDING,
            created_ms=now_ms,
            updated_ms=now_ms,
            reduce_only=True,
            position_id=position.id,
            leader=position.leader,
            price_source="stop",
            reason=CloseReason.STOP_LOSS.value,
            trigger_price=trigger,
        )

    async def cancel(self, order: OrderRecord, now_ms: int) -> OrderRecord:
        """Cancel a resting order; if the venue says it is no longer resting, settle it."""
        async with self._locks.hold("signer", self.signer):
            cancelled = await self._gateway.cancel_order(order.client_order_id)
        result = await self._gateway.order_by_client_id(order.client_order_id)
        if order.state.is_final:  # settled meanwhile by another path (the monitor saw it fire)
            return order
        if result is not None:
            self._apply_result(order, result, now_ms, None)
        elif cancelled:
            order.state = advance(order.state, OrderState.EXPIRED)
            order.reason, order.updated_ms = "cancelled", now_ms
            self._store.update_order(order)
        return order

    async def refresh(self, order: OrderRecord, now_ms: int) -> OrderRecord:
        """Ask the venue about a resting order and record any change (a stop that fired)."""
        result = await self._gateway.order_by_client_id(order.client_order_id)
        if order.state.is_final:  # settled meanwhile by another path (a close cancelled it)
            return order
        if result is not None and result.status is not OrderStatus.OPEN:
            self._apply_result(order, result, now_ms, None)
        return order

    # ---- sending --------------------------------------------------------------------------

    async def execute(
        self, order: OrderRecord, now_ms: int, *, leader_trade_id: int | None = None
    ) -> OrderRecord:
        """Send a persisted order once and record what happened: a PENDING one is claimed
        first (another executor may have claimed it: then it is left to that one); one
        already claimed (SUBMITTED by `Store.claim_pending_orders`) is sent as it is."""
        assert order.id is not None, "orders are written before they are sent"
        if order.state is OrderState.PENDING:
            if not self._store.claim_order(order, now_ms):
                log.warning("order_claimed_elsewhere", client_order_id=order.client_order_id)
                return order
            order.state = advance(order.state, OrderState.SUBMITTED)
            order.updated_ms = now_ms
        elif order.state is not OrderState.SUBMITTED:  # its fate is known, or only the venue's
            raise IllegalTransition(
                f"order {order.client_order_id} is {order.state.value}: it is never sent again"
            )
        request = OrderRequest(
            client_order_id=order.client_order_id,
            coin=order.coin,
            is_buy=order.is_buy,
            size=order.size,
            limit_price=order.limit_price,
            order_type=order.order_type,
            reduce_only=order.reduce_only,
            trigger_price=order.trigger_price,
        )
        self.in_flight[order.client_order_id] = order.coin
        try:
            async with self._locks.hold("signer", self.signer):  # signed and sent alone
                if self._nonces is not None:
                    request = replace(request, nonce=self._nonces.next(self.signer))
                result = await self._gateway.place_order(request)
        except Exception as exc:  # ambiguous: the venue may or may not have it
            self.in_flight.pop(order.client_order_id, None)
            order.state = advance(order.state, OrderState.UNKNOWN)
            order.reason = f"submit failed: {type(exc).__name__}"
            self._store.update_order(order)
            log.error("order_unknown", client_order_id=order.client_order_id, error=str(exc))
            return order
        try:
            self._apply_result(order, result, now_ms, leader_trade_id)
        finally:
            self.in_flight.pop(order.client_order_id, None)
        return order

    async def resolve_open_orders(self, now_ms: int, pending_ttl_ms: int) -> list[OrderRecord]:
        """Startup: settle every non-final order; never send one twice.

        SUBMITTED / UNKNOWN: the venue's record by client order id settles it (none: it never
        arrived → EXPIRED). PENDING was never sent: an entry younger than `pending_ttl_ms` is
        returned to be sent now; an older one expires (STALE_PENDING); an unsent stop or exit
        expires as SUPERSEDED — its obligation or the monitor places a fresh one."""
        fresh: list[OrderRecord] = []
        for order in self._store.load_orders(
            [OrderState.PENDING, OrderState.SUBMITTED, OrderState.UNKNOWN],
            account=self._portfolio.account,
        ):
            if order.state is OrderState.PENDING:
                if self._expire_if_stale(order, now_ms, pending_ttl_ms, on_restart=True):
                    continue
                fresh.append(order)
                continue
            result = await self._gateway.order_by_client_id(order.client_order_id)
            if result is None:
                order.state = advance(order.state, state_for_answer(None, order.size))
                order.reason = ReasonCode.RESTART_UNRESOLVED.value
                order.updated_ms = now_ms
                self._store.update_order(order)
                log.warning("order_expired_on_restart", client_order_id=order.client_order_id)
            else:
                self._apply_result(order, result, now_ms, None)
        return fresh

    def sweep_stale(self, now_ms: int, pending_ttl_ms: int) -> int:
        """§E2: expire every PENDING intent older than `pending_ttl_ms` → how many."""
        return sum(
            self._expire_if_stale(order, now_ms, pending_ttl_ms, on_restart=False)
            for order in self._store.load_orders(
                [OrderState.PENDING], account=self._portfolio.account
            )
        )

    def _expire_if_stale(
        self, order: OrderRecord, now_ms: int, ttl_ms: int, *, on_restart: bool
    ) -> bool:
        entry = order.purpose is OrderPurpose.ENTRY
        if entry and now_ms - order.created_ms <= ttl_ms:
            return False
        if not entry and not on_restart and now_ms - order.created_ms <= ttl_ms:
            return False
        reason = ReasonCode.STALE_PENDING if entry else ReasonCode.SUPERSEDED
        if self._store.expire_pending(order, reason.value, now_ms):
            log.warning(
                "order_expired_unsent",
                client_order_id=order.client_order_id,
                purpose=order.purpose.value,
                age_ms=now_ms - order.created_ms,
                reason=reason.value,
            )
        return True

    def _apply_result(
        self, order: OrderRecord, result: OrderResult, now_ms: int, leader_trade_id: int | None
    ) -> None:
        order.updated_ms = now_ms
        order.venue_order_id = result.venue_order_id
        order.state = advance(order.state, state_for_answer(result, order.size))
        if order.state is OrderState.SUBMITTED:  # a stop resting at the venue
            self._store.update_order(order)
            return
        order.filled_size = result.filled_size
        order.avg_price = result.avg_price
        order.fee = result.fee
        if order.state is OrderState.REJECTED:
            order.reason = result.reason or ReasonCode.ORDER_REJECTED.value
        elif order.state is OrderState.EXPIRED:  # IOC: nothing crossed; or a stop cancelled
            order.reason = (
                result.reason
                if order.purpose is OrderPurpose.STOP
                else ReasonCode.ORDER_NOT_FILLED.value
            )
        fills = [
            FillRecord(fill_id=f.fill_id, price=f.price, size=f.size, fee=f.fee, time_ms=f.time_ms)
            for f in result.fills
        ]
        position, cash_delta = None, 0.0
        if result.filled_size > 0:
            position, cash_delta = self._position_after(order, result, now_ms, leader_trade_id)
            if self.balances is not None:  # our fill moved the balance the preflight reads
                self.balances.invalidate()
        obligations = []
        if position is not None and position.status is PositionStatus.OPEN:
            obligations.append(protect_obligation(order, now_ms))
        self._store.record_order_outcome(
            order, fills, position, cash_delta=cash_delta, obligations=obligations
        )
        if position is not None:
            self._portfolio.apply(position, cash_delta)
            if position.status is PositionStatus.CLOSED and position.id is not None:
                for kind in ObligationKind:  # nothing is owed to a closed position
                    self._store.complete_obligations(position.id, kind, now_ms)
        if obligations:
            self.on_obligation(now_ms)
        log.info(
            "order_done",
            client_order_id=order.client_order_id,
            purpose=order.purpose.value,
            coin=order.coin,
            is_buy=order.is_buy,
            state=order.state.value,
            size=order.size,
            filled=result.filled_size,
            avg_price=result.avg_price,
            fee=result.fee,
            reason=order.reason,
        )

    def _position_after(
        self, order: OrderRecord, result: OrderResult, now_ms: int, leader_trade_id: int | None
    ) -> tuple[PositionRecord | None, float]:
        size, price, fee = result.filled_size, result.avg_price, result.fee
        if order.purpose is OrderPurpose.ENTRY:
            side = Side.LONG if order.is_buy else Side.SHORT
            existing = self._portfolio.position_for(order.coin)
            if existing is not None and existing.side is side:
                existing.entry_price = average_entry(
                    existing.size, existing.entry_price, size, price
                )
                existing.stop_price = compute_stop_price(existing.entry_price, side, self._params)
                existing.size += size
                existing.fees_paid += fee
                existing.realized_pnl -= fee
                return existing, -fee
            return (
                PositionRecord(
                    account=order.account,
                    coin=order.coin,
                    side=side,
                    size=size,
                    entry_price=price,
                    opened_ms=now_ms,
                    leader=order.leader,
                    leader_trade_id=leader_trade_id or order.leader_trade_id,
                    fees_paid=fee,
                    realized_pnl=-fee,
                    stop_price=compute_stop_price(price, side, self._params),
                    trailing_stop=compute_trailing_stop_initial(price, side, self._params),
                    extreme_price=price,
                ),
                -fee,
            )
        position = next(
            (p for p in self._portfolio.open_positions if p.id == order.position_id), None
        )
        if position is None:  # settled after a restart: the position is no longer open here
            log.error(
                "exit_fill_without_open_position",
                client_order_id=order.client_order_id,
                position_id=order.position_id,
                filled=size,
            )
            return None, 0.0
        gain = pnl(position.side, position.entry_price, price, size)
        position.size = max(position.size - size, 0.0)
        position.fees_paid += fee
        position.realized_pnl += gain - fee
        market = self._markets[position.coin]
        if round_size(position.size, market) <= 0:
            position.size = 0.0
            position.status = PositionStatus.CLOSED
            position.closed_ms = now_ms
            position.exit_price = price
            position.close_reason = order.reason
        return position, gain - fee
