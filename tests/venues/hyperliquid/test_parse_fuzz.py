"""Fuzzing every Hyperliquid parser: random JSON-ish values, real-shaped payloads with fields
replaced, removed or truncated, huge / negative / NaN numbers, strings where numbers belong.
The only way out is a value that obeys the parser's promises or a typed `PayloadError` —
never a KeyError, TypeError or ValueError, never a NaN, infinite or negative price or size."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailgate.domain.models import OrderBook
from tailgate.venues.hyperliquid.parse import (
    iter_leaderboard_rows,
    leader_fills_from_trades,
    parse_account_snapshot,
    parse_all_mids,
    parse_candle_snapshot,
    parse_clearinghouse,
    parse_clearinghouse_state,
    parse_l2_book,
    parse_leaderboard,
    parse_leaderboard_row,
    parse_meta,
    parse_mids,
    parse_open_orders,
    parse_order_response,
    parse_order_status,
    parse_orders,
    parse_perp_meta,
    parse_portfolio,
    parse_portfolio_windows,
    parse_trades,
    parse_user_fill,
    parse_user_fills,
    parse_ws_message,
)
from tailgate.venues.protocols import OrderRequest, PayloadError
from tests.venues.hyperliquid.hl_payloads import LEADER, fill, order, position, trade

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies ----------------------------------------------------------------------------------

NASTY_NUMBERS = st.sampled_from(
    [
        "NaN", "nan", "-inf", "Infinity", "1e999", "-1e999", "-0", "0", "0.0", "-1", "-0.0001",
        "1e-400", "", " ", "1_000", "0x10", "1,5", "١٢٣", "9" * 500, "--1", "+5", "1e5", " 7 ",
        10**30, -(10**30), 2**63, 2**64, -1, 0, float("nan"), float("inf"), -0.0,
        1e308, True, False, None, [], {}, ["1"], {"px": "1"},
    ]
).map(copy.deepcopy) | st.just(5000).map(lambda digits: 10**digits)  # fmt: skip
# (deep-copied: a mutation must never reach the shared list, or generation would depend on
# the examples before it)
DECIMALS = st.floats(min_value=-1e6, max_value=1e6).map(repr) | st.integers(-5, 10**6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | NASTY_NUMBERS
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> Any:
    """`template` (a real-shaped payload) with one to three parts replaced, removed or cut."""
    value = json.loads(json.dumps(template))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        if not path:
            return draw(JSONISH)
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "nasty", "number", "delete", "cut", "shuffle"]))
        if action == "replace":
            parent[key] = draw(JSONISH)
        elif action == "nasty":
            parent[key] = draw(NASTY_NUMBERS)
        elif action == "number":  # plausible but wrong: a price out of order, a negative size
            parent[key] = draw(DECIMALS)
        elif action == "delete":
            del parent[key]
        elif action == "shuffle" and isinstance(parent[key], list):
            parent[key] = draw(st.permutations(parent[key]))
        elif isinstance(parent[key], list | str):
            parent[key] = parent[key][: draw(st.integers(0, max(len(parent[key]) - 1, 0)))]
    return value


def payloads(template: Any) -> st.SearchStrategy[Any]:
    return mutated(template) | JSONISH


# Real-shaped templates.
BOOK = {
    "coin": "BTC",
    "time": 1761786491067,
    "levels": [
        [{"px": "110427.0", "sz": "4.11882", "n": 3}, {"px": "110426.0", "sz": "0.31694", "n": 1}],
        [{"px": "110428.0", "sz": "3.72573", "n": 2}, {"px": "110430.0", "sz": "0.03586", "n": 1}],
    ],
}
META = {
    "universe": [
        {"name": "BTC", "szDecimals": 5, "maxLeverage": 40, "isDelisted": None},
        {"name": "ETH", "szDecimals": 4, "maxLeverage": 25, "onlyIsolated": False},
    ]
}
MIDS = {"BTC": "80868.5", "@142": "80907.5", "PURR/USDC": "0.067131"}
STATE = {
    "assetPositions": [position(), position(coin="ETH", szi="0.1334", liquidationPx=None)],
    "marginSummary": {"accountValue": "1182.312496", "totalMarginUsed": "171.7"},
    "crossMarginSummary": {"accountValue": "1182.312496"},
    "withdrawable": "1010.57173",
    "time": 1700000000000,
}
STATUS = {"status": "order", "order": {"order": order(), "status": "open", "statusTimestamp": 1}}
RESPONSE = {
    "status": "ok",
    "response": {
        "type": "order",
        "data": {
            "statuses": [
                {"resting": {"oid": 1}},
                {"filled": {"totalSz": "0.5", "avgPx": "100", "oid": 2}},
            ]
        },
    },
}
PORTFOLIO = [
    [
        "day",
        {"accountValueHistory": [[1, "10.5"], [2, "11"]], "pnlHistory": [[1, "0"]], "vlm": "5"},
    ],
    ["allTime", {"accountValueHistory": [[1, "10"]], "pnlHistory": [], "vlm": "9"}],
]
ROW = {
    "ethAddress": "0x162cc7c861ebd0c06b3d72319201150482518185",
    "accountValue": "48857952.3308470026",
    "windowPerformances": [
        ["day", {"pnl": "644054.375913", "roi": "0.0133582723", "vlm": "3250555746.66"}],
        ["week", {"pnl": "3528804.427511", "roi": "0.0729632296", "vlm": "22918292160.97"}],
        ["month", {"pnl": "876456.769935", "roi": "0.0158501266", "vlm": "48037528566.37"}],
        ["allTime", {"pnl": "30223465.310847", "roi": "0.4895956489", "vlm": "608739069893.13"}],
    ],
    "prize": 0,
    "displayName": "ABC",
}
CANDLES = [
    {"t": t, "T": t + 59_999, "s": "BTC", "i": "1m", "o": "10", "h": "11", "l": "9", "c": "10"}
    for t in (0, 60_000, 120_000)
]
WS_FRAMES = [
    {"channel": "userFills", "data": {"isSnapshot": True, "user": LEADER, "fills": [fill()]}},
    {"channel": "user", "data": {"fills": [fill()]}},
    {"channel": "trades", "data": [trade(), trade(tid=5)]},
    {"channel": "l2Book", "data": BOOK},
    {"channel": "allMids", "data": {"mids": MIDS}},
    {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": {}}},
    {"channel": "post", "data": {"id": 1, "response": {"type": "action", "payload": RESPONSE}}},
    {"channel": "error", "data": "Invalid subscription"},
    {"channel": "pong"},
]


def only_payload_errors(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except PayloadError as exc:
        assert exc.detail and exc.reason
        return None


def _good_price(x: float) -> bool:
    return math.isfinite(x) and x > 0


def _good_size(x: float) -> bool:
    return math.isfinite(x) and x >= 0


# --- fills and trades --------------------------------------------------------------------------


@FUZZ
@given(payloads([fill(), fill(tid=None), fill(liquidation={"liquidatedUser": LEADER})]))
def test_user_fills_never_raise_and_one_fill_raises_only_payload_errors(raw: Any) -> None:
    page = parse_user_fills(raw, LEADER)
    assert all(f.leader == LEADER and f.fill_id for f in page.fills)
    if isinstance(raw, list) and raw:
        only_payload_errors(lambda: parse_user_fill(raw[0], LEADER))


@FUZZ
@given(payloads([trade(), trade(tid=7, side="A", users=[LEADER, "0xm"])]))
def test_trades_and_followed_leaders_fills(raw: Any) -> None:
    trades, _ = parse_trades(raw)
    assert all(_good_price(t.price) and _good_size(t.size) and t.size > 0 for t in trades)
    positions: dict[tuple[str, str], float] = {}
    for f in leader_fills_from_trades(trades, [LEADER, "0xbuyer"], positions):
        assert _good_price(f.price) and f.size > 0 and f.direction
        assert math.isfinite(positions[(f.leader, f.coin)])


# --- market data -------------------------------------------------------------------------------


def _check_book(book: OrderBook | None) -> None:
    if book is None:
        return
    for levels, descending in ((book.bids, True), (book.asks, False)):
        prices = [lv.price for lv in levels]
        assert all(_good_price(lv.price) and lv.size > 0 and _good_size(lv.size) for lv in levels)
        assert prices == sorted(prices, reverse=descending)
    if book.bids and book.asks:
        assert book.bids[0].price < book.asks[0].price


@FUZZ
@given(payloads(BOOK))
def test_l2_book(raw: Any) -> None:
    _check_book(only_payload_errors(lambda: parse_l2_book(raw)))


@FUZZ
@given(payloads(META))
def test_meta(raw: Any) -> None:
    result = only_payload_errors(lambda: parse_perp_meta(raw))
    if result is not None:
        assets, _ = result
        assert all(a.max_leverage >= 1 and 0 <= a.sz_decimals <= 12 for a in assets)
        assert len({a.asset_id for a in assets}) == len(assets)
    only_payload_errors(lambda: parse_meta(raw))


@FUZZ
@given(payloads(MIDS))
def test_mids(raw: Any) -> None:
    result = only_payload_errors(lambda: parse_mids(raw))
    if result is not None:
        assert all(_good_price(px) for px in result[0].values())
    strict = only_payload_errors(lambda: parse_all_mids(raw))
    assert strict is None or all(_good_price(px) for px in strict.values())


@FUZZ
@given(payloads(CANDLES))
def test_candles(raw: Any) -> None:
    page = only_payload_errors(lambda: parse_candle_snapshot(raw))
    if page is not None and page.bars is not None:
        bars = page.bars
        assert all(_good_price(float(x)) for x in (*bars.low, *bars.high, *bars.close))


# --- account and orders ------------------------------------------------------------------------


@FUZZ
@given(payloads(STATE))
def test_clearinghouse(raw: Any) -> None:
    state = only_payload_errors(lambda: parse_clearinghouse(raw))
    if state is not None:
        assert math.isfinite(state.account_value)
        for p in state.positions:
            assert math.isfinite(p.signed_size) and p.signed_size != 0
            assert _good_price(p.entry_price) and _good_price(p.leverage)
            assert p.liquidation_price is None or _good_price(p.liquidation_price)
        coins = [p.coin for p in state.positions]
        assert len(set(coins)) == len(coins)
    only_payload_errors(lambda: parse_clearinghouse_state(raw, LEADER, 1))
    only_payload_errors(lambda: parse_account_snapshot(raw, 1))


@FUZZ
@given(payloads([order(), order(oid=2, isTrigger=False, children=[order(oid=3)])]))
def test_open_orders(raw: Any) -> None:
    result = only_payload_errors(lambda: parse_orders(raw))
    if result is not None:
        for o in result[0]:
            assert _good_size(o.size) and _good_size(o.orig_size) and _good_price(o.limit_price)
            assert o.trigger_price is None or _good_price(o.trigger_price)
    only_payload_errors(lambda: parse_open_orders(raw))


@FUZZ
@given(payloads(STATUS), payloads(RESPONSE))
def test_order_status_and_order_responses(status: Any, response: Any) -> None:
    result = only_payload_errors(lambda: parse_order_status(status, fills=[]))
    if result is not None:
        assert _good_size(result.filled_size) and math.isfinite(result.avg_price)
    requests = [
        OrderRequest(client_order_id=c, coin="BTC", is_buy=True, size=1.0, limit_price=100.0)
        for c in ("a", "b")
    ]
    results = only_payload_errors(lambda: parse_order_response(response, requests))
    if results is not None:
        assert [r.client_order_id for r in results] == ["a", "b"]
        assert all(_good_size(r.filled_size) and math.isfinite(r.avg_price) for r in results)


@FUZZ
@given(payloads(PORTFOLIO))
def test_portfolio(raw: Any) -> None:
    windows = only_payload_errors(lambda: parse_portfolio_windows(raw))
    if windows is not None:
        for w in windows.values():
            assert all(t > 0 and math.isfinite(v) for t, v in w.account_value)
    only_payload_errors(lambda: parse_portfolio(raw))


# --- leaderboard -------------------------------------------------------------------------------


@FUZZ
@given(payloads(ROW), payloads({"leaderboardRows": [ROW, ROW]}))
def test_leaderboard_rows_and_documents(row: Any, document: Any) -> None:
    only_payload_errors(lambda: parse_leaderboard_row(row, 7))
    result = only_payload_errors(lambda: parse_leaderboard(document))
    if result is not None:
        for parsed in result[0]:
            assert math.isfinite(parsed.account_value) and parsed.prize >= 0
            assert all(
                math.isfinite(w.roi) and _good_size(w.volume) for w in parsed.windows.values()
            )


def _document_text(document: Any) -> str:
    """JSON text of a fuzzed value (NaN is written as Python's reader accepts it); a
    5,000-digit integer cannot be written, so that document becomes one such number."""
    try:
        return json.dumps(document)
    except ValueError:
        return "9" * 5000


@FUZZ
@given(
    payloads({"leaderboardRows": [ROW, ROW]}),
    st.integers(min_value=1, max_value=64),
    st.one_of(st.none(), st.integers(min_value=0, max_value=2000)),
    st.binary(max_size=16),
)
def test_streamed_leaderboard_cut_anywhere(
    document: Any, chunk: int, cut: int | None, junk: bytes
) -> None:
    data = _document_text(document).encode()
    if cut is not None:
        data = data[:cut] + junk
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    rows = only_payload_errors(lambda: list(iter_leaderboard_rows(pieces, [])))
    for row in rows or []:
        assert math.isfinite(row.account_value)


# --- WebSocket ---------------------------------------------------------------------------------


@FUZZ
@given(
    st.one_of(*(payloads(frame) for frame in WS_FRAMES)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
    st.booleans(),
)
def test_ws_frames_as_objects_text_and_truncated_text(
    frame: Any, cut: int | None, as_bytes: bool
) -> None:
    only_payload_errors(lambda: parse_ws_message(frame, user=LEADER))
    text = _document_text(frame)
    if cut is not None:
        text = text[:cut]
    raw: str | bytes = text.encode() if as_bytes else text
    only_payload_errors(lambda: parse_ws_message(raw))


@FUZZ
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_ws_random_bytes_and_text(raw: bytes | str) -> None:
    only_payload_errors(lambda: parse_ws_message(raw))
