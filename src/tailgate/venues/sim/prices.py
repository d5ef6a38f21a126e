"""1-minute price paths for every simulated coin, generated from a seed in one vectorised pass.

What the model has, and why:
* **GBM-like log returns** scaled to each coin's annualised volatility — the baseline.
* **A hidden volatility regime** (calm / normal / stressed, Markov switching, regimes lasting
  days) shared by all coins — so stops, spreads and book depth meet quiet and violent weeks.
* **Jumps** (Poisson arrivals, Student-t(3) sizes) — fat tails, gaps through stops.
* **A common market factor** (each coin loads on it) — coins are mildly correlated.
* **Trending drift segments** (a random drift held for a few days) — so trend-following skill can
  exist at all; a pure random walk would make every leader's edge an illusion.

The regime multipliers are normalised so the *time-averaged* variance equals the target, and the
jump variance is carved out of the same budget: the realised annualised vol of each coin matches
its `annual_vol` over a long enough history.

Time layout: `close[c, k]` is the price at `t0_ms + k minutes`; bar `k` (k ≥ 1) spans the minute
that ends there and `high[c, k]` / `low[c, k]` are its extremes. "The price at t" is the close of
the last completed minute ≤ t, so nothing after t can leak through a price lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailgate.domain.models import MS_PER_MINUTE
from tailgate.venues.sim.coins import CoinSpec

__all__ = [
    "DEFAULT_PRICE_PARAMS",
    "DEFAULT_REGIMES",
    "MINUTES_PER_DAY",
    "MINUTES_PER_YEAR",
    "PriceParams",
    "PricePaths",
    "Regime",
    "generate_prices",
]

MINUTES_PER_DAY = 1_440
MINUTES_PER_YEAR = 525_600
_BLOCK = 60  # minutes per block of the range-extreme table
_FIRST_CHUNK = 240  # first scan window of first_cross, in minutes


@dataclass(frozen=True, slots=True)
class Regime:
    name: str
    vol_multiplier: float  # before normalisation
    mean_days: float  # mean time spent in the regime per visit


DEFAULT_REGIMES: tuple[Regime, ...] = (
    Regime("calm", 0.65, 7.0),
    Regime("normal", 1.0, 5.0),
    Regime("stressed", 1.9, 2.5),
)
# Where a regime goes when it ends (rows: from, columns: to; no self-transitions).
_REGIME_TRANSITIONS = np.array(
    [
        [0.0, 0.8, 0.2],
        [0.55, 0.0, 0.45],
        [0.25, 0.75, 0.0],
    ]
)


@dataclass(frozen=True, slots=True)
class PriceParams:
    jump_rate_per_day: float = 0.25  # per coin
    jump_variance_share: float = 0.12  # share of the annual variance that comes from jumps
    jump_clip_sd: float = 4.0  # cap a single jump at this many jump standard deviations
    market_loading: float = 0.45  # correlation of each coin's diffusion with the market factor
    trend_mean_days: float = 4.0  # mean length of a drift segment
    trend_vol_multiple: float = 1.5  # std of a segment's annualised drift, in units of the vol
    wick_scale: float = 0.5  # intra-minute excursion beyond open/close, in minute sigmas


DEFAULT_PRICE_PARAMS = PriceParams()


@dataclass(frozen=True, slots=True)
class PricePaths:
    """All coins' minute paths plus the hidden regime; read-only after generation."""

    t0_ms: int
    coins: tuple[str, ...]
    close: np.ndarray  # (n_coins, n_minutes) float64
    high: np.ndarray  # (n_coins, n_minutes) float64; bar k's high (k ≥ 1)
    low: np.ndarray  # (n_coins, n_minutes) float64
    regime: np.ndarray  # (n_minutes,) int8: index into `regimes`
    regimes: tuple[Regime, ...]
    vol_multipliers: np.ndarray  # normalised multiplier per regime
    _block_max: np.ndarray  # (levels, n_coins, n_blocks) sparse table of bar highs
    _block_min: np.ndarray

    @property
    def n_minutes(self) -> int:
        return int(self.close.shape[1])

    @property
    def end_ms(self) -> int:
        return self.t0_ms + (self.n_minutes - 1) * MS_PER_MINUTE

    def minute_of(self, t_ms: int) -> int:
        """Index of the last completed minute at `t_ms` (clamped to the generated range)."""
        k = (t_ms - self.t0_ms) // MS_PER_MINUTE
        return min(max(k, 0), self.n_minutes - 1)

    def minutes_of(self, t_ms: np.ndarray) -> np.ndarray:
        k = (np.asarray(t_ms, dtype=np.int64) - self.t0_ms) // MS_PER_MINUTE
        return np.clip(k, 0, self.n_minutes - 1)

    def price_at(self, coin_idx: int, t_ms: int) -> float:
        return float(self.close[coin_idx, self.minute_of(t_ms)])

    def high_low(self, coin_idx: int, t0_ms: int, t1_ms: int) -> tuple[float, float]:
        """Highest high and lowest low of the bars completed in (t0, t1]; if none completed,
        the price at t1 for both."""
        m0, m1 = self.minute_of(t0_ms), self.minute_of(t1_ms)
        if m1 <= m0:
            p = float(self.close[coin_idx, m1])
            return p, p
        return (
            float(self.high[coin_idx, m0 + 1 : m1 + 1].max()),
            float(self.low[coin_idx, m0 + 1 : m1 + 1].min()),
        )

    def first_cross(self, coin_idx: int, m0: int, m1: int, below: float, above: float) -> int:
        """First bar k in (m0, m1] whose low ≤ `below` or high ≥ `above`; -1 if none.

        Scans in growing chunks: most levels are touched early, and a long hold then costs
        no more than a short one."""
        lows, highs = self.low[coin_idx], self.high[coin_idx]
        start, chunk = m0 + 1, _FIRST_CHUNK
        while start <= m1:
            stop = min(start + chunk, m1 + 1)
            hit = (lows[start:stop] <= below) | (highs[start:stop] >= above)
            k = int(hit.argmax())
            if hit[k]:
                return start + k
            start, chunk = stop, chunk * 8
        return -1

    def range_extremes(
        self, coin_idx: np.ndarray, m0: np.ndarray, m1: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised (max high, min low) over bars (m0, m1], widened to whole hours.

        Conservative by construction (a superset of the bars), so it serves as a cheap filter:
        a level it says was never reached was never reached; the rest need `first_cross`.
        """
        b0 = np.minimum((m0 + 1) // _BLOCK, self._block_max.shape[2] - 1)
        b1 = np.maximum(m1 // _BLOCK, b0)
        level = np.floor(np.log2(b1 - b0 + 1)).astype(np.int64)
        right = b1 - (1 << level) + 1
        hi = np.maximum(
            self._block_max[level, coin_idx, b0], self._block_max[level, coin_idx, right]
        )
        lo = np.minimum(
            self._block_min[level, coin_idx, b0], self._block_min[level, coin_idx, right]
        )
        return hi, lo


def _normalised_multipliers(regimes: tuple[Regime, ...]) -> np.ndarray:
    """Scale the multipliers so the time-averaged variance multiplier is exactly 1."""
    eigvals, eigvecs = np.linalg.eig(_REGIME_TRANSITIONS.T)
    visits = np.real(eigvecs[:, np.argmin(np.abs(eigvals - 1.0))])
    visits = visits / visits.sum()
    time_share = visits * np.array([r.mean_days for r in regimes])
    time_share /= time_share.sum()
    mult = np.array([r.vol_multiplier for r in regimes])
    return mult / np.sqrt(float(time_share @ mult**2))


def _regime_path(
    n_minutes: int, rng: np.random.Generator, regimes: tuple[Regime, ...]
) -> np.ndarray:
    states: list[int] = []
    lengths: list[int] = []
    state = int(rng.integers(len(regimes)))
    total = 0
    while total < n_minutes:
        length = max(int(rng.exponential(regimes[state].mean_days * MINUTES_PER_DAY)), 60)
        states.append(state)
        lengths.append(length)
        total += length
        state = int(rng.choice(len(regimes), p=_REGIME_TRANSITIONS[state]))
    return np.repeat(np.array(states, dtype=np.int8), lengths)[:n_minutes]


def _drift_path(
    n_steps: int, rng: np.random.Generator, annual_vol: float, params: PriceParams
) -> np.ndarray:
    """Per-minute drift, piecewise constant over segments of a few days."""
    mean_len = params.trend_mean_days * MINUTES_PER_DAY
    n_seg = int(n_steps / mean_len * 2) + 4
    lengths = np.maximum(rng.exponential(mean_len, n_seg).astype(np.int64), MINUTES_PER_DAY // 4)
    while lengths.sum() < n_steps:
        lengths = np.concatenate([lengths, lengths])
    annual_drift = rng.normal(0.0, params.trend_vol_multiple * annual_vol, lengths.size)
    return np.repeat(annual_drift / MINUTES_PER_YEAR, lengths)[:n_steps]


def _sparse_table(values: np.ndarray, reduce: np.ufunc, pad: float) -> np.ndarray:
    """(levels, n_coins, n_blocks): level j holds `reduce` over 2**j consecutive blocks."""
    n_coins, n = values.shape
    n_blocks = -(-n // _BLOCK)
    padded = np.full((n_coins, n_blocks * _BLOCK), pad)
    padded[:, :n] = values
    base = reduce.reduce(padded.reshape(n_coins, n_blocks, _BLOCK), axis=2)
    levels = int(np.floor(np.log2(n_blocks))) + 1
    table = np.full((levels, n_coins, n_blocks), pad)
    table[0] = base
    for j in range(1, levels):
        half = 1 << (j - 1)
        table[j, :, : n_blocks - half] = reduce(
            table[j - 1, :, : n_blocks - half], table[j - 1, :, half:]
        )
    return table


def generate_prices(
    specs: tuple[CoinSpec, ...],
    t0_ms: int,
    n_minutes: int,
    rng: np.random.Generator,
    params: PriceParams = DEFAULT_PRICE_PARAMS,
    regimes: tuple[Regime, ...] = DEFAULT_REGIMES,
    anchor_minute: int = 0,
) -> PricePaths:
    """Generate every coin's path; deterministic for a given generator state.

    Each path is scaled so that the close at `anchor_minute` (the run's start) is the coin's
    `start_price`: the world looks like the market the table describes when the run begins."""
    if not 0 <= anchor_minute < n_minutes:
        raise ValueError("anchor_minute must fall inside the generated range")
    if n_minutes < 2:
        raise ValueError("need at least two minutes of prices")
    n_coins, n_steps = len(specs), n_minutes - 1
    vols = np.array([s.annual_vol for s in specs])
    sigma_minute = vols / np.sqrt(MINUTES_PER_YEAR)

    regime = _regime_path(n_minutes, rng, regimes)
    multipliers = _normalised_multipliers(regimes)
    step_mult = multipliers[regime[1:]]

    # float32 draws are twice as fast and plenty precise for one minute's return; the
    # cumulative sum below runs in float64, so no error accumulates along the path.
    rho = params.market_loading
    market = rng.standard_normal(n_steps, dtype=np.float32)
    eps = rng.standard_normal((n_coins, n_steps), dtype=np.float32)
    eps *= np.float32(np.sqrt(1.0 - rho * rho))
    eps += np.float32(rho) * market
    diffusion_scale = sigma_minute * np.sqrt(1.0 - params.jump_variance_share)
    returns = eps.astype(np.float64)
    returns *= diffusion_scale[:, None]
    returns *= step_mult[None, :]

    jump_rate_year = params.jump_rate_per_day * 365.0
    for c, spec in enumerate(specs):
        returns[c] += _drift_path(n_steps, rng, spec.annual_vol, params)
        n_jumps = int(rng.poisson(params.jump_rate_per_day * n_steps / MINUTES_PER_DAY))
        if n_jumps:
            jump_sd = spec.annual_vol * np.sqrt(params.jump_variance_share / jump_rate_year)
            sizes = rng.standard_t(3, n_jumps) / np.sqrt(3.0)
            sizes = np.clip(sizes, -params.jump_clip_sd, params.jump_clip_sd) * jump_sd
            np.add.at(returns[c], rng.integers(0, n_steps, n_jumps), sizes)

    log_close = np.empty((n_coins, n_minutes))
    log_close[:, 0] = np.log([s.start_price for s in specs])
    np.cumsum(returns, axis=1, out=log_close[:, 1:])
    log_close[:, 1:] += log_close[:, :1]
    log_close += (log_close[:, 0] - log_close[:, anchor_minute])[:, None]
    close = np.exp(log_close)

    wick = ((sigma_minute * params.wick_scale)[:, None] * step_mult[None, :]).astype(np.float32)
    up = np.exp(rng.standard_exponential((n_coins, n_steps), dtype=np.float32) * wick)
    down = np.exp(-rng.standard_exponential((n_coins, n_steps), dtype=np.float32) * wick)
    high = np.empty_like(close)
    low = np.empty_like(close)
    high[:, 0] = low[:, 0] = close[:, 0]
    np.maximum(close[:, :-1], close[:, 1:], out=high[:, 1:])
    high[:, 1:] *= up
    np.minimum(close[:, :-1], close[:, 1:], out=low[:, 1:])
    low[:, 1:] *= down

    return PricePaths(
        t0_ms=t0_ms,
        coins=tuple(s.coin for s in specs),
        close=close,
        high=high,
        low=low,
        regime=regime,
        regimes=regimes,
        vol_multipliers=multipliers,
        _block_max=_sparse_table(high, np.maximum, -np.inf),
        _block_min=_sparse_table(low, np.minimum, np.inf),
    )
