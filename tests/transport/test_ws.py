"""ResilientStream against a local `websockets` server on 127.0.0.1 (SPEC §R2).

The server plays Hyperliquid's socket: it answers `{"method":"ping"}` with `{"channel":"pong"}`
and subscriptions with an ack, and each test scripts what happens after that (data, a dropped
connection, silence). Timings are tens of milliseconds; every wait is on a condition with a
generous deadline, so the tests are fast and do not depend on the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tailgate.transport.backoff import Backoff
from tailgate.transport.errors import OverCapacityError
from tailgate.transport.fallback import PollingFallback
from tailgate.transport.limits import WsBudget, hyperliquid_limits
from tailgate.transport.ws import ResilientStream, StreamHealth, StreamPolicy, hyperliquid_wire

HEALTHY, DEGRADED, DOWN = StreamHealth.HEALTHY, StreamHealth.DEGRADED, StreamHealth.DOWN
TRADES = {"type": "trades", "coin": "ETH"}
DEADLINE_S = 5.0

FAST = StreamPolicy(
    heartbeat_s=0.05,
    stale_after_s=0.3,
    dead_after_s=2.0,
    tick_s=0.01,
    open_timeout_s=2.0,
    close_timeout_s=0.2,
    reconnect=Backoff(base_s=0.01, max_s=0.05, jitter=0.0),
)

# After the subscription ack, the server runs the test's script for that connection.
Script = Callable[[ServerConnection, int], Awaitable[None]]


class FakeVenue:
    def __init__(self, script: Script, *, answer_pings: bool = True) -> None:
        self.script = script
        self.answer_pings = answer_pings
        self.connections = 0
        self.received: list[tuple[int, dict[str, Any]]] = []  # (connection number, message)
        self.scripts: set[asyncio.Task[None]] = set()

    def sent_on(self, connection: int, method: str) -> int:
        return sum(1 for n, m in self.received if n == connection and m.get("method") == method)

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        number = self.connections
        async for raw in ws:
            message = json.loads(raw)
            self.received.append((number, message))
            if message.get("method") == "ping" and self.answer_pings:
                await ws.send(json.dumps({"channel": "pong"}))
            elif message.get("method") == "subscribe":
                ack = {"channel": "subscriptionResponse", "data": message}
                await ws.send(json.dumps(ack))
                self.scripts.add(asyncio.create_task(self.script(ws, number)))


@contextlib.asynccontextmanager
async def running(venue: FakeVenue) -> AsyncIterator[str]:
    async with serve(venue.handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            for task in venue.scripts:
                task.cancel()
            await asyncio.gather(*venue.scripts, return_exceptions=True)


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def trade(connection: int, seq: int) -> str:
    return json.dumps({"channel": "trades", "data": [{"coin": "ETH", "c": connection, "s": seq}]})


def stream_to(url: str, **options: Any) -> ResilientStream:
    options.setdefault("policy", FAST)
    return ResilientStream(url, [TRADES], name="hl_trades", wire=hyperliquid_wire(), **options)


def reconnects(stream: ResilientStream) -> float:
    sample = stream.metrics.registry.get_sample_value(
        "tailgate_transport_ws_reconnects_total", {"stream": stream.name}
    )
    return sample or 0.0


def test_a_dropped_stream_reconnects_resubscribes_heartbeats_and_recovers() -> None:
    async def script(ws: ServerConnection, connection: int) -> None:
        if connection == 1:
            await ws.send(trade(1, 0))
            await asyncio.sleep(0.05)
            ws.transport.abort()  # the venue drops us without a close frame
            return
        for seq in range(10_000):  # the new connection streams until the test ends
            await ws.send(trade(connection, seq))
            await asyncio.sleep(0.02)

    venue = FakeVenue(script)
    connects: list[int] = []
    health: list[StreamHealth] = []

    async def on_connect(number: int) -> None:
        connects.append(number)

    async def scenario() -> ResilientStream:
        async with running(venue) as url:
            stream = stream_to(url, on_connect=on_connect)
            stream.add_health_listener(health.append)
            async with stream:
                data = []
                async for message in stream:
                    if message["channel"] == "trades":
                        data.append(message["data"][0]["c"])
                    if data and data[-1] == 2:
                        break
                await eventually(lambda: venue.sent_on(2, "ping") >= 1, "a heartbeat on conn 2")
                assert stream.health is HEALTHY
                assert data[0] == 1
        return stream

    stream = asyncio.run(scenario())
    assert [venue.sent_on(n, "subscribe") for n in (1, 2)] == [1, 1]
    assert connects == [1, 2]
    assert stream.connections == 2
    assert reconnects(stream) == 1
    assert health == [DEGRADED, HEALTHY, DOWN, DEGRADED, HEALTHY, DOWN]  # DOWN last: closed


def test_a_silent_but_open_socket_is_judged_unhealthy_by_data_age() -> None:
    async def script(ws: ServerConnection, connection: int) -> None:
        await ws.send(trade(connection, 0))  # one trade, then only pongs

    venue = FakeVenue(script)
    health: list[StreamHealth] = []

    async def scenario() -> None:
        async with running(venue) as url:
            stream = stream_to(url)
            stream.add_health_listener(health.append)
            async with stream:
                await stream.wait_until(lambda h: h is HEALTHY)
                await asyncio.wait_for(stream.wait_until(lambda h: h is DEGRADED), DEADLINE_S)
                age = stream.data_age()
                assert age is not None and age > FAST.stale_after_s
                await eventually(lambda: venue.sent_on(1, "ping") >= 2, "pings answered")
                # The socket is open and answering pongs: degraded, but not reconnected.
                assert stream.health is DEGRADED
                assert stream.connections == 1
                assert reconnects(stream) == 0

    asyncio.run(scenario())
    assert health[:3] == [DEGRADED, HEALTHY, DEGRADED]


def test_a_socket_on_which_nothing_arrives_is_dropped_and_replaced() -> None:
    async def script(ws: ServerConnection, connection: int) -> None:
        return  # an ack, then nothing: not even pongs

    venue = FakeVenue(script, answer_pings=False)
    policy = StreamPolicy(
        heartbeat_s=0.02,
        stale_after_s=0.05,
        dead_after_s=0.1,
        tick_s=0.01,
        close_timeout_s=0.1,
        reconnect=Backoff(base_s=0.01, max_s=0.02, jitter=0.0),
    )

    async def scenario() -> None:
        async with running(venue) as url, stream_to(url, policy=policy) as stream:
            await eventually(lambda: venue.sent_on(2, "subscribe") == 1, "a re-subscription")
            assert stream.connections >= 2
            assert stream.health is not HEALTHY

    asyncio.run(scenario())


def test_polling_covers_an_unhealthy_stream_and_stops_when_data_returns() -> None:
    resume = asyncio.Event()

    async def script(ws: ServerConnection, connection: int) -> None:
        await ws.send(trade(connection, 0))
        await resume.wait()  # silence until the test lets data flow again
        for seq in range(1, 10_000):
            await ws.send(trade(connection, seq))
            await asyncio.sleep(0.02)

    venue = FakeVenue(script)

    async def scenario() -> None:
        async with running(venue) as url, stream_to(url) as stream:
            polls: list[StreamHealth] = []

            async def poll() -> None:
                polls.append(stream.health)
                if len(polls) == 2:
                    raise RuntimeError("the REST fallback failed once")  # must not stop polling

            fallback = PollingFallback(stream, poll, interval_s=0.02, grace_s=0.0)
            task = asyncio.create_task(fallback.run())
            await stream.wait_until(lambda h: h is HEALTHY)
            await eventually(lambda: len(polls) >= 3, "polls while the stream is silent")
            assert fallback.polling
            assert all(h is not HEALTHY for h in polls)
            resume.set()
            await asyncio.wait_for(stream.wait_until(lambda h: h is HEALTHY), DEADLINE_S)
            await eventually(lambda: not fallback.polling, "back to streaming")
            settled = len(polls)
            await asyncio.sleep(0.1)  # five poll intervals: none may happen while healthy
            assert len(polls) == settled
            gauge = stream.metrics.registry.get_sample_value(
                "tailgate_transport_stream_polling", {"stream": stream.name}
            )
            assert gauge == 0.0
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(scenario())


def test_a_stream_claims_its_share_of_the_websocket_caps_and_gives_it_back() -> None:
    async def script(ws: ServerConnection, connection: int) -> None:
        await ws.send(trade(connection, 0))

    venue = FakeVenue(script)
    budget = WsBudget(hyperliquid_limits().ws)
    user = {"type": "userFills", "user": "0xAbC"}

    async def scenario() -> None:
        async with running(venue) as url:
            stream = ResilientStream(
                url, [TRADES, user], name="s", wire=hyperliquid_wire(), policy=FAST, budget=budget
            )
            async with stream:
                assert (budget.connections, budget.subscriptions) == (1, 2)
                assert budget.users == frozenset({"0xabc"})
                await stream.wait_until(lambda h: h is HEALTHY)
            assert (budget.connections, budget.subscriptions, budget.users) == (0, 0, frozenset())

            too_many = [{"type": "l2Book", "coin": f"C{i}"} for i in range(1001)]
            greedy = ResilientStream(
                url, too_many, name="g", wire=hyperliquid_wire(), budget=budget
            )
            with pytest.raises(OverCapacityError):
                greedy.start()

    asyncio.run(scenario())
    assert venue.sent_on(1, "subscribe") == 2
