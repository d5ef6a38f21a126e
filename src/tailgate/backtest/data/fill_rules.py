"""Rules every leader-fill importer applies, whatever the file format.

Hyperliquid's `dir` (the CSV's `Direction`) says what a fill did. tailgate copies perpetuals, so:

* perp position changes become `LeaderFill`s: Open / Close Long / Short, Long > Short,
  Short > Long; the four "Liquidated {Isolated, Cross} {Long, Short}" with `liquidation=True`;
  Auto-Deleveraging and Settlement (the venue closed the position: not the leader's choice,
  but the position did change, and dropping them would make it look like a liquidation later)
  with `liquidation=False` — ADL hits *profitable* positions and must not blacklist a leader;
* spot trades (`Buy` / `Sell`) are counted as SPOT_FILL, venue housekeeping (Spot Dust
  Conversion, Net Child Vaults, borrow liquidations) as NON_TRADE, both without an issue;
* any other value is an UNKNOWN_DIRECTION issue: skipped, never guessed.

A perp fill must agree with itself (INCONSISTENT_FILL otherwise): the side its direction
implies, the sign of the position it starts from, and a perp — not a spot ("@107",
"PURR/USDC") — coin.

After reading, fills are sorted by time, stably (equal times keep file order, which is
execution order), and each (leader, coin) is walked: a fill whose start position is not where
the previous fill left the position means fills are missing from the file — noted on that
line as POSITION_DISCONTINUITY (kept: the fill itself is fine, the history has a hole).
A leader's order crossing their own resting order shows as a buy and a sell of one size in
one transaction, both from the same start position: the pair leaves the position unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum

from tailgate.backtest.data.issues import ImportReason, IssueLog, reason_from_domain
from tailgate.backtest.data.names import iso_utc
from tailgate.domain.models import LeaderFill
from tailgate.domain.validation import validate_leader_fill

__all__ = [
    "LIQUIDATION_DIRECTIONS",
    "NON_TRADE_DIRECTIONS",
    "PERP_DIRECTIONS",
    "SPOT_DIRECTIONS",
    "DirectionKind",
    "PerpRule",
    "check_perp_fill",
    "classify_direction",
    "finish_fills",
    "is_spot_coin",
]

_POSITION_TOLERANCE = 1e-9  # relative and absolute: float sums of decimal sizes


@dataclass(frozen=True, slots=True)
class PerpRule:
    """What a perp direction implies about a fill."""

    is_buy: bool | None  # None: either side (the venue reduces whatever side was open)
    start_sign: int  # 1: start must be > 0, -1: < 0, 0: checked elsewhere (Open, ADL) or not
    liquidation: bool = False


# Open Long starts flat or long; Close Long starts long; a flip starts on the old side.
PERP_DIRECTIONS: Mapping[str, PerpRule] = {
    "Open Long": PerpRule(True, 0),
    "Open Short": PerpRule(False, 0),
    "Close Long": PerpRule(False, 1),
    "Close Short": PerpRule(True, -1),
    "Long > Short": PerpRule(False, 1),
    "Short > Long": PerpRule(True, -1),
    "Liquidated Isolated Long": PerpRule(False, 1, liquidation=True),
    "Liquidated Cross Long": PerpRule(False, 1, liquidation=True),
    "Liquidated Isolated Short": PerpRule(True, -1, liquidation=True),
    "Liquidated Cross Short": PerpRule(True, -1, liquidation=True),
    "Auto-Deleveraging": PerpRule(None, 0),
    "Settlement": PerpRule(None, 0),
}
LIQUIDATION_DIRECTIONS = frozenset(d for d, rule in PERP_DIRECTIONS.items() if rule.liquidation)
SPOT_DIRECTIONS = frozenset({"Buy", "Sell"})
NON_TRADE_DIRECTIONS = frozenset(
    {
        "Spot Dust Conversion",
        "Net Child Vaults",
        "Backstop Borrow Liquidation",
        "Partial Borrow Liquidation",
    }
)
# The sign of the start position an Open may not have: Open Long from a short is a flip.
_OPEN_FORBIDDEN_SIGN = {"Open Long": -1, "Open Short": 1}


class DirectionKind(Enum):
    PERP = "perp"
    SPOT = "spot"
    NON_TRADE = "non-trade"
    UNKNOWN = "unknown"


def classify_direction(direction: str) -> DirectionKind:
    if direction in PERP_DIRECTIONS:
        return DirectionKind.PERP
    if direction in SPOT_DIRECTIONS:
        return DirectionKind.SPOT
    if direction in NON_TRADE_DIRECTIONS:
        return DirectionKind.NON_TRADE
    return DirectionKind.UNKNOWN


def is_spot_coin(coin: str) -> bool:
    """Hyperliquid names spot pairs "@<index>" or "BASE/QUOTE"; perps by the coin alone."""
    return coin.startswith("@") or "/" in coin


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def check_perp_fill(
    fill: LeaderFill, known_coins: Collection[str] | None
) -> tuple[ImportReason, str] | None:
    """None if a perp fill is usable, else (reason, detail). The fill's direction is a perp one."""
    if is_spot_coin(fill.coin):
        return ImportReason.INCONSISTENT_FILL, f"perp direction {fill.direction!r} on spot coin"
    coins = known_coins if known_coins is not None else (fill.coin,)
    rejected = validate_leader_fill(fill, coins)
    if rejected is not None:
        return reason_from_domain(rejected[0]), rejected[1]
    rule = PERP_DIRECTIONS[fill.direction]
    side = "buy" if fill.is_buy else "sell"
    if rule.is_buy is not None and rule.is_buy != fill.is_buy:
        return ImportReason.INCONSISTENT_FILL, f"{fill.direction!r} cannot be a {side}"
    start = _sign(fill.start_position)
    if rule.start_sign and start != rule.start_sign:
        return (
            ImportReason.INCONSISTENT_FILL,
            f"{fill.direction!r} from start position {fill.start_position!r}",
        )
    if start == _OPEN_FORBIDDEN_SIGN.get(fill.direction):
        return (
            ImportReason.INCONSISTENT_FILL,
            f"{fill.direction!r} from start position {fill.start_position!r}",
        )
    if rule.is_buy is None and start == (1 if fill.is_buy else -1):
        return (
            ImportReason.INCONSISTENT_FILL,
            f"{fill.direction!r} must reduce a position: a {side} from {fill.start_position!r}",
        )
    return None


def finish_fills(
    entries: list[tuple[int, LeaderFill]], log: IssueLog, *, note_unsorted: bool
) -> list[LeaderFill]:
    """Sort (line, fill) pairs by time, stably; note disorder and missing fills on their lines.

    `note_unsorted`: a fill earlier than a previous fill *of the same leader* is an issue for
    files meant to be in time order (the CSV export); JSON `userFills` is newest first by design.
    """
    if note_unsorted:
        latest: dict[str, int] = {}
        for line, fill in entries:
            before = latest.get(fill.leader)
            if before is not None and fill.time_ms < before:
                log.note(
                    line,
                    ImportReason.UNSORTED_ROW,
                    f"{fill.coin} fill at {iso_utc(fill.time_ms)} is earlier than "
                    f"{iso_utc(before)} above it for this leader; sorted into place",
                )
            else:
                latest[fill.leader] = fill.time_ms
    ordered = sorted(entries, key=lambda e: e[1].time_ms)
    last: dict[tuple[str, str], tuple[float, int, LeaderFill]] = {}  # -> (held, line, fill)
    for line, fill in ordered:
        key = (fill.leader, fill.coin)
        if key not in last:
            last[key] = (fill.end_position, line, fill)
            continue
        held, previous_line, previous = last[key]
        if _self_cross(previous, fill):
            last[key] = (fill.start_position, line, fill)  # the pair nets to zero
            continue
        if not _close(held, fill.start_position):
            log.note(
                line,
                ImportReason.POSITION_DISCONTINUITY,
                f"{fill.coin} start position {fill.start_position!r} ≠ {held!r} left by "
                f"the fill at {_where(previous_line, log)}: fills are missing before this one",
            )
        last[key] = (fill.end_position, line, fill)
    return [fill for _, fill in ordered]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_POSITION_TOLERANCE, abs_tol=_POSITION_TOLERANCE)


def _self_cross(a: LeaderFill, b: LeaderFill) -> bool:
    """Two legs of a leader's order crossing their own: one transaction, a buy and a sell of
    the same size, both reported from the same start position (the venue nets them)."""
    return (
        bool(a.tx_hash)
        and a.tx_hash == b.tx_hash
        and a.is_buy != b.is_buy
        and _close(a.size, b.size)
        and _close(a.start_position, b.start_position)
    )


def _where(line: int, log: IssueLog) -> str:
    return f"[{line}]" if log.path.suffix.lower() == ".json" else f"line {line}"
