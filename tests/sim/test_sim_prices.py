"""Simulated prices: realistic volatility, jumps, regimes, correlation, and exact lookups."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tailgate.domain.models import MS_PER_MINUTE
from tailgate.domain.precision import round_price
from tailgate.venues.sim import SimWorld
from tailgate.venues.sim.coins import DEFAULT_COINS, coin_specs, market_of
from tailgate.venues.sim.grid import round_prices
from tailgate.venues.sim.prices import MINUTES_PER_YEAR, generate_prices


def _returns(world: SimWorld) -> np.ndarray:
    return np.diff(np.log(world.paths.close), axis=1)


def test_realised_annualised_vol_of_each_coin_is_near_its_target(world: SimWorld) -> None:
    realised = _returns(world).std(axis=1) * np.sqrt(MINUTES_PER_YEAR)
    for spec, vol in zip(world.specs, realised, strict=True):
        assert 0.75 * spec.annual_vol < vol < 1.3 * spec.annual_vol, spec.coin


def test_vol_targets_follow_the_spec(world: SimWorld) -> None:
    vols = {s.coin: s.annual_vol for s in world.specs}
    assert vols["BTC"] == 0.55 and vols["ETH"] == 0.70 and vols["SOL"] == 0.90
    assert all(0.9 <= v <= 1.3 for c, v in vols.items() if c not in ("BTC", "ETH", "SOL"))
    assert len(world.coins) >= 10


def test_jumps_make_fat_tails(world: SimWorld) -> None:
    r = _returns(world)
    z = (r - r.mean(axis=1, keepdims=True)) / r.std(axis=1, keepdims=True)
    kurtosis = (z**4).mean(axis=1)
    assert (kurtosis > 10).all()  # a Gaussian has 3
    assert (np.abs(z).max(axis=1) > 15).all()


def test_hidden_regimes_switch_and_change_volatility(world: SimWorld) -> None:
    regime = world.paths.regime
    assert set(np.unique(regime).tolist()) == {0, 1, 2}
    switches = np.count_nonzero(np.diff(regime))
    mean_days = regime.size / (switches + 1) / 1440
    assert 1.0 < mean_days < 15.0
    r = _returns(world)[0]
    calm = r[regime[1:] == 0].std()
    stressed = r[regime[1:] == 2].std()
    assert stressed > 2.0 * calm


def test_coins_share_a_market_factor(world: SimWorld) -> None:
    corr = np.corrcoef(_returns(world))
    off_diagonal = corr[~np.eye(corr.shape[0], dtype=bool)]
    assert 0.05 < off_diagonal.mean() < 0.5


def test_price_at_run_start_is_the_coin_start_price(world: SimWorld) -> None:
    for spec in world.specs:
        assert world.price_at(spec.coin, world.start_ms) == pytest.approx(spec.start_price)


def test_price_at_is_the_last_completed_minute(world: SimWorld) -> None:
    t0 = world.history_start_ms
    k = 1000
    assert world.price_at("ETH", t0 + k * MS_PER_MINUTE) == world.paths.close[1, k]
    assert world.price_at("ETH", t0 + (k + 1) * MS_PER_MINUTE - 1) == world.paths.close[1, k]
    assert world.price_at("ETH", t0 - 5) == world.paths.close[1, 0]  # clamped to the range
    assert world.price_at("ETH", world.end_ms + 10**9) == world.paths.close[1, -1]


def test_minute_high_low_bracket_the_closes(world: SimWorld) -> None:
    p = world.paths
    assert (p.high[:, 1:] >= np.maximum(p.close[:, :-1], p.close[:, 1:])).all()
    assert (p.low[:, 1:] <= np.minimum(p.close[:, :-1], p.close[:, 1:])).all()
    hi, lo = world.high_low("BTC", world.start_ms, world.start_ms + 60 * MS_PER_MINUTE)
    m = p.minute_of(world.start_ms)
    assert hi == p.high[0, m + 1 : m + 61].max() and lo == p.low[0, m + 1 : m + 61].min()
    same = world.high_low("BTC", world.start_ms, world.start_ms + 10)
    assert same == (world.price_at("BTC", world.start_ms),) * 2


def test_range_extremes_are_conservative_and_first_cross_is_exact(world: SimWorld) -> None:
    p = world.paths
    rng = np.random.default_rng(1)
    coin = rng.integers(0, len(world.coins), 300)
    m0 = rng.integers(0, p.n_minutes - 5000, 300)
    m1 = m0 + rng.integers(1, 5000, 300)
    hi, lo = p.range_extremes(coin, m0, m1)
    for i in range(300):
        c, a, b = int(coin[i]), int(m0[i]), int(m1[i])
        assert hi[i] >= p.high[c, a + 1 : b + 1].max()
        assert lo[i] <= p.low[c, a + 1 : b + 1].min()
        below, above = p.close[c, a] * 0.99, p.close[c, a] * 1.01
        hit = np.flatnonzero(
            (p.low[c, a + 1 : b + 1] <= below) | (p.high[c, a + 1 : b + 1] >= above)
        )
        expected = a + 1 + int(hit[0]) if hit.size else -1
        assert p.first_cross(c, a, b, below, above) == expected


def test_vectorised_grid_rounding_matches_the_domain_rule() -> None:
    rng = np.random.default_rng(3)
    for spec in DEFAULT_COINS:
        market = market_of(spec)
        prices = spec.start_price * np.exp(rng.normal(0, 1.0, 2000))
        fast = round_prices(prices, spec.sz_decimals)
        assert fast.tolist() == [round_price(float(x), market) for x in prices]
    assert round_prices(np.array([99999.5]), 5).tolist() == [
        round_price(99999.5, market_of(DEFAULT_COINS[0]))
    ]


def test_same_seed_same_paths_other_seed_other_paths() -> None:
    specs = coin_specs()
    a = generate_prices(specs, 0, 5000, np.random.default_rng([5, 0]))
    b = generate_prices(specs, 0, 5000, np.random.default_rng([5, 0]))
    c = generate_prices(specs, 0, 5000, np.random.default_rng([6, 0]))
    assert a.close.tobytes() == b.close.tobytes() and a.high.tobytes() == b.high.tobytes()
    assert a.close.tobytes() != c.close.tobytes()


def test_generation_time_150_days_10_coins_is_printed() -> None:
    started = time.perf_counter()
    paths = generate_prices(coin_specs(), 0, 150 * 1440 + 1, np.random.default_rng(0))
    elapsed = time.perf_counter() - started
    print(f"\nprices: 150 days x {len(paths.coins)} coins in {elapsed:.3f} s")
