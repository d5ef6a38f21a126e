"""Settings: every parameter of SPEC §C, from `tailgate.toml` and `TAILGATE_*` variables.

Precedence: explicit overrides > environment (`TAILGATE_COPY_RATIO=0.4`) > the TOML file
(`copy_ratio = 0.4`; keys are case-insensitive, so the spec's `COPY_RATIO` works too) >
defaults. Defaults come from `tailgate.domain.params.CopyParams`, the one place the spec's
numbers live. Validation happens at startup; `load_settings` turns pydantic's errors into one
line per problem naming the key, the value and what is allowed. Secrets are `SecretStr`:
redacted in every repr, dump and log.
"""

from __future__ import annotations

import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tailgate.domain.params import CopyParams, ProfitTier, ScoreWeights

__all__ = ["ConfigError", "Mode", "Settings", "load_settings", "redacted_dump"]

DEFAULT_CONFIG_FILE = "tailgate.toml"
CONFIG_FILE_ENV = "TAILGATE_CONFIG"
_D = CopyParams()  # the spec's defaults


class Mode(StrEnum):
    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class ConfigError(Exception):
    """Configuration that cannot be used; `lines` are ready to print, one problem each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML file with keys folded to lower case (the spec writes them upper case)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is not None and path.is_file():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError([f"config error: {path} is not valid TOML: {exc}"]) from exc
            self._data = {str(k).lower(): v for k, v in raw.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TAILGATE_",
        case_sensitive=False,
        extra="forbid",
        validate_default=True,
    )

    # --- how and where tailgate runs ---
    mode: Mode = Mode.PAPER
    venue: str = Field("sim", pattern=r"^(sim|hyperliquid)$")
    database_url: str | None = None  # default: SQLite under <workdir>/tailgate-data/
    workdir: Path = Path(".")
    log_level: str = Field("INFO", pattern=r"^(?i)(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field("json", pattern=r"^(json|console)$")
    log_file: Path | None = None
    paper_account: str = "paper"
    paper_starting_balance_usd: float = Field(100_000.0, gt=0)
    sim_seed: int = 7
    sim_malformed_fill_rate: float = Field(0.0, ge=0, le=1)

    # --- §C entry risk ---
    copy_delay_minutes: float = Field(_D.copy_delay_minutes, ge=0, le=24 * 60)
    max_price_slippage_percent: float = Field(_D.max_price_slippage_percent, gt=0, le=100)
    copy_ratio: float = Field(_D.copy_ratio, gt=0, le=10)
    max_single_position_usd: float = Field(_D.max_single_position_usd, gt=0)
    max_total_positions: int = Field(_D.max_total_positions, ge=1, le=1000)
    max_total_exposure: float = Field(_D.max_total_exposure, gt=0, le=10)
    max_exposure_per_token: float = Field(_D.max_exposure_per_token, gt=0, le=10)
    # --- §C stops ---
    stop_loss_percent: float = Field(_D.stop_loss_percent, gt=0, lt=100)
    trailing_stop_percent: float = Field(_D.trailing_stop_percent, gt=0, lt=100)
    max_position_duration_hours: float = Field(_D.max_position_duration_hours, gt=0)
    profit_tiers: list[ProfitTier] | None = Field(
        default_factory=lambda: list(_D.profit_tiers or ())
    )
    # --- §C filtering ---
    min_trade_value_usd: dict[str, float] = Field(
        default_factory=lambda: dict(_D.min_trade_value_usd)
    )
    min_trade_value_default_usd: float = Field(_D.min_trade_value_default_usd, ge=0)
    min_position_weight: float = Field(_D.min_position_weight, ge=0, le=1)
    min_trade_weight: float = Field(_D.min_trade_weight, ge=0, le=1)
    add_max_age_hours: float = Field(_D.add_max_age_hours, ge=0)
    # --- §C selection ---
    min_trades_required: int = Field(_D.min_trades_required, ge=0)
    trader_score_weights: ScoreWeights = Field(default_factory=ScoreWeights)
    recency_decay_halflife_days: float = Field(_D.recency_decay_halflife_days, gt=0)
    liquidation_cooldown_days: float = Field(_D.liquidation_cooldown_days, ge=0)
    min_account_value_usd: float = Field(_D.min_account_value_usd, ge=0)
    primary_count: int = Field(_D.primary_count, ge=1, le=100)
    secondary_count: int = Field(_D.secondary_count, ge=0, le=1000)
    # --- §C execution ---
    poll_interval_trades_sec: float = Field(300.0, gt=0)
    # with a leader stream that covers every followed leader, the poll runs only this often
    # (it reads from where the last one stopped, so nothing the stream missed stays missed)
    stream_safety_poll_minutes: float = Field(60.0, gt=0, le=24 * 60)
    monitor_interval_sec: float = Field(30.0, gt=0)
    # with a leader stream, followed leaders' states are kept in memory (read this often) so
    # that a fresh trade is judged without a read; a state older than the max age is not used
    leader_state_refresh_sec: float = Field(10.0, gt=0)
    leader_state_max_age_sec: float = Field(30.0, ge=0)
    leader_refresh_interval_hours: float = Field(24.0, gt=0)
    deferred_check_interval_sec: float = Field(60.0, gt=0)
    max_leverage: float = Field(_D.max_leverage, ge=1, le=50)
    consensus_enabled: bool = _D.consensus_enabled
    consensus_min_traders: int = Field(_D.consensus_min_traders, ge=1)
    mirror_leader_close: bool = True
    mirror_leader_reduce: bool = False

    # --- §E safe execution ---
    pending_ttl_sec: float = Field(60.0, gt=0)  # §E2: an intent unsent this long expires
    stale_sweep_interval_sec: float = Field(300.0, gt=0)
    checkpoint_interval_sec: float = Field(900.0, gt=0)  # §R5: in-memory state to the store
    obligation_retry_base_sec: float = Field(5.0, gt=0)  # §E5: backoff of a failing obligation
    obligation_retry_max_sec: float = Field(300.0, gt=0)
    # §E4 guardrails (entries only: exits and stops are never blocked)
    kill_switch: bool = False  # also `tailgate kill on|off`, which needs no restart
    max_order_usd: float = Field(50_000.0, gt=0)
    daily_loss_cap_usd: float | None = Field(None, gt=0)
    daily_volume_cap_usd: float | None = Field(None, gt=0)
    max_market_data_age_sec: float = Field(120.0, gt=0)
    # live trading (SPEC §S): armed only by mode = "live" *and* `tailgate run --live`, and
    # only with this cap set; entries above it (or above max_order_usd) are refused
    max_live_order_usd: float | None = Field(None, gt=0)
    # §E7–§E9 pricing and preflight (0 s TTL: no reuse, concurrent requests still share a fetch)
    quote_ttl_sec: float = Field(1.0, ge=0)  # a book or the mids are reused this long
    balance_ttl_sec: float = Field(5.0, ge=0)  # the account snapshot behind the preflight
    # the kill switch and halts are read from the store at most this often per account (a
    # switch set by this process takes effect at once; by `tailgate kill on`, within this)
    guardrail_switch_cache_sec: float = Field(1.0, ge=0)
    max_leader_fill_price_age_sec: float = Field(60.0, gt=0)  # older: not a price to trade at
    # §R1 reconciliation
    reconciliation_enabled: bool = True
    reconciliation_interval_seconds: float = Field(300.0, gt=0)
    reconciliation_threshold_usd: float = Field(10.0, ge=0)
    reconciliation_retry_count: int = Field(3, ge=0, le=20)
    reconciliation_on_drift: str = Field("repair", pattern=r"^(repair|halt)$")

    # --- Hyperliquid: which venue, and who trades ---
    # mainnet | testnet: the API URL and the chain the signatures are for
    hyperliquid_network: str = Field("mainnet", pattern=r"^(mainnet|testnet)$")
    hyperliquid_base_url: str | None = None  # overrides the network's API URL (e.g. a proxy)

    # --- secrets: never printed ---
    # the key of an API ("agent") wallet; or TAILGATE_HYPERLIQUID_KEYSTORE (+ _PASSWORD), an
    # encrypted keystore file, read from the environment (`venues/hyperliquid/keys.py`)
    hyperliquid_private_key: SecretStr | None = None
    hyperliquid_account_address: str | None = None
    api_token: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls, _config_path()))

    @field_validator("min_trade_value_usd")
    @classmethod
    def _coins_upper_and_non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        out = {}
        for coin, value in v.items():
            if value < 0:
                raise ValueError(f"{coin} must be >= 0, got {value}")
            out[coin.upper()] = value
        return out

    @field_validator("hyperliquid_base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        url = urlsplit(v.strip())
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if url.query or url.fragment or url.username or url.password:
            raise ValueError("must be a plain base URL: no query, fragment or credentials")
        return v.strip().rstrip("/")

    @field_validator("profit_tiers")
    @classmethod
    def _tiers_make_sense(cls, v: list[ProfitTier] | None) -> list[ProfitTier] | None:
        if not v:
            return None  # an empty list disables profit tiers
        for tier in v:
            if not (tier.gain > 0 and 0 < tier.take_fraction <= 1):
                raise ValueError("each tier needs gain > 0 and 0 < take_fraction <= 1")
        if [t.gain for t in v] != sorted({t.gain for t in v}):
            raise ValueError("tiers must have strictly increasing gains")
        return v

    @field_validator("trader_score_weights")
    @classmethod
    def _weights_sum_to_one(cls, v: ScoreWeights) -> ScoreWeights:
        weights = v.as_dict()
        if any(w < 0 for w in weights.values()):
            raise ValueError("weights must be >= 0")
        if abs(sum(weights.values()) - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, they sum to {sum(weights.values()):.4f}")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.max_exposure_per_token > self.max_total_exposure:
            raise ValueError(
                "max_exposure_per_token must not exceed max_total_exposure "
                f"({self.max_exposure_per_token} > {self.max_total_exposure})"
            )
        return self

    def copy_params(self) -> CopyParams:
        """The domain's view of these settings."""
        return CopyParams(
            copy_delay_minutes=self.copy_delay_minutes,
            max_price_slippage_percent=self.max_price_slippage_percent,
            copy_ratio=self.copy_ratio,
            max_single_position_usd=self.max_single_position_usd,
            max_total_positions=self.max_total_positions,
            max_total_exposure=self.max_total_exposure,
            max_exposure_per_token=self.max_exposure_per_token,
            stop_loss_percent=self.stop_loss_percent,
            trailing_stop_percent=self.trailing_stop_percent,
            max_position_duration_hours=self.max_position_duration_hours,
            profit_tiers=tuple(self.profit_tiers) if self.profit_tiers else None,
            min_trade_value_usd=dict(self.min_trade_value_usd),
            min_trade_value_default_usd=self.min_trade_value_default_usd,
            min_position_weight=self.min_position_weight,
            min_trade_weight=self.min_trade_weight,
            add_max_age_hours=self.add_max_age_hours,
            min_trades_required=self.min_trades_required,
            trader_score_weights=self.trader_score_weights,
            recency_decay_halflife_days=self.recency_decay_halflife_days,
            liquidation_cooldown_days=self.liquidation_cooldown_days,
            min_account_value_usd=self.min_account_value_usd,
            primary_count=self.primary_count,
            secondary_count=self.secondary_count,
            max_leverage=self.max_leverage,
            consensus_enabled=self.consensus_enabled,
            consensus_min_traders=self.consensus_min_traders,
        )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workdir / 'tailgate-data' / 'tailgate.db').resolve()}"


def _config_path() -> Path | None:
    explicit = os.environ.get(CONFIG_FILE_ENV)
    if explicit:
        return Path(explicit)
    return Path(DEFAULT_CONFIG_FILE)


def _format_error(err: Any) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ())) or "(settings)"
    value = err.get("input")
    if isinstance(value, dict | list) and len(repr(value)) > 80:
        value = f"{type(value).__name__} of {len(value)}"
    if any(word in loc for word in ("key", "token", "secret", "password")):
        value = "***"
    elif isinstance(value, str) and "://" in value and "@" in value:  # a URL's credentials
        scheme, _, rest = value.partition("://")
        value = f"{scheme}://***@{rest.rpartition('@')[2]}"
    msg = err.get("msg", "invalid")
    if err.get("type") == "extra_forbidden":
        return f"config error: unknown setting '{loc}' (check the spelling; see README)"
    env_name = f"TAILGATE_{loc.split('.')[0].upper()}"
    return f"config error: {loc} = {value!r}: {msg} (set by {env_name} or in {DEFAULT_CONFIG_FILE})"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build validated settings, or raise ConfigError with one line per problem."""
    previous = os.environ.get(CONFIG_FILE_ENV)
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError([f"config error: config file {config_file} does not exist"])
        os.environ[CONFIG_FILE_ENV] = str(config_file)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError([_format_error(e) for e in exc.errors()]) from None
    finally:
        if config_file is not None:
            if previous is None:
                os.environ.pop(CONFIG_FILE_ENV, None)
            else:
                os.environ[CONFIG_FILE_ENV] = previous


def redacted_dump(settings: Settings) -> dict[str, Any]:
    """Settings as plain data, secrets replaced by '***' (for `tailgate config`)."""
    data = settings.model_dump(mode="json")
    for name, field in Settings.model_fields.items():
        if field.annotation in (SecretStr, SecretStr | None) and data.get(name) is not None:
            data[name] = "***"
    if settings.database_url:
        from sqlalchemy.engine import make_url

        data["database_url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    return data
