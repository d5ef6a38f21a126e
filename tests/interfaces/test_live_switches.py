"""Live arming (SPEC §S): paper unless `mode = "live"`, `--live` and `max_live_order_usd` are
all there. The decision table as a pure function, then the command line's exit codes — every
refusal happens before any key is used or any connection is made."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tailgate.config import Mode, load_settings
from tailgate.engine.clock import SimClock
from tailgate.engine.hyperliquid_session import (
    LiveNotArmed,
    live_account_name,
    resolve_endpoint,
    run_hyperliquid,
)
from tailgate.engine.live_switches import RunMode, decide_run_mode, live_settings, paper_settings
from tailgate.interfaces.cli import app
from tailgate.store import Store
from tailgate.venues.hyperliquid.info import LEADERBOARD_URL
from tailgate.venues.hyperliquid.signing import Network

runner = CliRunner()
ME = "0x" + "ab" * 20
KEY = "0x" + "5a" * 32  # a throwaway test key
LIVE_ENV = {
    "TAILGATE_MODE": "live",
    "TAILGATE_MAX_LIVE_ORDER_USD": "250",
    "TAILGATE_HYPERLIQUID_PRIVATE_KEY": KEY,
    "TAILGATE_HYPERLIQUID_ACCOUNT_ADDRESS": ME,
}


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("TAILGATE_"):
            monkeypatch.delenv(key)


def settings(**overrides):
    return load_settings(**overrides)


# ---- the decision table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "flag", "cap", "venue", "expected"),
    [
        ("live", True, 100.0, "hyperliquid", RunMode.LIVE),
        ("live", False, 100.0, "hyperliquid", RunMode.PAPER),
        ("live", False, None, "hyperliquid", RunMode.PAPER),
        ("live", False, 100.0, "sim", RunMode.PAPER),
        ("paper", False, 100.0, "hyperliquid", RunMode.PAPER),
        ("paper", False, None, "sim", RunMode.PAPER),
        ("paper", True, 100.0, "hyperliquid", None),  # the flag alone arms nothing
        ("backtest", True, 100.0, "hyperliquid", None),
        ("live", True, None, "hyperliquid", None),  # no live order cap
        ("live", True, 100.0, "sim", None),  # the simulator has no live
    ],
)
def test_live_needs_config_mode_flag_and_cap_on_a_live_venue(mode, flag, cap, venue, expected):
    decision = decide_run_mode(
        settings(mode=mode, max_live_order_usd=cap, venue=venue), live_flag=flag
    )
    assert decision.mode is expected
    assert decision.refused == (expected is None)
    assert (decision.refusal is not None) == (expected is None)


def test_each_refusal_names_the_missing_switch():
    flag_only = decide_run_mode(settings(venue="hyperliquid"), live_flag=True)
    assert 'mode = "live"' in flag_only.refusal and "--live" in flag_only.refusal
    no_cap = decide_run_mode(settings(mode="live", venue="hyperliquid"), live_flag=True)
    assert "max_live_order_usd" in no_cap.refusal
    on_sim = decide_run_mode(settings(mode="live", max_live_order_usd=5), live_flag=True)
    assert "hyperliquid" in on_sim.refusal


def test_configured_live_without_the_flag_runs_paper_loudly_and_the_engine_sees_paper():
    s = settings(mode="live", max_live_order_usd=100, venue="hyperliquid")
    decision = decide_run_mode(s, live_flag=False)
    assert decision.mode is RunMode.PAPER and "PAPER" in decision.warning
    # else the engine, seeing mode LIVE unarmed, would refuse every entry as LIVE_NOT_ARMED
    assert paper_settings(s).mode is Mode.PAPER and s.mode is Mode.LIVE


def test_the_live_order_cap_is_the_smaller_of_the_two_maximums():
    assert live_settings(settings(max_order_usd=5000, max_live_order_usd=250)).max_order_usd == 250
    assert live_settings(settings(max_order_usd=200, max_live_order_usd=250)).max_order_usd == 200


def test_the_network_decides_the_url_and_a_custom_url_keeps_the_networks_signatures():
    assert resolve_endpoint(settings()).network is Network.MAINNET
    assert resolve_endpoint(settings()).base_url == Network.MAINNET.base_url
    testnet = resolve_endpoint(settings(hyperliquid_network="testnet"))
    assert testnet.network is Network.TESTNET and testnet.base_url == Network.TESTNET.base_url
    proxied = resolve_endpoint(
        settings(hyperliquid_network="testnet", hyperliquid_base_url="https://hl.example/api/")
    )
    assert proxied.network is Network.TESTNET and proxied.base_url == "https://hl.example/api"
    # testnet's leaders are testnet's own: mainnet's traders do not trade there
    assert proxied.leaderboard_url == testnet.leaderboard_url
    assert testnet.leaderboard_url == (
        "https://stats-data.hyperliquid-testnet.xyz/Testnet/leaderboard"
    )
    assert resolve_endpoint(settings()).leaderboard_url == LEADERBOARD_URL
    flag = resolve_endpoint(
        settings(hyperliquid_base_url="https://hl.example"), "http://127.0.0.1:8089/"
    )
    assert flag.base_url == "http://127.0.0.1:8089" and flag.loopback
    assert flag.leaderboard_url == "http://127.0.0.1:8089/Mainnet/leaderboard"
    on_testnet = resolve_endpoint(settings(hyperliquid_network="testnet"), "http://127.0.0.1:8089")
    assert on_testnet.leaderboard_url == "http://127.0.0.1:8089/Testnet/leaderboard"


def test_the_live_account_is_apart_from_the_paper_account_and_per_network():
    mainnet = live_account_name(Network.MAINNET, ME.upper().replace("0X", "0x"))
    assert mainnet == f"hl-mainnet:{ME}" != live_account_name(Network.TESTNET, ME)
    assert mainnet != settings().paper_account


@pytest.mark.parametrize(
    "overrides",
    [
        {"venue": "hyperliquid"},  # the flag without mode = "live"
        {"venue": "hyperliquid", "mode": "live"},  # no max_live_order_usd
    ],
)
def test_the_session_refuses_a_half_armed_live_run_before_connecting(tmp_path, overrides):
    store = Store.open(f"sqlite:///{tmp_path}/t.db")
    s = settings(hyperliquid_base_url="http://127.0.0.1:9", **overrides)  # nothing listens
    with pytest.raises(LiveNotArmed):
        asyncio.run(run_hyperliquid(s, SimClock(0, 1), store, live=True))
    store.close()


# ---- the command line -----------------------------------------------------------------------


def invoke(args, env=None):
    return runner.invoke(app, ["run", *args], env=env or {})


def test_cli_live_flag_without_config_mode_is_refused_with_exit_2():
    result = invoke(["--venue", "hyperliquid", "--live"])
    assert result.exit_code == 2, result.output
    assert 'mode = "live"' in result.output and "--live" in result.output
    assert "Traceback" not in result.output


def test_cli_live_without_a_max_live_order_size_is_refused_with_exit_2():
    env = {k: v for k, v in LIVE_ENV.items() if k != "TAILGATE_MAX_LIVE_ORDER_USD"}
    result = invoke(["--venue", "hyperliquid", "--live"], env)
    assert result.exit_code == 2, result.output
    assert "max_live_order_usd" in result.output


def test_cli_live_on_the_simulator_is_refused_with_exit_2():
    result = invoke(["--venue", "sim", "--live"], LIVE_ENV)
    assert result.exit_code == 2, result.output
    assert "hyperliquid" in result.output


def test_cli_live_without_a_key_is_refused_with_exit_2_naming_the_variables():
    env = {k: v for k, v in LIVE_ENV.items() if k != "TAILGATE_HYPERLIQUID_PRIVATE_KEY"}
    result = invoke(["--venue", "hyperliquid", "--live"], env)
    assert result.exit_code == 2, result.output
    assert "TAILGATE_HYPERLIQUID_PRIVATE_KEY" in result.output


def test_cli_a_malformed_key_is_refused_without_echoing_it():
    bad = "0x" + "7e" * 31 + "zz"
    env = LIVE_ENV | {"TAILGATE_HYPERLIQUID_PRIVATE_KEY": bad}
    result = invoke(["--venue", "hyperliquid", "--live"], env)
    assert result.exit_code == 2, result.output
    assert "malformed" in result.output and "7e7e7e" not in result.output


def test_cli_a_bad_base_url_is_a_config_error():
    result = invoke(["--venue", "hyperliquid", "--base-url", "ftp://example.org"])
    assert result.exit_code == 2
    assert "hyperliquid_base_url" in result.output


@pytest.fixture
def sessions(monkeypatch):
    """Stand-in for `run_hyperliquid`: records how the CLI called it, connects nowhere."""
    calls = []

    async def fake(settings, clock, store, **kwargs):
        calls.append(SimpleNamespace(settings=settings, **kwargs))
        return SimpleNamespace(
            stats=SimpleNamespace(trades_seen=0), portfolio=SimpleNamespace(open_positions=[])
        )

    monkeypatch.setattr("tailgate.engine.hyperliquid_session.run_hyperliquid", fake)
    return calls


def test_cli_configured_live_without_the_flag_runs_paper_with_a_warning(sessions):
    result = invoke(["--venue", "hyperliquid"], LIVE_ENV)
    assert result.exit_code == 0, result.output
    assert "PAPER" in result.output and "paper mode on" in result.output
    [call] = sessions
    assert call.live is False and call.signer is None


def test_cli_fully_armed_live_shows_the_banner_with_addresses_never_the_key(sessions):
    env = LIVE_ENV | {"TAILGATE_HYPERLIQUID_NETWORK": "testnet"}
    result = invoke(["--venue", "hyperliquid", "--live"], env)
    assert result.exit_code == 0, result.output
    assert "LIVE TRADING" in result.output and "testnet" in result.output
    assert ME in result.output and "$250.00" in result.output
    assert "tailgate kill on" in result.output
    assert "5a5a5a" not in result.output.lower()
    [call] = sessions
    assert call.live is True and call.signer.account_address == ME
    assert "5a5a5a" not in repr(call.signer)
