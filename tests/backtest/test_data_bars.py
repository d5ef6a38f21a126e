"""`Bars`: read-only arrays, and a lookup that never sees a bar before it has closed."""

from __future__ import annotations

import numpy as np
import pytest

from tailgate.backtest.data import Bars
from tailgate.backtest.data.names import (
    coin_from_name,
    format_interval,
    interval_from_name,
    leader_from_name,
    parse_interval,
)
from tailgate.domain.models import MS_PER_HOUR, MS_PER_MINUTE

T0 = 1_735_689_600_000  # 2025-01-01T00:00Z
M5 = 5 * MS_PER_MINUTE


def five_minute_bars(opens: list[int]) -> Bars:
    n = len(opens)
    close = np.arange(100.0, 100.0 + n)
    return Bars(
        coin="BTC",
        interval_ms=M5,
        time_ms=np.array(opens, dtype=np.int64),
        open=close - 0.5,
        high=close + 1,
        low=close - 1,
        close=close,
        volume=np.ones(n),
    )


def test_at_returns_the_last_bar_closed_at_or_before_t_never_the_forming_one() -> None:
    bars = five_minute_bars([T0, T0 + M5, T0 + 2 * M5])
    assert bars.at(T0) is None  # the first bar opens at T0 and is only known at T0 + 5 min
    assert bars.at(T0 + M5 - 1) is None
    assert bars.at(T0 + M5) == 0  # closed exactly at t: known
    assert bars.at(T0 + 2 * M5 - 1) == 0
    assert bars.at(T0 + 3 * M5) == 2
    assert bars.at(T0 + 100 * M5) == 2
    assert bars.close_at(T0 + M5 + 1) == 100.0
    assert bars.close_at(T0) is None


def test_at_across_a_gap_returns_the_bar_before_the_gap() -> None:
    bars = five_minute_bars([T0, T0 + M5, T0 + 5 * M5])  # bars 2..4 missing
    assert bars.at(T0 + 4 * M5) == 1
    assert bars.at(T0 + 6 * M5) == 2
    assert bars.gaps() == [(2, 3)]


def test_slice_is_half_open_on_open_times() -> None:
    bars = five_minute_bars([T0 + i * M5 for i in range(6)])
    part = bars.slice(T0 + M5, T0 + 4 * M5)
    assert part.time_ms.tolist() == [T0 + M5, T0 + 2 * M5, T0 + 3 * M5]
    assert part.close.tolist() == [101.0, 102.0, 103.0]
    assert part.interval_ms == M5 and part.coin == "BTC"
    assert len(bars.slice(T0 + 10 * M5, T0 + 20 * M5)) == 0
    assert (part.start_ms, part.end_ms) == (T0 + M5, T0 + 4 * M5)


def test_arrays_are_read_only_typed_copies() -> None:
    source = np.array([T0, T0 + M5])
    bars = five_minute_bars(source.tolist())
    assert bars.time_ms.dtype == np.int64 and bars.close.dtype == np.float64
    with pytest.raises(ValueError):
        bars.close[0] = 1.0
    with pytest.raises(AttributeError):
        bars.coin = "ETH"  # type: ignore[misc]


@pytest.mark.parametrize("opens", [[T0 + M5, T0], [T0, T0]])
def test_time_must_be_strictly_increasing(opens: list[int]) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        five_minute_bars(opens)


def test_arrays_must_have_one_value_per_bar() -> None:
    with pytest.raises(ValueError, match="shape"):
        Bars("BTC", M5, np.array([T0]), np.ones(2), np.ones(1), np.ones(1), np.ones(1), np.ones(1))


@pytest.mark.parametrize(
    ("stem", "coin"),
    [
        ("BTCUSDT_5m", "BTC"),
        ("ETHUSDT_60m", "ETH"),
        ("btc-perp-20211231-20220201_1m", "BTC"),
        ("BTC-PERP-15m", "BTC"),
        ("btc_usdc_ohlcv_1h", "BTC"),
        ("SOL-USD", "SOL"),
        ("kPEPEUSDC_1m", "kPEPE"),
        ("BTCPERP", "BTC"),
        ("BTC", "BTC"),
        ("EURUSD", "EUR"),
        ("15m", None),
        ("prices", None),
        ("btc", None),  # lower case and nothing saying it is a market
        ("Prices_1h", None),
    ],
)
def test_coin_from_file_name(stem: str, coin: str | None) -> None:
    assert coin_from_name(stem) == coin


def test_intervals_from_text_and_file_names() -> None:
    assert parse_interval("15m") == 15 * MS_PER_MINUTE
    assert parse_interval("60m") == parse_interval("1h") == MS_PER_HOUR
    assert parse_interval("1M") is None  # Hyperliquid's month: not a fixed length
    assert parse_interval("BTC") is None
    assert interval_from_name("BTCUSDT_15m") == 15 * MS_PER_MINUTE
    assert interval_from_name("BTCUSDT") is None
    assert format_interval(MS_PER_HOUR) == "1h" and format_interval(M5) == "5m"


def test_leader_from_file_name() -> None:
    address = "0xB7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
    assert leader_from_name(f"fills-{address}") == address.lower()
    assert leader_from_name("fills") is None
