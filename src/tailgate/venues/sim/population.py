"""The trades every leader makes: scheduled, directed, exited and sized, all at once.

Every position, whatever the archetype, is liquidated at 0.9 / leverage against the mid at the
open (the isolated-margin rule): a position never loses more than its margin. Skilled and noise
leaders protect themselves with a stop at 60 % of the way to liquidation (it only binds at high
leverage).

Planning is vectorised: schedules per (leader, coin) chain — one position at a time per chain —
then one pass over every trade for direction, exits and prices; a first-passage scan runs only
where a cheap hourly filter says a level may have been touched. Take-profit leaders (TINY_WIN)
are scheduled one position at a time on their *actual* exits: a take profit is hit after hours,
the time stop of weeks would otherwise idle the chain.

Sizes compound on the account value at the start of each 4-hour bucket (one loop over buckets
for all leaders at once), so accounts grow, shrink and blow up coherently. Sizes are in integer
lots so positions add up exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE
from tailgate.venues.sim.archetypes import (
    DEFAULT_ARCHETYPES,
    Archetype,
    ArchetypeSpec,
    LeaderProfile,
)
from tailgate.venues.sim.coins import CoinSpec
from tailgate.venues.sim.prices import PricePaths

__all__ = [
    "FILL_COUNT_PROBS",
    "LIQUIDATION_FRACTION",
    "MAKER_FEE",
    "TAKER_FEE",
    "Col",
    "ExitKind",
    "TradePlan",
    "plan_trades",
]

LIQUIDATION_FRACTION = 0.9  # liquidated when the adverse move reaches 0.9 / leverage
TAKER_FEE = 0.00035
MAKER_FEE = 0.0001
MIN_GAP_MS = 5 * MS_PER_MINUTE  # between two positions of one leader in one coin
ADD_EARLIEST_MS = 5 * MS_PER_MINUTE  # adds come 5 min to 1 h 55 min after the open:
ADD_LATEST_MS = 115 * MS_PER_MINUTE  # inside the spec's 2 h add window, never on its edge
MAX_TOTAL_MARGIN = 0.95  # margin of all of a leader's chains together, fraction of the account
SIZING_BUCKET_MS = 4 * MS_PER_HOUR  # sizes compound on the account value at each bucket start
ACCOUNT_FLOOR_USD = 1_000.0  # below it an account is blown up and opens nothing new
FILL_COUNT_PROBS = (0.45, 0.25, 0.18, 0.12)  # 1..4 fills per order (taker hitting makers)


class Col:
    """Columns of `TradePlan.uniforms`: every random number a trade needs, drawn up front from
    its leader's stream, so lazy steps (fill splitting) stay deterministic."""

    DIR, WEIGHT, ADD, ADD_FRAC, ADD_T, RED, RED_FRAC, RED_T = range(8)
    SLIP = 8  # 4 columns: open, add, reduce, close
    NFILLS = 12  # 4 columns, one per leg
    SPLIT = 16  # 16 columns: 4 per leg
    EXIT_S = 32  # second within the bar at which a level was touched
    COUNT = 33


class ExitKind:
    """How a trade ended (int8 codes in `TradePlan.exit_kind`)."""

    CLOSE = 0  # planned close at the end of the intended hold
    TAKE_PROFIT = 1
    STOP_LOSS = 2
    LIQUIDATION = 3  # no fill: the position vanishes, the margin is lost
    OPEN_AT_END = 4  # still open when the simulated range ends


@dataclass(slots=True)
class TradePlan:
    """Every trade of every leader, one row per position, sorted by open time.

    Leg prices are the reference fill prices before an order is split into fills; sizes are in
    integer lots (`10**-szDecimals` coins) so positions add up exactly.
    """

    leader: np.ndarray  # int32, index into the profiles
    coin: np.ndarray  # int16
    direction: np.ndarray  # int8, +1 long / -1 short
    leverage: np.ndarray  # float64
    exit_kind: np.ndarray  # int8 ExitKind
    t_open: np.ndarray  # int64 ms
    t_add: np.ndarray  # int64 ms (meaningful where add_lots > 0)
    t_reduce: np.ndarray  # int64 ms (where reduce_lots > 0)
    t_exit: np.ndarray  # int64 ms: close / TP / SL fill or liquidation; int64 max if open
    p_open: np.ndarray  # float64
    p_add: np.ndarray
    p_reduce: np.ndarray
    p_exit: np.ndarray  # NaN for liquidations and open positions
    base_lots: np.ndarray  # int64
    add_lots: np.ndarray
    reduce_lots: np.ndarray
    exit_maker: np.ndarray  # bool: the exit rested (take profit, HFT)
    open_maker: np.ndarray  # bool
    uniforms: np.ndarray  # (n, Col.COUNT) per-trade randomness, used to split orders


def _loguniform_mean(lo: float, hi: float) -> float:
    return lo if hi <= lo else (hi - lo) / np.log(hi / lo)


def _chain_schedule(
    rng: np.random.Generator,
    start_ms: int,
    end_ms: int,
    rate_per_day: float,
    hold_hours: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Open times and intended holds (ms) of one (leader, coin) chain: positions never overlap."""
    lo, hi = hold_hours[0] * MS_PER_HOUR, hold_hours[1] * MS_PER_HOUR
    cycle = MS_PER_DAY / rate_per_day
    gap_mean = max(cycle - _loguniform_mean(lo, hi), 0.25 * cycle)
    n = int((end_ms - start_ms) / (gap_mean + _loguniform_mean(lo, hi)) * 1.3) + 8
    while True:
        holds = np.exp(rng.uniform(np.log(lo), np.log(hi), n)).astype(np.int64)
        gaps = rng.exponential(gap_mean, n).astype(np.int64) + MIN_GAP_MS
        gaps[0] = int(rng.uniform(0.0, cycle))
        opens = start_ms + np.cumsum(gaps) + np.cumsum(holds) - holds
        if opens[-1] >= end_ms:
            keep = opens < end_ms
            return opens[keep], holds[keep]
        n *= 2


def _stop_distance(profile: LeaderProfile, leverage: float) -> float:
    """Distance of the leader's stop from the open (fraction), NaN when they use none.

    Same arithmetic, in the same order, as the vectorised version in `plan_trades`."""
    if profile.liquidation_stop > 0:
        by_liquidation = profile.liquidation_stop * LIQUIDATION_FRACTION / leverage
        return (
            by_liquidation
            if math.isnan(profile.stop_loss)
            else min(by_liquidation, profile.stop_loss)
        )
    return profile.stop_loss


def _exit_levels(
    ref: np.ndarray,
    d: np.ndarray,
    leverage: np.ndarray,
    take_profit: np.ndarray,
    stop_distance: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(below, above, stop_binding): the levels whose touch ends a position early.

    The adverse level is the nearer of the stop and the liquidation price; the favourable one is
    the take profit (±inf when none). All relative to the mid at the open.
    """
    liquidation = ref * (1.0 - d * (LIQUIDATION_FRACTION / leverage))
    stop = ref * (1.0 - d * np.nan_to_num(stop_distance, nan=np.inf))
    binding = np.where(d > 0, stop >= liquidation, stop <= liquidation)
    stop_binding = ~np.isnan(stop_distance) & binding
    adverse = np.where(stop_binding, stop, liquidation)
    tp = ref * (1.0 + d * take_profit)
    below = np.where(d > 0, adverse, np.nan_to_num(tp, nan=-np.inf))
    above = np.where(d > 0, np.nan_to_num(tp, nan=np.inf), adverse)
    return below, above, stop_binding


def _hit_time(t0_ms: int, bar: np.ndarray, u: np.ndarray, t_open: np.ndarray) -> np.ndarray:
    """When inside the touching bar the level was hit (never before the open)."""
    bar_start = t0_ms + (np.asarray(bar, dtype=np.int64) - 1) * MS_PER_MINUTE
    offset = (np.asarray(u, dtype=np.float64) * 58_000).astype(np.int64)
    return np.maximum(bar_start + 1_000 + offset, t_open + 2_000)


def _exit_levels_scalar(
    ref: float, d: float, leverage: float, take_profit: float, stop_distance: float
) -> tuple[float, float]:
    """`_exit_levels` for one position in plain floats (IEEE doubles: bit-identical results)."""
    liquidation = ref * (1.0 - d * (LIQUIDATION_FRACTION / leverage))
    has_stop = not math.isnan(stop_distance)
    stop = ref * (1.0 - d * stop_distance) if has_stop else (-math.inf if d > 0 else math.inf)
    binding = has_stop and (stop >= liquidation if d > 0 else stop <= liquidation)
    adverse = stop if binding else liquidation
    if math.isnan(take_profit):
        tp = math.inf if d > 0 else -math.inf
    else:
        tp = ref * (1.0 + d * take_profit)
    return (adverse, tp) if d > 0 else (tp, adverse)


def _sequential_chain(
    rng: np.random.Generator,
    profile: LeaderProfile,
    spec: ArchetypeSpec,
    coin: int,
    leverage: float,
    paths: PricePaths,
    rate_per_day: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One position at a time, the next opening after the previous one actually ended.

    Returns opens, intended holds, and the direction and exit-second uniforms used — the planner
    recomputes the same exits from them (same function, same inputs, same bars).
    """
    cycle = MS_PER_DAY / rate_per_day
    lo, hi = np.log(spec.hold_hours[0] * MS_PER_HOUR), np.log(spec.hold_hours[1] * MS_PER_HOUR)
    stop = _stop_distance(profile, float(leverage))
    opens: list[int] = []
    holds: list[int] = []
    u_dirs: list[float] = []
    u_exits: list[float] = []
    t = profile.start_ms + int(rng.uniform(0.0, cycle))
    while t < paths.end_ms:
        hold = int(np.exp(rng.uniform(lo, hi)))
        u_dir, u_exit = rng.random(2)
        d = 1.0 if u_dir < 0.5 else -1.0
        m0, m1 = paths.minute_of(t), paths.minute_of(t + hold)
        ref = float(paths.close[coin, m0])
        below, above = _exit_levels_scalar(ref, d, leverage, profile.take_profit, stop)
        bar = paths.first_cross(coin, m0, m1, below, above)
        exit_ms = int(_hit_time(paths.t0_ms, bar, u_exit, t)) if bar >= 0 else t + hold
        opens.append(t)
        holds.append(hold)
        u_dirs.append(float(u_dir))
        u_exits.append(float(u_exit))
        t = exit_ms + int(rng.exponential(0.8 * cycle)) + MIN_GAP_MS
    return (
        np.array(opens, dtype=np.int64),
        np.array(holds, dtype=np.int64),
        np.array(u_dirs),
        np.array(u_exits),
    )


def _leader_trades(
    profile: LeaderProfile,
    spec: ArchetypeSpec,
    specs: tuple[CoinSpec, ...],
    paths: PricePaths,
    seed: int,
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 2, profile.index])
    per_chain = profile.trades_per_day / len(profile.coins)
    opens, holds, coins, pinned = [], [], [], []
    for coin in profile.coins:
        if spec.take_profit is None:
            o, h = _chain_schedule(rng, profile.start_ms, paths.end_ms, per_chain, spec.hold_hours)
            pinned.append(np.full((o.size, 2), np.nan))
        else:
            lev = min(profile.leverage, specs[coin].max_leverage)
            o, h, u_dir, u_exit = _sequential_chain(rng, profile, spec, coin, lev, paths, per_chain)
            pinned.append(np.column_stack([u_dir, u_exit]).reshape(-1, 2))
        opens.append(o)
        holds.append(h)
        coins.append(np.full(o.size, coin, dtype=np.int16))
    t_open = np.concatenate(opens)
    uniforms = rng.random((t_open.size, Col.COUNT))
    pins = np.concatenate(pinned)
    has_pin = ~np.isnan(pins[:, 0])
    uniforms[has_pin, Col.DIR] = pins[has_pin, 0]
    uniforms[has_pin, Col.EXIT_S] = pins[has_pin, 1]
    return {
        "t_open": t_open,
        "hold": np.concatenate(holds),
        "coin": np.concatenate(coins),
        "uniforms": uniforms,
    }


def _first_exits(
    paths: PricePaths,
    coin: np.ndarray,
    m_open: np.ndarray,
    m_close: np.ndarray,
    below: np.ndarray,
    above: np.ndarray,
) -> np.ndarray:
    """First bar in (m_open, m_close] touching `below` or `above`; -1 where none."""
    hi, lo = paths.range_extremes(coin, m_open, m_close)
    candidates = np.flatnonzero((lo <= below) | (hi >= above))
    first = np.full(coin.size, -1, dtype=np.int64)
    for i in candidates.tolist():
        first[i] = paths.first_cross(
            int(coin[i]), int(m_open[i]), int(m_close[i]), float(below[i]), float(above[i])
        )
    return first


def _per_trade(profiles: list[LeaderProfile], leader: np.ndarray, attr: str) -> np.ndarray:
    return np.array([getattr(p, attr) for p in profiles])[leader]


def plan_trades(
    profiles: list[LeaderProfile],
    specs: tuple[CoinSpec, ...],
    paths: PricePaths,
    seed: int,
    archetypes: Mapping[Archetype, ArchetypeSpec] = DEFAULT_ARCHETYPES,
) -> TradePlan:
    """Schedule, direct, exit and size every trade of every leader."""
    if not profiles:
        raise ValueError("no leaders to plan trades for")
    end_ms = paths.end_ms
    parts = [_leader_trades(p, archetypes[p.archetype], specs, paths, seed) for p in profiles]

    def gather(key: str) -> np.ndarray:
        return np.concatenate([part[key] for part in parts])

    sizes = [part["t_open"].size for part in parts]
    by_leader = [np.full(k, p.index, np.int32) for p, k in zip(profiles, sizes, strict=True)]
    order = np.argsort(gather("t_open"), kind="stable")
    leader = np.concatenate(by_leader)[order]
    t_open, hold = gather("t_open")[order], gather("hold")[order]
    coin, u = gather("coin")[order], gather("uniforms")[order]
    n = t_open.size

    # Leader habits broadcast to trades.
    max_lev = np.array([s.max_leverage for s in specs], dtype=np.float64)[coin]
    leverage = np.minimum(_per_trade(profiles, leader, "leverage").astype(np.float64), max_lev)
    n_chains = np.array([len(p.coins) for p in profiles])[leader]
    fraction = _per_trade(profiles, leader, "margin_fraction") * (0.6 + 0.8 * u[:, Col.WEIGHT])
    fraction = np.minimum(fraction, MAX_TOTAL_MARGIN / n_chains)
    take_profit = _per_trade(profiles, leader, "take_profit")
    sequential = ~np.isnan(take_profit)
    by_liquidation = _per_trade(profiles, leader, "liquidation_stop") * LIQUIDATION_FRACTION
    by_liquidation = np.where(by_liquidation > 0, by_liquidation / leverage, np.nan)
    stop_distance = np.fmin(by_liquidation, _per_trade(profiles, leader, "stop_loss"))
    maker = _per_trade(profiles, leader, "maker").astype(bool)
    add_prob = np.array([archetypes[p.archetype].add_prob for p in profiles])[leader]
    reduce_prob = np.array([archetypes[p.archetype].reduce_prob for p in profiles])[leader]
    half_spread = np.array([s.half_spread_bps / 1e4 for s in specs])[coin]
    close = paths.close

    def ref(t: np.ndarray) -> np.ndarray:
        return close[coin, paths.minutes_of(t)]

    def taker(t: np.ndarray, buy_sign: np.ndarray, col: int) -> np.ndarray:
        return ref(t) * (1.0 + buy_sign * half_spread * (1.0 + u[:, col]))

    # Direction: the skilled see the sign of the return over their intended hold, sometimes;
    # take-profit leaders flip a coin (their schedule already depended on it).
    t_close = t_open + hold
    m_open, m_close = paths.minutes_of(t_open), paths.minutes_of(t_close)
    future = np.where(close[coin, m_close] >= close[coin, m_open], 1, -1)
    edge = _per_trade(profiles, leader, "edge")
    direction = np.where(u[:, Col.DIR] < 0.5 + edge, future, -future)
    direction = np.where(sequential, np.where(u[:, Col.DIR] < 0.5, 1, -1), direction)
    direction = direction.astype(np.int8)
    d = direction.astype(np.float64)
    mid_open = close[coin, m_open]
    p_open = np.where(maker, mid_open, taker(t_open, d, Col.SLIP))

    # Exits: liquidation for everyone; stops and take profits where the leader uses them.
    below, above, stop_binding = _exit_levels(mid_open, d, leverage, take_profit, stop_distance)
    first = _first_exits(paths, coin, m_open, m_close, below, above)
    hit = first >= 0
    k = np.maximum(first, 1)
    adverse_hit = hit & np.where(d > 0, paths.low[coin, k] <= below, paths.high[coin, k] >= above)
    exit_kind = np.full(n, ExitKind.CLOSE, dtype=np.int8)
    exit_kind[hit] = ExitKind.TAKE_PROFIT
    exit_kind[adverse_hit & stop_binding] = ExitKind.STOP_LOSS
    exit_kind[adverse_hit & ~stop_binding] = ExitKind.LIQUIDATION
    t_exit = np.where(hit, _hit_time(paths.t0_ms, k, u[:, Col.EXIT_S], t_open), t_close)
    still_open = ~hit & (t_close > end_ms)
    exit_kind[still_open] = ExitKind.OPEN_AT_END
    t_exit[still_open] = np.iinfo(np.int64).max
    closing = (exit_kind != ExitKind.LIQUIDATION) & ~still_open

    p_exit = np.full(n, np.nan)
    planned = exit_kind == ExitKind.CLOSE
    p_exit[planned] = np.where(maker, ref(t_close), taker(t_close, -d, Col.SLIP + 3))[planned]
    tp = exit_kind == ExitKind.TAKE_PROFIT
    p_exit[tp] = np.where(d > 0, above, below)[tp]
    sl = exit_kind == ExitKind.STOP_LOSS
    stop_level = np.where(d > 0, below, above)
    p_exit[sl] = (stop_level * (1.0 - d * half_spread * (1.0 + u[:, Col.SLIP + 3])))[sl]
    exit_maker = (maker & planned) | tp

    # Adds within 2 h of the open, reduces in the second half of the hold — before the exit.
    add_window = np.maximum(np.minimum(ADD_LATEST_MS, 0.4 * hold) - ADD_EARLIEST_MS, 0)
    t_add = t_open + (ADD_EARLIEST_MS + u[:, Col.ADD_T] * add_window).astype(np.int64)
    t_reduce = t_open + ((0.5 + 0.4 * u[:, Col.RED_T]) * hold).astype(np.int64)
    has_add = (u[:, Col.ADD] < add_prob) & (t_add < np.minimum(t_exit, end_ms))
    has_reduce = (u[:, Col.RED] < reduce_prob) & (t_reduce < np.minimum(t_exit, end_ms))
    add_frac = np.where(has_add, 0.2 + 0.6 * u[:, Col.ADD_FRAC], 0.0)
    reduce_frac = np.where(has_reduce, 0.2 + 0.4 * u[:, Col.RED_FRAC], 0.0)
    p_add = np.where(maker, ref(t_add), taker(t_add, d, Col.SLIP + 1))
    p_reduce = np.where(maker, ref(t_reduce), taker(t_reduce, -d, Col.SLIP + 2))

    # Return per unit of base notional (sizing needs it before sizes exist).
    exit_px = np.nan_to_num(p_exit)
    fee_open = np.where(maker, MAKER_FEE, TAKER_FEE)
    fee_exit = np.where(exit_maker, MAKER_FEE, TAKER_FEE)
    q1 = 1.0 + add_frac
    avg = (p_open + add_frac * p_add) / q1
    q_red = reduce_frac * q1
    q_exit = np.where(closing, q1 - q_red, 0.0)
    pnl = d * (q_red * (p_reduce - avg) + q_exit * (exit_px - avg))
    pnl -= fee_open * (p_open + add_frac * p_add + q_red * p_reduce) + fee_exit * q_exit * exit_px
    liquidated = exit_kind == ExitKind.LIQUIDATION
    pnl -= np.where(liquidated, (q1 - q_red) * avg / leverage, 0.0)
    ret = np.where(still_open, 0.0, pnl / p_open)

    notional = _size(profiles, leader, t_open, t_exit, still_open, fraction * leverage, ret, paths)
    lot_scale = (10.0 ** np.array([s.sz_decimals for s in specs]))[coin]
    base_lots = np.floor(notional / p_open * lot_scale + 1e-9).astype(np.int64)
    add_lots = np.floor(base_lots * add_frac + 1e-9).astype(np.int64)
    reduce_lots = np.floor((base_lots + add_lots) * reduce_frac + 1e-9).astype(np.int64)
    keep = base_lots > 0
    return TradePlan(
        leader=leader[keep],
        coin=coin[keep],
        direction=direction[keep],
        leverage=leverage[keep],
        exit_kind=exit_kind[keep],
        t_open=t_open[keep],
        t_add=t_add[keep],
        t_reduce=t_reduce[keep],
        t_exit=t_exit[keep],
        p_open=p_open[keep],
        p_add=p_add[keep],
        p_reduce=p_reduce[keep],
        p_exit=p_exit[keep],
        base_lots=base_lots[keep],
        add_lots=add_lots[keep],
        reduce_lots=reduce_lots[keep],
        exit_maker=exit_maker[keep],
        open_maker=maker[keep],
        uniforms=u[keep],
    )


def _size(
    profiles: list[LeaderProfile],
    leader: np.ndarray,
    t_open: np.ndarray,
    t_exit: np.ndarray,
    still_open: np.ndarray,
    weight: np.ndarray,
    ret: np.ndarray,
    paths: PricePaths,
) -> np.ndarray:
    """Base notional of each trade: weight × the account value at the start of its bucket.

    One loop over 4-hour buckets for all leaders at once; a trade's PnL lands in the account
    from the bucket after it ended. A blown-up account (below the floor) opens nothing.
    """
    n_buckets = (paths.end_ms - paths.t0_ms) // SIZING_BUCKET_MS + 2
    open_bucket = (t_open - paths.t0_ms) // SIZING_BUCKET_MS
    ended = (np.minimum(t_exit, paths.end_ms) - paths.t0_ms) // SIZING_BUCKET_MS + 1
    realised = np.where(still_open, n_buckets, ended)
    pending = np.zeros((n_buckets + 1, len(profiles)))
    account = np.array([p.account_value for p in profiles])
    notional = np.zeros(t_open.size)
    bounds = np.searchsorted(open_bucket, np.arange(n_buckets + 1))
    for b in range(n_buckets):
        account += pending[b]
        lo, hi = bounds[b], bounds[b + 1]
        if lo == hi:
            continue
        who = leader[lo:hi]
        equity = account[who]
        size = np.where(equity > ACCOUNT_FLOOR_USD, weight[lo:hi] * equity, 0.0)
        notional[lo:hi] = size
        np.add.at(pending, (realised[lo:hi], who), size * ret[lo:hi])
    return notional
