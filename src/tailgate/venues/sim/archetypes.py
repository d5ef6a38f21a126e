"""Who the simulated leaders are: a hidden archetype and skill, drawn from the seed.

Why archetypes: the engine's job is to tell copyable skill from noise, scalping, gambling and
win-rate illusions. Each archetype is a trap (or a prize) the spec's filters are meant to catch:

* SWING / POSITION — skilled: they pick the sign of the future return over their intended hold
  with probability 0.5 + edge. The prize.
* NOISE — the same cadence, sizing and risk habits as SWING, no edge: copying them earns minus
  fees. Only the edge tells the two apart.
* HFT — scalpers (many trades a day, holds of minutes, resting orders): not copyable with a
  delay.
* OVERLEVERAGED — 15–50x on the majors, random direction: liquidated when the adverse move
  reaches 0.9 / leverage; the position vanishes without a Close fill (SPEC §C5).
* TINY_WIN — take profit at +0.3–0.8 %, a stop at −8–15 % for some, held losers for the others:
  a win rate above 0.85 with rare large losses (the spec disqualifies win rate > 0.85).

Each leader draws from its own random stream (seed, index): changing one archetype's count
leaves every other leader unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from tailgate.venues.sim.coins import CoinSpec
from tailgate.venues.sim.ids import address_of

__all__ = [
    "DEFAULT_ARCHETYPES",
    "DEFAULT_COUNTS",
    "Archetype",
    "ArchetypeSpec",
    "LeaderProfile",
    "make_profiles",
]

LATE_STARTER_SHARE = 0.15  # leaders whose history starts inside the range, not at its start
ACCOUNT_MEDIAN_USD = 400_000.0  # starting account values are lognormal around this
ACCOUNT_LOG_SD = 0.9
ACCOUNT_BOUNDS_USD = (25_000.0, 8_000_000.0)


class Archetype(StrEnum):
    SWING = "swing"
    POSITION = "position"
    NOISE = "noise"
    HFT = "hft"
    OVERLEVERAGED = "overleveraged"
    TINY_WIN = "tiny_win"


@dataclass(frozen=True, slots=True)
class ArchetypeSpec:
    """Ranges a leader's parameters are drawn from (uniform unless said otherwise)."""

    skilled: bool
    trades_per_day: tuple[float, float]  # round trips (positions opened) per day
    hold_hours: tuple[float, float]  # intended hold, log-uniform per trade
    leverage: tuple[int, int]  # per leader; capped by each coin's max leverage
    margin_fraction: tuple[float, float]  # notional = fraction × leverage × account value
    edge: tuple[float, float] = (0.0, 0.0)  # P(right sign) = 0.5 + edge
    coins: tuple[int, int] = (2, 4)
    add_prob: float = 0.0  # add within 2 h of opening
    reduce_prob: float = 0.0  # reduce before closing
    max_fills: int = 4  # an order splits into 1..max_fills fills
    maker: bool = False  # resting orders: maker fee, crossed = false
    coin_pool: tuple[str, ...] | None = None  # None: any coin
    take_profit: tuple[float, float] | None = None  # per leader, fraction of entry
    stop_loss: tuple[float, float] | None = None  # per leader, fraction of entry
    stop_loss_share: float = 0.0  # share of the archetype's leaders that use the stop
    liquidation_stop: float = 0.0  # > 0: a stop this fraction of the way to liquidation


DEFAULT_ARCHETYPES: Mapping[Archetype, ArchetypeSpec] = {
    Archetype.SWING: ArchetypeSpec(
        skilled=True, trades_per_day=(1.0, 3.0), hold_hours=(6.0, 72.0), leverage=(1, 5),
        margin_fraction=(0.1, 0.6), edge=(0.05, 0.10), coins=(2, 4), add_prob=0.2,
        reduce_prob=0.25, liquidation_stop=0.6,
    ),
    Archetype.POSITION: ArchetypeSpec(
        skilled=True, trades_per_day=(0.1, 0.3), hold_hours=(72.0, 360.0), leverage=(1, 5),
        margin_fraction=(0.1, 0.6), edge=(0.05, 0.10), coins=(2, 3), add_prob=0.2,
        reduce_prob=0.3, liquidation_stop=0.6,
    ),
    Archetype.NOISE: ArchetypeSpec(
        skilled=False, trades_per_day=(1.0, 3.0), hold_hours=(6.0, 72.0), leverage=(1, 5),
        margin_fraction=(0.1, 0.6), coins=(2, 4), add_prob=0.2, reduce_prob=0.25,
        liquidation_stop=0.6,
    ),
    Archetype.HFT: ArchetypeSpec(
        skilled=False, trades_per_day=(10.0, 30.0), hold_hours=(0.05, 2.0), leverage=(1, 5),
        margin_fraction=(0.05, 0.3), edge=(0.03, 0.08), coins=(1, 3), max_fills=2, maker=True,
    ),
    Archetype.OVERLEVERAGED: ArchetypeSpec(
        skilled=False, trades_per_day=(0.5, 2.0), hold_hours=(12.0, 120.0), leverage=(15, 50),
        margin_fraction=(0.05, 0.25), coins=(1, 2), max_fills=3,
        coin_pool=("BTC", "ETH", "SOL"),
    ),
    Archetype.TINY_WIN: ArchetypeSpec(
        skilled=False, trades_per_day=(1.0, 3.0), hold_hours=(240.0, 720.0), leverage=(1, 3),
        margin_fraction=(0.2, 0.5), coins=(2, 4), take_profit=(0.003, 0.008),
        stop_loss=(0.08, 0.15), stop_loss_share=0.6,
    ),
}  # fmt: skip

DEFAULT_COUNTS: Mapping[Archetype, int] = {
    Archetype.SWING: 25,
    Archetype.POSITION: 10,
    Archetype.NOISE: 90,
    Archetype.HFT: 30,
    Archetype.OVERLEVERAGED: 30,
    Archetype.TINY_WIN: 15,
}


@dataclass(frozen=True, slots=True)
class LeaderProfile:
    """A leader's hidden nature and fixed habits."""

    index: int
    address: str
    archetype: Archetype
    skilled: bool
    edge: float
    account_value: float  # at the start of their history
    start_ms: int  # their account's first moment
    coins: tuple[int, ...]  # indices into the coin table
    trades_per_day: float
    leverage: int
    margin_fraction: float
    take_profit: float  # NaN: none
    stop_loss: float  # NaN: none
    liquidation_stop: float  # 0: none
    maker: bool
    max_fills: int


def make_profiles(
    counts: Mapping[Archetype, int],
    specs: tuple[CoinSpec, ...],
    seed: int,
    t0_ms: int,
    end_ms: int,
    archetypes: Mapping[Archetype, ArchetypeSpec] = DEFAULT_ARCHETYPES,
) -> list[LeaderProfile]:
    """Draw every leader's nature; each leader has its own random stream (seed, index)."""
    names = [s.coin for s in specs]
    popularity = np.array([s.popularity for s in specs])
    profiles: list[LeaderProfile] = []
    index = 0
    for archetype in Archetype:
        spec = archetypes[archetype]
        for _ in range(counts.get(archetype, 0)):
            rng = np.random.default_rng([seed, 1, index])
            pool = [i for i, n in enumerate(names) if spec.coin_pool is None or n in spec.coin_pool]
            pool = pool or list(range(len(names)))
            n_coins = min(int(rng.integers(spec.coins[0], spec.coins[1] + 1)), len(pool))
            weights = popularity[pool] / popularity[pool].sum()
            coins = tuple(int(c) for c in rng.choice(pool, n_coins, replace=False, p=weights))
            late = rng.random() < LATE_STARTER_SHARE
            start = t0_ms + int(rng.uniform(0.0, 0.6) * (end_ms - t0_ms)) if late else t0_ms
            account = float(
                np.clip(
                    np.exp(rng.normal(np.log(ACCOUNT_MEDIAN_USD), ACCOUNT_LOG_SD)),
                    *ACCOUNT_BOUNDS_USD,
                )
            )
            uses_stop = spec.stop_loss is not None and rng.random() < spec.stop_loss_share
            profiles.append(
                LeaderProfile(
                    index=index,
                    address=address_of(seed, index),
                    archetype=archetype,
                    skilled=spec.skilled,
                    edge=float(rng.uniform(*spec.edge)),
                    account_value=round(account, 2),
                    start_ms=start,
                    coins=coins,
                    trades_per_day=float(rng.uniform(*spec.trades_per_day)),
                    leverage=int(rng.integers(spec.leverage[0], spec.leverage[1] + 1)),
                    margin_fraction=float(rng.uniform(*spec.margin_fraction)),
                    take_profit=(
                        float(rng.uniform(*spec.take_profit)) if spec.take_profit else np.nan
                    ),
                    stop_loss=(
                        float(rng.uniform(*spec.stop_loss))
                        if uses_stop and spec.stop_loss
                        else np.nan
                    ),
                    liquidation_stop=spec.liquidation_stop,
                    maker=spec.maker,
                    max_fills=spec.max_fills,
                )
            )
            index += 1
    return profiles
