"""A WebSocket stream that stays up: subscribe, heartbeat, judge liveness by data, reconnect.

An open socket proves nothing: a venue can keep a connection open and stop sending (a stuck
feed, a half-open TCP link). So health is judged by what arrives:

* DOWN — no connection (connecting, or waiting to reconnect);
* DEGRADED — connected, but no data message for `stale_after_s` (or none yet since connecting);
* HEALTHY — connected and data is fresh.

An application-level heartbeat (Hyperliquid: send `{"method":"ping"}`, expect
`{"channel":"pong"}`) keeps the venue from closing a quiet connection and proves the link
carries frames; a connection on which *nothing* arrives for `dead_after_s`, not even a pong, is
dropped and replaced. Subscriptions are re-sent on every connection, and `on_connect` tells the
consumer each time, so it can backfill the gap over REST. A consumer that must not depend on the
stream while it is unhealthy uses `PollingFallback` (tailgate.transport.fallback).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tailgate.logs import get_logger
from tailgate.transport.backoff import Backoff
from tailgate.transport.limits import WeightedLimiter, WsBudget, WsClaim
from tailgate.transport.metrics import STREAM_HEALTH_VALUE, TransportMetrics

__all__ = [
    "ResilientStream",
    "StreamHealth",
    "StreamPolicy",
    "WireProtocol",
    "hyperliquid_wire",
    "stop_reading",
]

log = get_logger("tailgate.transport.ws")


class StreamHealth(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


def _never(_: Any) -> bool:
    return False


def _always(_: Any) -> bool:
    return True


def _no_user(_: Any) -> str | None:
    return None


def _compact_json(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class WireProtocol:
    """A venue's conventions on the socket: how to subscribe, ping, and tell data from control."""

    subscribe: Callable[[Any], Any]  # subscription → the message that requests it
    ping: Any = None  # application heartbeat message; None when the venue needs none
    is_pong: Callable[[Any], bool] = _never
    is_data: Callable[[Any], bool] = _always  # which messages prove the feed is flowing
    user_of: Callable[[Any], str | None] = _no_user  # the user a subscription names, if any
    decode: Callable[[str | bytes], Any] = json.loads
    encode: Callable[[Any], str] = _compact_json


_HL_CONTROL_CHANNELS = frozenset({"pong", "subscriptionResponse", "error"})


def _hl_subscribe(subscription: Any) -> Any:
    return {"method": "subscribe", "subscription": subscription}


def _hl_is_pong(message: Any) -> bool:
    return isinstance(message, dict) and message.get("channel") == "pong"


def _hl_is_data(message: Any) -> bool:
    return isinstance(message, dict) and message.get("channel") not in _HL_CONTROL_CHANNELS


def _hl_user_of(subscription: Any) -> str | None:
    user = subscription.get("user") if isinstance(subscription, dict) else None
    return str(user).lower() if user else None


def hyperliquid_wire() -> WireProtocol:
    """Hyperliquid's socket: subscribe messages, `ping`/`pong`, acks are not data."""
    return WireProtocol(
        subscribe=_hl_subscribe,
        ping={"method": "ping"},
        is_pong=_hl_is_pong,
        is_data=_hl_is_data,
        user_of=_hl_user_of,
    )


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    heartbeat_s: float = 20.0  # ping after this long without sending (Hyperliquid drops 60 s idle)
    stale_after_s: float = 30.0  # no data for this long: DEGRADED
    dead_after_s: float = 60.0  # nothing at all, not even a pong: the link is dead, reconnect
    tick_s: float = 0.5  # how often the watchdog looks
    open_timeout_s: float = 10.0
    close_timeout_s: float = 1.0
    reconnect: Backoff = field(default_factory=lambda: Backoff(base_s=0.5, max_s=30.0))

    def __post_init__(self) -> None:
        timings = (self.heartbeat_s, self.stale_after_s, self.dead_after_s, self.tick_s)
        if min(timings) <= 0:
            raise ValueError(f"stream timings must be positive, got {timings}")
        if self.dead_after_s <= self.heartbeat_s:
            raise ValueError("dead_after_s must exceed heartbeat_s, or every quiet link dies")


_END = object()  # queued when the stream closes: ends every consumer's iteration


class ResilientStream:
    """One WebSocket connection to `url`, kept subscribed to `subscriptions` until closed.

    Use as `async with stream: async for message in stream: ...`. Every message but pongs is
    delivered, in order; control messages (acks) are delivered too but do not count as data.
    The queue is unbounded (a slow reader must never stall heartbeats): keep consuming.
    """

    def __init__(
        self,
        url: str,
        subscriptions: Sequence[Any],
        *,
        name: str,
        wire: WireProtocol,
        policy: StreamPolicy | None = None,
        metrics: TransportMetrics | None = None,
        send_limiter: WeightedLimiter | None = None,
        budget: WsBudget | None = None,
        on_connect: Callable[[int], Awaitable[None]] | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.subscriptions = tuple(subscriptions)
        self.name = name
        self.wire = wire
        self.policy = policy or StreamPolicy()
        self.metrics = metrics or TransportMetrics()
        self.connections = 0  # successful connections so far; > 1 means reconnected
        self._send_limiter = send_limiter
        self._budget = budget
        self._claim: WsClaim | None = None
        self._on_connect = on_connect
        self._now = now
        self._health = StreamHealth.DOWN
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[StreamHealth], None]] = []
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._last_frame = 0.0
        self._last_sent = 0.0
        self._last_data: float | None = None
        self.metrics.stream_health.labels(name).set(STREAM_HEALTH_VALUE[self._health])

    # -- health -------------------------------------------------------------------------

    @property
    def health(self) -> StreamHealth:
        return self._health

    def data_age(self) -> float | None:
        """Seconds since the last data message on this connection (None: none yet)."""
        return None if self._last_data is None else self._now() - self._last_data

    def add_health_listener(self, listener: Callable[[StreamHealth], None]) -> None:
        """Called on every health change; its exceptions are logged, never raised here."""
        self._listeners.append(listener)

    async def wait_until(self, predicate: Callable[[StreamHealth], bool]) -> StreamHealth:
        """Wait until the health satisfies `predicate` (returns at once if it already does)."""
        while not predicate(self._health):
            await self._changed.wait()
        return self._health

    def _set_health(self, health: StreamHealth) -> None:
        if health is self._health:
            return
        previous, self._health = self._health, health
        self.metrics.stream_health.labels(self.name).set(STREAM_HEALTH_VALUE[health])
        log.info("transport.stream_health", stream=self.name, health=health, was=previous)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in list(self._listeners):
            try:
                listener(health)
            except Exception:
                log.exception("transport.health_listener_failed", stream=self.name)

    def _judge(self) -> None:
        if not self._connected:
            self._set_health(StreamHealth.DOWN)
            return
        age = self.data_age()
        fresh = age is not None and age <= self.policy.stale_after_s
        self._set_health(StreamHealth.HEALTHY if fresh else StreamHealth.DEGRADED)

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> ResilientStream:
        self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def start(self) -> None:
        """Claim the stream's share of the WebSocket caps and start connecting."""
        if self._task is not None:
            return
        if self._budget is not None:
            users = {u for u in map(self.wire.user_of, self.subscriptions) if u is not None}
            self._claim = self._budget.claim(len(self.subscriptions), users)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"ws:{self.name}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Any]:
        while True:
            message = await self._queue.get()
            if message is _END:
                self._queue.put_nowait(_END)  # let other consumers finish too
                return
            yield message

    # -- the connection loop ------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0  # consecutive connections that delivered no data: the backoff exponent
        try:
            while True:
                try:
                    async with connect(
                        self.url,
                        open_timeout=self.policy.open_timeout_s,
                        close_timeout=self.policy.close_timeout_s,
                        ping_interval=None,  # liveness is ours to judge, from data
                    ) as ws:
                        await self._session(ws)
                except (OSError, TimeoutError, WebSocketException) as exc:
                    log.warning(
                        "transport.stream_lost",
                        stream=self.name,
                        error_type=type(exc).__name__,
                        error=str(exc),
                    )
                finally:
                    failures = 0 if self._last_data is not None else failures + 1
                    self._connected = False
                    self._last_data = None
                    self._judge()
                delay = self.policy.reconnect.delay(max(failures, 1))
                self.metrics.ws_reconnects.labels(self.name).inc()
                log.info("transport.stream_reconnect", stream=self.name, delay_s=round(delay, 3))
                await asyncio.sleep(delay)
        finally:
            self._connected = False
            self._judge()
            if self._budget is not None and self._claim is not None:
                self._budget.release(self._claim)
                self._claim = None
            self._queue.put_nowait(_END)

    async def _session(self, ws: ClientConnection) -> None:
        """Serve one connection until it closes or goes silent."""
        self._connected = True
        self._last_frame = self._last_sent = self._now()
        self._last_data = None
        self.connections += 1
        self._judge()
        for subscription in self.subscriptions:
            await self._send(ws, self.wire.subscribe(subscription))
        if self._on_connect is not None:
            try:
                await self._on_connect(self.connections)
            except Exception:
                log.exception("transport.on_connect_failed", stream=self.name)
        reader = asyncio.ensure_future(self._read(ws))
        watchdog = asyncio.ensure_future(self._watch(ws))
        try:
            done, _ = await asyncio.wait({reader, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if (error := task.exception()) is not None:
                    raise error
        finally:
            for task in (reader, watchdog):
                task.cancel()
            await asyncio.gather(reader, watchdog, return_exceptions=True)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                message = self.wire.decode(raw)
            except ValueError:
                log.warning("transport.stream_undecodable", stream=self.name, frame=str(raw)[:200])
                continue
            received = self._now()
            self._last_frame = received
            if self.wire.is_pong(message):
                continue
            if self.wire.is_data(message):
                self._last_data = received
                self._judge()
            self._queue.put_nowait(message)

    async def _watch(self, ws: ClientConnection) -> None:
        policy = self.policy
        while True:
            await asyncio.sleep(policy.tick_s)
            now = self._now()
            if now - self._last_frame > policy.dead_after_s:
                log.warning(
                    "transport.stream_dead",
                    stream=self.name,
                    silent_s=round(now - self._last_frame, 3),
                )
                return
            if self.wire.ping is not None and now - self._last_sent >= policy.heartbeat_s:
                await self._send(ws, self.wire.ping)
            self._judge()

    async def _send(self, ws: ClientConnection, message: Any) -> None:
        if self._send_limiter is not None:
            await self._send_limiter.acquire(1)
        await ws.send(self.wire.encode(message))
        self._last_sent = self._now()


async def stop_reading(reader: asyncio.Task[None] | None, stream: ResilientStream | None) -> None:
    """Stop a task reading `stream`, then the stream: the reader first, so it never sees the
    stream end and takes that for the venue closing it."""
    if reader is not None:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    if stream is not None:
        await stream.close()
