"""The simulated perpetuals: venue facts (Hyperliquid-like `szDecimals`, max leverage) and the
market character of each coin (start price, volatility, spread, depth).

The table is data, not logic: the price generator, the book builder and the population all read
it, so a coin behaves consistently everywhere (a thin, volatile alt has a wide spread, a shallow
book and a low max leverage — just like on the real venue).
"""

from __future__ import annotations

from dataclasses import dataclass

from tailgate.domain.models import Market

__all__ = ["DEFAULT_COINS", "CoinSpec", "coin_specs", "market_of"]


@dataclass(frozen=True, slots=True)
class CoinSpec:
    """One simulated perpetual."""

    coin: str
    start_price: float  # USD at the start of the simulated history
    annual_vol: float  # target annualised volatility of log returns (0.55 = 55 %)
    sz_decimals: int  # the venue's lot: sizes have at most this many decimals
    max_leverage: int
    half_spread_bps: float  # best bid/ask = mid × (1 ∓ half_spread) in the calm regime
    depth_usd: float  # USD resting on the first book level; deeper levels hold more
    popularity: float  # relative chance that a leader trades this coin


# Roughly the market of early 2025. Vol targets: BTC ~55 %, ETH ~70 %, SOL ~90 %, alts 90–130 %.
DEFAULT_COINS: tuple[CoinSpec, ...] = (
    CoinSpec("BTC", 85_000.0, 0.55, 5, 40, 0.5, 600_000.0, 0.22),
    CoinSpec("ETH", 2_200.0, 0.70, 4, 25, 0.7, 350_000.0, 0.18),
    CoinSpec("SOL", 140.0, 0.90, 2, 20, 1.2, 150_000.0, 0.14),
    CoinSpec("HYPE", 15.0, 1.10, 2, 10, 2.0, 60_000.0, 0.08),
    CoinSpec("DOGE", 0.20, 1.00, 0, 10, 2.5, 50_000.0, 0.07),
    CoinSpec("AVAX", 20.0, 1.00, 2, 10, 2.5, 40_000.0, 0.06),
    CoinSpec("LINK", 14.0, 0.95, 1, 10, 2.5, 40_000.0, 0.06),
    CoinSpec("SUI", 2.5, 1.15, 1, 10, 3.0, 40_000.0, 0.07),
    CoinSpec("ARB", 0.40, 1.05, 1, 5, 3.0, 35_000.0, 0.06),
    CoinSpec("WIF", 0.60, 1.30, 0, 3, 4.0, 25_000.0, 0.06),
)


def coin_specs(names: tuple[str, ...] | None = None) -> tuple[CoinSpec, ...]:
    """The specs of `names` (in that order), or every default coin."""
    if names is None:
        return DEFAULT_COINS
    by_name = {c.coin: c for c in DEFAULT_COINS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown simulated coins {unknown}; known: {sorted(by_name)}")
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate coins in {names}")
    return tuple(by_name[n] for n in names)


def market_of(spec: CoinSpec) -> Market:
    """The venue's view of a coin (what `meta` serves)."""
    return Market(coin=spec.coin, sz_decimals=spec.sz_decimals, max_leverage=spec.max_leverage)
