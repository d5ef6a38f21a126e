"""The simulated world rendered as Hyperliquid JSON, exactly as the venue's `/info` answers.

The simulator serves these raw dicts through `venues/hyperliquid/parse.py`, the same parser
the real adapter uses: the parser is exercised on every simulated call, and a corrupted payload
(`malformed_fill_rate`) meets the same rejection path as a hostile one from the network.
Numbers are strings, as on the venue. Every function takes `now_ms` and shows nothing after it.

Simulator-only extensions (documented in the parser): leaderboard rows carry a "ninetyDay"
window next to day / week / month / allTime, and the portfolio's "allTime" window holds the last
90 days (daily points), the longest history the engine uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, OrderBook
from tailgate.venues.sim.ids import mix64, tx_hash, unit_interval
from tailgate.venues.sim.ledger import DIRECTIONS, LeaderLedger
from tailgate.venues.sim.population import LIQUIDATION_FRACTION
from tailgate.venues.sim.world import SimWorld

__all__ = [
    "CORRUPTIONS",
    "STREAM_CORRUPT",
    "OpenPosition",
    "account_at",
    "all_mids",
    "clearinghouse_state",
    "corrupt_fill",
    "fill_rows",
    "l2_book",
    "leaderboard_rows",
    "meta",
    "num",
    "portfolio",
    "portfolio_times",
    "user_fills",
]

PORTFOLIO_DAYS = 90
DISPLAY_NAME_SHARE = 0.25
_NAMES = ("whale", "degen", "alpha", "tortoise", "falcon", "quant", "vault", "sniper", "ghost")
# How a served fill gets corrupted; the first and last break the shape (parser rejects), the
# others parse into values the domain must refuse (NaN price, negative size, unknown coin).
CORRUPTIONS = ("missing_px", "nan_px", "negative_sz", "unknown_coin", "bad_time")
UNKNOWN_COIN = "NOTACOIN"
STREAM_CORRUPT = 77


def num(x: float) -> str:
    """A venue number string: shortest round-trip decimal, never exponent notation."""
    text = repr(float(x))
    if "e" not in text:
        return text
    return f"{x:.12f}".rstrip("0").rstrip(".") or "0.0"


def _sig6(x: float) -> str:
    return num(float(f"{x:.6g}"))


def fill_rows(ledger: LeaderLedger, i0: int, i1: int) -> Iterator[tuple[Any, ...]]:
    """Fills [i0, i1) of a ledger as Python values: (coin index, px, lots, buy, time, start
    lots, dir code, closed pnl, order id, crossed, fee, trade id)."""
    sl = slice(i0, i1)
    return zip(
        ledger.fill_coin[sl].tolist(),
        ledger.fill_px[sl].tolist(),
        ledger.fill_lots[sl].tolist(),
        ledger.fill_buy[sl].tolist(),
        ledger.fill_time[sl].tolist(),
        ledger.fill_start_lots[sl].tolist(),
        ledger.fill_dir[sl].tolist(),
        ledger.fill_closed_pnl[sl].tolist(),
        ledger.fill_oid[sl].tolist(),
        ledger.fill_crossed[sl].tolist(),
        ledger.fill_fee[sl].tolist(),
        ledger.fill_tid[sl].tolist(),
        strict=True,
    )


def user_fills(
    world: SimWorld, ledger: LeaderLedger, i0: int, i1: int, malformed_rate: float = 0.0
) -> list[dict[str, Any]]:
    """`userFillsByTime` elements for fills [i0, i1) of a leader, oldest first."""
    if i1 <= i0:
        return []
    seed = world.config.seed
    coins, scale = world.coins, world.lot_scale
    out: list[dict[str, Any]] = []
    for coin, px, lots, buy, t, start, code, pnl, oid, crossed, fee, tid in fill_rows(
        ledger, i0, i1
    ):
        lot = scale[coin]
        raw: dict[str, Any] = {
            "coin": coins[coin],
            "px": num(px),
            "sz": num(lots / lot),
            "side": "B" if buy else "A",
            "time": t,
            "startPosition": num(start / lot),
            "dir": DIRECTIONS[code],
            "closedPnl": f"{pnl:.6f}",
            "hash": tx_hash(seed, oid),
            "oid": oid,
            "crossed": crossed,
            "fee": f"{fee:.6f}",
            "tid": tid,
            "feeToken": "USDC",
        }
        if malformed_rate > 0 and unit_interval(seed, STREAM_CORRUPT, tid) < malformed_rate:
            corrupt_fill(raw, mix64(seed, STREAM_CORRUPT + 1, tid) % len(CORRUPTIONS))
        out.append(raw)
    return out


def corrupt_fill(raw: dict[str, Any], kind: int) -> None:
    """Damage a fill payload in place, the way hostile or buggy upstream data would."""
    name = CORRUPTIONS[kind]
    if name == "missing_px":
        del raw["px"]
    elif name == "nan_px":
        raw["px"] = "NaN"
    elif name == "negative_sz":
        raw["sz"] = "-" + raw["sz"]
    elif name == "unknown_coin":
        raw["coin"] = UNKNOWN_COIN
    else:
        raw["time"] = "not-a-time"


class OpenPosition(NamedTuple):
    """One open position of a leader at a moment, in the numbers `clearinghouseState` prints."""

    coin: str
    size: float  # signed coins
    entry: float
    leverage: float  # printed as an integer, as the venue does
    mark: float
    value: float  # notional at mark
    used: float  # margin


def account_at(
    world: SimWorld, ledger: LeaderLedger | None, now_ms: int
) -> tuple[float, list[OpenPosition]]:
    """A leader's account value (realised + unrealised) and open positions at now, marked at
    the last completed minute; an unknown leader (or one not yet started) has 0 and none."""
    if ledger is None or ledger.profile.start_ms > now_ms:
        return 0.0, []
    t = min(max(now_ms, world.history_start_ms), world.end_ms)  # the world's range
    account = float(ledger.realised_at(np.array([t]))[0])
    positions: list[OpenPosition] = []
    for s in ledger.open_at(t).tolist():
        c = int(ledger.seg_coin[s])
        size = int(ledger.seg_lots[s]) / world.lot_scale[c]
        entry = float(ledger.seg_entry[s])
        leverage = float(ledger.seg_leverage[s])
        mark = world.paths.price_at(c, t)
        account += size * (mark - entry)
        positions.append(
            OpenPosition(
                world.coins[c],
                float(size),
                entry,
                leverage,
                mark,
                abs(size) * mark,
                abs(size) * entry / leverage,
            )
        )
    return account, positions


def clearinghouse_state(
    world: SimWorld, ledger: LeaderLedger | None, now_ms: int
) -> dict[str, Any]:
    """`clearinghouseState` at now: open positions marked at the last completed minute.

    Unknown leaders (or not yet started) get the venue's empty state, account value 0."""
    account, open_positions = account_at(world, ledger, now_ms)
    notional = sum(p.value for p in open_positions)
    margin = sum(p.used for p in open_positions)
    positions: list[dict[str, Any]] = []
    for p in open_positions:
        sign = 1.0 if p.size > 0 else -1.0
        unrealised = p.size * (p.mark - p.entry)
        positions.append(
            {
                "position": {
                    "coin": p.coin,
                    "szi": num(p.size),
                    "entryPx": num(p.entry),
                    "leverage": {"type": "isolated", "value": int(p.leverage)},
                    "liquidationPx": num(
                        p.entry * (1.0 - sign * LIQUIDATION_FRACTION / p.leverage)
                    ),
                    "marginUsed": f"{p.used:.6f}",
                    "positionValue": f"{p.value:.6f}",
                    "returnOnEquity": f"{unrealised / p.used:.8f}",
                    "unrealizedPnl": f"{unrealised:.6f}",
                },
                "type": "oneWay",
            }
        )
    summary = {
        "accountValue": f"{account:.6f}",
        "totalNtlPos": f"{notional:.6f}",
        "totalRawUsd": f"{account - margin:.6f}",
        "totalMarginUsed": f"{margin:.6f}",
    }
    return {
        "assetPositions": positions,
        "crossMarginSummary": dict(summary),
        "marginSummary": summary,
        "withdrawable": f"{max(account - margin, 0.0):.6f}",
        "time": now_ms,
    }


def _history(times: list[int], values: np.ndarray) -> list[list[Any]]:
    return [[t, f"{v:.6f}"] for t, v in zip(times, values.tolist(), strict=True)]


def portfolio_times(
    world: SimWorld, ledger: LeaderLedger, now_ms: int
) -> tuple[list[int], list[int]]:
    """The points of `portfolio`'s histories: daily over 90 days, hourly over the last day,
    none before the leader (or the world's history) starts."""
    first = max(ledger.profile.start_ms, world.history_start_ms)
    daily = [now_ms - k * MS_PER_DAY for k in range(PORTFOLIO_DAYS, -1, -1)]
    daily = [t for t in daily if t >= first]
    hourly = [t for t in (now_ms - k * MS_PER_HOUR for k in range(24, -1, -1)) if t >= first]
    return daily, hourly


def portfolio(world: SimWorld, ledger: LeaderLedger | None, now_ms: int) -> list[Any]:
    """`portfolio`: account value histories per window; "allTime" = last 90 days, daily."""
    if ledger is None or ledger.profile.start_ms > now_ms:
        return []
    daily, hourly = portfolio_times(world, ledger, now_ms)
    times = sorted(set(daily) | set(hourly))
    values = dict(zip(times, world.equity(ledger.address, np.array(times)).tolist(), strict=True))

    def window(points: list[int]) -> dict[str, Any]:
        v = np.array([values[t] for t in points])
        volume = _traded_since(ledger, points[0], now_ms)
        return {
            "accountValueHistory": _history(points, v),
            "pnlHistory": _history(points, v - v[0]),
            "vlm": f"{volume:.6f}",
        }

    return [
        ["day", window(hourly)],
        ["week", window([t for t in daily if t >= now_ms - 7 * MS_PER_DAY])],
        ["month", window([t for t in daily if t >= now_ms - 30 * MS_PER_DAY])],
        ["allTime", window(daily)],
    ]


def _display_name(world: SimWorld, ledger: LeaderLedger) -> str | None:
    index = ledger.profile.index
    if unit_interval(world.config.seed, 5, index) >= DISPLAY_NAME_SHARE:
        return None
    return f"{_NAMES[mix64(world.config.seed, 6, index) % len(_NAMES)]}{index:03d}"


_WINDOWS = (("day", 1), ("week", 7), ("month", 30), ("ninetyDay", 90))


def _traded_since(ledger: LeaderLedger, since_ms: int, now_ms: int) -> float:
    """Notional the leader traded in [since, now]."""
    t, cum = ledger.fill_time, ledger.fill_cum_notional
    lo, hi = int(t.searchsorted(since_ms, "left")), int(t.searchsorted(now_ms, "right"))
    if hi <= lo:
        return 0.0
    return float(cum[hi - 1] - (cum[lo - 1] if lo else 0.0))


def _performance(now_value: float, base: float, volume: float) -> dict[str, str]:
    pnl = now_value - base
    roi = pnl / base if base > 0 else 0.0
    return {"pnl": f"{pnl:.6f}", "roi": f"{roi:.8f}", "vlm": f"{volume:.6f}"}


def leaderboard_rows(world: SimWorld, now_ms: int) -> list[dict[str, Any]]:
    """One row per leader with at least one fill at or before now (stats-data leaderboard).

    pnl and roi per window are measured from the account value at the window's start (or at the
    account's creation, if later): roi = pnl / that value."""
    rows: list[dict[str, Any]] = []
    for address in world.leaders:
        ledger = world.ledgers[address]
        first = ledger.first_fill_ms
        if first is None or first > now_ms:
            continue
        start = ledger.profile.start_ms
        since = [now_ms - days * MS_PER_DAY for _, days in _WINDOWS]  # descending windows
        base_times = sorted(max(t, start) for t in since)
        equity = world.equity(address, np.array([*base_times, now_ms]))
        at = dict(zip(base_times, equity[:-1].tolist(), strict=True))
        now_value = float(equity[-1])
        windows: list[list[Any]] = [
            [name, _performance(now_value, at[max(t, start)], _traded_since(ledger, t, now_ms))]
            for (name, _), t in zip(_WINDOWS, since, strict=True)
        ]
        all_time = _performance(
            now_value, ledger.profile.account_value, _traded_since(ledger, start, now_ms)
        )
        windows.insert(3, ["allTime", all_time])
        rows.append(
            {
                "ethAddress": address,
                "accountValue": f"{now_value:.6f}",
                "displayName": _display_name(world, ledger),
                "prize": 0,
                "windowPerformances": windows,
            }
        )
    return rows


def l2_book(book: OrderBook) -> dict[str, Any]:
    def side(levels: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [
            {"px": num(lv.price), "sz": num(lv.size), "n": 1 + (i * 7 + 3) % 4}
            for i, lv in enumerate(levels)
        ]

    return {"coin": book.coin, "time": book.time_ms, "levels": [side(book.bids), side(book.asks)]}


def meta(world: SimWorld) -> dict[str, Any]:
    return {
        "universe": [
            {
                "name": m.coin,
                "szDecimals": m.sz_decimals,
                "maxLeverage": m.max_leverage,
                "onlyIsolated": False,
            }
            for m in world.markets
        ]
    }


def all_mids(world: SimWorld, now_ms: int) -> dict[str, str]:
    """`allMids`: the last completed minute's price, 6 significant figures."""
    minute = world.paths.minute_of(now_ms)
    return {c: _sig6(float(world.paths.close[i, minute])) for i, c in enumerate(world.coins)}
