"""What an import found wrong, line by line: bad data is reported, never silently absorbed.

Every row an importer reads ends in exactly one place: imported, or skipped under a reason
(`ImportReport.skipped`), so `rows_read == rows_imported + sum(skipped.values())` always holds.
Rows skipped because of *bad data* also get an `ImportIssue` naming the file and line; rows
skipped by *design* (a spot fill in a perp importer, another leader's fill) are only counted.
Some issues keep the row (a gap before a bar, an out-of-order line that was sorted): they are
listed in `ImportIssue` with `skipped=False`.

Reason codes share their values with the domain's `ReasonCode` where the meaning is the same
(INVALID_PRICE, UNKNOWN_COIN…), so an import rejection and a live-ingestion rejection read alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from tailgate.domain.reasons import ReasonCode

__all__ = [
    "DataImportError",
    "ImportIssue",
    "ImportReason",
    "ImportReport",
    "IssueLog",
    "reason_from_domain",
]


class DataImportError(ValueError):
    """A file that cannot be imported at all (empty, wrong format, a required column missing)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


class ImportReason(StrEnum):
    """Why a row was skipped or flagged."""

    # Same meaning (and value) as the domain's ingestion codes.
    INVALID_PRICE = ReasonCode.INVALID_PRICE.value  # NaN, inf, <= 0
    INVALID_SIZE = ReasonCode.INVALID_SIZE.value
    INVALID_TIME = ReasonCode.INVALID_TIME.value  # unparseable or non-positive time
    UNKNOWN_COIN = ReasonCode.UNKNOWN_COIN.value  # not in the caller's `known_coins`
    INCONSISTENT_FILL = ReasonCode.INCONSISTENT_FILL.value  # fields contradict each other
    # Any format.
    MALFORMED_ROW = "MALFORMED_ROW"  # wrong column count, not a number, missing JSON field
    UNSORTED_ROW = "UNSORTED_ROW"  # earlier than a previous row: kept, sorted into place
    FILE_REJECTED = "FILE_REJECTED"  # load_price_dir: a file that could not be imported
    # Fills.
    DUPLICATE_FILL = "DUPLICATE_FILL"  # the same fill again (same CSV line / same `tid`)
    SPOT_FILL = "SPOT_FILL"  # a spot trade: tailgate copies perpetuals (counted, no issue)
    NON_TRADE = "NON_TRADE"  # venue housekeeping: dust conversion, vault or borrow accounting
    UNKNOWN_DIRECTION = "UNKNOWN_DIRECTION"  # a `Direction` value this importer does not know
    OTHER_LEADER = "OTHER_LEADER"  # filtered out by the `leader` argument (counted, no issue)
    POSITION_DISCONTINUITY = "POSITION_DISCONTINUITY"  # fills missing before this one: kept
    # Bars.
    INVALID_VOLUME = "INVALID_VOLUME"  # NaN or negative volume
    INCONSISTENT_BAR = "INCONSISTENT_BAR"  # high < low, open/close outside [low, high]
    DUPLICATE_BAR = "DUPLICATE_BAR"  # same open time, same prices: the first is kept
    CONFLICTING_BARS = "CONFLICTING_BARS"  # same open time, different prices: all dropped
    OFF_GRID_BAR = "OFF_GRID_BAR"  # open time not on the series' interval grid
    STRAY_ROW = "STRAY_ROW"  # another symbol / interval / bar length than the rest of the file
    MISSING_BARS = "MISSING_BARS"  # a gap before this bar (not filled): kept
    INTERVAL_MISMATCH = "INTERVAL_MISMATCH"  # declared interval (file name, `i`) ≠ the data's
    SERIES_KEPT = "SERIES_KEPT"  # load_price_dir: this series was chosen among several
    SERIES_NOT_USED = "SERIES_NOT_USED"  # load_price_dir: a finer (or longer) series was kept


def reason_from_domain(code: ReasonCode) -> ImportReason:
    """The import reason for a domain rejection (validation, the venue parser)."""
    if code is ReasonCode.MALFORMED_PAYLOAD:
        return ImportReason.MALFORMED_ROW
    return ImportReason(code.value)


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem at one place in one file.

    `line` is the 1-based line number a text editor shows for CSV files, the 0-based element
    index for JSON lists, and None for an issue about the whole file.
    """

    path: Path
    line: int | None
    reason_code: ImportReason
    detail: str
    skipped: bool = True  # False: the row was kept (a gap, an unsorted line, a missing fill)

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.reason_code.value}: {self.detail}"
        where = f"[{self.line}]" if self.path.suffix.lower() == ".json" else f":{self.line}"
        outcome = "skipped" if self.skipped else "kept"
        return f"{self.path}{where}: {self.reason_code.value} ({outcome}): {self.detail}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """How one file went: rows read / imported, every issue, skip counts by reason.

    `time_resolution_ms`: the file's times are floored to this (60,000 for the fills CSV's
    minutes): an event stamped t happened in [t, t + resolution). A replay that must not act
    before the event should treat it as known at t + resolution.
    """

    path: Path
    rows_read: int
    rows_imported: int
    issues: tuple[ImportIssue, ...] = ()
    skipped: Mapping[ImportReason, int] = field(default_factory=dict)
    time_resolution_ms: int = 1

    def count(self, reason: ImportReason) -> int:
        """Issues with this reason (skipped or kept)."""
        return sum(1 for issue in self.issues if issue.reason_code is reason)

    def lines(self, reason: ImportReason) -> list[int | None]:
        """Where the issues with this reason are, in file order."""
        return [issue.line for issue in self.issues if issue.reason_code is reason]

    def summary(self) -> str:
        skips = ", ".join(f"{r.value} {n}" for r, n in sorted(self.skipped.items())) or "none"
        return (
            f"{self.path.name}: {self.rows_imported}/{self.rows_read} rows imported; "
            f"skipped: {skips}; {len(self.issues)} issues"
        )


class IssueLog:
    """Mutable collector an importer fills while reading; frozen into an `ImportReport`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.issues: list[ImportIssue] = []
        self.skipped: Counter[ImportReason] = Counter()

    def skip(self, line: int, reason: ImportReason, detail: str) -> None:
        """A row not imported because its data is bad: counted and listed."""
        self.skipped[reason] += 1
        self.issues.append(ImportIssue(self.path, line, reason, detail))

    def count_skip(self, reason: ImportReason) -> None:
        """A row not imported by design (spot, another leader): counted, not listed."""
        self.skipped[reason] += 1

    def note(self, line: int | None, reason: ImportReason, detail: str) -> None:
        """A problem that drops nothing (gap, unsorted line; line None: the whole file)."""
        self.issues.append(ImportIssue(self.path, line, reason, detail, skipped=False))

    def report(
        self, rows_read: int, rows_imported: int, *, time_resolution_ms: int = 1
    ) -> ImportReport:
        skipped_total = sum(self.skipped.values())
        if rows_read != rows_imported + skipped_total:  # an importer bug, never the data's
            raise AssertionError(
                f"{self.path}: {rows_read} rows read != {rows_imported} imported "
                f"+ {skipped_total} skipped"
            )
        # File-level issues first, then by line; stable, so one line's issues keep their order.
        ordered = sorted(self.issues, key=lambda i: -1 if i.line is None else i.line)
        return ImportReport(
            self.path,
            rows_read,
            rows_imported,
            tuple(ordered),
            dict(self.skipped),
            time_resolution_ms,
        )
