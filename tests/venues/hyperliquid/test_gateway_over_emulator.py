"""The engine's executor trading through the Hyperliquid gateway, over HTTP, against the
emulator: SDK-signed orders fill with their fill rows; the protective stop rests as a trigger
order and is cancelled by cloid; an order whose answer is lost is UNKNOWN and is settled from
the venue by cloid — filled once, never sent again."""

from __future__ import annotations

import asyncio

from tailgate.domain.models import OrderType
from tailgate.engine.execution import OrderExecutor
from tailgate.engine.locks import NonceSource
from tailgate.engine.portfolio import Portfolio
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderRecord, OrderState, PositionStatus
from tailgate.transport import Backoff, HttpTransport, RetryPolicy
from tailgate.venues.hyperliquid.emulator import EmulatedVenue, FaultPlan, serve
from tailgate.venues.hyperliquid.execution import HyperliquidGateway
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.keys import signer_from_private_key
from tailgate.venues.hyperliquid.orders import asset_indices
from tailgate.venues.hyperliquid.signing import Network, recover_signer
from tailgate.venues.sim import SimConfig, SimWorld

WORLD = SimWorld(SimConfig(seed=4, history_days=2, forward_days=2, coins=("BTC", "ETH")))
NOW = WORLD.config.start_ms + 3_600_000
ME = "0x" + "ab" * 20
KEY = "0x" + "5a" * 32  # a throwaway test key


def entry(cid: str, size: float, limit: float, now: int) -> OrderRecord:
    return OrderRecord(
        client_order_id=cid,
        account="hl",
        coin="BTC",
        is_buy=True,
        size=size,
        limit_price=limit,
        order_type=OrderType.MARKET,
        purpose=OrderPurpose.ENTRY,
        state=OrderState.PENDING,
        created_ms=now,
        updated_ms=now,
    )


def test_the_executor_trades_through_the_gateway_and_settles_a_lost_answer(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/t.db")
    signer = signer_from_private_key(KEY, ME)
    clock = {"now": NOW}

    async def run():
        emulated = EmulatedVenue(
            WORLD, lambda: clock["now"], verify=lambda b: recover_signer(b, network=Network.MAINNET)
        )
        emulated.register(ME, signer.agent_address)
        clean, port = await serve(emulated)
        lossy, lossy_port = await serve(emulated, FaultPlan(http_timeout_rate=1.0, hang_s=0.5))
        retry = RetryPolicy(max_attempts=3, backoff=Backoff(base_s=0.001, max_s=0.01))

        def gateway_on(p: int) -> HyperliquidGateway:
            http = HttpTransport(
                f"http://127.0.0.1:{p}", venue="hyperliquid", timeout_s=0.2, retry=retry
            )
            info = HyperliquidInfo(http, now_ms=lambda: clock["now"])
            return HyperliquidGateway(
                http,
                info,
                signer,
                markets=markets,
                assets=assets,
                nonces=nonces,
                now_ms=lambda: clock["now"],
            )

        nonces = NonceSource(lambda: clock["now"])
        probe = HttpTransport(f"http://127.0.0.1:{port}", venue="hyperliquid")
        meta = await HyperliquidInfo(probe).info({"type": "meta"})
        await probe.aclose()
        assets = asset_indices(meta)
        markets = {m.coin: m for m in WORLD.markets}
        good, bad = gateway_on(port), gateway_on(lossy_port)
        cash = store.ensure_account("hl", 100_000, NOW)
        portfolio = Portfolio("hl", cash, [])
        executor = OrderExecutor(
            good, store, markets, portfolio, signer=signer.agent_address, nonces=nonces
        )
        lost = OrderExecutor(
            bad, store, markets, portfolio, signer=signer.agent_address, nonces=nonces
        )

        price = WORLD.price_at("BTC", NOW)
        first = entry("0x" + "01" * 16, 0.01, round(price * 1.02), NOW)
        store.insert_order(first)
        await executor.execute(first, NOW)
        position = portfolio.open_positions[0]
        stop = executor.plan_stop(position, NOW)
        store.insert_order(stop)
        await executor.execute(stop, NOW)
        resting = await good.open_orders()
        await executor.cancel(stop, NOW)
        after_cancel = await good.open_orders()

        clock["now"] = NOW + 60_000
        second = entry("0x" + "02" * 16, 0.02, round(price * 1.02), clock["now"])
        store.insert_order(second)
        await lost.execute(second, clock["now"])  # processed by the venue, answer lost
        unknown_state = second.state
        await executor.resolve_open_orders(clock["now"], 60_000)
        await clean.cleanup()
        await lossy.cleanup()
        return first, stop, resting, after_cancel, unknown_state, emulated

    first, stop, resting, after_cancel, unknown_state, emulated = asyncio.run(run())
    assert first.state is OrderState.FILLED and first.filled_size == 0.01
    rows = store.load_fills(first.id)
    assert rows and sum(f.size for f in rows) == 0.01 and all(f.fee > 0 for f in rows)
    assert [o.client_order_id for o in resting] == [stop.client_order_id]
    assert resting[0].trigger_price == stop.trigger_price
    assert stop.state is OrderState.EXPIRED and after_cancel == []

    assert unknown_state is OrderState.UNKNOWN
    settled = store.order_by_client_id("0x" + "02" * 16)
    assert settled.state is OrderState.FILLED and settled.filled_size == 0.02
    assert sum(f.size for f in store.load_fills(settled.id)) == 0.02
    assert emulated.actions == 4  # two orders, a stop, a cancel: nothing sent twice
    [position] = store.load_positions(status=PositionStatus.OPEN)
    assert position.size == 0.03
    store.close()
