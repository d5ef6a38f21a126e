"""The spec's numbers (SPEC §C table and §C1–§C4), as one immutable parameter object.

Defaults here are the single source: `tailgate.config.Settings` takes its defaults from
`CopyParams()` and builds a `CopyParams` from the user's configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["DEFAULT_PARAMS", "CopyParams", "ProfitTier", "ScoreWeights"]


@dataclass(frozen=True, slots=True)
class ProfitTier:
    gain: float  # fraction of entry, e.g. 0.10 for +10 %
    take_fraction: float  # fraction of the position to take, e.g. 0.25


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    roi: float = 0.25
    sharpe: float = 0.20
    win_rate: float = 0.15
    consistency: float = 0.20
    smart_money: float = 0.10
    risk_mgmt: float = 0.10

    def as_dict(self) -> dict[str, float]:
        return {
            "roi": self.roi,
            "sharpe": self.sharpe,
            "win_rate": self.win_rate,
            "consistency": self.consistency,
            "smart_money": self.smart_money,
            "risk_mgmt": self.risk_mgmt,
        }


def _default_min_trade_values() -> Mapping[str, float]:
    return MappingProxyType({"BTC": 50_000.0, "ETH": 25_000.0, "SOL": 10_000.0})


def _default_profit_tiers() -> tuple[ProfitTier, ...]:
    return (ProfitTier(0.10, 0.25), ProfitTier(0.20, 0.33), ProfitTier(0.40, 0.50))


@dataclass(frozen=True, slots=True)
class CopyParams:
    # entry risk
    copy_delay_minutes: float = 15.0
    max_price_slippage_percent: float = 2.0
    copy_ratio: float = 0.5
    max_single_position_usd: float = 50_000.0
    max_total_positions: int = 5
    max_total_exposure: float = 0.50  # of account value
    max_exposure_per_token: float = 0.15  # of account value
    # stops (§C5)
    stop_loss_percent: float = 5.0
    trailing_stop_percent: float = 8.0
    max_position_duration_hours: float = 72.0
    profit_tiers: tuple[ProfitTier, ...] | None = field(default_factory=_default_profit_tiers)
    # filtering
    min_trade_value_usd: Mapping[str, float] = field(default_factory=_default_min_trade_values)
    min_trade_value_default_usd: float = 5_000.0  # "others"
    min_position_weight: float = 0.10
    min_trade_weight: float = 0.05
    add_max_age_hours: float = 2.0
    # selection (§C1)
    min_trades_required: int = 50
    trader_score_weights: ScoreWeights = field(default_factory=ScoreWeights)
    recency_decay_halflife_days: float = 14.0
    liquidation_cooldown_days: float = 14.0
    min_account_value_usd: float = 50_000.0
    min_win_rate: float = 0.35
    max_win_rate: float = 0.85
    primary_count: int = 12  # "top 10-15 primary"
    secondary_count: int = 25  # "next 20-30 secondary"
    # trader style (§C1)
    hft_min_trades_per_day: float = 5.0
    hft_max_avg_hold_hours: float = 4.0
    swing_min_trades_per_day: float = 0.3
    swing_max_avg_hold_hours: float = 336.0
    # execution (§C3 step 6, §C table)
    max_leverage: float = 5.0
    market_order_window_minutes: float = 2.0
    limit_order_window_minutes: float = 10.0
    market_slippage_cap_percent: float = 0.5
    limit_max_price_move_percent: float = 0.3
    late_min_trader_score: float = 0.8
    late_min_position_weight: float = 0.25
    # consensus (§C3 step 7)
    consensus_enabled: bool = False
    consensus_min_traders: int = 2
    # sizing (§C4)
    max_position_fraction_of_account: float = 0.10
    min_copy_size_usd: float = 100.0

    def min_trade_value_for(self, coin: str) -> float:
        return self.min_trade_value_usd.get(coin, self.min_trade_value_default_usd)


DEFAULT_PARAMS = CopyParams()
