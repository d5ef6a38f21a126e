"""Hyperliquid JSON → domain objects, at the boundary (SPEC §S: validate every payload).

The parser checks *shape*: required fields present, of the right JSON type, numbers parseable.
It does not judge *values*: a NaN price or a negative size parses, and the domain's validation
rejects it later with its own reason code (INVALID_PRICE, INVALID_SIZE…), so every rejection is
decided in one place. Anything that is not the right shape raises
`PayloadError(MALFORMED_PAYLOAD, detail)` — except `parse_user_fills`, which never raises: each
bad element becomes a `RejectedPayload` in the page.

Venue conventions handled here:
* numbers arrive as strings ("104567.0"); plain JSON numbers are accepted too, booleans never;
* `userFills` comes newest first; a `FillPage` is oldest first (stable, so the fills of one order
  keep their execution order);
* fills recorded before Hyperliquid added `tid` (2023) have none: their fill id is derived from
  (oid, startPosition, sz, px) as sent, which is unique and stable for a given fill;
* `clearinghouseState` without `marginSummary` falls back to `crossMarginSummary`;
* leaderboard rows carry windows "day", "week", "month", "allTime"; the simulator also sends
  "ninetyDay", which is the only source for `window_days=90`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from tailgate.domain.models import (
    LeaderboardEntry,
    LeaderFill,
    LeaderPosition,
    LeaderState,
    Level,
    Market,
    OrderBook,
    Side,
)
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.protocols import FillPage, PayloadError, RejectedPayload

__all__ = [
    "LEADERBOARD_WINDOWS",
    "excerpt",
    "parse_all_mids",
    "parse_clearinghouse_state",
    "parse_l2_book",
    "parse_leaderboard_row",
    "parse_meta",
    "parse_portfolio",
    "parse_user_fill",
    "parse_user_fills",
]

# window_days → the key of Hyperliquid's `windowPerformances`.
LEADERBOARD_WINDOWS: Mapping[int, str] = {1: "day", 7: "week", 30: "month", 90: "ninetyDay"}
EXCERPT_CHARS = 160


def _bad(detail: str) -> PayloadError:
    return PayloadError(ReasonCode.MALFORMED_PAYLOAD, detail)


def excerpt(raw: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable excerpt of a payload for a rejection record."""
    try:
        text = json.dumps(raw, default=repr, sort_keys=False)
    except (TypeError, ValueError):
        text = repr(raw)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _bad(f"{what}: expected an object, got {type(raw).__name__}")
    return raw


def _list(raw: object, what: str) -> list[Any]:
    if not isinstance(raw, list):
        raise _bad(f"{what}: expected a list, got {type(raw).__name__}")
    return raw


def _field(raw: Mapping[str, Any], key: str, what: str) -> Any:
    if key not in raw:
        raise _bad(f"{what}: missing field {key!r}")
    return raw[key]


def _number(value: object, what: str) -> float:
    """A venue number: a decimal string or a JSON number. NaN and negatives parse."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad(f"{what}: expected a number, got {type(value).__name__}")
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise _bad(f"{what}: unparseable number {str(value)[:40]!r}") from None


def _integer(value: object, what: str) -> int:
    """An integer (ms time, order id): an int, a digit string or an integral float."""
    if isinstance(value, bool):
        raise _bad(f"{what}: expected an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _bad(f"{what}: expected an integer, got {str(value)[:40]!r}")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(f"{what}: expected a non-empty string")
    return value


def _num_field(raw: Mapping[str, Any], key: str, what: str) -> float:
    return _number(_field(raw, key, what), f"{what}.{key}")


def _plain_number(value: object) -> float:
    """Fast path: exact str / float / int only (bool is not int here); else TypeError."""
    kind = type(value)
    if kind is str or kind is float or kind is int:
        return float(value)  # type: ignore[arg-type]
    raise TypeError


def _fast_fill(fill: dict[str, Any], leader: str) -> LeaderFill:
    """The common, well-formed case without per-field bookkeeping. Any surprise raises
    (KeyError / TypeError / ValueError) and the caller re-parses with full diagnostics."""
    side, coin, direction = fill["side"], fill["coin"], fill["dir"]
    oid, time_ms, tid = fill["oid"], fill["time"], fill["tid"]
    if (side != "B" and side != "A") or type(coin) is not str or not coin:
        raise ValueError
    if type(direction) is not str or not direction:
        raise ValueError
    if type(oid) is not int or type(time_ms) is not int or type(tid) is not int:
        raise TypeError
    tx_hash = fill.get("hash", "")
    return LeaderFill(
        leader=leader,
        coin=coin,
        price=_plain_number(fill["px"]),
        size=_plain_number(fill["sz"]),
        is_buy=side == "B",
        direction=direction,
        start_position=_plain_number(fill["startPosition"]),
        time_ms=time_ms,
        order_id=oid,
        fill_id=str(tid),
        tx_hash=tx_hash if type(tx_hash) is str else "",
        closed_pnl=_plain_number(fill["closedPnl"]) if "closedPnl" in fill else 0.0,
        fee=_plain_number(fill["fee"]) if "fee" in fill else 0.0,
        liquidation=bool(fill.get("liquidation")),
    )


def parse_user_fill(raw: Mapping[str, Any], leader: str) -> LeaderFill:
    """One element of `userFills` / `userFillsByTime` / a `user` WebSocket fill."""
    if type(raw) is dict:
        try:
            return _fast_fill(raw, leader)
        except (KeyError, TypeError, ValueError, OverflowError):
            pass  # fall through: the careful path says exactly what is wrong (or accepts it)
    fill = _mapping(raw, "fill")
    side = _field(fill, "side", "fill")
    if side not in ("B", "A"):
        raise _bad(f"fill.side: expected 'B' or 'A', got {str(side)[:10]!r}")
    oid = _integer(_field(fill, "oid", "fill"), "fill.oid")
    if "tid" in fill and fill["tid"] is not None:
        fill_id = str(_integer(fill["tid"], "fill.tid"))
    else:
        parts = (_field(fill, k, "fill") for k in ("startPosition", "sz", "px"))
        fill_id = f"{oid}:" + ":".join(str(p) for p in parts)
    tx_hash = fill.get("hash", "")
    return LeaderFill(
        leader=leader,
        coin=_text(_field(fill, "coin", "fill"), "fill.coin"),
        price=_num_field(fill, "px", "fill"),
        size=_num_field(fill, "sz", "fill"),
        is_buy=side == "B",
        direction=_text(_field(fill, "dir", "fill"), "fill.dir"),
        start_position=_num_field(fill, "startPosition", "fill"),
        time_ms=_integer(_field(fill, "time", "fill"), "fill.time"),
        order_id=oid,
        fill_id=fill_id,
        tx_hash=tx_hash if isinstance(tx_hash, str) else "",
        closed_pnl=_num_field(fill, "closedPnl", "fill") if "closedPnl" in fill else 0.0,
        fee=_num_field(fill, "fee", "fill") if "fee" in fill else 0.0,
        liquidation=bool(fill.get("liquidation")),
    )


def parse_user_fills(raw: object, leader: str) -> FillPage:
    """A list of fills → a page, oldest first. Never raises: bad elements become rejects."""
    if not isinstance(raw, list):
        reject = RejectedPayload(
            ReasonCode.MALFORMED_PAYLOAD,
            f"fills: expected a list, got {type(raw).__name__}",
            excerpt(raw),
        )
        return FillPage(fills=[], rejects=[reject])
    fills: list[LeaderFill] = []
    rejects: list[RejectedPayload] = []
    for element in raw:
        try:
            fills.append(parse_user_fill(element, leader))
        except PayloadError as exc:
            rejects.append(RejectedPayload(exc.reason, exc.detail, excerpt(element)))
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            # Not JSON-shaped (an exotic Mapping, say): still a reject, never an exception.
            detail = f"fill: {type(exc).__name__}"
            rejects.append(RejectedPayload(ReasonCode.MALFORMED_PAYLOAD, detail, excerpt(element)))
    fills.sort(key=lambda f: f.time_ms)
    return FillPage(fills=fills, rejects=rejects)


def parse_clearinghouse_state(raw: object, leader: str, time_ms: int) -> LeaderState:
    """`clearinghouseState` → the leader's account value and open positions (flat ones skipped)."""
    state = _mapping(raw, "clearinghouseState")
    summary = state.get("marginSummary", state.get("crossMarginSummary"))
    if summary is None:
        raise _bad("clearinghouseState: missing field 'marginSummary'")
    account_value = _num_field(_mapping(summary, "marginSummary"), "accountValue", "marginSummary")
    positions: list[LeaderPosition] = []
    for i, item in enumerate(
        _list(_field(state, "assetPositions", "clearinghouseState"), "assetPositions")
    ):
        what = f"assetPositions[{i}]"
        pos = _mapping(_field(_mapping(item, what), "position", what), f"{what}.position")
        signed = _num_field(pos, "szi", what)
        if signed == 0:
            continue
        entry = _num_field(pos, "entryPx", what)
        leverage = 1.0
        if pos.get("leverage") is not None:
            lev = _mapping(pos["leverage"], f"{what}.leverage")
            leverage = _num_field(lev, "value", f"{what}.leverage")
        value = (
            _num_field(pos, "positionValue", what)
            if pos.get("positionValue") is not None
            else abs(signed) * entry
        )
        positions.append(
            LeaderPosition(
                coin=_text(_field(pos, "coin", what), f"{what}.coin"),
                side=Side.SHORT if signed < 0 else Side.LONG,
                size=abs(signed),
                entry_price=entry,
                leverage=leverage,
                position_value=value,
            )
        )
    return LeaderState(
        leader=leader, account_value=account_value, positions=tuple(positions), time_ms=time_ms
    )


def _levels(raw: object, what: str) -> tuple[Level, ...]:
    out: list[Level] = []
    for i, item in enumerate(_list(raw, what)):
        level = _mapping(item, f"{what}[{i}]")
        out.append(
            Level(
                price=_num_field(level, "px", f"{what}[{i}]"),
                size=_num_field(level, "sz", f"{what}[{i}]"),
            )
        )
    return tuple(out)


def parse_l2_book(raw: object) -> OrderBook:
    """`l2Book`: levels[0] are bids (best first), levels[1] asks (best first)."""
    book = _mapping(raw, "l2Book")
    levels = _list(_field(book, "levels", "l2Book"), "l2Book.levels")
    if len(levels) != 2:
        raise _bad(f"l2Book.levels: expected [bids, asks], got {len(levels)} sides")
    return OrderBook(
        coin=_text(_field(book, "coin", "l2Book"), "l2Book.coin"),
        time_ms=_integer(_field(book, "time", "l2Book"), "l2Book.time"),
        bids=_levels(levels[0], "l2Book.bids"),
        asks=_levels(levels[1], "l2Book.asks"),
    )


def parse_meta(raw: object) -> list[Market]:
    """`meta` → perpetual markets; delisted ones (`isDelisted: true`) are left out."""
    meta = _mapping(raw, "meta")
    markets: list[Market] = []
    for i, item in enumerate(_list(_field(meta, "universe", "meta"), "meta.universe")):
        what = f"universe[{i}]"
        asset = _mapping(item, what)
        if asset.get("isDelisted") is True:
            continue
        markets.append(
            Market(
                coin=_text(_field(asset, "name", what), f"{what}.name"),
                sz_decimals=_integer(_field(asset, "szDecimals", what), f"{what}.szDecimals"),
                max_leverage=_integer(_field(asset, "maxLeverage", what), f"{what}.maxLeverage"),
            )
        )
    return markets


def parse_all_mids(raw: object) -> dict[str, float]:
    """`allMids` → {coin: mid}."""
    mids = _mapping(raw, "allMids")
    return {_text(coin, "allMids key"): _number(px, f"allMids.{coin}") for coin, px in mids.items()}


def parse_portfolio(raw: object) -> list[tuple[int, float]]:
    """`portfolio` → (time_ms, account value) oldest first.

    The response holds one `accountValueHistory` per window ("day", "week", "month", "allTime",
    and "perp…" twins). We take the history that spans the longest time (ties: more points),
    which is "allTime" on the real venue and the ~90-day window the simulator serves.
    """
    best: list[tuple[int, float]] = []
    best_key = (-1, -1)
    for i, item in enumerate(_list(raw, "portfolio")):
        what = f"portfolio[{i}]"
        pair = _list(item, what)
        if len(pair) != 2:
            raise _bad(f"{what}: expected [window, data]")
        data = _mapping(pair[1], f"{what}.data")
        history: list[tuple[int, float]] = []
        for j, point in enumerate(_list(_field(data, "accountValueHistory", what), what)):
            p = _list(point, f"{what}.accountValueHistory[{j}]")
            if len(p) != 2:
                raise _bad(f"{what}.accountValueHistory[{j}]: expected [time, value]")
            history.append((_integer(p[0], f"{what} time"), _number(p[1], f"{what} value")))
        history.sort(key=lambda tv: tv[0])
        span = history[-1][0] - history[0][0] if history else -1
        if (span, len(history)) > best_key:
            best, best_key = history, (span, len(history))
    return best


def parse_leaderboard_row(raw: object, window_days: int) -> LeaderboardEntry:
    """One row of Hyperliquid's leaderboard for one window (1, 7, 30 or 90 days).

    roi is a fraction, as the venue sends it. 90 days needs the "ninetyDay" window, which the
    real leaderboard does not have (the simulator adds it): without it this raises.
    """
    if window_days not in LEADERBOARD_WINDOWS:
        raise ValueError(f"window_days must be one of {sorted(LEADERBOARD_WINDOWS)}")
    key = LEADERBOARD_WINDOWS[window_days]
    row = _mapping(raw, "leaderboard row")
    windows: dict[str, Mapping[str, Any]] = {}
    for i, item in enumerate(_list(_field(row, "windowPerformances", "row"), "windows")):
        pair = _list(item, f"windowPerformances[{i}]")
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise _bad(f"windowPerformances[{i}]: expected [name, performance]")
        windows[pair[0]] = _mapping(pair[1], f"windowPerformances[{i}]")
    if key not in windows:
        raise _bad(f"leaderboard row: no {key!r} window for window_days={window_days}")
    perf = windows[key]
    name = row.get("displayName")
    return LeaderboardEntry(
        leader=_text(_field(row, "ethAddress", "row"), "row.ethAddress"),
        window_days=window_days,
        account_value=_num_field(row, "accountValue", "row"),
        pnl=_num_field(perf, "pnl", key),
        roi=_num_field(perf, "roi", key),
        volume=_num_field(perf, "vlm", key) if "vlm" in perf else 0.0,
        display_name=name if isinstance(name, str) and name else None,
    )
