"""Hyperliquid payloads for the parser tests: builders of single well-formed payloads (each
test overrides the fields it is about), the recorded real payloads by name, and a generator of
a realistic ~30,000-row stats leaderboard that is produced chunk by chunk, never whole."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.shared_data import data_dir, read_cassette

__all__ = [
    "DISPLAY_NAMES",
    "LEADER",
    "cassette",
    "fill",
    "leaderboard_chunks",
    "leaderboard_row",
    "nautilus",
    "order",
    "position",
    "rechunk",
    "trade",
]

LEADER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"  # the SDK cassettes' userFills wallet
_CASSETTES = Path("hl-python-sdk/tests/cassettes/info_test")
_NAUTILUS = Path("nautilus-fixtures/crates/adapters/hyperliquid/test_data")


def _real(relative: Path) -> Path:
    folder = data_dir()
    if folder is None:
        pytest.skip("shared real-data folder not found (set TAILGATE_DATA_DIR)")
    path = folder / relative
    if not path.is_file():
        pytest.skip(f"{relative} not in the shared data folder")
    return path


def cassette(name: str) -> list[Any]:
    """The response bodies of one recorded SDK cassette, in request order."""
    return read_cassette(_real(_CASSETTES / name))


def nautilus(name: str) -> Any:
    return json.loads(_real(_NAUTILUS / name).read_text())


def fill(**overrides: Any) -> dict[str, Any]:
    """A `userFills` element (the shape of the real liquidation fill, minus the liquidation)."""
    raw: dict[str, Any] = {
        "coin": "BTC",
        "px": "66653.0",
        "sz": "0.001",
        "side": "A",
        "time": 1781528065899,
        "startPosition": "-0.0213",
        "dir": "Open Short",
        "closedPnl": "0.0",
        "hash": "0xe29fd267b4d2c6f0e41904231bbec90000daea4d4fd5e5c286687dba73d6a0db",
        "oid": 55030848197,
        "crossed": False,
        "fee": "0.009997",
        "tid": 745210434703679,
        "feeToken": "USDC",
    }
    raw.update(overrides)
    return raw


def trade(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "coin": "BTC",
        "side": "B",
        "px": "104310.5",
        "sz": "0.02",
        "hash": "0x3d4770d0527317ef77c404017559cb0103000b34010cc95e97b437cbc3b6087a",
        "time": 1769916001000,
        "tid": 300002,
        "users": ["0xbuyer", "0xseller"],
    }
    raw.update(overrides)
    return raw


def order(**overrides: Any) -> dict[str, Any]:
    """A `frontendOpenOrders` element (the real cassette's INJ stop)."""
    raw: dict[str, Any] = {
        "children": [],
        "coin": "INJ",
        "isPositionTpsl": False,
        "isTrigger": True,
        "limitPx": "9.1954",
        "oid": 3184595906,
        "orderType": "Stop Market",
        "origSz": "12.5",
        "reduceOnly": True,
        "side": "A",
        "sz": "12.5",
        "tif": None,
        "timestamp": 1700126022555,
        "triggerCondition": "Price below 9.995",
        "triggerPx": "9.995",
        "cloid": "0xe8d5fd7ebbb4c3cff4d1803472a11463",
    }
    raw.update(overrides)
    return raw


def position(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "coin": "BTC",
        "entryPx": "26951.0",
        "leverage": {"type": "isolated", "value": 5},
        "liquidationPx": "32000.5",
        "marginUsed": "42.3",
        "positionValue": "211.64542",
        "szi": "-0.00785",
        "unrealizedPnl": "-0.08007",
    }
    raw.update(overrides)
    return {"position": raw, "type": "oneWay"}


# --- the stats leaderboard ---------------------------------------------------------------------

DISPLAY_NAMES = (
    "ABC",
    "whale.eth",
    "Ξ degen",
    'quote"d',
    "back\\slash",
    "日本の鯨",
    "🐋🐋",
    "a" * 40,
)


def leaderboard_row(rng: random.Random) -> dict[str, Any]:
    """One row as the venue writes it: decimal strings of the venue's precisions (account
    value 10 places, pnl 6, roi 10, volume 2), a heavy-tailed account value, mostly no name."""
    account = rng.lognormvariate(9.5, 2.2)
    windows = []
    for name, scale in (("day", 0.02), ("week", 0.06), ("month", 0.15), ("allTime", 0.6)):
        roi = rng.gauss(0.0, scale)
        volume = account * rng.expovariate(1 / (scale * 40))
        windows.append(
            [name, {"pnl": f"{account * roi:.6f}", "roi": f"{roi:.10f}", "vlm": f"{volume:.2f}"}]
        )
    return {
        "ethAddress": f"0x{rng.getrandbits(160):040x}",
        "accountValue": f"{account:.10f}",
        "windowPerformances": windows,
        "prize": 0 if rng.random() < 0.99 else rng.randrange(1, 5000),
        "displayName": rng.choice(DISPLAY_NAMES) if rng.random() < 0.15 else None,
    }


def leaderboard_chunks(
    rows: int = 30_000, *, seed: int = 3, chunk_bytes: int = 64 * 1024, indent: bool = False
) -> Iterator[bytes]:
    """A `{"leaderboardRows": [...]}` document, produced as byte chunks of ~`chunk_bytes`
    (like a response body off the socket), never held whole. Deterministic for a seed."""
    rng = random.Random(seed)
    separators = (", ", ": ") if indent else (",", ":")
    parts: list[str] = ['{"leaderboardRows":[']
    held = len(parts[0])
    for i in range(rows):
        piece = ("," if i else "") + json.dumps(
            leaderboard_row(rng), separators=separators, ensure_ascii=False
        )
        parts.append(piece)
        held += len(piece)
        if held >= chunk_bytes:
            yield "".join(parts).encode()
            parts, held = [], 0
    parts.append("]}")
    yield "".join(parts).encode()


def rechunk(chunks: Iterator[bytes], size: int) -> Iterator[bytes]:
    """The same bytes cut every `size` bytes — through keys, numbers and UTF-8 characters."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending
