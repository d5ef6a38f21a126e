"""Live mode end to end on the loopback emulator: the engine, armed, signs its entries with the
API wallet's key for the configured network and sends them to `/exchange`; each coin is set
to isolated leverage ≤ MAX_LEVERAGE before its first entry; no entry exceeds the live order
cap; nonces never repeat; the key is in no log line. Unarmed, the same configuration sends
nothing. The gateway refuses an entry whose leverage the venue would not set."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from tailgate.config import load_settings
from tailgate.domain.models import OrderType
from tailgate.engine.clock import SimClock
from tailgate.engine.hyperliquid_session import live_account_name, run_hyperliquid
from tailgate.engine.locks import NonceSource
from tailgate.logs import configure_logging
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderState
from tailgate.transport import HttpTransport
from tailgate.venues.hyperliquid.emulator import EmulatedVenue, serve
from tailgate.venues.hyperliquid.emulator.venue import ExchangeError
from tailgate.venues.hyperliquid.execution import HyperliquidGateway
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.keys import signer_from_private_key
from tailgate.venues.hyperliquid.orders import asset_indices
from tailgate.venues.hyperliquid.signing import Network, recover_signer
from tailgate.venues.protocols import OrderRequest, OrderStatus
from tailgate.venues.sim import SimConfig, SimWorld

HOURS = 12
CONFIG = SimConfig(
    seed=21, history_days=25, forward_days=2, coins=("BTC", "ETH", "SOL"),
    n_swing=8, n_position=4, n_noise=10, n_hft=3, n_overleveraged=3, n_tiny_win=2,
)  # fmt: skip
ME = "0x" + "ab" * 20  # the master account
KEY = "0x" + "5a" * 32  # a throwaway API-wallet key
CAP = 10_000.0  # max_live_order_usd
MAX_LEVERAGE = 3
SETTINGS = {
    "min_trades_required": 10,
    "copy_delay_minutes": 0,
    "primary_count": 6,
    "max_leverage": MAX_LEVERAGE,
    "max_live_order_usd": CAP,
    "hyperliquid_network": "testnet",
    "hyperliquid_private_key": KEY,
    "hyperliquid_account_address": ME,
}


class Recording(EmulatedVenue):
    """The emulator, keeping every signed body it was sent, in arrival order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies: list[Mapping[str, Any]] = []

    async def exchange(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        return await super().exchange(body)


def run_engine(tmp_path, world: SimWorld, *, mode: str, live: bool):
    start = world.config.start_ms

    async def go():
        clock = SimClock(start, start + HOURS * 3_600_000)
        emulated = Recording(
            world, clock.now_ms, verify=lambda b: recover_signer(b, network=Network.TESTNET)
        )
        emulated.register(ME, signer_from_private_key(KEY, ME).agent_address)
        server, port = await serve(emulated)
        url = f"http://127.0.0.1:{port}"
        settings = load_settings(
            database_url=f"sqlite:///{tmp_path}/{mode}-{live}.db",
            workdir=tmp_path,
            mode=mode,
            hyperliquid_base_url=url,
            **SETTINGS,
        )
        store = Store.open(settings.resolved_database_url())
        try:
            engine = await run_hyperliquid(
                settings,
                clock,
                store,
                live=live,
                timeout_s=2.0,
                rate_limited=False,
                stream=False,  # polled: deterministic on the simulated clock
            )
            orders = store.load_orders()
            return engine, emulated, orders, await emulated.account(ME).account_snapshot()
        finally:
            store.close()
            await server.cleanup()

    return asyncio.run(go())


def test_armed_live_mode_signs_and_sends_capped_entries_after_setting_isolated_leverage(
    tmp_path,
):
    log_file = tmp_path / "engine.log"
    configure_logging("DEBUG", "json", log_file)
    world = SimWorld(CONFIG)
    engine, emulated, orders, venue_account = run_engine(tmp_path, world, mode="live", live=True)

    assert engine.live_armed and engine.stats.loop_errors == 0
    assert engine.portfolio.account == live_account_name(Network.TESTNET, ME)
    assert engine.guardrails.limits.live and engine.guardrails.limits.max_order_usd == CAP
    assert emulated.refused == 0  # every body's signature is the agent's, for testnet

    # entries reached the venue, were filled there, and the venue holds the positions
    entries = [o for o in orders if o.purpose is OrderPurpose.ENTRY]
    filled = [o for o in entries if o.state is OrderState.FILLED]
    assert len(filled) >= 2
    assert {p.coin for p in venue_account.positions} == {o.coin for o in filled}
    # every entry sent is within the cap; any refused by it was above it
    for o in entries:
        if o.reason == "MAX_ORDER_SIZE":
            assert o.state is OrderState.SKIPPED and o.size * o.limit_price > CAP
        else:
            assert o.size * o.limit_price <= CAP

    # isolated leverage at ≤ MAX_LEVERAGE before the first entry of each coin, once per coin
    coins = [m.coin for m in world.markets]  # asset index → coin
    max_of = {m.coin: m.max_leverage for m in world.markets}
    leverage_at: dict[str, int] = {}
    sent_entries = 0
    for body in emulated.bodies:
        action = body["action"]
        if action["type"] == "updateLeverage":
            coin = coins[action["asset"]]
            assert coin not in leverage_at, "leverage set twice in one process"
            assert action["isCross"] is False
            assert 1 <= action["leverage"] <= min(MAX_LEVERAGE, max_of[coin])
            leverage_at[coin] = action["leverage"]
        elif action["type"] == "order":
            for wire in action["orders"]:
                if not wire["r"] and "limit" in wire["t"]:  # an entry
                    sent_entries += 1
                    assert coins[wire["a"]] in leverage_at, "entry before its leverage"
                    assert float(wire["p"]) * float(wire["s"]) <= CAP
    assert sent_entries == len(filled) and set(leverage_at) == {o.coin for o in filled}
    nonces = [body["nonce"] for body in emulated.bodies]
    assert nonces == sorted(set(nonces)), "a nonce repeated or went backwards"
    # one nonce source for the session: the engine's checkpoint holds the agent key's last
    # nonce (orders, cancels and leverage updates alike), so a restart continues above it
    agent = signer_from_private_key(KEY, ME).agent_address
    assert engine.nonces.snapshot()[agent] == max(nonces)

    text = log_file.read_text()
    assert "hyperliquid_session_started" in text and ME in text
    assert KEY[2:] not in text.lower() and KEY[2:].upper() not in text


def test_configured_live_without_the_flag_sends_nothing_and_trades_paper(tmp_path):
    configure_logging("WARNING", "json", tmp_path / "engine.log")
    world = SimWorld(CONFIG)
    engine, emulated, orders, venue_account = run_engine(tmp_path, world, mode="live", live=False)
    assert not engine.live_armed and emulated.bodies == []
    assert not venue_account.positions
    assert engine.portfolio.account == "paper"
    entries = [o for o in orders if o.purpose is OrderPurpose.ENTRY]
    assert any(o.state is OrderState.FILLED for o in entries)  # on paper
    assert not any(o.reason == "LIVE_NOT_ARMED" for o in entries)
    assert "live_not_armed_running_paper" in (tmp_path / "engine.log").read_text()


class RefusesLeverage(Recording):
    async def exchange(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if body["action"]["type"] == "updateLeverage":
            self.bodies.append(body)
            raise ExchangeError("Cannot switch leverage type with open position.")
        return await super().exchange(body)


def test_an_entry_whose_isolated_leverage_the_venue_refuses_is_never_sent(tmp_path):
    world = SimWorld(SimConfig(seed=4, history_days=2, forward_days=2, coins=("BTC", "ETH")))
    now = world.config.start_ms + 3_600_000
    signer = signer_from_private_key(KEY, ME)

    async def go():
        emulated = RefusesLeverage(
            world, lambda: now, verify=lambda b: recover_signer(b, network=Network.MAINNET)
        )
        emulated.register(ME, signer.agent_address)
        server, port = await serve(emulated)
        http = HttpTransport(f"http://127.0.0.1:{port}", venue="hyperliquid", timeout_s=2.0)
        info = HyperliquidInfo(http, now_ms=lambda: now)
        gateway = HyperliquidGateway(
            http,
            info,
            signer,
            markets={m.coin: m for m in world.markets},
            assets=asset_indices(await info.info({"type": "meta"})),
            nonces=NonceSource(lambda: now),
            now_ms=lambda: now,
            leverage=5,
        )
        price = world.price_at("BTC", now)

        def order(cid: str, *, reduce_only: bool) -> OrderRequest:
            return OrderRequest(
                client_order_id="0x" + cid * 16,
                coin="BTC",
                is_buy=not reduce_only,
                size=0.01,
                limit_price=round(price * (0.98 if reduce_only else 1.02)),
                order_type=OrderType.MARKET,
                reduce_only=reduce_only,
            )

        try:
            first = await gateway.place_order(order("01", reduce_only=False))
            again = await gateway.place_order(order("02", reduce_only=False))
            exit_ = await gateway.place_order(order("03", reduce_only=True))
            return first, again, exit_, emulated.bodies, gateway
        finally:
            await http.aclose()
            await server.cleanup()

    first, again, exit_, bodies, gateway = asyncio.run(go())
    assert first.status is OrderStatus.REJECTED and "leverage" in (first.reason or "")
    assert again.status is OrderStatus.REJECTED  # asked again, refused again
    assert exit_.client_order_id == "0x" + "03" * 16  # reduce-only: no leverage needed
    kinds = [b["action"]["type"] for b in bodies]
    assert kinds == ["updateLeverage", "updateLeverage", "order"]
    assert gateway.leverage_set == {} and gateway.refused_locally == 2
