"""Raw Hyperliquid `userFills` JSON (a list of fill objects), in memory or in a file.

Parsing is the venue adapter's `parse_user_fill`, element by element — the same code live
ingestion runs, so an imported fill and a streamed one are the same object. This module only
adds what an import needs on top: the element index of every rejection, the perp / spot /
housekeeping split and consistency checks of `fill_rules`, and de-duplication by fill id
(`tid`, or the parser's derived id for pre-2023 fills without one).

The JSON has no user field: the leader comes from the caller, else from the one wallet
address in the file name (`0xb7b6…17b2.json`). `liquidation` is the parser's (the venue's
`liquidation` object) or-ed with a "Liquidated …" direction. The venue sends newest first;
the result is oldest first, stable, so fills of one millisecond keep the venue's order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from tailgate.backtest.data.files import read_json
from tailgate.backtest.data.fill_rules import (
    LIQUIDATION_DIRECTIONS,
    DirectionKind,
    check_perp_fill,
    classify_direction,
    finish_fills,
)
from tailgate.backtest.data.issues import (
    DataImportError,
    ImportReason,
    ImportReport,
    IssueLog,
    reason_from_domain,
)
from tailgate.backtest.data.names import leader_from_name
from tailgate.domain.models import LeaderFill
from tailgate.venues.hyperliquid.parse import excerpt, parse_user_fill
from tailgate.venues.protocols import PayloadError

__all__ = ["load_user_fills_json", "read_user_fills"]


def read_user_fills(
    raw: list[object],
    leader: str,
    *,
    path: Path | str = "<userFills>",
    known_coins: Collection[str] | None = None,
) -> tuple[list[LeaderFill], ImportReport]:
    """Perp fills of a decoded `userFills` list, oldest first; issues carry element indexes."""
    log = IssueLog(Path(path))
    leader = leader.lower()
    entries: list[tuple[int, LeaderFill]] = []
    seen: dict[str, int] = {}
    for index, element in enumerate(raw):
        try:
            fill = parse_user_fill(element, leader)  # type: ignore[arg-type]
        except PayloadError as exc:
            log.skip(index, reason_from_domain(exc.reason), f"{exc.detail}: {excerpt(element)}")
            continue
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            detail = f"fill: {type(exc).__name__}: {excerpt(element)}"
            log.skip(index, ImportReason.MALFORMED_ROW, detail)
            continue
        kind = classify_direction(fill.direction)
        if kind is DirectionKind.SPOT:
            log.count_skip(ImportReason.SPOT_FILL)
            continue
        if kind is DirectionKind.NON_TRADE:
            log.count_skip(ImportReason.NON_TRADE)
            continue
        if kind is DirectionKind.UNKNOWN:
            log.skip(index, ImportReason.UNKNOWN_DIRECTION, f"dir={fill.direction!r}")
            continue
        problem = check_perp_fill(fill, known_coins)
        if problem is not None:
            log.skip(index, *problem)
            continue
        if fill.fill_id in seen:
            first = seen[fill.fill_id]
            log.skip(
                index,
                ImportReason.DUPLICATE_FILL,
                f"fill id {fill.fill_id} already at [{first}]",
            )
            continue
        seen[fill.fill_id] = index
        if fill.direction in LIQUIDATION_DIRECTIONS and not fill.liquidation:
            fill = replace(fill, liquidation=True)
        entries.append((index, fill))
    fills = finish_fills(entries, log, note_unsorted=False)
    return fills, log.report(len(raw), len(fills))


def load_user_fills_json(
    path: Path | str,
    *,
    leader: str | None = None,
    known_coins: Collection[str] | None = None,
) -> tuple[list[LeaderFill], ImportReport]:
    """A file holding a `userFills` response body."""
    path = Path(path)
    owner = leader or leader_from_name(path.stem)
    if not owner:
        raise DataImportError(
            path, "userFills JSON names no user: pass leader=, or put the address in the name"
        )
    raw = read_json(path)
    if not isinstance(raw, list):
        raise DataImportError(path, f"expected a JSON list of fills, got {type(raw).__name__}")
    return read_user_fills(raw, owner, path=path, known_coins=known_coins)
