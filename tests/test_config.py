"""Settings: every §C parameter, from TOML and TAILGATE_* variables, validated, secrets redacted."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog

from tailgate.config import ConfigError, Settings, load_settings, redacted_dump
from tailgate.domain.params import CopyParams
from tailgate.logs import configure_logging


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in list(__import__("os").environ):
        if key.startswith("TAILGATE_"):
            monkeypatch.delenv(key)


def test_defaults_are_the_spec_table():
    s = load_settings()
    p = s.copy_params()
    assert p == CopyParams(min_trade_value_usd={"BTC": 50_000.0, "ETH": 25_000.0, "SOL": 10_000.0})
    assert (s.poll_interval_trades_sec, s.monitor_interval_sec) == (300, 30)
    assert s.mode.value == "paper"


def test_toml_keys_are_case_insensitive_and_env_wins_over_toml(monkeypatch, tmp_path):
    (tmp_path / "tailgate.toml").write_text(
        "COPY_RATIO = 0.3\nmax_total_positions = 7\n[min_trade_value_usd]\nbtc = 60000\n"
    )
    monkeypatch.setenv("TAILGATE_MAX_TOTAL_POSITIONS", "3")
    s = load_settings()
    assert s.copy_ratio == 0.3
    assert s.max_total_positions == 3
    assert s.copy_params().min_trade_value_for("BTC") == 60_000


def test_a_wrong_value_gives_one_line_naming_key_value_and_rule(monkeypatch):
    monkeypatch.setenv("TAILGATE_COPY_RATIO", "-1")
    with pytest.raises(ConfigError) as err:
        load_settings()
    (line,) = err.value.lines
    assert "copy_ratio" in line and "'-1'" in line and "greater than 0" in line


def test_unknown_keys_are_reported_not_ignored(tmp_path):
    (tmp_path / "tailgate.toml").write_text("copy_ratoi = 0.3\n")
    with pytest.raises(ConfigError, match="unknown setting 'copy_ratoi'"):
        load_settings()


def test_invalid_toml_is_a_config_error(tmp_path):
    (tmp_path / "tailgate.toml").write_text("copy_ratio = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_score_weights_must_sum_to_one():
    with pytest.raises(ConfigError, match="sum to 1"):
        load_settings(trader_score_weights={"roi": 0.5})


def test_token_exposure_cannot_exceed_total_exposure():
    with pytest.raises(ConfigError, match="max_exposure_per_token"):
        load_settings(max_exposure_per_token=0.6, max_total_exposure=0.5)


def test_empty_profit_tiers_disable_them():
    assert load_settings(profit_tiers=[]).copy_params().profit_tiers is None


def test_secrets_are_redacted_in_repr_dump_errors_and_logs(monkeypatch, capsys):
    secret = "0x" + "ab" * 32
    monkeypatch.setenv("TAILGATE_HYPERLIQUID_PRIVATE_KEY", secret)
    s = load_settings()
    assert s.hyperliquid_private_key.get_secret_value() == secret
    assert secret not in repr(s) and secret not in str(s)
    assert secret not in json.dumps(redacted_dump(s))
    monkeypatch.setenv("TAILGATE_API_TOKEN", "")
    monkeypatch.setenv("TAILGATE_COPY_RATIO", "nope")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert secret not in str(err.value)
    configure_logging("INFO", "json")
    structlog.get_logger("t").info("x", private_key=secret, key=s.hyperliquid_private_key)
    out = capsys.readouterr()
    assert secret not in out.out + out.err
    assert "***" in out.err


def test_database_password_is_hidden_in_the_dump():
    s = load_settings(database_url="postgresql://u:hunter2@db:5432/t")
    assert "hunter2" not in json.dumps(redacted_dump(s))


def test_default_database_is_sqlite_under_the_workdir(tmp_path):
    s = Settings(workdir=tmp_path)
    assert s.resolved_database_url() == f"sqlite:///{tmp_path.resolve()}/tailgate-data/tailgate.db"


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(Path(tmp_path / "nope.toml"))


def teardown_module() -> None:
    logging.shutdown()


def test_the_spec_table_defaults_literally():
    """SPEC §C table: each default, written out, so changing one fails here."""
    s = load_settings()
    assert s.copy_delay_minutes == 15
    assert s.max_price_slippage_percent == 2.0
    assert s.copy_ratio == 0.5
    assert s.max_single_position_usd == 50_000
    assert s.max_total_positions == 5
    assert s.max_total_exposure == 0.50
    assert s.max_exposure_per_token == 0.15
    assert s.stop_loss_percent == 5.0
    assert s.trailing_stop_percent == 8.0
    assert s.max_position_duration_hours == 72
    assert [(t.gain, t.take_fraction) for t in s.profit_tiers] == [
        (0.10, 0.25),
        (0.20, 0.33),
        (0.40, 0.50),
    ]
    p = s.copy_params()
    assert [p.min_trade_value_for(c) for c in ("BTC", "ETH", "SOL", "DOGE")] == [
        50_000,
        25_000,
        10_000,
        5_000,
    ]
    assert s.min_position_weight == 0.10
    assert s.min_trade_weight == 0.05
    assert s.add_max_age_hours == 2
    assert s.min_trades_required == 50
    assert s.trader_score_weights.as_dict() == {
        "roi": 0.25,
        "sharpe": 0.20,
        "win_rate": 0.15,
        "consistency": 0.20,
        "smart_money": 0.10,
        "risk_mgmt": 0.10,
    }
    assert s.recency_decay_halflife_days == 14
    assert s.liquidation_cooldown_days == 14
    assert s.poll_interval_trades_sec == 300
    assert s.monitor_interval_sec == 30
    assert s.max_leverage == 5
    assert s.consensus_enabled is False
