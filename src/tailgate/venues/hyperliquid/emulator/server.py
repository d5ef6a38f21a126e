"""The loopback emulator's HTTP and WebSocket server (aiohttp): `POST /info`, `POST /exchange`,
`GET /ws` and the stats-data leaderboard, with the faults of a `FaultPlan` injected.

WebSocket subscriptions: `userFills` (a snapshot with `isSnapshot: true` first, then new fills
as the world's clock passes them), `trades` per coin (every leader fill on the coin, with its
`users` pair: buyer and seller), `allMids` and `l2Book` per coin (pushed when the world's
minute turns: the simulator's prices and books move once a minute), and `{"method": "ping"}`
→ `{"channel": "pong"}`. New data is pushed every `push_interval_s` of wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tailgate.logs import get_logger
from tailgate.venues.hyperliquid.emulator.faults import FaultPlan, Faults
from tailgate.venues.hyperliquid.emulator.venue import EmulatedVenue, ExchangeError
from tailgate.venues.hyperliquid.signing import Network
from tailgate.venues.sim import payloads

__all__ = ["FAULTS_KEY", "VENUE_KEY", "build_app", "serve"]

log = get_logger("tailgate.emulator")

SNAPSHOT_FILLS = 500
COUNTERPARTY = "0x" + "0" * 39 + "1"
VENUE_KEY = web.AppKey("venue", EmulatedVenue)
FAULTS_KEY = web.AppKey("faults", Faults)


@dataclass(slots=True)
class _Subscriptions:
    users: set[str] = field(default_factory=set)
    coins: set[str] = field(default_factory=set)
    mids: bool = False
    books: set[str] = field(default_factory=set)  # l2Book coins
    market_minute: int = -1  # the world's minute of the mids and books pushed last
    sent_ms: int = 0  # data up to this world time has been pushed


def build_app(
    venue: EmulatedVenue, plan: FaultPlan | None = None, *, push_interval_s: float = 0.05
) -> web.Application:
    faults = Faults(plan or FaultPlan())
    app = web.Application()
    app[VENUE_KEY], app[FAULTS_KEY] = venue, faults

    async def faulty(handler: Callable[[], Any]) -> web.StreamResponse:
        kind = faults.http(venue.now_ms())
        if kind == "outage":
            return web.json_response({"error": "unavailable"}, status=503)
        if kind == "429":
            retry = str(faults.plan.retry_after_s)
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": retry}
            )
        if kind == "5xx":
            return web.json_response({"error": "bad gateway"}, status=502)
        delay = faults.delay_s()
        if delay:
            await asyncio.sleep(delay)
        try:
            answer = await handler()
        except ExchangeError as exc:
            return web.json_response({"status": "err", "response": str(exc)})
        if kind == "timeout":  # done, but the answer is lost to the client
            await asyncio.sleep(faults.plan.hang_s)
        return web.json_response(answer)

    async def info(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        if body is None:
            return web.json_response({"error": "bad json"}, status=400)
        return await faulty(lambda: venue.info(body))

    async def exchange(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        if body is None:
            return web.json_response({"error": "bad json"}, status=400)
        return await faulty(lambda: venue.exchange(body))

    async def leaderboard(_: web.Request) -> web.StreamResponse:
        async def rows() -> Any:
            return venue.leaderboard()

        return await faulty(rows)

    async def ws(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        subs = _Subscriptions(sent_ms=venue.now_ms())
        held: list[str] = []
        send_lock = asyncio.Lock()

        async def send(message: dict[str, Any]) -> bool:
            """False when the fault plan dropped the connection."""
            text = json.dumps(message)
            async with send_lock:
                if faults.down(venue.now_ms()) or faults.ws_drop():
                    await socket.close()
                    return False
                if faults.ws_reorder():
                    held.append(text)
                    return True
                await socket.send_str(text)
                if faults.ws_duplicate():
                    await socket.send_str(text)
                while held:
                    await socket.send_str(held.pop())
            return True

        pusher = asyncio.create_task(_push(venue, subs, send, push_interval_s))
        try:
            async for msg in socket:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    request_body = json.loads(msg.data)
                except json.JSONDecodeError:
                    await send({"channel": "error", "data": "Invalid JSON"})
                    continue
                if not await _handle(venue, subs, request_body, send):
                    break
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
        return socket

    app.router.add_post("/info", info)
    app.router.add_post("/exchange", exchange)
    app.router.add_get("/ws", ws)
    for network in Network:  # (the world's traders, whichever chain it verifies for)
        app.router.add_get(network.leaderboard_path, leaderboard)
    return app


async def _json_body(request: web.Request) -> Any | None:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


async def _handle(
    venue: EmulatedVenue,
    subs: _Subscriptions,
    body: Any,
    send: Callable[[dict[str, Any]], Any],
) -> bool:
    if not isinstance(body, dict):
        return await send({"channel": "error", "data": "Invalid request"})
    method = body.get("method")
    if method == "ping":
        return await send({"channel": "pong"})
    sub = body.get("subscription")
    if method not in ("subscribe", "unsubscribe") or not isinstance(sub, dict):
        return await send({"channel": "error", "data": f"Unknown method {method!r}"})
    kind, on = sub.get("type"), method == "subscribe"
    if kind == "userFills" and isinstance(sub.get("user"), str):
        user = sub["user"].lower()
        (subs.users.add if on else subs.users.discard)(user)
        if not await send({"channel": "subscriptionResponse", "data": body}):
            return False
        if on:  # the snapshot: what already happened, never to be taken as new
            fills = _fills(venue, user, 0, subs.sent_ms)[-SNAPSHOT_FILLS:]
            data = {"isSnapshot": True, "user": user, "fills": fills}
            return await send({"channel": "userFills", "data": data})
        return True
    if kind == "trades" and isinstance(sub.get("coin"), str):
        (subs.coins.add if on else subs.coins.discard)(sub["coin"])
        return await send({"channel": "subscriptionResponse", "data": body})
    if kind == "allMids":
        subs.mids = on
        return await send({"channel": "subscriptionResponse", "data": body})
    if kind == "l2Book" and isinstance(sub.get("coin"), str):
        if venue.world.market(sub["coin"]) is None:
            return await send({"channel": "error", "data": f"Invalid subscription {sub!r}"})
        (subs.books.add if on else subs.books.discard)(sub["coin"])
        return await send({"channel": "subscriptionResponse", "data": body})
    return await send({"channel": "error", "data": f"Invalid subscription {sub!r}"})


def _fills(venue: EmulatedVenue, user: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """A leader's fills with start < time ≤ end, oldest first."""
    ledger = venue.world.ledger(user)
    if ledger is None:
        return []
    i0, i1 = ledger.fill_range(start_ms + 1, end_ms + 1)
    return payloads.user_fills(venue.world, ledger, i0, i1)


def _trades(venue: EmulatedVenue, coins: set[str], start_ms: int, end_ms: int) -> list[dict]:
    out = []
    for address in venue.world.leader_addresses():
        for f in _fills(venue, address, start_ms, end_ms):
            if f["coin"] not in coins:
                continue
            buyer, seller = (address, COUNTERPARTY) if f["side"] == "B" else (COUNTERPARTY, address)
            out.append(
                {
                    "coin": f["coin"],
                    "side": f["side"],
                    "px": f["px"],
                    "sz": f["sz"],
                    "hash": f["hash"],
                    "time": f["time"],
                    "tid": f["tid"],
                    "users": [buyer, seller],
                }
            )
    out.sort(key=lambda t: (t["time"], t["tid"]))
    return out


async def _push(
    venue: EmulatedVenue,
    subs: _Subscriptions,
    send: Callable[[dict[str, Any]], Any],
    interval_s: float,
) -> None:
    while True:
        await asyncio.sleep(interval_s)
        now = venue.now_ms()
        start, subs.sent_ms = subs.sent_ms, now
        for user in sorted(subs.users):
            fills = _fills(venue, user, start, now)
            if fills and not await send(
                {"channel": "userFills", "data": {"user": user, "fills": fills}}
            ):
                return
        if subs.coins:
            trades = _trades(venue, subs.coins, start, now)
            if trades and not await send({"channel": "trades", "data": trades}):
                return
        minute = venue.world.paths.minute_of(now)
        if minute == subs.market_minute:  # prices and books move once a simulated minute
            continue
        subs.market_minute = minute
        if subs.mids and not await send(
            {"channel": "allMids", "data": {"mids": payloads.all_mids(venue.world, now)}}
        ):
            return
        for coin in sorted(subs.books):
            book = payloads.l2_book(venue.world.book(coin, now))
            if not await send({"channel": "l2Book", "data": book}):
                return


async def serve(
    venue: EmulatedVenue,
    plan: FaultPlan | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    push_interval_s: float = 0.05,
) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (`await runner.cleanup()` stops it) and the port."""
    app = build_app(venue, plan, push_interval_s=push_interval_s)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # the bound socket tells the port when 0 was asked
    assert server is not None
    bound = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    log.info("emulator_serving", host=host, port=bound)
    return runner, int(bound)
