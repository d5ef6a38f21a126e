"""`tailgate doctor` (§E11): exit 0 only when safe — it finds unknown and stale orders and
positions without their venue stop."""

from __future__ import annotations

import asyncio
import dataclasses

from typer.testing import CliRunner

from tailgate.engine.doctor import PENDING_TTL_MS, diagnose
from tailgate.interfaces.cli import app
from tailgate.store import Store
from tailgate.store.records import DiscrepancyRecord, OrderPurpose, OrderState, PositionStatus
from tests.engine.scripted import T0, build_rig, entry_order


def _protected_position(store: Store) -> None:
    rig = build_rig(store)
    entry = entry_order("0xentry")
    store.insert_order(entry)
    asyncio.run(rig.executor.execute(entry, T0))
    asyncio.run(rig.manager.protect(rig.portfolio.open_positions[0], T0))


def _problems(store: Store, now_ms: int = T0 + 1_000) -> set[str]:
    return {f.check for f in diagnose(store, now_ms) if not f.ok}


def test_a_protected_position_and_settled_orders_are_safe(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    _protected_position(store)
    assert _problems(store) == set()
    store.close()


def test_an_order_of_unknown_fate_is_unsafe(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    store.insert_order(entry_order("0xunknown", state=OrderState.UNKNOWN))
    assert _problems(store) == {"no order with an unknown fate"}
    store.close()


def test_a_pending_order_is_stale_only_after_its_ttl(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    store.insert_order(entry_order("0xpending", created_ms=T0))
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


def test_a_stop_still_resting_for_a_closed_position_is_unsafe(tmp_path):
    """A kill between an exit's close and its stop's cancel: the next start cancels it."""
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    _protected_position(store)
    (position,) = store.load_positions()
    store.save_position(dataclasses.replace(position, status=PositionStatus.CLOSED, size=0.0))
    assert _problems(store) == {"no stop left resting for a closed position"}
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
    store.insert_order(entry_order("0xunknown", state=OrderState.UNKNOWN))
    store.close()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "PROBLEM" in result.output


def test_an_open_obligation_is_unsafe(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    rig = build_rig(store)
    entry = entry_order("0xentry")
    store.insert_order(entry)
    asyncio.run(rig.executor.execute(entry, T0))  # filled; the process dies before its stop
    assert _problems(store) == {
        "no open obligation",
        "every open position has its stop at the venue",
    }
    store.close()


def test_a_halted_account_and_drift_left_in_place_are_unsafe(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/d.db")
    _protected_position(store)
    store.set_state("halted:paper", {"since_ms": T0, "reason": "drift"}, T0)
    store.set_state("reconciliation:paper", {"run_ms": T0, "drifts": 1}, T0)
    store.record_discrepancies(
        [DiscrepancyRecord("paper", T0, "position_size", "ETH", "long 1", "long 3", 6e3, "halted")]
    )
    assert _problems(store) == {"no account halted", "no reconciliation drift left"}
    store.clear_state("halted:paper")
    store.set_state("reconciliation:paper", {"run_ms": T0 + 1, "drifts": 0}, T0 + 1)
    assert _problems(store) == set()  # a later clean run: the old drift is history
    store.close()


def test_the_kill_switch_is_reported_and_reaches_the_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/d.db"
    monkeypatch.setenv("TAILGATE_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(app, ["kill", "on"]).exit_code == 0
    store = Store.open(url)
    assert store.get_state("kill_switch") is True
    (kill,) = [f for f in diagnose(store, T0) if f.check == "kill switch"]
    assert kill.ok and kill.detail.startswith("ON")
    store.close()
    assert runner.invoke(app, ["kill", "off"]).exit_code == 0
    assert runner.invoke(app, ["kill", "maybe"]).exit_code == 2
