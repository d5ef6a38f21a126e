"""Read the elements of one big JSON array as the bytes arrive, holding one element at a time.

`{"leaderboardRows": [row, row, … 30,000 rows, 25 MB]}` need not be in memory to be read:
`ArraySplitter("leaderboardRows")` takes chunks as they come off the socket and hands back each
complete element of that array, decoded by the standard library's C scanner (`raw_decode`), so
the cost is the JSON decode itself. Only the top-level object is walked by hand; other keys'
values are decoded and dropped.

Hostile input is bounded: an element (or another key's value) longer than `max_item_chars`
that still does not decode is rejected, so a document that never closes its first row cannot
make us buffer the rest of the stream; nesting deeper than Python's recursion limit is
rejected; bad UTF-8 is rejected. Every failure is a `PayloadError`, raised when it is seen —
elements already handed back stay handed back, so a caller that needs all-or-nothing must
collect before acting (a truncated leaderboard is an error, not a shorter leaderboard).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from tailgate.venues.hyperliquid.parse_common import bad

__all__ = ["MAX_ITEM_CHARS", "ArraySplitter"]

MAX_ITEM_CHARS = 256 * 1024  # a real leaderboard row is ~500 characters
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NEED_MORE = object()

# where the walk of the top-level object is
_START, _KEY_OR_END, _KEY, _COLON, _VALUE, _ITEM_OR_END, _ITEM, _AFTER_ITEM = range(8)
_AFTER_VALUE, _DONE = 8, 9


class ArraySplitter:
    """Push JSON text in (`feed`, then `close`), take the elements of `key`'s array out."""

    def __init__(self, key: str, *, max_item_chars: int = MAX_ITEM_CHARS) -> None:
        self.key = key
        self.max_item_chars = max_item_chars
        self.found = False  # the key's array was seen
        self.count = 0  # elements handed back so far
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._state = _START
        self._current_key: str | None = None

    def feed(self, chunk: bytes | bytearray | memoryview | str) -> list[Any]:
        """The elements completed by this chunk."""
        if isinstance(chunk, str):
            text = chunk
        elif isinstance(chunk, bytes | bytearray | memoryview):
            try:
                text = self._utf8.decode(bytes(chunk))
            except UnicodeDecodeError:
                raise bad(f"{self.key}: the document is not UTF-8") from None
        else:
            raise bad(f"{self.key}: a chunk of {type(chunk).__name__}, expected bytes")
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return self._run(final=False)

    def close(self) -> list[Any]:
        """The last elements; raises PayloadError if the document is incomplete or has no
        `key` array."""
        try:
            tail = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise bad(f"{self.key}: the document ends inside a UTF-8 character") from None
        self._buf = self._buf[self._pos :] + tail
        self._pos = 0
        items = self._run(final=True)
        if self._state != _DONE:
            raise bad(f"{self.key}: the document is truncated after {self.count} elements")
        if not self.found:
            raise bad(f"the document has no {self.key!r} list")
        return items

    # ---- the walk --------------------------------------------------------------------------

    def _decode(self, final: bool) -> Any:
        """One JSON value at the cursor, or _NEED_MORE."""
        buf, pos = self._buf, self._pos
        try:
            value, end = self._json.raw_decode(buf, pos)
        except RecursionError:
            raise bad(f"{self.key}: nested too deeply") from None
        except json.JSONDecodeError:
            if final:
                detail = f"{self.key}: malformed or truncated JSON at element {self.count}"
                raise bad(detail) from None
            if len(buf) - pos > self.max_item_chars:
                raise bad(
                    f"{self.key}: element {self.count} is malformed or over "
                    f"{self.max_item_chars} characters"
                ) from None
            return _NEED_MORE
        except ValueError:  # a number too long to convert, and the like: not incomplete
            raise bad(f"{self.key}: undecodable value at element {self.count}") from None
        if end == len(buf) and not final and buf[pos] not in '{["':
            return _NEED_MORE  # a number or literal at the end of the data may continue
        self._pos = end
        return value

    def _run(self, final: bool) -> list[Any]:
        """Walk as far as the buffered text allows; one state machine, read as a table."""
        out: list[Any] = []
        while True:
            self._pos = _WHITESPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos >= len(self._buf):
                return out
            char = self._buf[self._pos]
            state = self._state
            if state == _DONE:
                raise bad(f"{self.key}: data after the end of the document")
            if state == _START:
                if char != "{":
                    raise bad(f"{self.key}: expected a JSON object, got {char!r}")
                self._pos += 1
                self._state = _KEY_OR_END
            elif state in (_KEY_OR_END, _KEY):
                if char == "}" and state == _KEY_OR_END:
                    self._pos += 1
                    self._state = _DONE
                    continue
                if char != '"':
                    raise bad(f"{self.key}: expected a key, got {char!r}")
                key = self._decode(final)
                if key is _NEED_MORE:
                    return out
                self._current_key = key
                self._state = _COLON
            elif state == _COLON:
                if char != ":":
                    raise bad(f"{self.key}: expected ':', got {char!r}")
                self._pos += 1
                self._state = _VALUE
            elif state == _VALUE:
                if self._current_key == self.key:
                    if self.found:
                        raise bad(f"{self.key}: the key appears twice")
                    if char != "[":
                        raise bad(f"{self.key}: expected a list, got {char!r}")
                    self.found = True
                    self._pos += 1
                    self._state = _ITEM_OR_END
                else:
                    if self._decode(final) is _NEED_MORE:
                        return out
                    self._state = _AFTER_VALUE
            elif state in (_ITEM_OR_END, _ITEM):
                if char == "]" and state == _ITEM_OR_END:
                    self._pos += 1
                    self._state = _AFTER_VALUE
                    continue
                item = self._decode(final)
                if item is _NEED_MORE:
                    return out
                out.append(item)
                self.count += 1
                self._state = _AFTER_ITEM
            elif state == _AFTER_ITEM:
                if char not in ",]":
                    raise bad(f"{self.key}: expected ',' or ']' after element {self.count}")
                self._pos += 1
                self._state = _ITEM if char == "," else _AFTER_VALUE
            else:  # _AFTER_VALUE
                if char not in ",}":
                    raise bad(f"{self.key}: expected ',' or '}}', got {char!r}")
                self._pos += 1
                self._state = _KEY if char == "," else _DONE
