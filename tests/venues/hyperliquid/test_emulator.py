"""The loopback emulator speaks Hyperliquid's `/info`, `/exchange` and WebSocket protocol
over the simulator, and injects faults on demand."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aiohttp import ClientSession, WSMsgType

from tailgate.venues.hyperliquid.emulator import EmulatedVenue, FaultPlan, serve
from tailgate.venues.hyperliquid.parse import parse_all_mids, parse_meta, parse_user_fills
from tailgate.venues.sim import SimConfig, SimWorld

WORLD = SimWorld(SimConfig(seed=3, history_days=3, forward_days=2, coins=("BTC", "ETH")))
NOW = WORLD.config.start_ms + 6 * 3_600_000
ME, AGENT = "0x" + "ab" * 20, "0x" + "cd" * 20


def stub_verify(body):  # the real check recovers the EIP-712 signer; here the test names it
    if body.get("signature") != "good":
        raise ValueError("bad signature")
    return body["signer"]


def busiest_leader() -> str:
    return max(WORLD.leader_addresses(), key=lambda a: WORLD.ledger(a).fill_range(0, NOW)[1])


async def with_server(plan, body):
    clock = {"now": NOW}
    venue = EmulatedVenue(WORLD, lambda: clock["now"], verify=stub_verify)
    venue.register(ME, AGENT)
    runner, port = await serve(venue, plan, push_interval_s=0.01)
    try:
        return await body(venue, f"http://127.0.0.1:{port}", clock)
    finally:
        await runner.cleanup()


def test_info_answers_parse_with_the_adapters_parsers():
    async def body(venue, url, clock):
        async with httpx.AsyncClient(base_url=url) as http:
            meta = (await http.post("/info", json={"type": "meta"})).json()
            mids = (await http.post("/info", json={"type": "allMids"})).json()
            leader = busiest_leader()
            fills = (
                await http.post(
                    "/info",
                    json={"type": "userFillsByTime", "user": leader, "startTime": 0},
                )
            ).json()
            bad = (await http.post("/info", json={"type": "nonsense"})).json()
        return meta, mids, fills, bad, leader

    meta, mids, fills, bad, leader = asyncio.run(with_server(None, body))
    assert [m.coin for m in parse_meta(meta)] == ["BTC", "ETH"]
    assert set(parse_all_mids(mids)) == {"BTC", "ETH"}
    page = parse_user_fills(fills, leader)
    assert page.fills and not page.rejects and all(f.time_ms <= NOW for f in page.fills)
    assert bad["status"] == "err"


def test_orders_need_a_known_signer_and_fill_against_the_simulated_book():
    async def body(venue, url, clock):
        order = {
            "a": 0,
            "b": True,
            "p": "200000",
            "s": "0.01",
            "r": False,
            "t": {"limit": {"tif": "Ioc"}},
            "c": "0x" + "11" * 16,
        }
        action = {"type": "order", "orders": [order], "grouping": "na"}
        async with httpx.AsyncClient(base_url=url) as http:
            stranger = await http.post(
                "/exchange", json={"action": action, "signature": "good", "signer": "0x99"}
            )
            forged = await http.post(
                "/exchange", json={"action": action, "signature": "bad", "signer": AGENT}
            )
            placed = await http.post(
                "/exchange", json={"action": action, "signature": "good", "signer": AGENT}
            )
            again = await http.post(  # the same cloid: the first answer, no second trade
                "/exchange", json={"action": action, "signature": "good", "signer": AGENT}
            )
            status = await http.post(
                "/info", json={"type": "orderStatus", "user": ME, "oid": order["c"]}
            )
            state = await http.post("/info", json={"type": "clearinghouseState", "user": ME})
        return (
            stranger.json(),
            forged.json(),
            placed.json(),
            again.json(),
            status.json(),
            state.json(),
        )

    stranger, forged, placed, again, status, state = asyncio.run(with_server(None, body))
    assert stranger["status"] == "err" and "does not exist" in stranger["response"]
    assert forged["status"] == "err" and "signature" in forged["response"]
    filled = placed["response"]["data"]["statuses"][0]["filled"]
    assert float(filled["totalSz"]) == 0.01
    assert again["response"]["data"]["statuses"][0]["filled"] == filled
    assert status["status"] == "order" and status["order"]["status"] == "filled"
    [position] = state["assetPositions"]
    assert position["position"]["coin"] == "BTC" and float(position["position"]["szi"]) == 0.01


def test_user_fills_stream_starts_with_a_snapshot_then_only_new_fills():
    leader = busiest_leader()

    async def body(venue, url, clock):
        got = []
        async with ClientSession() as session, session.ws_connect(f"{url}/ws") as ws:
            await ws.send_str(json.dumps({"method": "ping"}))
            sub = {"type": "userFills", "user": leader}
            await ws.send_str(json.dumps({"method": "subscribe", "subscription": sub}))
            while len([m for m in got if m.get("channel") == "userFills"]) < 2:
                if len([m for m in got if m.get("channel") == "userFills"]) == 1:
                    clock["now"] = NOW + 6 * 3_600_000  # the world moves on
                msg = await asyncio.wait_for(ws.receive(), 5)
                assert msg.type is WSMsgType.TEXT
                got.append(json.loads(msg.data))
        return got

    got = asyncio.run(with_server(None, body))
    channels = [m["channel"] for m in got]
    assert channels[:3] == ["pong", "subscriptionResponse", "userFills"]
    snapshot, live = [m["data"] for m in got if m["channel"] == "userFills"]
    assert snapshot["isSnapshot"] is True and "isSnapshot" not in live
    assert max(f["time"] for f in snapshot["fills"]) <= NOW < min(f["time"] for f in live["fills"])


@pytest.mark.parametrize("seed", [1, 2])
def test_injected_http_faults_are_what_the_plan_says(seed):
    plan = FaultPlan(http_429_rate=0.3, http_5xx_rate=0.3, seed=seed)

    async def body(venue, url, clock):
        codes = []
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(60):
                codes.append((await http.post("/info", json={"type": "allMids"})).status_code)
        return codes

    codes = asyncio.run(with_server(plan, body))
    assert codes.count(429) > 5 and codes.count(502) > 5 and codes.count(200) > 5
    assert codes == asyncio.run(with_server(plan, body))  # seeded: the same faults again


def test_an_sdk_signed_order_is_verified_and_traded_and_a_tampered_one_refused():
    from eth_account import Account

    from tailgate.domain.models import OrderType
    from tailgate.venues.hyperliquid.keys import signer_from_private_key
    from tailgate.venues.hyperliquid.signing import Network, recover_signer, sign_order
    from tailgate.venues.protocols import OrderRequest

    agent = Account.from_key("0x" + "42" * 32)  # a throwaway test key
    signer = signer_from_private_key("0x" + "42" * 32, ME)
    btc = WORLD.market("BTC")
    request = OrderRequest(
        "0x" + "22" * 16, "BTC", True, 0.01, 200_000.0, OrderType.MARKET, nonce=NOW
    )
    signed = sign_order(signer, request, btc, 0, network=Network.MAINNET)
    tampered = json.loads(json.dumps(signed))
    tampered["action"]["orders"][0]["s"] = "1.0"  # more size than was signed

    async def body(_, url, clock):
        venue = EmulatedVenue(
            WORLD, lambda: NOW, verify=lambda b: recover_signer(b, network=Network.MAINNET)
        )
        venue.register(ME, agent.address)
        runner, port = await serve(venue)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                bad = (await http.post("/exchange", json=tampered)).json()
                good = (await http.post("/exchange", json=signed)).json()
        finally:
            await runner.cleanup()
        return bad, good

    bad, good = asyncio.run(with_server(None, body))
    assert bad["status"] == "err"  # recovers some other address: no such agent
    assert good["status"] == "ok"
    assert float(good["response"]["data"]["statuses"][0]["filled"]["totalSz"]) == 0.01
