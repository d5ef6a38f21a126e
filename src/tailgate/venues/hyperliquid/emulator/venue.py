"""The emulated Hyperliquid: the simulator's world answering the venue's `/info` and
`/exchange` requests in the venue's own JSON, independent of any web framework.

`/info` is served from the same renderers the in-process simulator uses (`venues/sim/
payloads.py`), so what the real adapter parses over HTTP is what the simulator hands the engine
in process. `/exchange` takes a signed action: the signature is checked (a `verify` callable
recovers the signing address, like the venue) and the signer must be an agent wallet
registered for a master account; each master account trades its own `SimVenue`.
Orders, cancels by cloid and leverage updates are supported; other actions are refused.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tailgate.domain.models import MS_PER_MINUTE, OrderType, Side
from tailgate.venues.protocols import OrderRequest, OrderResult, OrderStatus
from tailgate.venues.sim import payloads
from tailgate.venues.sim.venue import SimVenue
from tailgate.venues.sim.world import SimWorld

__all__ = ["EmulatedVenue", "ExchangeError", "Verifier"]

Verifier = Callable[[Mapping[str, Any]], str]
"""Recovers the address that signed an `/exchange` body; raises ValueError when it is bad."""

FILLS_PAGE = 2000  # userFills / userFillsByTime answer at most this many
_INTERVALS_MS = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}


class ExchangeError(Exception):
    """A request the venue refuses as a whole: `{"status": "err", "response": message}`."""


@dataclass(slots=True)
class _Account:
    venue: SimVenue
    oids: dict[str, int] = field(default_factory=dict)  # cloid → venue order id
    requests: dict[str, OrderRequest] = field(default_factory=dict)  # cloid → as placed
    placed_ms: dict[str, int] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)  # our userFills, oldest first
    fill_ids: set[str] = field(default_factory=set)


class EmulatedVenue:
    def __init__(
        self,
        world: SimWorld,
        now_ms: Callable[[], int],
        *,
        verify: Verifier,
        starting_balance_usd: float = 100_000.0,
    ) -> None:
        self.world = world
        self.now_ms = now_ms
        self._verify = verify
        self._balance = starting_balance_usd
        self._accounts: dict[str, _Account] = {}
        self._agents: dict[str, str] = {}  # agent address → master account
        self._assets = [m.coin for m in world.markets]  # meta's universe order = asset index
        self._next_oid = 1
        self._tid = 10**12
        self._lock = asyncio.Lock()  # one action at a time, like the venue's sequencer
        self.actions = 0
        self.refused = 0

    # ---- accounts -------------------------------------------------------------------------

    def register(self, master: str, agent: str | None = None) -> SimVenue:
        """A master account (its own simulated account) and the agent wallet that signs for
        it (itself when None)."""
        master, agent = master.lower(), (agent or master).lower()
        account = self._accounts.get(master)
        if account is None:
            venue = SimVenue(self.world, self.now_ms, account_value=self._balance)
            account = self._accounts[master] = _Account(venue)
        self._agents[agent] = master
        return account.venue

    def account(self, master: str) -> SimVenue | None:
        found = self._accounts.get(master.lower())
        return found.venue if found else None

    # ---- /info ----------------------------------------------------------------------------

    async def info(self, body: Mapping[str, Any]) -> Any:
        kind = body.get("type")
        now = self.now_ms()
        world = self.world
        if kind == "meta":
            return payloads.meta(world)
        if kind == "allMids":
            return payloads.all_mids(world, now)
        if kind == "l2Book":
            coin = _text(body, "coin")
            if world.market(coin) is None:
                return None  # the venue answers null for an unknown coin
            return payloads.l2_book(world.book(coin, now))
        if kind == "clearinghouseState":
            user = _text(body, "user").lower()
            account = self._accounts.get(user)
            if account is not None:
                return await self._our_state(account.venue, now)
            return payloads.clearinghouse_state(world, world.ledger(user), now)
        if kind in ("userFills", "userFillsByTime"):
            account = self._accounts.get(_text(body, "user").lower())
            if account is not None:
                return self._our_fills(account, body, kind, now)
            return self._user_fills(body, kind, now)
        if kind == "portfolio":
            user = _text(body, "user").lower()
            return payloads.portfolio(world, world.ledger(user), now)
        if kind in ("openOrders", "frontendOpenOrders"):
            account = self._accounts.get(_text(body, "user").lower())
            return [] if account is None else await self._open_orders(account, kind)
        if kind == "orderStatus":
            return await self._order_status(body)
        if kind == "candleSnapshot":
            return self._candles(body, now)
        raise ExchangeError(f"unsupported info type {kind!r}")

    def leaderboard(self) -> dict[str, Any]:
        """The stats-data leaderboard document."""
        return {"leaderboardRows": payloads.leaderboard_rows(self.world, self.now_ms())}

    def _user_fills(self, body: Mapping[str, Any], kind: str, now: int) -> list[dict[str, Any]]:
        user = _text(body, "user").lower()
        ledger = self.world.ledger(user)
        if ledger is None:
            return []
        if kind == "userFills":  # the most recent, newest first
            i0, i1 = ledger.fill_range(0, now + 1)
            fills = payloads.user_fills(self.world, ledger, max(i0, i1 - FILLS_PAGE), i1)
            return fills[::-1]
        start = _int(body, "startTime")
        end = _int(body, "endTime") if body.get("endTime") is not None else now
        i0, i1 = ledger.fill_range(start, min(end, now) + 1)
        return payloads.user_fills(self.world, ledger, i0, min(i1, i0 + FILLS_PAGE))

    def _sync_fills(self, account: _Account) -> None:
        """Our fills as the venue reports them: every fill of every order (stops that fired
        included), each with its order's oid and a venue trade id."""
        for cid, result in account.venue.orders.answers.items():
            request = account.requests.get(cid)
            if request is None:
                continue
            for f in result.fills:
                if f.fill_id in account.fill_ids:
                    continue
                account.fill_ids.add(f.fill_id)
                account.fills.append(
                    {
                        "coin": request.coin,
                        "px": payloads.num(f.price),
                        "sz": payloads.num(f.size),
                        "side": "B" if request.is_buy else "A",
                        "time": f.time_ms,
                        "startPosition": "0.0",
                        "dir": "Buy" if request.is_buy else "Sell",
                        "closedPnl": "0.0",
                        "hash": "0x" + f"{len(account.fills) + 1:064x}",
                        "oid": self._oid(account, cid),
                        "crossed": True,
                        "fee": f"{f.fee:.6f}",
                        "tid": self._next_tid(),
                        "feeToken": "USDC",
                        "cloid": cid,
                    }
                )
        account.fills.sort(key=lambda x: (x["time"], x["tid"]))

    def _our_fills(
        self, account: _Account, body: Mapping[str, Any], kind: str, now: int
    ) -> list[dict[str, Any]]:
        self._sync_fills(account)
        if kind == "userFills":
            return account.fills[-FILLS_PAGE:][::-1]
        start = _int(body, "startTime")
        end = _int(body, "endTime") if body.get("endTime") is not None else now
        return [f for f in account.fills if start <= f["time"] <= end][:FILLS_PAGE]

    def _next_tid(self) -> int:
        self._tid += 1
        return self._tid

    def _oid(self, account: _Account, cid: str) -> int:
        oid = account.oids.get(cid)
        if oid is None:
            oid = account.oids[cid] = self._next_oid
            self._next_oid += 1
        return oid

    async def _our_state(self, venue: SimVenue, now: int) -> dict[str, Any]:
        snapshot = await venue.account_snapshot()
        positions = []
        for p in snapshot.positions:
            size = p.size if p.side is Side.LONG else -p.size
            positions.append(
                {
                    "position": {
                        "coin": p.coin,
                        "szi": payloads.num(size),
                        "entryPx": payloads.num(p.entry_price),
                        "leverage": {"type": "isolated", "value": 1},
                    },
                    "type": "oneWay",
                }
            )
        value = f"{snapshot.account_value:.6f}"
        summary = {"accountValue": value, "totalMarginUsed": "0.0", "totalNtlPos": "0.0"}
        return {
            "assetPositions": positions,
            "marginSummary": summary,
            "crossMarginSummary": dict(summary),
            "withdrawable": value,
            "time": now,
        }

    async def _open_orders(self, account: _Account, kind: str) -> list[dict[str, Any]]:
        out = []
        for o in await account.venue.open_orders():
            row: dict[str, Any] = {
                "coin": o.coin,
                "side": "B" if o.is_buy else "A",
                "limitPx": payloads.num(o.limit_price or o.trigger_price or 0.0),
                "sz": payloads.num(o.size),
                "oid": account.oids.get(o.client_order_id, 0),
                "timestamp": self.now_ms(),
                "origSz": payloads.num(o.size),
                "cloid": o.client_order_id,
            }
            if kind == "frontendOpenOrders":
                row.update(
                    isTrigger=o.trigger_price is not None,
                    triggerPx=payloads.num(o.trigger_price or 0.0),
                    reduceOnly=True,
                    orderType="Stop Market" if o.trigger_price is not None else "Limit",
                    tif=None,
                    triggerCondition="",
                )
            out.append(row)
        return out

    async def _order_status(self, body: Mapping[str, Any]) -> dict[str, Any]:
        account = self._accounts.get(_text(body, "user").lower())
        ref = body.get("oid")
        if account is None or ref is None:
            return {"status": "unknownOid"}
        cloid = ref if isinstance(ref, str) else _cloid_of(account, ref)
        result = None if cloid is None else await account.venue.order_by_client_id(cloid)
        request = None if cloid is None else account.requests.get(cloid)
        if result is None or cloid is None or request is None:
            return {"status": "unknownOid"}
        status = _STATUS_NAMES[result.status]
        if result.status is OrderStatus.FILLED and request.trigger_price is not None:
            status = "triggered" if result.filled_size <= 0 else "filled"
        remaining = max(request.size - result.filled_size, 0.0)  # sz: what never filled
        order: dict[str, Any] = {
            "coin": request.coin,
            "side": "B" if request.is_buy else "A",
            "limitPx": payloads.num(request.limit_price),
            "sz": payloads.num(remaining),
            "oid": self._oid(account, cloid),
            "timestamp": account.placed_ms.get(cloid, self.now_ms()),
            "origSz": payloads.num(request.size),
            "cloid": cloid,
            "reduceOnly": request.reduce_only,
            "orderType": "Stop Market" if request.trigger_price is not None else "Limit",
            "isTrigger": request.trigger_price is not None,
            "triggerPx": payloads.num(request.trigger_price or 0.0),
            "tif": None if request.trigger_price is not None else "Ioc",
        }
        return {
            "status": "order",
            "order": {"order": order, "status": status, "statusTimestamp": self.now_ms()},
        }

    def _candles(self, body: Mapping[str, Any], now: int) -> list[dict[str, Any]]:
        req = body.get("req")
        if not isinstance(req, Mapping):
            raise ExchangeError("candleSnapshot needs req")
        coin, interval = _text(req, "coin"), _text(req, "interval")
        market = self.world.market(coin)
        minutes = _INTERVALS_MS.get(interval)
        if market is None or minutes is None:
            return []
        paths = self.world.paths
        c = self.world.coins.index(coin)
        start, end = _int(req, "startTime"), min(_int(req, "endTime"), now)
        bar_ms = minutes * MS_PER_MINUTE
        first = max(paths.t0_ms, start - start % bar_ms)
        out = []
        t = first
        while t + bar_ms <= end and len(out) < 5000:
            m0, m1 = paths.minute_of(t), paths.minute_of(t + bar_ms)
            if m1 <= m0:
                break
            out.append(
                {
                    "t": t,
                    "T": t + bar_ms - 1,
                    "s": coin,
                    "i": interval,
                    "o": payloads.num(float(paths.close[c, m0])),
                    "c": payloads.num(float(paths.close[c, m1])),
                    "h": payloads.num(float(paths.high[c, m0 + 1 : m1 + 1].max())),
                    "l": payloads.num(float(paths.low[c, m0 + 1 : m1 + 1].min())),
                    "v": "0.0",
                    "n": 0,
                }
            )
            t += bar_ms
        return out

    # ---- /exchange ------------------------------------------------------------------------

    async def exchange(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A signed action → the venue's answer; `ExchangeError` for a refused request."""
        try:
            signer = self._verify(body).lower()
        except (ValueError, KeyError, TypeError) as exc:
            self.refused += 1
            raise ExchangeError(f"invalid signature: {exc}") from None
        master = self._agents.get(signer)
        if master is None:
            self.refused += 1
            raise ExchangeError(f"User or API Wallet {signer} does not exist.")
        action = body.get("action")
        if not isinstance(action, Mapping):
            raise ExchangeError("missing action")
        account = self._accounts[master]
        async with self._lock:
            self.actions += 1
            kind = action.get("type")
            if kind == "order":
                return await self._orders(account, action)
            if kind == "cancelByCloid":
                return await self._cancels(account, action)
            if kind == "updateLeverage":
                return {"status": "ok", "response": {"type": "default"}}
        raise ExchangeError(f"unsupported action {kind!r}")

    async def _orders(self, account: _Account, action: Mapping[str, Any]) -> dict[str, Any]:
        statuses: list[Any] = []
        for wire in action.get("orders") or []:
            try:
                request = self._request(wire)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                statuses.append({"error": f"Invalid order: {exc}"})
                continue
            account.requests.setdefault(request.client_order_id, request)
            account.placed_ms.setdefault(request.client_order_id, self.now_ms())
            result = await account.venue.place_order(request)
            statuses.append(_placed_status(result, self._oid(account, request.client_order_id)))
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}

    async def _cancels(self, account: _Account, action: Mapping[str, Any]) -> dict[str, Any]:
        statuses: list[Any] = []
        for cancel in action.get("cancels") or []:
            cloid = cancel.get("cloid") if isinstance(cancel, Mapping) else None
            ok = isinstance(cloid, str) and await account.venue.cancel_order(cloid)
            statuses.append(
                "success"
                if ok
                else {"error": "Order was never placed, already canceled, or filled."}
            )
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}

    def _request(self, wire: Mapping[str, Any]) -> OrderRequest:
        coin = self._assets[int(wire["a"])]
        price, size = float(wire["p"]), float(wire["s"])
        if not (math.isfinite(price) and math.isfinite(size)):
            raise ValueError("price and size must be numbers")
        kind = wire["t"]
        trigger = None
        if "trigger" in kind:
            trigger = float(kind["trigger"]["triggerPx"])
        elif kind.get("limit", {}).get("tif") != "Ioc":
            raise ValueError("only IOC limit orders and stop triggers are emulated")
        cloid = wire.get("c")
        if not isinstance(cloid, str):
            raise ValueError("orders need a cloid here")
        return OrderRequest(
            client_order_id=cloid,
            coin=coin,
            is_buy=bool(wire["b"]),
            size=size,
            limit_price=price,
            order_type=OrderType.MARKET,
            reduce_only=bool(wire.get("r", False)),
            trigger_price=trigger,
        )


_NOT_CANCELLED = "Order was never placed, already canceled, or filled."
_STATUS_NAMES = {
    OrderStatus.FILLED: "filled",
    OrderStatus.PARTIAL: "canceled",  # IOC: the rest was cancelled
    OrderStatus.REJECTED: "rejected",  # the venue's word for a refused order
    OrderStatus.OPEN: "open",
    OrderStatus.CANCELLED: "canceled",
}


def _placed_status(result: OrderResult, oid: int) -> dict[str, Any]:
    if result.status is OrderStatus.OPEN:
        return {"resting": {"oid": oid, "cloid": result.client_order_id}}
    if result.status is OrderStatus.REJECTED:
        return {"error": result.reason or "Order rejected"}
    if result.filled_size <= 0:
        return {"error": "Order could not immediately match against any resting orders."}
    return {
        "filled": {
            "totalSz": payloads.num(result.filled_size),
            "avgPx": payloads.num(result.avg_price),
            "oid": oid,
            "cloid": result.client_order_id,
        }
    }


def _cloid_of(account: _Account, oid: Any) -> str | None:
    return next((c for c, o in account.oids.items() if o == oid), None)


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ExchangeError(f"{key} must be a non-empty string")
    return value


def _int(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExchangeError(f"{key} must be an integer (ms)")
    return value
