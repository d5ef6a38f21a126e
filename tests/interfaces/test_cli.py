"""The command line: --help everywhere, one-line errors with exit code 2, redacted config."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from tailgate.interfaces.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("TAILGATE_"):
            monkeypatch.delenv(key)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["demo"],
        ["run"],
        ["backtest"],
        ["leaders"],
        ["doctor"],
        ["config"],
        ["db"],
        ["db", "upgrade"],
    ],
)
def test_every_command_has_help(args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_a_bad_setting_is_one_clear_line_and_exit_code_2(monkeypatch):
    monkeypatch.setenv("TAILGATE_MAX_TOTAL_POSITIONS", "many")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2
    assert "max_total_positions" in result.output and "Traceback" not in result.output


def test_config_dump_redacts_secrets(monkeypatch):
    monkeypatch.setenv("TAILGATE_HYPERLIQUID_PRIVATE_KEY", "0x" + "cd" * 32)
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert "cdcdcd" not in result.output and "***" in result.output


def test_db_upgrade_creates_the_store(tmp_path):
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tailgate-data" / "tailgate.db").exists()


def test_demo_runs_end_to_end_and_explains_the_result(tmp_path):
    result = runner.invoke(app, ["demo", "--days", "4"])
    assert result.exit_code == 0, result.output
    out = result.output
    for heading in ("Leaders selected", "Selection precision", "Signals", "Positions", "Result"):
        assert heading in out
    assert "Backtest result" in out and "Why our positions were closed" in out
    fingerprint = out.split("fingerprint: ")[1].split()[0]
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    assert (tmp_path / "tailgate-data" / "demo.db").exists()
    assert "signal" in (tmp_path / "tailgate-data" / "demo.log").read_text()


def test_leaders_ranks_the_simulated_population():
    result = runner.invoke(app, ["leaders", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "Leaders by score" in result.output and "hidden truth" in result.output


def test_stored_leaders_need_a_run_first():
    result = runner.invoke(app, ["leaders", "--stored"])
    assert result.exit_code == 1
    assert "no leaders stored yet" in result.output


def test_backtest_writes_a_report_and_json_with_the_fingerprint(tmp_path):
    import json

    report, data = tmp_path / "out.html", tmp_path / "out.json"
    result = runner.invoke(
        app, ["backtest", "--days", "3", "--report", str(report), "--json", str(data)]
    )
    assert result.exit_code == 0, result.output
    fingerprint = result.output.split("fingerprint: ")[1].split()[0]
    parsed = json.loads(data.read_text())
    assert parsed["fingerprint"] == fingerprint
    assert {"metrics", "trades", "equity"} <= set(parsed)
    html = report.read_text()
    assert fingerprint in html and '<script src="http' not in html
