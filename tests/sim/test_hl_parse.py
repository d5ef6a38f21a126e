"""Hyperliquid JSON → domain objects: on real recorded payloads, and on hostile ones."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from tailgate.domain.models import Side
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.parse import (
    EXCERPT_CHARS,
    parse_all_mids,
    parse_clearinghouse_state,
    parse_l2_book,
    parse_leaderboard_row,
    parse_meta,
    parse_portfolio,
    parse_user_fill,
    parse_user_fills,
)
from tailgate.venues.protocols import PayloadError

from ..venues.hyperliquid.hl_payloads import fill as _fill

LEADER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"


# --- real recorded payloads -------------------------------------------------------------------


@pytest.mark.realdata
def test_real_user_fills_parse_without_rejects_oldest_first(cassette: Callable) -> None:
    (raw,) = cassette("test_get_user_fills.yaml")
    page = parse_user_fills(raw, LEADER)
    assert len(page.fills) == 500 and page.rejects == []
    times = [f.time_ms for f in page.fills]
    assert times == sorted(times)
    assert len({f.fill_id for f in page.fills}) == 500  # derived ids (no `tid` in 2023) unique
    assert {f.direction for f in page.fills} >= {"Open Long", "Close Long", "Long > Short"}


@pytest.mark.realdata
def test_real_fills_of_one_order_share_oid_hash_and_chain_start_positions(
    cassette: Callable,
) -> None:
    (raw,) = cassette("test_get_user_fills.yaml")
    page = parse_user_fills(raw, LEADER)
    sui = [f for f in page.fills if f.order_id == 189324432]
    assert [f.start_position for f in sui] == [4623.5, 4480.8, 731.7]
    assert len({f.tx_hash for f in sui}) == 1
    first = sui[0]
    assert (first.coin, first.price, first.size, first.is_buy) == ("SUI", 1.3189, 142.7, False)
    assert first.direction == "Close Long" and first.closed_pnl == -0.25686
    assert first.end_position == pytest.approx(sui[1].start_position)
    assert not first.liquidation


@pytest.mark.realdata
def test_real_user_fills_by_time_parse(cassette: Callable) -> None:
    (raw,) = cassette("test_get_user_fills_by_time.yaml")
    page = parse_user_fills(raw, LEADER)
    assert len(page.fills) == len(raw) and not page.rejects


@pytest.mark.realdata
def test_real_liquidation_fill_is_flagged_and_uses_tid(nautilus_fixture: Callable) -> None:
    """The venue puts the `liquidation` object on both sides of a liquidation: it is the
    leader's liquidation only when `liquidatedUser` is the leader (a leader who merely traded
    against someone else's liquidation must not be closed and blacklisted)."""
    raw = nautilus_fixture("ws_user_fill_liquidation.json")
    payload = raw["data"]["fills"][0]  # type: ignore[index]
    liquidated = payload["liquidation"]["liquidatedUser"]
    assert parse_user_fill(payload, LEADER).liquidation is False
    fill = parse_user_fill(payload, liquidated)
    assert fill.liquidation is True
    assert fill.fill_id == "745210434703679"
    assert fill.fee == 0.009997 and fill.is_buy is False


@pytest.mark.realdata
def test_real_spot_and_dust_fills_parse_and_leave_judgement_to_domain(
    nautilus_fixture: Callable,
) -> None:
    page = parse_user_fills(nautilus_fixture("http_user_fills_dust_conversion.json"), LEADER)
    assert not page.rejects
    assert {"@156", "ARB"} <= {f.coin for f in page.fills}
    assert "0" in {f.fill_id for f in page.fills}  # tid 0 is still an id


@pytest.mark.realdata
def test_real_clearinghouse_state(cassette: Callable) -> None:
    (raw,) = cassette("test_get_user_state.yaml")
    state = parse_clearinghouse_state(raw, LEADER, 123)
    assert state.account_value == 1182.312496 and state.time_ms == 123
    assert len(state.positions) == 12
    btc = state.position("BTC")
    assert btc is not None
    assert (btc.side, btc.size, btc.entry_price) == (Side.SHORT, 0.00785, 26951.0)
    assert (btc.leverage, btc.position_value) == (20.0, 211.64542)
    eth = state.position("ETH")
    assert eth is not None and eth.side is Side.LONG and eth.signed_size == 0.1334


@pytest.mark.realdata
def test_real_clearinghouse_without_margin_summary_uses_cross(nautilus_fixture: Callable) -> None:
    raw = nautilus_fixture("http_clearinghouse_state_negative_total_raw_usd.json")
    state = parse_clearinghouse_state(raw, LEADER, 0)
    assert state.account_value == 1736.030875 and state.positions == ()


@pytest.mark.realdata
def test_real_l2_book(cassette: Callable, nautilus_fixture: Callable) -> None:
    meta_raw, book_raw = cassette("test_get_l2_snapshot.yaml")
    book = parse_l2_book(book_raw)
    assert book.coin == "DYDX" and book.time_ms == 1689630203930
    assert len(book.bids) == len(book.asks) == 20
    assert book.bids[0].price == 2.111 and book.asks[0].price == 2.1124
    assert [lv.price for lv in book.bids] == sorted((lv.price for lv in book.bids), reverse=True)
    assert book.bids[0].price < book.asks[0].price
    btc = parse_l2_book(nautilus_fixture("http_l2_book_btc.json"))  # no "n" field
    assert btc.mid == pytest.approx(110427.5)
    markets = parse_meta(meta_raw)
    assert markets[0].coin == "BTC" and markets[0].sz_decimals == 5


@pytest.mark.realdata
def test_real_meta(cassette: Callable, nautilus_fixture: Callable) -> None:
    (raw,) = cassette("test_get_info.yaml")
    markets = parse_meta(raw)
    assert len(markets) == 28
    assert {m.coin: m.sz_decimals for m in markets}["DOGE"] == 0
    sample = parse_meta(nautilus_fixture("http_meta_perp_sample.json"))
    assert [(m.coin, m.max_leverage) for m in sample] == [("BTC", 40), ("ETH", 25), ("ATOM", 5)]


@pytest.mark.realdata
def test_real_portfolio_picks_the_longest_history(cassette: Callable) -> None:
    (raw,) = cassette("test_portfolio.yaml")
    history = parse_portfolio(raw)
    all_time = dict(raw)["allTime"]["accountValueHistory"]  # type: ignore[arg-type]
    assert len(history) == len(all_time) == 76
    assert [t for t, _ in history] == sorted(t for t, _ in history)
    assert history[-1] == (1755863121304, 160664370.477425009)


@pytest.mark.realdata
def test_real_all_mids(cassette: Callable) -> None:
    (raw,) = cassette("test_get_all_mids.yaml")
    mids = parse_all_mids(raw)
    assert mids["BTC"] == 30135.0 and mids["kPEPE"] == 0.001565


# --- hostile inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"px": "abc"},
        {"px": None},
        {"px": True},
        {"px": ["1"]},
        {"sz": {}},
        {"side": "X"},
        {"time": "yesterday"},
        {"time": 1.5},
        {"oid": "12x"},
        {"coin": ""},
        {"coin": 5},
        {"dir": None},
        {"startPosition": "1..2"},
        {"tid": "not-a-number"},
    ],
)
def test_malformed_field_raises_malformed_payload(overrides: dict[str, Any]) -> None:
    with pytest.raises(PayloadError) as err:
        parse_user_fill(_fill(**overrides), LEADER)
    assert err.value.reason is ReasonCode.MALFORMED_PAYLOAD


@pytest.mark.parametrize("missing", ["coin", "px", "sz", "side", "time", "startPosition", "dir"])
def test_missing_required_field_raises(missing: str) -> None:
    raw = _fill()
    del raw[missing]
    with pytest.raises(PayloadError, match=missing):
        parse_user_fill(raw, LEADER)


def test_nan_and_negative_values_parse_for_the_domain_to_reject() -> None:
    fill = parse_user_fill(_fill(px="NaN", sz="-1.5", closedPnl="-3"), LEADER)
    assert math.isnan(fill.price) and fill.size == -1.5 and fill.closed_pnl == -3.0


def test_json_numbers_and_digit_strings_are_accepted() -> None:
    fill = parse_user_fill(_fill(px=101.5, sz=2, time="1781528065899", oid=7.0), LEADER)
    assert (fill.price, fill.size, fill.time_ms, fill.order_id) == (101.5, 2.0, 1781528065899, 7)


def test_liquidation_key_must_be_truthy() -> None:
    assert parse_user_fill(_fill(liquidation=None), LEADER).liquidation is False
    assert parse_user_fill(_fill(liquidation={"method": "market"}), LEADER).liquidation is True


@pytest.mark.parametrize("raw", [None, {}, "fills", 42, {"fills": []}])
def test_fill_list_of_wrong_type_is_one_reject_not_an_exception(raw: object) -> None:
    page = parse_user_fills(raw, LEADER)
    assert page.fills == [] and len(page.rejects) == 1
    assert page.rejects[0].reason is ReasonCode.MALFORMED_PAYLOAD


def test_bad_elements_become_rejects_with_short_excerpts() -> None:
    huge = _fill(px="x" * 10_000)
    raw = [_fill(time=3), None, 1, "x", [], {"coin": {}}, huge, _fill(time=2, tid=1)]
    page = parse_user_fills(raw, LEADER)
    assert [f.time_ms for f in page.fills] == [2, 3]
    assert len(page.rejects) == 6
    assert all(len(r.excerpt) <= EXCERPT_CHARS for r in page.rejects)
    assert all(r.reason is ReasonCode.MALFORMED_PAYLOAD for r in page.rejects)


def test_exotic_mapping_elements_are_rejects_too() -> None:
    class Exploding(dict):  # a Mapping whose lookups fail in unexpected ways
        def __getitem__(self, key: str) -> Any:
            raise AttributeError(key)

        def __contains__(self, key: object) -> bool:
            return True

    page = parse_user_fills([Exploding(), _fill()], LEADER)
    assert len(page.fills) == 1 and len(page.rejects) == 1


def test_clearinghouse_hostile_shapes() -> None:
    good = {
        "assetPositions": [
            {"position": {"coin": "ETH", "szi": "0.0", "entryPx": "1.0"}, "type": "oneWay"},
            {"position": {"coin": "SOL", "szi": "-2", "entryPx": "10"}, "type": "oneWay"},
        ],
        "marginSummary": {"accountValue": "100"},
    }
    state = parse_clearinghouse_state(good, LEADER, 1)
    (sol,) = state.positions  # the flat ETH entry is skipped
    assert (sol.side, sol.size, sol.leverage, sol.position_value) == (Side.SHORT, 2.0, 1.0, 20.0)
    for bad in (
        [],
        {"marginSummary": {"accountValue": "1"}},
        {"assetPositions": [], "marginSummary": {}},
        {"assetPositions": [{"position": {"coin": "X", "szi": "a", "entryPx": "1"}}]},
        {"assetPositions": "nope", "marginSummary": {"accountValue": "1"}},
        {"assetPositions": [], "marginSummary": "1"},
    ):
        with pytest.raises(PayloadError):
            parse_clearinghouse_state(bad, LEADER, 1)


def test_l2_book_hostile_shapes() -> None:
    level = {"px": "1", "sz": "2", "n": 1}
    for bad in (
        {"coin": "X", "time": 1, "levels": [[level]]},
        {"coin": "X", "time": 1, "levels": [[{"px": "1"}], []]},
        {"coin": "X", "levels": [[level], [level]]},
        {"coin": "X", "time": 1, "levels": "[]"},
        None,
    ):
        with pytest.raises(PayloadError):
            parse_l2_book(bad)


def _row(**extra_windows: dict[str, str]) -> dict[str, Any]:
    perf = {"pnl": "10.5", "roi": "0.105", "vlm": "1000"}
    windows = [["day", perf], ["week", perf], ["month", {**perf, "roi": "0.3"}], ["allTime", perf]]
    windows += [[name, p] for name, p in extra_windows.items()]
    return {
        "ethAddress": "0xabc",
        "accountValue": "110.0",
        "displayName": None,
        "prize": 0,
        "windowPerformances": windows,
    }


def test_leaderboard_row_windows() -> None:
    week = parse_leaderboard_row(_row(), 7)
    assert (week.leader, week.window_days, week.account_value) == ("0xabc", 7, 110.0)
    assert (week.pnl, week.roi, week.volume, week.display_name) == (10.5, 0.105, 1000.0, None)
    assert parse_leaderboard_row(_row(), 30).roi == 0.3
    with pytest.raises(PayloadError, match="ninetyDay"):
        parse_leaderboard_row(_row(), 90)
    ninety = {"pnl": "1", "roi": "0.01", "vlm": "5"}
    assert parse_leaderboard_row(_row(ninetyDay=ninety), 90).roi == 0.01
    with pytest.raises(ValueError):
        parse_leaderboard_row(_row(), 3)


def test_leaderboard_row_hostile_shapes() -> None:
    for bad in (
        {**_row(), "windowPerformances": [["week"]]},
        {**_row(), "windowPerformances": {"week": {}}},
        {**_row(), "accountValue": None},
        {k: v for k, v in _row().items() if k != "ethAddress"},
        {**_row(), "windowPerformances": [["week", {"roi": "1"}]]},
    ):
        with pytest.raises(PayloadError):
            parse_leaderboard_row(bad, 7)


def test_portfolio_hostile_shapes_and_empty() -> None:
    assert parse_portfolio([]) == []
    for bad in (
        {"allTime": {}},
        [["allTime"]],
        [["allTime", {"accountValueHistory": [[1]]}]],
        [["allTime", {"accountValueHistory": [["t", "1"]]}]],
        [["allTime", {}]],
    ):
        with pytest.raises(PayloadError):
            parse_portfolio(bad)


def test_meta_skips_delisted_and_rejects_bad_entries() -> None:
    raw = {
        "universe": [
            {"name": "A", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True},
            {"name": "B", "szDecimals": 2, "maxLeverage": 5},
        ]
    }
    assert [m.coin for m in parse_meta(raw)] == ["B"]
    with pytest.raises(PayloadError):
        parse_meta({"universe": [{"name": "B", "szDecimals": "two", "maxLeverage": 5}]})
    with pytest.raises(PayloadError):
        parse_all_mids({"BTC": None})
