"""Hyperliquid fills exported as CSV (the "historical_data.csv" trade-history export).

Columns (header names matched case-insensitively): Account, Coin, Execution Price, Size Tokens,
Side (BUY / SELL), Timestamp IST, Start Position, Direction, Order ID are required; Closed PnL,
Fee, Transaction Hash, Size USD, Crossed, Trade ID, Timestamp are optional.

Time: `Timestamp IST` is "DD-MM-YYYY HH:MM" (hour may be one digit) in India Standard Time,
UTC+05:30, to the minute. `time_ms` is the start of that minute in UTC ms — no invented
sub-minute offset; the report's `time_resolution_ms` (60,000) says the fill happened within
the following minute, so a replay that must not act before the fill knows to wait for it.
Fills of one minute keep the file's order, which is their execution order; the result is
sorted by time stably, so that order survives. (The `Timestamp` and `Trade ID` columns of the
widely shared export were mangled to three significant digits, "1.73E+12": never used.)

Fill id: the export has no usable trade id, so one is derived from the row itself —
`"<order id>-<16 hex>"`, the hex being a BLAKE2b digest of (account, coin, price, size, side,
IST time, start position, direction, closed PnL, transaction hash, order id, fee) as written,
plus `"-<n>"` for the n-th (n ≥ 1) later row with the same digest (rows that differ only in
the unusable columns: the upstream trade ids told them apart). It depends on content, not on
line numbers: the same row gives the same id in this file, again, or in a longer export.
A row repeated exactly (every column) is a DUPLICATE_FILL: skipped, reported.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Collection
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from tailgate.backtest.data.files import reading
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
)
from tailgate.domain.models import MS_PER_MINUTE, LeaderFill

__all__ = ["HL_FILLS_CSV_COLUMNS", "IST", "load_hl_fills_csv", "parse_ist_minute"]

IST = timezone(timedelta(hours=5, minutes=30), "IST")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DIGEST_BYTES = 8
_SEP = "\x1f"
# Size USD is rounded to cents; anything further off means price or size is corrupt.
_USD_ABS_TOLERANCE = 0.01
_USD_REL_TOLERANCE = 1e-3

REQUIRED = (
    "account",
    "coin",
    "execution price",
    "size tokens",
    "side",
    "timestamp ist",
    "start position",
    "direction",
    "order id",
)
OPTIONAL = ("closed pnl", "fee", "transaction hash", "size usd")
HL_FILLS_CSV_COLUMNS = REQUIRED + OPTIONAL
# The columns the fill id digests, in this order (all present in a row once it parses).
_ID_COLUMNS = (
    "account",
    "coin",
    "execution price",
    "size tokens",
    "side",
    "timestamp ist",
    "start position",
    "direction",
    "closed pnl",
    "transaction hash",
    "order id",
    "fee",
)
_SIDES = {"BUY": True, "SELL": False, "B": True, "A": False}
_BY_DESIGN = {
    DirectionKind.SPOT: ImportReason.SPOT_FILL,
    DirectionKind.NON_TRADE: ImportReason.NON_TRADE,
}


def parse_ist_minute(text: str) -> int | None:
    """'02-12-2024 22:50' (IST) → UTC epoch ms of that minute; None if it is not such a time."""
    try:
        date_part, time_part = text.strip().split(" ")
        day, month, year = date_part.split("-")
        hour, minute = time_part.split(":")
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=IST)
    except ValueError:
        return None
    return (moment - _EPOCH) // _MS


class _Columns:
    """Header positions of the columns this importer reads.

    A missing optional column points one past the row's last cell, where `cells()` puts "".
    """

    def __init__(self, header: list[str], path: Path) -> None:
        index = {name.strip().lower(): i for i, name in enumerate(header)}
        missing = [name for name in REQUIRED if name not in index]
        if missing:
            raise DataImportError(
                path,
                f"not a Hyperliquid fills CSV: missing column(s) {', '.join(missing)} "
                f"(header: {', '.join(header)})",
            )
        self.width = len(header)
        at = {name: index.get(name, self.width) for name in HL_FILLS_CSV_COLUMNS}
        self.account, self.coin, self.side = at["account"], at["coin"], at["side"]
        self.price, self.size = at["execution price"], at["size tokens"]
        self.time, self.start = at["timestamp ist"], at["start position"]
        self.direction, self.order = at["direction"], at["order id"]
        self.pnl, self.fee, self.tx_hash = at["closed pnl"], at["fee"], at["transaction hash"]
        self.usd = at["size usd"]
        self.id_columns = tuple(at[name] for name in _ID_COLUMNS)

    def cells(self, row: list[str]) -> list[str]:
        """The row's cells stripped, plus the "" that missing optional columns point at."""
        return [*(cell.strip() for cell in row), ""]


def _number(text: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{column}={text!r} is not a number") from None


def _optional_number(text: str, column: str) -> float:
    return _number(text, column) if text else 0.0


def _parse_row(
    cells: list[str], cols: _Columns, times: dict[str, int | None], fill_id: str
) -> LeaderFill | tuple[ImportReason, str]:
    """The row as a LeaderFill, or why it cannot be one. `times` caches parsed minutes."""
    stamp = cells[cols.time]
    if stamp not in times:
        times[stamp] = parse_ist_minute(stamp)
    time_ms = times[stamp]
    if time_ms is None:
        return ImportReason.INVALID_TIME, f"Timestamp IST={stamp!r} is not DD-MM-YYYY HH:MM"
    side = cells[cols.side].upper()
    if side not in _SIDES:
        return ImportReason.MALFORMED_ROW, f"Side={side!r} is not BUY or SELL"
    order_text = cells[cols.order]
    if not order_text.isdigit():
        return ImportReason.MALFORMED_ROW, f"Order ID={order_text!r} is not an integer"
    direction = cells[cols.direction]
    try:
        return LeaderFill(
            leader=cells[cols.account].lower(),
            coin=cells[cols.coin],
            price=_number(cells[cols.price], "Execution Price"),
            size=_number(cells[cols.size], "Size Tokens"),
            is_buy=_SIDES[side],
            direction=direction,
            start_position=_number(cells[cols.start], "Start Position"),
            time_ms=time_ms,
            order_id=int(order_text),
            fill_id=fill_id,
            tx_hash=cells[cols.tx_hash],
            closed_pnl=_optional_number(cells[cols.pnl], "Closed PnL"),
            fee=_optional_number(cells[cols.fee], "Fee"),
            liquidation=direction in LIQUIDATION_DIRECTIONS,
        )
    except ValueError as exc:
        return ImportReason.MALFORMED_ROW, str(exc)


def _usd_mismatch(cells: list[str], cols: _Columns, fill: LeaderFill) -> str | None:
    """Size USD, when given, must be price × size (to the cent): else a column is corrupt."""
    text = cells[cols.usd]
    if not text:
        return None
    try:
        usd = float(text)
    except ValueError:
        return f"Size USD={text!r} is not a number"
    notional = fill.price * fill.size
    if not math.isclose(usd, notional, rel_tol=_USD_REL_TOLERANCE, abs_tol=_USD_ABS_TOLERANCE):
        return f"Size USD {text} ≠ price × size {notional:.2f}"
    return None


def _digest(cells: list[str], cols: _Columns) -> str:
    parts = [cells[i] for i in cols.id_columns]
    parts[0] = parts[0].lower()  # the account: one wallet however it is cased
    text = _SEP.join(parts).encode()
    return hashlib.blake2b(text, digest_size=_DIGEST_BYTES).hexdigest()


def load_hl_fills_csv(
    path: Path | str,
    *,
    leader: str | None = None,
    known_coins: Collection[str] | None = None,
) -> tuple[list[LeaderFill], ImportReport]:
    """Perp fills of the file (of `leader` only, if given), oldest first, and the report."""
    path = Path(path)
    log = IssueLog(path)
    only = leader.lower() if leader else None
    entries: list[tuple[int, LeaderFill]] = []
    seen_rows: dict[tuple[str, ...], int] = {}
    digests: dict[str, int] = {}  # digest -> how many accepted rows had it
    times: dict[str, int | None] = {}
    rows_read = 0
    with path.open(newline="", encoding="utf-8-sig") as handle, reading(path):
        reader = csv.reader(handle)
        header = next((row for row in reader if any(c.strip() for c in row)), None)
        if header is None:
            raise DataImportError(path, "empty file: no header, no rows")
        cols = _Columns(header, path)
        for row in reader:
            cells = cols.cells(row)
            if not any(cells):
                continue  # a blank line carries no data
            rows_read += 1
            line = reader.line_num
            if len(row) != cols.width:
                log.skip(
                    line,
                    ImportReason.MALFORMED_ROW,
                    f"{len(row)} columns, the header has {cols.width}",
                )
                continue
            account = cells[cols.account].lower()
            if only is not None and account != only:
                log.count_skip(ImportReason.OTHER_LEADER)
                continue
            direction = cells[cols.direction]
            kind = classify_direction(direction)
            if kind is not DirectionKind.PERP:
                if kind is DirectionKind.UNKNOWN:
                    log.skip(line, ImportReason.UNKNOWN_DIRECTION, f"Direction={direction!r}")
                else:
                    log.count_skip(_BY_DESIGN[kind])
                continue
            if not account:
                log.skip(line, ImportReason.MALFORMED_ROW, "Account is empty")
                continue
            key = tuple(cells)
            if key in seen_rows:
                log.skip(line, ImportReason.DUPLICATE_FILL, f"same row as line {seen_rows[key]}")
                continue
            seen_rows[key] = line
            digest = _digest(cells, cols)
            occurrence = digests.get(digest, 0)
            fill_id = f"{cells[cols.order]}-{digest}" + (f"-{occurrence}" if occurrence else "")
            parsed = _parse_row(cells, cols, times, fill_id)
            if isinstance(parsed, tuple):
                log.skip(line, *parsed)
                continue
            problem = check_perp_fill(parsed, known_coins)
            if problem is None and (usd := _usd_mismatch(cells, cols, parsed)) is not None:
                problem = (ImportReason.INCONSISTENT_FILL, usd)
            if problem is not None:
                log.skip(line, *problem)
                continue
            digests[digest] = occurrence + 1
            entries.append((line, parsed))
    fills = finish_fills(entries, log, note_unsorted=True)
    return fills, log.report(rows_read, len(fills), time_resolution_ms=MS_PER_MINUTE)
