"""Per-leader ledgers: the fills a venue would report, the positions they add up to, and the
realised PnL they produce — precomputed once as arrays so every query is a binary search.

Why arrays and not objects: a default world holds ~half a million fills; Hyperliquid JSON is
built only for the few fills a query actually serves (see `payloads.py`).

Orders split into 1–4 fills sharing one order id and transaction hash (a taker order hitting
several makers), each fill one level worse than the last; `startPosition` runs through them
exactly (sizes are integer lots). A liquidation leaves no fill at all: the position's segment just
ends and the margin is booked as a loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailgate.venues.sim.archetypes import LeaderProfile
from tailgate.venues.sim.coins import CoinSpec
from tailgate.venues.sim.grid import round_prices
from tailgate.venues.sim.population import (
    FILL_COUNT_PROBS,
    MAKER_FEE,
    TAKER_FEE,
    Col,
    ExitKind,
    TradePlan,
)
from tailgate.venues.sim.prices import PricePaths

__all__ = [
    "DIRECTIONS",
    "LeaderLedger",
    "TradeOutcomes",
    "build_ledgers",
]

# Hyperliquid's `dir` texts for the codes in `LeaderLedger.fill_dir`.
DIRECTIONS = ("Open Long", "Open Short", "Close Long", "Close Short")
LEG_OPEN, LEG_ADD, LEG_REDUCE, LEG_EXIT = range(4)
OID_BASE = 40_000_000_000
TID_BASE = 300_000_000_000_000
_NEVER = np.iinfo(np.int64).max


@dataclass(slots=True)
class LeaderLedger:
    """One leader's precomputed history. Arrays are sorted by time; sizes are integer lots."""

    profile: LeaderProfile
    # fills
    fill_time: np.ndarray  # int64 ms
    fill_coin: np.ndarray  # int16
    fill_px: np.ndarray  # float64, on the price grid
    fill_lots: np.ndarray  # int64 > 0
    fill_buy: np.ndarray  # bool
    fill_start_lots: np.ndarray  # int64, signed position before the fill
    fill_dir: np.ndarray  # int8 code into DIRECTIONS
    fill_oid: np.ndarray  # int64
    fill_tid: np.ndarray  # int64
    fill_closed_pnl: np.ndarray  # float64, rounded to 6 decimals as served
    fill_fee: np.ndarray  # float64, rounded to 6 decimals as served
    fill_crossed: np.ndarray  # bool: taker
    fill_cum_notional: np.ndarray  # float64, running traded notional (for volume)
    # realised PnL events (fills and liquidations), cumulative
    pnl_time: np.ndarray
    pnl_cum: np.ndarray
    # position segments: one (coin, signed lots, entry) per interval [start, end)
    seg_start: np.ndarray
    seg_end: np.ndarray  # int64 max when still open at the end of the range
    seg_coin: np.ndarray
    seg_lots: np.ndarray  # signed
    seg_entry: np.ndarray
    seg_leverage: np.ndarray
    seg_max_len: int  # longest segment (ends clipped to the range): bounds open-at-t searches
    liquidation_time: np.ndarray
    liquidation_coin: np.ndarray

    @property
    def address(self) -> str:
        return self.profile.address

    @property
    def first_fill_ms(self) -> int | None:
        return int(self.fill_time[0]) if self.fill_time.size else None

    def fill_range(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        """Index range of fills with start_ms ≤ time < end_ms."""
        t = self.fill_time
        return int(t.searchsorted(start_ms, "left")), int(t.searchsorted(end_ms, "left"))

    def realised_at(self, times: np.ndarray) -> np.ndarray:
        """Starting account value plus realised PnL (fees, closed PnL, liquidations) up to t."""
        idx = self.pnl_time.searchsorted(times, "right") - 1
        if not self.pnl_cum.size:
            return np.full(np.shape(times), self.profile.account_value)
        return self.profile.account_value + np.where(
            idx >= 0, self.pnl_cum[np.maximum(idx, 0)], 0.0
        )

    def open_at(self, t_ms: int) -> np.ndarray:
        """Indices of the segments open at t (start ≤ t < end)."""
        lo = int(self.seg_start.searchsorted(t_ms - self.seg_max_len, "left"))
        hi = int(self.seg_start.searchsorted(t_ms, "right"))
        idx = np.arange(lo, hi)
        return idx[self.seg_end[lo:hi] > t_ms]

    def unrealised_at(
        self, times: np.ndarray, paths: PricePaths, lot_scale: np.ndarray
    ) -> np.ndarray:
        """Unrealised PnL at each of `times` (sorted), marked at the last completed minute."""
        out = np.zeros(times.size)
        if not self.seg_start.size or not times.size:
            return out
        lo = int(self.seg_start.searchsorted(times[0] - self.seg_max_len, "left"))
        hi = int(self.seg_start.searchsorted(times[-1], "right"))
        if lo >= hi:
            return out
        k_lo = times.searchsorted(self.seg_start[lo:hi], "left")
        k_hi = times.searchsorted(self.seg_end[lo:hi], "left")
        counts = np.maximum(k_hi - k_lo, 0)
        total = int(counts.sum())
        if not total:
            return out
        seg = np.repeat(np.arange(lo, hi), counts)
        offsets = np.repeat(np.cumsum(counts) - counts, counts)
        t_idx = np.repeat(k_lo, counts) + (np.arange(total) - offsets)
        coin = self.seg_coin[seg]
        mark = paths.close[coin, paths.minutes_of(times[t_idx])]
        pnl = self.seg_lots[seg] / lot_scale[coin] * (mark - self.seg_entry[seg])
        return np.bincount(t_idx, weights=pnl, minlength=times.size)

    def equity_at(self, times: np.ndarray, paths: PricePaths, lot_scale: np.ndarray) -> np.ndarray:
        """Account value (realised + unrealised) at each of `times` (sorted)."""
        times = np.asarray(times, dtype=np.int64)
        return self.realised_at(times) + self.unrealised_at(times, paths, lot_scale)


@dataclass(slots=True)
class TradeOutcomes:
    """One row per position, for the demo and tests (the hidden truth, not venue data)."""

    leader: np.ndarray
    coin: np.ndarray
    direction: np.ndarray
    leverage: np.ndarray
    exit_kind: np.ndarray
    t_open: np.ndarray
    t_exit: np.ndarray
    notional: np.ndarray  # USD bought or sold to build the position (open + add)
    pnl: np.ndarray  # USD: closed PnL − fees − liquidation loss (0 realised while still open)

    @property
    def ret(self) -> np.ndarray:
        return self.pnl / self.notional


def _exclusive_group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum of `values` before each element, restarting where `group` (sorted) changes."""
    running = np.cumsum(values) - values
    first = np.searchsorted(group, group, "left")
    return running - running[first]


def _split_legs(
    plan: TradePlan, profiles: list[LeaderProfile]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every order (leg) of every trade, sorted by (trade, leg kind)."""
    n = plan.t_open.size
    trade = np.arange(n)
    long = plan.direction > 0
    total = plan.base_lots + plan.add_lots
    closing = (plan.exit_kind <= ExitKind.STOP_LOSS) & (total - plan.reduce_lots > 0)
    has_add, has_reduce = plan.add_lots > 0, plan.reduce_lots > 0
    kinds = (
        (LEG_OPEN, trade, plan.t_open, plan.base_lots, long, plan.p_open, plan.open_maker),
        (LEG_ADD, trade[has_add], plan.t_add, plan.add_lots, long, plan.p_add, plan.open_maker),
        (
            LEG_REDUCE, trade[has_reduce], plan.t_reduce, plan.reduce_lots, ~long,
            plan.p_reduce, plan.open_maker,
        ),
        (
            LEG_EXIT, trade[closing], plan.t_exit, total - plan.reduce_lots, ~long,
            plan.p_exit, plan.exit_maker,
        ),
    )  # fmt: skip
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("trade", "kind", "time", "lots", "buy")}
    cols.update(price=[], maker=[])
    for kind, idx, time, lots, buy, price, maker in kinds:
        cols["trade"].append(idx)
        cols["kind"].append(np.full(idx.size, kind, dtype=np.int8))
        cols["time"].append(time[idx])
        cols["lots"].append(lots[idx])
        cols["buy"].append(buy[idx])
        cols["price"].append(price[idx])
        cols["maker"].append(maker[idx])
    legs = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((legs["kind"], legs["trade"]))
    legs = {k: v[order] for k, v in legs.items()}
    max_fills = np.array([p.max_fills for p in profiles])[plan.leader[legs["trade"]]]
    return legs, max_fills


def build_ledgers(
    plan: TradePlan,
    profiles: list[LeaderProfile],
    specs: tuple[CoinSpec, ...],
    paths: PricePaths,
) -> tuple[dict[str, LeaderLedger], TradeOutcomes]:
    """Fills, segments and PnL timelines for every leader, from the planned trades."""
    n = plan.t_open.size
    lot_scale = 10.0 ** np.array([s.sz_decimals for s in specs])
    legs, max_fills = _split_legs(plan, profiles)
    leg_trade, leg_kind, leg_lots = legs["trade"], legs["kind"], legs["lots"]

    # How many fills per order: 1..max_fills, never more than the order has lots.
    probs = np.array(FILL_COUNT_PROBS)
    cum = np.ones((len(probs) + 1, len(probs) - 1))
    for m in range(1, len(probs) + 1):
        c = np.cumsum(probs[:m]) / probs[:m].sum()
        cum[m, : m - 1] = c[: m - 1]
    u_n = plan.uniforms[leg_trade, Col.NFILLS + leg_kind]
    k = 1 + (u_n[:, None] >= cum[max_fills]).sum(axis=1)
    k = np.minimum(k, leg_lots)

    fill_leg = np.repeat(np.arange(k.size), k)
    starts = np.cumsum(k) - k
    j = np.arange(fill_leg.size) - starts[fill_leg]
    weight = 0.2 + plan.uniforms[leg_trade[fill_leg], Col.SPLIT + 4 * leg_kind[fill_leg] + j]
    share = weight / np.add.reduceat(weight, starts)[fill_leg]
    lots = 1 + np.floor((leg_lots - k)[fill_leg] * share).astype(np.int64)
    lots[starts + k - 1] += leg_lots - np.add.reduceat(lots, starts)

    trade = leg_trade[fill_leg]
    coin = plan.coin[trade]
    buy = legs["buy"][fill_leg]
    maker = legs["maker"][fill_leg]
    half_spread = np.array([s.half_spread_bps / 1e4 for s in specs])[coin]
    step = np.where(maker, 0.0, half_spread)
    raw_px = legs["price"][fill_leg] * (1.0 + np.where(buy, 1.0, -1.0) * j * step)
    px = np.empty_like(raw_px)
    for c, spec in enumerate(specs):
        sel = coin == c
        if sel.any():
            px[sel] = round_prices(raw_px[sel], spec.sz_decimals)

    signed = np.where(buy, lots, -lots)
    start_lots = _exclusive_group_cumsum(signed, trade)
    kind = leg_kind[fill_leg]
    qty = lots / lot_scale[coin]
    opening = kind <= LEG_ADD
    is_open = kind == LEG_OPEN
    avg0 = np.bincount(trade, px * qty * is_open, n) / np.bincount(trade, qty * is_open, n)
    avg1 = np.bincount(trade, px * qty * opening, n) / np.bincount(trade, qty * opening, n)
    d = plan.direction.astype(np.float64)
    closed_pnl = np.where(opening, 0.0, np.round(d[trade] * (px - avg1[trade]) * qty, 6))
    fee = np.round(px * qty * np.where(maker, MAKER_FEE, TAKER_FEE), 6)
    fill_time = legs["time"][fill_leg]
    direction_code = np.where(opening, 0, 2) + (d[trade] < 0)

    # Liquidations: the margin of what was still held.
    liquidated = np.flatnonzero(plan.exit_kind == ExitKind.LIQUIDATION)
    liquidated = liquidated[np.lexsort((plan.t_exit[liquidated], plan.leader[liquidated]))]
    held = plan.base_lots + plan.add_lots - plan.reduce_lots
    liq_loss = -held[liquidated] / lot_scale[plan.coin[liquidated]] * avg1[liquidated]
    liq_loss /= plan.leverage[liquidated]

    # Segments: the position after each non-exit leg, until the next leg or the trade's end.
    leg_signed = np.where(legs["buy"], leg_lots, -leg_lots)
    position = _exclusive_group_cumsum(leg_signed, leg_trade) + leg_signed
    same_next = np.append(leg_trade[1:] == leg_trade[:-1], False)
    next_time = np.append(legs["time"][1:], 0)
    seg_end = np.where(same_next, next_time, plan.t_exit[leg_trade])
    is_seg = leg_kind != LEG_EXIT
    seg_entry = np.where(leg_kind == LEG_OPEN, avg0[leg_trade], avg1[leg_trade])

    # Order and fill ids in global time order, as a venue would assign them.
    oid_rank = np.empty(leg_trade.size, dtype=np.int64)
    oid_rank[np.argsort(legs["time"], kind="stable")] = np.arange(leg_trade.size)  # ties: leg order
    oid = OID_BASE + oid_rank[fill_leg]
    tid_rank = np.empty(fill_leg.size, dtype=np.int64)
    tid_rank[np.argsort(fill_time, kind="stable")] = np.arange(fill_leg.size)
    tid = TID_BASE + tid_rank

    # Per trade truth.
    entry_notional = np.bincount(trade, px * qty * opening, n)
    trade_pnl = np.bincount(trade, closed_pnl - fee, n)
    trade_pnl[liquidated] += liq_loss
    outcomes = TradeOutcomes(
        leader=plan.leader,
        coin=plan.coin,
        direction=plan.direction,
        leverage=plan.leverage,
        exit_kind=plan.exit_kind,
        t_open=plan.t_open,
        t_exit=plan.t_exit,
        notional=entry_notional,
        pnl=trade_pnl,
    )

    # Split everything per leader.
    span = paths.end_ms - paths.t0_ms + 1

    def by_leader_then_time(who: np.ndarray, when: np.ndarray) -> np.ndarray:
        # One stable argsort on a combined key: (leader, time), ties in generation order.
        return np.argsort(who.astype(np.int64) * span + (when - paths.t0_ms), kind="stable")

    fill_leader = plan.leader[trade]
    f_order = by_leader_then_time(fill_leader, fill_time)
    f_bounds = np.searchsorted(fill_leader[f_order], np.arange(len(profiles) + 1))
    seg_idx = np.flatnonzero(is_seg)
    seg_leader = plan.leader[leg_trade[seg_idx]]
    s_order = seg_idx[by_leader_then_time(seg_leader, legs["time"][seg_idx])]
    s_bounds = np.searchsorted(plan.leader[leg_trade[s_order]], np.arange(len(profiles) + 1))
    ev_leader = np.concatenate([fill_leader, plan.leader[liquidated]])
    ev_time = np.concatenate([fill_time, plan.t_exit[liquidated]])
    ev_pnl = np.concatenate([closed_pnl - fee, liq_loss])
    e_order = by_leader_then_time(ev_leader, ev_time)
    e_bounds = np.searchsorted(ev_leader[e_order], np.arange(len(profiles) + 1))
    l_bounds = np.searchsorted(plan.leader[liquidated], np.arange(len(profiles) + 1))
    end_ms = paths.end_ms

    ledgers: dict[str, LeaderLedger] = {}
    for p in profiles:
        fo = f_order[f_bounds[p.index] : f_bounds[p.index + 1]]
        so = s_order[s_bounds[p.index] : s_bounds[p.index + 1]]
        eo = e_order[e_bounds[p.index] : e_bounds[p.index + 1]]
        lo = liquidated[l_bounds[p.index] : l_bounds[p.index + 1]]
        s_start = legs["time"][so]
        s_end = seg_end[so]
        ledgers[p.address] = LeaderLedger(
            profile=p,
            fill_time=fill_time[fo],
            fill_coin=coin[fo],
            fill_px=px[fo],
            fill_lots=lots[fo],
            fill_buy=buy[fo],
            fill_start_lots=start_lots[fo],
            fill_dir=direction_code[fo].astype(np.int8),
            fill_oid=oid[fo],
            fill_tid=tid[fo],
            fill_closed_pnl=closed_pnl[fo],
            fill_fee=fee[fo],
            fill_crossed=~maker[fo],
            fill_cum_notional=np.cumsum(px[fo] * qty[fo]),
            pnl_time=ev_time[eo],
            pnl_cum=np.cumsum(ev_pnl[eo]),
            seg_start=s_start,
            seg_end=s_end,
            seg_coin=plan.coin[leg_trade[so]],
            seg_lots=position[so],
            seg_entry=seg_entry[so],
            seg_leverage=plan.leverage[leg_trade[so]],
            seg_max_len=int((np.minimum(s_end, end_ms + 1) - s_start).max()) if so.size else 0,
            liquidation_time=plan.t_exit[lo],
            liquidation_coin=plan.coin[lo],
        )
    return ledgers, outcomes
