"""What a file's name says: the coin (`BTCUSDT_5m.csv` → BTC), the bar interval, the leader.

File names are hints, never the only source of truth: the data's own spacing decides the
interval (a mismatch is reported), and a `coin=` / `leader=` argument overrides the name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE

__all__ = [
    "coin_from_name",
    "format_interval",
    "interval_from_name",
    "iso_utc",
    "leader_from_name",
    "parse_interval",
]

MS_PER_SECOND = 1_000
_UNIT_MS = {
    "s": MS_PER_SECOND,
    "m": MS_PER_MINUTE,
    "min": MS_PER_MINUTE,
    "h": MS_PER_HOUR,
    "d": MS_PER_DAY,
    "w": 7 * MS_PER_DAY,
}
_INTERVAL = re.compile(r"^(\d+)(s|m|min|h|d|w)$", re.IGNORECASE)
# Quote currencies and contract words that follow the coin in a market name.
_QUOTE_SUFFIXES = ("USDT", "USDC", "USD", "PERP")
_NOISE_TOKENS = frozenset(
    {"PERP", "PERPETUAL", "SPOT", "SWAP", "USDT", "USDC", "USD", "OHLCV", "OHLC", "CANDLES"}
    | {"CANDLE", "BARS", "KLINES", "DATA", "HL", "HYPERLIQUID", "BINANCE"}
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TICKER = re.compile(r"^(?:[A-Z0-9]+|k[A-Z0-9]+)$")


def parse_interval(text: str) -> int | None:
    """'15m' → 900000, '1h' → 3600000, '60m', '1d', '30s', '1w'; None if not a fixed interval.

    Units are case-insensitive except "M", which Hyperliquid uses for a (variable) month.
    """
    match = _INTERVAL.match(text.strip())
    if match is None or match.group(2) == "M":  # Hyperliquid's "1M" is a calendar month
        return None
    count = int(match.group(1))
    return count * _UNIT_MS[match.group(2).lower()] if count > 0 else None


def format_interval(interval_ms: int) -> str:
    """900000 → '15m'; the largest unit that divides the interval."""
    for unit, ms in (("w", 7 * MS_PER_DAY), ("d", MS_PER_DAY), ("h", MS_PER_HOUR)):
        if interval_ms % ms == 0:
            return f"{interval_ms // ms}{unit}"
    if interval_ms % MS_PER_MINUTE == 0:
        return f"{interval_ms // MS_PER_MINUTE}m"
    if interval_ms % MS_PER_SECOND == 0:
        return f"{interval_ms // MS_PER_SECOND}s"
    return f"{interval_ms}ms"


def iso_utc(time_ms: int) -> str:
    """A time for a human reading an issue: '2025-01-01T00:05:00Z'."""
    try:
        moment = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return f"{time_ms} ms"
    millis = f".{time_ms % 1000:03d}" if time_ms % 1000 else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"


def _tokens(stem: str) -> list[str]:
    return [t for t in re.split(r"[_\-\s.]+", stem) if t]


def interval_from_name(stem: str) -> int | None:
    """The interval token of a file name ('BTCUSDT_15m' → 900000), if it has exactly one."""
    found = {ms for t in _tokens(stem) if (ms := parse_interval(t)) is not None}
    return found.pop() if len(found) == 1 else None


def _strip_quote(token: str) -> str:
    upper = token.upper()
    for suffix in _QUOTE_SUFFIXES:
        if upper.endswith(suffix) and len(upper) > len(suffix):
            return token[: -len(suffix)]
    return token


def coin_from_name(stem: str) -> str | None:
    """The coin a file name is about: 'BTCUSDT_5m' → 'BTC', 'btc-perp-20211231_1m' → 'BTC'.

    The first token that is not an interval, a date / number, a quote currency or a word like
    PERP / OHLCV, with a USDT / USDC / USD / PERP suffix removed. It must look like a ticker:
    upper case ("BTC"), Hyperliquid's k-prefixed thousands ("kPEPE": coins are case-sensitive),
    or lower case ("btc") when the name also says it is a market (a quote, PERP, an interval).
    So "prices.csv" names no coin (None), rather than a coin called PRICES.
    """
    tokens = _tokens(stem)
    market_words = any(
        parse_interval(t) is not None or t.upper() in _NOISE_TOKENS or _strip_quote(t) != t
        for t in tokens
    )
    for token in tokens:
        if parse_interval(token) is not None or token.isdigit():
            continue
        if token.upper() in _NOISE_TOKENS:
            continue
        coin = _strip_quote(token)
        if _TICKER.match(coin):
            return coin
        if coin.isalnum() and coin.islower() and market_words:
            return coin.upper()
        return None
    return None


def leader_from_name(stem: str) -> str | None:
    """The one wallet address (0x + 40 hex) in a file name, lower-cased; None if not exactly one."""
    found = {m.lower() for m in _ADDRESS.findall(stem)}
    return found.pop() if len(found) == 1 else None
