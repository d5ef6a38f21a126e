"""Shape checks shared by every Hyperliquid parser: one place that says what a venue number,
integer, price or size is, and how a rejection reads.

Everything here raises `PayloadError` (a typed reason and a detail naming the field) and
nothing else, whatever the input: hostile values (a 5,000-digit integer, a self-referencing
list, a NaN) are described without being printed in full.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from tailgate.domain.reasons import ReasonCode
from tailgate.venues.protocols import PayloadError, RejectedPayload

__all__ = [
    "EXCERPT_CHARS",
    "INT64_MAX",
    "SHAPE_ERRORS",
    "bad",
    "decode_json",
    "excerpt",
    "field",
    "integer",
    "is_plain_decimal",
    "mapping",
    "money",
    "number",
    "price",
    "reject_of",
    "sequence",
    "show",
    "size",
    "skip_bad_items",
    "text",
    "time_ms",
]

EXCERPT_CHARS = 160
INT64_MAX = 2**63 - 1  # ids and times must fit the store's integer columns
_SHOW_CHARS = 40
_EXCERPT_DEPTH = 8  # deeper structure is elided: an excerpt is for a human, not a replay

T = TypeVar("T")

# The exceptions a parser may meet on input that is not JSON-shaped (an exotic Mapping whose
# lookups misbehave, a recursive structure); they become rejections, never escape.
SHAPE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError)


def bad(detail: str, reason: ReasonCode = ReasonCode.MALFORMED_PAYLOAD) -> PayloadError:
    return PayloadError(reason, detail)


def show(value: object, limit: int = _SHOW_CHARS) -> str:
    """A short repr of a value for an error detail, safe on any input."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<{value.bit_length()}-bit integer>"
    if isinstance(value, str | int | float | bool | Decimal) or value is None:
        text = repr(value[: limit + 1] if isinstance(value, str) else value)
    else:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _excerpt_parts(raw: object, depth: int, out: list[str], budget: list[int]) -> None:
    """Append a JSON-like rendering of `raw` to `out` until `budget[0]` characters are used."""
    if budget[0] <= 0:
        return
    if isinstance(raw, Mapping):
        if depth >= _EXCERPT_DEPTH:
            piece = "{…}"
        else:
            out.append("{")
            budget[0] -= 1
            for i, (key, value) in enumerate(raw.items()):
                if budget[0] <= 0:
                    return
                name = key[:_SHOW_CHARS] if isinstance(key, str) else show(key)
                head = (", " if i else "") + json.dumps(name) + ": "
                out.append(head)
                budget[0] -= len(head)
                _excerpt_parts(value, depth + 1, out, budget)
            piece = "}"
    elif isinstance(raw, list | tuple):
        if depth >= _EXCERPT_DEPTH:
            piece = "[…]"
        else:
            out.append("[")
            budget[0] -= 1
            for i, value in enumerate(raw):
                if budget[0] <= 0:
                    return
                if i:
                    out.append(", ")
                    budget[0] -= 2
                _excerpt_parts(value, depth + 1, out, budget)
            piece = "]"
    elif isinstance(raw, str):
        piece = json.dumps(raw[: budget[0]])
    elif raw is None or isinstance(raw, bool):
        piece = json.dumps(raw)
    elif isinstance(raw, int | float | Decimal):
        piece = show(raw, budget[0] + 1)
    else:
        piece = f"<{type(raw).__name__}>"
    out.append(piece)
    budget[0] -= len(piece)


def excerpt(raw: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable excerpt of a payload for a rejection record.

    Bounded work whatever the input (a 25 MB document is not serialized to keep 160 chars of
    it), and never raises."""
    out: list[str] = []
    try:
        _excerpt_parts(raw, 0, out, [limit])
        text = "".join(out)
    except Exception:  # an exotic object whose iteration fails: still an excerpt
        text = f"<{type(raw).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reject_of(exc: BaseException, raw: object, what: str) -> RejectedPayload:
    """The rejection record for an element that failed to parse."""
    if isinstance(exc, PayloadError):
        return RejectedPayload(exc.reason, exc.detail, excerpt(raw))
    detail = f"{what}: {type(exc).__name__}"
    return RejectedPayload(ReasonCode.MALFORMED_PAYLOAD, detail, excerpt(raw))


def skip_bad_items(
    items: Iterable[object], parse: Callable[[Any], T], what: str
) -> tuple[list[T], list[RejectedPayload]]:
    """Parse each element; a bad one becomes a rejection and the good ones are kept."""
    good: list[T] = []
    rejects: list[RejectedPayload] = []
    for item in items:
        try:
            good.append(parse(item))
        except (PayloadError, *SHAPE_ERRORS) as exc:
            rejects.append(reject_of(exc, item, what))
    return good, rejects


def decode_json(raw: str | bytes | bytearray, what: str) -> Any:
    """JSON text → Python, every failure (bad UTF-8, bad JSON, too deep, a 5,000-digit number)
    a PayloadError."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise bad(f"{what}: nested too deeply") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise bad(f"{what}: not JSON ({type(exc).__name__})") from None


def mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise bad(f"{what}: expected an object, got {type(raw).__name__}")
    return raw


def sequence(raw: object, what: str) -> list[Any]:
    if not isinstance(raw, list):
        raise bad(f"{what}: expected a list, got {type(raw).__name__}")
    return raw


def field(raw: Mapping[str, Any], key: str, what: str) -> Any:
    if key not in raw:
        raise bad(f"{what}: missing field {key!r}")
    return raw[key]


def is_plain_decimal(text: str) -> bool:
    """Python's float() also reads " 7 ", "1_000" and "١٢٣"; the venue never writes those."""
    return text.isascii() and "_" not in text and text == text.strip()


def number(value: object, what: str) -> float:
    """A venue number: a decimal string or a JSON number (never a bool). NaN and negatives
    parse; `price`, `size` and `money` judge the value."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is str and len(value) <= 40 and is_plain_decimal(value):  # type: ignore[arg-type]
        try:  # the common case, without the checks below (a hot path: 30k-row leaderboards)
            return float(value)  # type: ignore[arg-type]
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise bad(f"{what}: expected a number, got {type(value).__name__}")
    if isinstance(value, str) and (len(value) > 400 or not is_plain_decimal(value)):
        raise bad(f"{what}: not a venue number {show(value)}")
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise bad(f"{what}: unparseable number {show(value)}") from None


def integer(value: object, what: str) -> int:
    """An integer (ms time, order id): an int, a digit string or an integral float, that fits
    a signed 64-bit column."""
    result: int | None = None
    if isinstance(value, bool):
        raise bad(f"{what}: expected an integer, got bool")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and len(value) <= 40:
        with contextlib.suppress(ValueError):
            result = int(value.strip())
    if result is None:
        raise bad(f"{what}: expected an integer, got {show(value)}")
    if not -INT64_MAX <= result <= INT64_MAX:
        raise bad(f"{what}: integer {show(value)} out of the 64-bit range")
    return result


def text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise bad(f"{what}: expected a non-empty string")
    return value


def price(value: object, what: str) -> float:
    """A price: finite and > 0, else INVALID_PRICE."""
    result = number(value, what)
    if not (math.isfinite(result) and result > 0):
        raise bad(f"{what}: price {show(value)} is not finite and > 0", ReasonCode.INVALID_PRICE)
    return result


def size(value: object, what: str, *, allow_zero: bool = False) -> float:
    """A size in coins: finite and > 0 (or >= 0 when `allow_zero`), else INVALID_SIZE."""
    result = number(value, what)
    ok = math.isfinite(result) and (result >= 0 if allow_zero else result > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise bad(f"{what}: size {show(value)} is not finite and {bound}", ReasonCode.INVALID_SIZE)
    return result


def money(value: object, what: str) -> float:
    """A USD amount or a ratio (pnl, roi, account value): any sign, but finite."""
    result = number(value, what)
    if not math.isfinite(result):
        raise bad(f"{what}: {show(value)} is not finite")
    return result


def time_ms(value: object, what: str) -> int:
    """A ms timestamp: an integer > 0, else INVALID_TIME."""
    result = integer(value, what)
    if result <= 0:
        raise bad(f"{what}: time {result} is not > 0", ReasonCode.INVALID_TIME)
    return result
