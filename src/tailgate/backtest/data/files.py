"""Opening a data file: "this is not text / CSV / JSON" becomes a `DataImportError` naming it.

Row-level problems are issues; these are file-level ones, where nothing can be read at all.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tailgate.backtest.data.issues import DataImportError

__all__ = ["first_char", "read_json", "reading"]

_SNIFF_BYTES = 4096


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Re-raise decoding and CSV-module failures as a `DataImportError` for `path`."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise DataImportError(path, f"not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise DataImportError(path, f"unreadable CSV: {exc}") from None


def read_json(path: Path) -> object:
    """The decoded file; a `DataImportError` with line and column if it is not JSON."""
    with reading(path):
        text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise DataImportError(path, "empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataImportError(
            path, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def first_char(path: Path) -> str:
    """The first non-blank character of the file ('' for an empty one): '[' or '{' is JSON."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")[:1]
