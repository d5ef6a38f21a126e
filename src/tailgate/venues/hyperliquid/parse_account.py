"""Account payloads: `clearinghouseState` and `portfolio`.

Values are judged here (prices finite and > 0, money finite). A bad position fails the whole
state: a leader state missing one position would read as a close (and a vanished position as
a liquidation), so nothing is dropped from it silently. Likewise a bad point fails a portfolio
history: a history with holes would misstate drawdowns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tailgate.domain.models import LeaderPosition, LeaderState, Side
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.parse_common import (
    bad,
    field,
    mapping,
    money,
    number,
    price,
    sequence,
    show,
    text,
    time_ms,
)
from tailgate.venues.protocols import AccountSnapshot, VenuePosition

__all__ = [
    "ClearinghouseState",
    "PerpPosition",
    "PortfolioWindow",
    "parse_account_snapshot",
    "parse_clearinghouse",
    "parse_clearinghouse_state",
    "parse_portfolio",
    "parse_portfolio_windows",
]


# --- clearinghouseState ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PerpPosition:
    """One open perpetual position, as `clearinghouseState.assetPositions[].position` says."""

    coin: str
    signed_size: float  # `szi`: > 0 long, < 0 short
    entry_price: float
    leverage: float
    leverage_type: str  # "cross" | "isolated"
    liquidation_price: float | None  # None: the venue gives none (null, or not > 0)
    margin_used: float
    position_value: float  # notional at mark
    unrealized_pnl: float

    @property
    def side(self) -> Side:
        return Side.of(self.signed_size)


@dataclass(frozen=True, slots=True)
class ClearinghouseState:
    """A perp account at one moment (ours or a leader's)."""

    account_value: float
    withdrawable: float | None
    total_margin_used: float
    total_notional: float
    positions: tuple[PerpPosition, ...]  # open ones only: flat entries are dropped
    time_ms: int | None  # the venue's `time`, when it sends one

    def leader_state(self, leader: str, time_ms: int) -> LeaderState:
        return LeaderState(
            leader=leader,
            account_value=self.account_value,
            positions=tuple(
                LeaderPosition(
                    coin=p.coin,
                    side=p.side,
                    size=abs(p.signed_size),
                    entry_price=p.entry_price,
                    leverage=p.leverage,
                    position_value=p.position_value,
                )
                for p in self.positions
            ),
            time_ms=time_ms,
        )

    def account_snapshot(self, time_ms: int) -> AccountSnapshot:
        return AccountSnapshot(
            account_value=self.account_value,
            positions=tuple(
                VenuePosition(p.coin, p.side, abs(p.signed_size), p.entry_price)
                for p in self.positions
            ),
            time_ms=time_ms,
        )


def _optional(raw: Mapping[str, Any], key: str) -> Any:
    value = raw.get(key)
    return None if value is None else value


def _position(item: object, index: int) -> PerpPosition | None:
    what = f"assetPositions[{index}]"
    pos = mapping(field(mapping(item, what), "position", what), f"{what}.position")
    coin = text(field(pos, "coin", what), f"{what}.coin")
    signed = number(field(pos, "szi", what), f"{what}.szi")
    if not math.isfinite(signed):
        raise bad(f"{what}.szi: {show(signed)} is not finite", ReasonCode.INVALID_SIZE)
    if signed == 0:
        return None
    entry = price(field(pos, "entryPx", what), f"{what}.entryPx")
    leverage, leverage_type = 1.0, "cross"
    if _optional(pos, "leverage") is not None:
        lev = mapping(pos["leverage"], f"{what}.leverage")
        leverage = number(field(lev, "value", f"{what}.leverage"), f"{what}.leverage.value")
        if not (math.isfinite(leverage) and leverage > 0):
            raise bad(f"{what}.leverage.value: {show(leverage)} is not finite and > 0")
        kind = lev.get("type", "cross")
        leverage_type = text(kind, f"{what}.leverage.type")
    liquidation = None
    if _optional(pos, "liquidationPx") is not None:
        value = number(pos["liquidationPx"], f"{what}.liquidationPx")
        if not math.isfinite(value):
            raise bad(f"{what}.liquidationPx: not finite", ReasonCode.INVALID_PRICE)
        liquidation = value if value > 0 else None
    value = (
        money(pos["positionValue"], f"{what}.positionValue")
        if _optional(pos, "positionValue") is not None
        else abs(signed) * entry
    )
    return PerpPosition(
        coin=coin,
        signed_size=signed,
        entry_price=entry,
        leverage=leverage,
        leverage_type=leverage_type,
        liquidation_price=liquidation,
        margin_used=_money_or(pos, "marginUsed", what, 0.0),
        position_value=abs(value),
        unrealized_pnl=_money_or(pos, "unrealizedPnl", what, 0.0),
    )


def _money_or(raw: Mapping[str, Any], key: str, what: str, default: float) -> float:
    value = raw.get(key)
    return default if value is None else money(value, f"{what}.{key}")


def parse_clearinghouse(raw: object) -> ClearinghouseState:
    """`clearinghouseState` → the account and its open positions; without `marginSummary`
    the venue's `crossMarginSummary` is used. Any bad position rejects the whole state."""
    state = mapping(raw, "clearinghouseState")
    summary_raw = state.get("marginSummary")
    if summary_raw is None:
        summary_raw = state.get("crossMarginSummary")
    if summary_raw is None:
        raise bad("clearinghouseState: missing field 'marginSummary'")
    summary = mapping(summary_raw, "marginSummary")
    account_value = money(field(summary, "accountValue", "marginSummary"), "accountValue")
    positions: list[PerpPosition] = []
    coins: set[str] = set()
    items = sequence(field(state, "assetPositions", "clearinghouseState"), "assetPositions")
    for index, item in enumerate(items):
        position = _position(item, index)
        if position is None:
            continue
        if position.coin in coins:
            raise bad(f"assetPositions[{index}]: a second position in {position.coin!r}")
        coins.add(position.coin)
        positions.append(position)
    withdrawable = state.get("withdrawable")
    venue_time = state.get("time")
    return ClearinghouseState(
        account_value=account_value,
        withdrawable=None if withdrawable is None else money(withdrawable, "withdrawable"),
        total_margin_used=_money_or(summary, "totalMarginUsed", "marginSummary", 0.0),
        total_notional=_money_or(summary, "totalNtlPos", "marginSummary", 0.0),
        positions=tuple(positions),
        time_ms=None if venue_time is None else time_ms(venue_time, "clearinghouseState.time"),
    )


def parse_clearinghouse_state(raw: object, leader: str, time_ms: int) -> LeaderState:
    """`clearinghouseState` → the leader's account value and open positions (flat ones
    skipped), stamped `time_ms` (when we asked)."""
    return parse_clearinghouse(raw).leader_state(leader, time_ms)


def parse_account_snapshot(raw: object, received_ms: int) -> AccountSnapshot:
    """`clearinghouseState` of our account → an `AccountSnapshot`, stamped with the venue's
    `time` when it sends one, else `received_ms`."""
    state = parse_clearinghouse(raw)
    return state.account_snapshot(state.time_ms if state.time_ms is not None else received_ms)


# --- portfolio -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortfolioWindow:
    """One window of `portfolio`: histories oldest first, and the traded volume."""

    account_value: tuple[tuple[int, float], ...]
    pnl: tuple[tuple[int, float], ...]
    volume: float


def _history(raw: object, what: str) -> tuple[tuple[int, float], ...]:
    points: list[tuple[int, float]] = []
    for j, point in enumerate(sequence(raw, what)):
        p = sequence(point, f"{what}[{j}]")
        if len(p) != 2:
            raise bad(f"{what}[{j}]: expected [time, value]")
        points.append((time_ms(p[0], f"{what}[{j}] time"), money(p[1], f"{what}[{j}] value")))
    points.sort(key=lambda tv: tv[0])
    return tuple(points)


def parse_portfolio_windows(raw: object) -> dict[str, PortfolioWindow]:
    """`portfolio` → {window: histories}: "day", "week", "month", "allTime" and their "perp…"
    twins (perp-only: "perpAllTime" can have fewer points than "allTime"). Strict: a bad
    point rejects the payload (a history with holes would misstate drawdowns)."""
    windows: dict[str, PortfolioWindow] = {}
    for i, item in enumerate(sequence(raw, "portfolio")):
        what = f"portfolio[{i}]"
        pair = sequence(item, what)
        if len(pair) != 2:
            raise bad(f"{what}: expected [window, data]")
        name = text(pair[0], f"{what} window")
        data = mapping(pair[1], f"{what}.data")
        pnl_raw = data.get("pnlHistory")
        volume = data.get("vlm")
        windows[name] = PortfolioWindow(
            account_value=_history(field(data, "accountValueHistory", what), f"{name} values"),
            pnl=() if pnl_raw is None else _history(pnl_raw, f"{name} pnl"),
            volume=0.0 if volume is None else money(volume, f"{name}.vlm"),
        )
    return windows


def parse_portfolio(raw: object) -> list[tuple[int, float]]:
    """`portfolio` → (time_ms, account value) oldest first.

    We take the history that spans the longest time (ties: more points), which is "allTime"
    on the real venue and the ~90-day window the simulator serves."""
    best: tuple[tuple[int, float], ...] = ()
    best_key = (-1, -1)
    for window in parse_portfolio_windows(raw).values():
        history = window.account_value
        span = history[-1][0] - history[0][0] if history else -1
        if (span, len(history)) > best_key:
            best, best_key = history, (span, len(history))
    return list(best)
