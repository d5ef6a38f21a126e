"""`tailgate doctor` (§E11): exit 0 only when safe — it finds unknown and stale orders and
positions without their venue stop."""

from __future__ import annotations

import asyncio
import dataclasses

from typer.testing import CliRunner

from tailgate.domain.models import OrderType
from tailgate.domain.params import CopyParams
from tailgate.engine.doctor import PENDING_TTL_MS, diagnose
from tailgate.engine.execution import OrderExecutor
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.interfaces.cli import app
from tailgate.store import Store
from tailgate.store.records import OrderPurpose, OrderRecord, OrderState
from tests.engine.test_position_manager import LEADER, MARKETS, T0, ScriptedVenue


def _order(cid: str, state: OrderState, created_ms: int = T0) -> OrderRecord:
    return OrderRecord(
        client_order_id=cid,
        account="paper",
        coin="ETH",
        is_buy=True,
        size=1.0,
        limit_price=3_015.0,
        order_type=OrderType.MARKET,
        purpose=OrderPurpose.ENTRY,
        state=state,
        created_ms=created_ms,
        updated_ms=created_ms,
        leader=LEADER,
    )


def _protected_position(store: Store) -> None:
    venue = ScriptedVenue()
    params = CopyParams()
    portfolio = Portfolio("paper", store.ensure_account("paper", 100_000.0, T0), [])
    executor = OrderExecutor(venue, store, MARKETS, portfolio, params)
    manager = PositionManager(
        store=store,
        feed=venue,
        market=venue,
        executor=executor,
        portfolio=portfolio,
        leaders=LeaderBook(venue, store, params, MARKETS),
        params=params,
        markets=MARKETS,
    )
    entry = _order("0xentry", OrderState.PENDING)
    store.insert_order(entry)
    asyncio.run(executor.execute(entry, T0))
    asyncio.run(manager.protect(portfolio.open_positions[0], T0))


def _problems(store: Store, now_ms: int = T0 + 1_000) -> set[str]:
    return {f.check for f in diagnose(store, now_ms) if not f.ok}


def test_a_protected_position_and_settled_orders_are_safe(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    _protected_position(store)
    assert _problems(store) == set()
    store.close()


def test_an_order_of_unknown_fate_is_unsafe(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    store.insert_order(_order("0xunknown", OrderState.UNKNOWN))
    assert _problems(store) == {"no order with an unknown fate"}
    store.close()


def test_a_pending_order_is_stale_only_after_its_ttl(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    store.insert_order(_order("0xpending", OrderState.PENDING, created_ms=T0))
    assert _problems(store, T0 + PENDING_TTL_MS) == set()
    assert _problems(store, T0 + PENDING_TTL_MS + 1) == {"no stale PENDING order"}
    store.close()


def test_a_position_whose_stop_is_gone_is_unprotected(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    _protected_position(store)
    (stop,) = [o for o in store.load_orders() if o.purpose is OrderPurpose.STOP]
    store.update_order(dataclasses.replace(stop, state=OrderState.EXPIRED))
    assert _problems(store) == {"every open position has its stop at the venue"}
    store.close()


def test_the_cli_exits_0_when_safe_1_when_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.startswith("TAILGATE_")]:
        monkeypatch.delenv(key)
    runner = CliRunner()
    assert runner.invoke(app, ["doctor"]).exit_code == 1  # no store yet
    url = f"sqlite:///{tmp_path}/d.db"
    monkeypatch.setenv("TAILGATE_DATABASE_URL", url)
    store = Store.open(url)
    _protected_position(store)
    store.close()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    store = Store.open(url)
    store.insert_order(_order("0xunknown", OrderState.UNKNOWN))
    store.close()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "PROBLEM" in result.output
