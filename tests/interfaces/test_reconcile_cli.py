"""`tailgate reconcile` (SPEC §R1 by hand): reports each account; `--resume` lifts a halt."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from tailgate.config import load_settings
from tailgate.engine.guardrails import halted_key
from tailgate.engine.sim_session import run_sim_session
from tailgate.interfaces.cli import app
from tailgate.store import Store

runner = CliRunner()


def test_reconcile_reports_a_halt_and_resume_lifts_it(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/t.db"
    monkeypatch.setenv("TAILGATE_DATABASE_URL", url)
    monkeypatch.setenv("TAILGATE_LOG_FILE", str(tmp_path / "log.jsonl"))
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "venue.db"
    settings = load_settings()
    session = asyncio.run(run_sim_session(settings, days=2, venue_state=state))
    session.store.close()
    args = ["reconcile", "--venue-state", str(state), "--days", "2"]

    agrees = runner.invoke(app, args)
    assert agrees.exit_code == 0, agrees.output
    assert "paper" in agrees.output and "agrees" in agrees.output

    store = Store.open(url)
    store.set_state(halted_key("paper"), {"reason": "drift"}, 0)
    store.close()
    halted = runner.invoke(app, args)
    assert halted.exit_code == 1, halted.output  # halted stays halted until an operator says
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    store = Store.open(url)
    assert store.get_state(halted_key("paper")) is None
    store.close()

    missing = runner.invoke(app, ["reconcile", "--venue-state", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2 and "state file" in missing.output
