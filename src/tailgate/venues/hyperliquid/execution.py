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
* cancels go by cloid, with the signer's next nonce;
* with `leverage` set, the first entry on a coin is preceded by an `updateLeverage` to
  isolated margin at min(leverage, the market's maximum) — once per coin per process; an
  entry whose leverage could not be set is refused, never sent on the account's defaults;
* no two actions this gateway signs share a nonce, and each is above the previous one, even
  when the engine's nonces (per desk) and the gateway's own (per agent key) come from
  different counters: the venue refuses a nonce it has seen.
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
from tailgate.transport import HttpTransport, TransportError, hyperliquid_action_weight
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.keys import Signer
from tailgate.venues.hyperliquid.orders import OrderRefused
from tailgate.venues.hyperliquid.parse import (
    parse_account_snapshot,
    parse_open_orders,
    parse_order_response,
    parse_order_status,
    parse_user_fills,
    with_order_fills,
)
from tailgate.venues.hyperliquid.signing import (
    Network,
    sign_cancel_by_cloid,
    sign_order,
    sign_update_leverage,
)
from tailgate.venues.paper import reject
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
        leverage: float | None = None,
    ) -> None:
        """`leverage`: isolated-margin leverage to set on each coin before its first entry
        (MAX_LEVERAGE; capped at the market's maximum); None leaves the account's as they are."""
        self._http = http
        self._info = info
        self._signer = signer
        self._markets = markets
        self._assets = assets
        self._nonces = nonces
        self._network = network
        self._now_ms = now_ms
        self._coins: dict[str, str] = {}  # cloid → coin, for cancels
        self._leverage = leverage
        self.leverage_set: dict[str, int] = {}  # coin → isolated leverage the venue accepted
        self._last_nonce = 0  # the highest nonce this gateway signed with
        self.refused_locally = 0

    @property
    def account(self) -> str:
        return self._signer.account_address

    # ---- OrderGateway -------------------------------------------------------------------

    async def place_order(self, order: OrderRequest) -> OrderResult:
        market = self._markets.get(order.coin)
        asset = self._assets.get(order.coin)
        if market is None or asset is None:
            return reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        if _is_entry(order) and self._leverage is not None and order.coin not in self.leverage_set:
            failure = await self.ensure_isolated_leverage(order.coin, self._leverage)
            if failure is not None:  # never sent: the account's margin mode is not the asked one
                self.refused_locally += 1
                return reject(order, ReasonCode.ORDER_REJECTED, failure)
        order = _with_nonce(order, self._claim_nonce(order.nonce))
        try:
            body = sign_order(self._signer, order, market, asset, network=self._network)
        except OrderRefused as exc:  # denied locally: the venue would refuse it
            self.refused_locally += 1
            return reject(order, exc.reason, str(exc))
        self._coins[order.client_order_id] = order.coin
        # AmbiguousError propagates: the executor records UNKNOWN, not FAILED
        raw = await self._post_action(body, "exchange.order")
        [result] = parse_order_response(raw, [order])
        return await self._with_fills(result)

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        raw = await self._info.info(
            {"type": "orderStatus", "user": self.account, "oid": client_order_id}
        )
        result = parse_order_status(raw, client_order_id)
        if result is None:
            return None
        if result.status is OrderStatus.OPEN:
            return OrderResult(client_order_id, OrderStatus.OPEN, reason="resting")
        return await self._with_fills(result)

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
        nonce = self._claim_nonce(None)
        body = sign_cancel_by_cloid(
            self._signer, self._assets[coin], client_order_id, nonce, network=self._network
        )
        raw = await self._post_action(body, "exchange.cancel")
        statuses = _statuses(raw)
        return bool(statuses) and statuses[0] == "success"

    async def ensure_isolated_leverage(self, coin: str, leverage: float) -> str | None:
        """Set `coin` to isolated margin at min(`leverage`, the market's maximum), floored to
        a whole number, unless done already in this process → None, or why it was not set.

        Sent once and not retried (a signed action; a lost answer leaves it unset, and the
        next entry on the coin asks again — setting the same leverage twice is harmless)."""
        if coin in self.leverage_set:
            return None
        market, asset = self._markets.get(coin), self._assets.get(coin)
        if market is None or asset is None:
            return f"isolated leverage not set: no market {coin!r}"
        nonce = self._claim_nonce(None)
        try:
            body = sign_update_leverage(
                self._signer,
                asset,
                market,
                leverage,
                nonce,
                max_leverage=leverage,
                network=self._network,
            )
        except OrderRefused as exc:
            return f"isolated leverage not set: {exc}"
        value = int(body["action"]["leverage"])
        try:
            raw = await self._post_action(body, "exchange.updateLeverage")
        except TransportError as exc:
            log.error("leverage_not_set", coin=coin, leverage=value, error=str(exc)[:200])
            return f"isolated leverage not set: {type(exc).__name__}"
        refusal = _action_error(raw)
        if refusal is not None:
            log.error("leverage_refused", coin=coin, leverage=value, error=refusal)
            return f"isolated leverage {value}x refused by the venue: {refusal}"
        self.leverage_set[coin] = value
        log.info("leverage_set", coin=coin, leverage=value, margin="isolated")
        return None

    async def _post_action(self, body: Mapping[str, Any], endpoint: str) -> Any:
        """A signed action to `/exchange`, sent once: never retried once it may have reached
        the venue (AmbiguousError propagates; the caller decides what an unknown fate means)."""
        return await self._http.post_json(
            "/exchange",
            body,
            endpoint=endpoint,
            weight=hyperliquid_action_weight(1),
            idempotent=False,
        )

    def _claim_nonce(self, proposed: int | None) -> int:
        """The nonce to sign the next action with: `proposed` (the engine's) when it is above
        every nonce signed here, else the agent key's next one, always above the last."""
        nonce = proposed if proposed is not None else self._nonces.next(self._signer.agent_address)
        if nonce <= self._last_nonce:
            nonce = max(self._nonces.next(self._signer.agent_address), self._last_nonce + 1)
        self._nonces.advance_past(self._signer.agent_address, nonce)
        self._last_nonce = nonce
        return nonce

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

    async def _with_fills(self, result: OrderResult) -> OrderResult:
        """A filled order's fill rows from our own fill history — one read, and only when
        something filled (the venue's answers carry totals, not fills)."""
        if result.filled_size <= 0:
            return result
        found = with_order_fills(result, (await self._our_fills()).fills)
        if not found.fills:
            log.error("fills_not_found", client_order_id=result.client_order_id)
        return found


def _with_nonce(order: OrderRequest, nonce: int) -> OrderRequest:
    return replace(order, nonce=nonce)


def _is_entry(order: OrderRequest) -> bool:
    """New risk: neither reduce-only (exits) nor a trigger (protective stops)."""
    return not order.reduce_only and order.trigger_price is None


def _action_error(raw: Any) -> str | None:
    """None for the venue's `{"status": "ok"}`, else its refusal as text."""
    if isinstance(raw, dict) and raw.get("status") == "ok":
        return None
    if isinstance(raw, dict) and raw.get("status") == "err":
        return str(raw.get("response"))[:200]
    return f"unexpected answer {str(raw)[:200]}"


def _statuses(raw: Any) -> list[Any]:
    try:
        return list(raw["response"]["data"]["statuses"])
    except (KeyError, TypeError):
        return []
