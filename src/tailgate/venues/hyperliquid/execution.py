"""Hyperliquid execution: our orders and our account over `/exchange` and `/info` (SPEC §E).

`HyperliquidGateway` implements `OrderGateway` and `AccountState` for one account, driven by
the engine's executor (which holds the signer's lock and gives each order its nonce, §E6):

* an order the venue would refuse for precision or size is refused here, before signing —
  a definitive REJECTED, never sent;
* a signed order is posted once (never retried once it may have reached the venue); a failure
  that leaves its fate open raises, and the executor records it UNKNOWN, to be settled by
  `order_by_client_id` (`orderStatus` by cloid) — never by sending again;
* a fill's rows come from our own `userFillsByTime` (the order response has only totals), so
  every venue fill has its fill row with the venue's trade id, price, size and fee;
* cancels go by cloid, with the signer's next nonce.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from tailgate.domain.models import Market
from tailgate.domain.reasons import ReasonCode
from tailgate.engine.locks import NonceSource
from tailgate.logs import get_logger
from tailgate.transport import HttpTransport, hyperliquid_action_weight
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.keys import Signer
from tailgate.venues.hyperliquid.orders import OrderRefused
from tailgate.venues.hyperliquid.parse import (
    parse_account_snapshot,
    parse_open_orders,
    parse_order_response,
    parse_order_status,
    parse_user_fills,
)
from tailgate.venues.hyperliquid.signing import Network, sign_cancel_by_cloid, sign_order
from tailgate.venues.protocols import (
    AccountSnapshot,
    FillPage,
    OpenOrder,
    OrderRequest,
    OrderResult,
    OrderStatus,
)

__all__ = ["HyperliquidGateway"]

log = get_logger("tailgate.hyperliquid.execution")

FILL_LOOKBACK_MS = 24 * 3_600_000  # an order's fills are looked for this far back


class HyperliquidGateway:
    def __init__(
        self,
        http: HttpTransport,
        info: HyperliquidInfo,
        signer: Signer,
        *,
        markets: Mapping[str, Market],
        assets: Mapping[str, int],
        nonces: NonceSource,
        network: Network = Network.MAINNET,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._http = http
        self._info = info
        self._signer = signer
        self._markets = markets
        self._assets = assets
        self._nonces = nonces
        self._network = network
        self._now_ms = now_ms
        self._coins: dict[str, str] = {}  # cloid → coin, for cancels
        self.refused_locally = 0

    @property
    def account(self) -> str:
        return self._signer.account_address

    # ---- OrderGateway -------------------------------------------------------------------

    async def place_order(self, order: OrderRequest) -> OrderResult:
        market = self._markets.get(order.coin)
        asset = self._assets.get(order.coin)
        if market is None or asset is None:
            return _refused(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        if order.nonce is None:
            order = _with_nonce(order, self._nonces.next(self._signer.agent_address))
        try:
            body = sign_order(self._signer, order, market, asset, network=self._network)
        except OrderRefused as exc:  # denied locally: the venue would refuse it
            self.refused_locally += 1
            return _refused(order, exc.reason, str(exc))
        self._coins[order.client_order_id] = order.coin
        raw = await self._http.post_json(  # AmbiguousError propagates: UNKNOWN, not FAILED
            "/exchange",
            body,
            endpoint="exchange.order",
            weight=hyperliquid_action_weight(1),
            idempotent=False,
        )
        [result] = parse_order_response(raw, [order])
        if result.filled_size > 0:
            result = await self._with_fills(order.client_order_id, result)
        return result

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        raw = await self._info.info(
            {"type": "orderStatus", "user": self.account, "oid": client_order_id}
        )
        fills = (await self._our_fills()).fills
        result = parse_order_status(raw, client_order_id, fills)
        if result is not None and result.status is OrderStatus.OPEN:
            return OrderResult(client_order_id, OrderStatus.OPEN, reason="resting")
        return result

    async def cancel_order(self, client_order_id: str) -> bool:
        coin = self._coins.get(client_order_id)
        if coin is None:  # placed by an earlier process: the venue knows its coin
            known = await self.order_by_client_id(client_order_id)
            if known is None or known.status is not OrderStatus.OPEN:
                return False
            coin = next(
                (o.coin for o in await self.open_orders() if o.client_order_id == client_order_id),
                None,
            )
            if coin is None:
                return False
        nonce = self._nonces.next(self._signer.agent_address)
        body = sign_cancel_by_cloid(
            self._signer, self._assets[coin], client_order_id, nonce, network=self._network
        )
        raw = await self._http.post_json(
            "/exchange",
            body,
            endpoint="exchange.cancel",
            weight=hyperliquid_action_weight(1),
            idempotent=False,
        )
        statuses = _statuses(raw)
        return bool(statuses) and statuses[0] == "success"

    # ---- AccountState -------------------------------------------------------------------

    async def account_snapshot(self) -> AccountSnapshot:
        raw = await self._info.info({"type": "clearinghouseState", "user": self.account})
        return parse_account_snapshot(raw, self._now_ms())

    async def open_orders(self) -> list[OpenOrder]:
        raw = await self._info.info({"type": "frontendOpenOrders", "user": self.account})
        orders, rejects = parse_open_orders(raw)
        if rejects:
            log.warning("open_orders_rejected", count=len(rejects))
        return orders

    # ---- fills --------------------------------------------------------------------------

    async def _our_fills(self) -> FillPage:
        now = self._now_ms()
        raw = await self._info.info(
            {
                "type": "userFillsByTime",
                "user": self.account,
                "startTime": now - FILL_LOOKBACK_MS,
                "endTime": now,
            }
        )
        return parse_user_fills(raw, self.account)

    async def _with_fills(self, client_order_id: str, result: OrderResult) -> OrderResult:
        """The order's fills from our own fill history (the answer has totals only)."""
        status = await self.order_by_client_id(client_order_id)
        if status is None or not status.fills:
            log.error("fills_not_found", client_order_id=client_order_id)
            return result
        return OrderResult(
            client_order_id,
            result.status,
            filled_size=status.filled_size,
            avg_price=status.avg_price,
            fee=status.fee,
            venue_order_id=result.venue_order_id,
            fills=tuple(status.fills),
            reason=result.reason,
        )


def _refused(order: OrderRequest, code: ReasonCode, detail: str) -> OrderResult:
    return OrderResult(order.client_order_id, OrderStatus.REJECTED, reason=f"{code}: {detail}")


def _with_nonce(order: OrderRequest, nonce: int) -> OrderRequest:
    return replace(order, nonce=nonce)


def _statuses(raw: Any) -> list[Any]:
    try:
        return list(raw["response"]["data"]["statuses"])
    except (KeyError, TypeError):
        return []
