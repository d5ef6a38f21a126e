"""The Hyperliquid parsers' rules, one payload at a time: what each venue answer becomes, and
which wrong ones are rejected with which reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailgate.domain import aggregate_fills
from tailgate.domain.models import Action
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.parse import (
    EXCERPT_CHARS,
    excerpt,
    leader_fills_from_trades,
    parse_all_mids,
    parse_candle_snapshot,
    parse_clearinghouse,
    parse_l2_book,
    parse_meta,
    parse_mids,
    parse_order_response,
    parse_order_status,
    parse_orders,
    parse_perp_meta,
    parse_trade,
    parse_trades,
    parse_user_fill,
    parse_user_fills,
    parse_ws_message,
)
from tailgate.venues.hyperliquid.parse_market import _strict_level
from tailgate.venues.hyperliquid.parse_orders import IOC_NOT_FILLED
from tailgate.venues.hyperliquid.ws_messages import (
    ErrorMessage,
    PongMessage,
    PostResponse,
    SubscriptionResponse,
    TradesMessage,
    UnhandledMessage,
    UserEventsMessage,
    UserFillsMessage,
)
from tailgate.venues.protocols import OrderRequest, OrderStatus, PayloadError
from tests.venues.hyperliquid.hl_payloads import LEADER, fill, order, position, trade

OTHER = "0x360878d351f05975e25f1807a27895e1e5e004fb"


def reason_of(call: Any, *args: Any, **kwargs: Any) -> ReasonCode:
    with pytest.raises(PayloadError) as err:
        call(*args, **kwargs)
    return err.value.reason


# --- fills -------------------------------------------------------------------------------------


class FrozenMapping(Mapping[str, Any]):
    """A Mapping that is not a dict: takes the parser's careful path."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def __getitem__(self, key: str) -> Any:
        return self._raw[key]

    def __iter__(self) -> Any:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@pytest.mark.parametrize("wrap", [dict, FrozenMapping])
def test_a_fill_is_the_leaders_liquidation_only_when_it_names_the_leader(wrap: Any) -> None:
    def liquidated(**overrides: Any) -> bool:
        return parse_user_fill(wrap(fill(**overrides)), LEADER).liquidation

    named = {
        "liquidatedUser": LEADER.upper().replace("0X", "0x"),
        "markPx": "1",
        "method": "market",
    }
    assert liquidated(liquidation=named) is True
    assert liquidated(liquidation={**named, "liquidatedUser": OTHER}) is False
    assert liquidated(liquidation={"markPx": "1", "method": "backstop"}) is True  # names nobody
    assert liquidated(dir="Liquidated Cross Long", side="A", startPosition="2") is True
    assert liquidated(liquidation=None) is False and liquidated() is False


def test_fill_ids_beyond_64_bits_are_rejected_not_stored() -> None:
    assert reason_of(parse_user_fill, fill(oid=2**70), LEADER) is ReasonCode.MALFORMED_PAYLOAD
    assert reason_of(parse_user_fill, fill(tid="9" * 30), LEADER) is ReasonCode.MALFORMED_PAYLOAD
    page = parse_user_fills([fill(time=10**400), fill()], LEADER)
    assert len(page.fills) == 1 and "64-bit" in page.rejects[0].detail


@pytest.mark.parametrize("text", [" 7 ", "1_000", "١٢٣", "0x10", ""])
def test_numbers_python_would_read_but_the_venue_never_writes_are_malformed(text: str) -> None:
    assert reason_of(parse_user_fill, fill(px=text), LEADER) is ReasonCode.MALFORMED_PAYLOAD
    assert reason_of(parse_trade, trade(sz=text)) is ReasonCode.MALFORMED_PAYLOAD


def test_a_fill_without_tid_gets_an_id_from_the_text_as_sent() -> None:
    raw = fill(startPosition="4623.5", sz="142.7", px="1.3189", oid=189324432)
    del raw["tid"]
    assert parse_user_fill(raw, LEADER).fill_id == "189324432:4623.5:142.7:1.3189"


# --- trades and followed leaders' fills --------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"px": "0"}, ReasonCode.INVALID_PRICE),
        ({"px": "NaN"}, ReasonCode.INVALID_PRICE),
        ({"px": "-1"}, ReasonCode.INVALID_PRICE),
        ({"sz": "-0.5"}, ReasonCode.INVALID_SIZE),
        ({"sz": "inf"}, ReasonCode.INVALID_SIZE),
        ({"time": 0}, ReasonCode.INVALID_TIME),
        ({"side": "S"}, ReasonCode.MALFORMED_PAYLOAD),
        ({"users": ["0xa"]}, ReasonCode.MALFORMED_PAYLOAD),
        ({"users": ["0xa", 5]}, ReasonCode.MALFORMED_PAYLOAD),
        ({"tid": -1}, ReasonCode.MALFORMED_PAYLOAD),
        ({"px": "1e999"}, ReasonCode.INVALID_PRICE),
    ],
)
def test_bad_trades_are_rejected_with_a_reason(
    overrides: dict[str, Any], reason: ReasonCode
) -> None:
    assert reason_of(parse_trade, trade(**overrides)) is reason


def test_a_bad_trade_is_skipped_and_the_rest_kept() -> None:
    trades, rejects = parse_trades([trade(tid=2, time=2), trade(px="x"), trade(tid=1, time=1)])
    assert [t.trade_id for t in trades] == [1, 2] and len(rejects) == 1


def _walk(size_and_sides: list[tuple[float, bool]], start: float = 0.0) -> list[tuple[str, float]]:
    """(direction, start position) of a leader's successive trades."""
    positions = {(LEADER, "BTC"): start}
    trades = [
        parse_trade(
            trade(
                sz=str(sz), tid=i, time=1000 + i, users=[LEADER, "0xm"] if buy else ["0xm", LEADER]
            )
        )
        for i, (sz, buy) in enumerate(size_and_sides)
    ]
    fills = leader_fills_from_trades(trades, [LEADER], positions)
    return [(f.direction, f.start_position) for f in fills]


def test_directions_from_the_running_position_buyer_and_seller() -> None:
    assert _walk([(1.0, True), (0.5, True), (0.5, False), (1.0, False)]) == [
        ("Open Long", 0.0),
        ("Open Long", 1.0),  # an add is an "Open", as the venue words it
        ("Close Long", 1.5),
        ("Close Long", 1.0),
    ]
    assert _walk([(2.0, False), (3.0, True), (1.0, True)]) == [
        ("Open Short", 0.0),
        ("Short > Long", -2.0),
        ("Open Long", 1.0),
    ]
    assert _walk([(3.0, False)], start=1.0) == [("Long > Short", 1.0)]


def test_a_position_closed_in_float_steps_is_flat() -> None:
    positions = {(LEADER, "BTC"): 0.3}
    trades = [
        parse_trade(trade(sz=s, tid=i, users=["0xm", LEADER])) for i, s in enumerate(("0.1", "0.2"))
    ]
    fills = leader_fills_from_trades(trades, [LEADER], positions)
    assert positions[(LEADER, "BTC")] == 0.0 and fills[-1].direction == "Close Long"
    (close,) = aggregate_fills(fills)
    assert close.action is Action.CLOSE and close.end_position == 0.0


def test_trade_fills_share_the_userfills_dedupe_key_and_skip_self_crosses() -> None:
    (via_trades,) = leader_fills_from_trades(
        [parse_trade(trade(tid=745210434703679, users=[LEADER, "0xm"]))], [LEADER], {}
    )
    assert via_trades.dedupe_key == parse_user_fill(fill(), LEADER).dedupe_key
    self_cross = parse_trade(trade(users=[LEADER, LEADER.upper().replace("0X", "0x")]))
    positions: dict[tuple[str, str], float] = {}
    assert leader_fills_from_trades([self_cross], [LEADER], positions) == [] and positions == {}


def test_stand_in_order_ids_group_one_taker_order_and_split_a_batch() -> None:
    users = [LEADER, "0xm"]
    same_tx = [
        parse_trade(trade(tid=1, users=users)),
        parse_trade(trade(tid=2, users=users, px="104311")),
        parse_trade(trade(tid=3, users=users, coin="ETH", px="2000")),  # same hash, other coin
        parse_trade(trade(tid=4, users=["0xm", LEADER])),  # same hash, other side
    ]
    fills = leader_fills_from_trades(same_tx, [LEADER], {})
    btc_buys = {fills[0].order_id, fills[1].order_id}
    assert (
        len(btc_buys) == 1 and len({fills[0].order_id, fills[2].order_id, fills[3].order_id}) == 3
    )
    assert all(0 < f.order_id < 2**60 for f in fills)
    trades = aggregate_fills(fills)  # no "fills of one order name different coins" error
    assert sorted((t.coin, t.action.value) for t in trades) == [
        ("BTC", "open"),
        ("BTC", "reduce"),
        ("ETH", "open"),
    ]
    zero = parse_trade(trade(hash="0x" + "0" * 64, tid=77, users=users))
    assert leader_fills_from_trades([zero], [LEADER], {})[0].order_id == 77


# --- WebSocket ---------------------------------------------------------------------------------


def test_ws_subscription_response_and_pong() -> None:
    frame = (
        '{"channel":"subscriptionResponse",'
        '"data":{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}}'
    )
    message = parse_ws_message(frame)
    assert message == SubscriptionResponse("subscribe", {"type": "trades", "coin": "BTC"})
    assert isinstance(parse_ws_message(b'{"channel":"pong"}'), PongMessage)


def test_ws_user_fills_snapshot_is_marked_and_bad_fills_are_rejects() -> None:
    data = {"isSnapshot": True, "user": LEADER, "fills": [fill(), fill(px=None)]}
    message = parse_ws_message({"channel": "userFills", "data": data})
    assert isinstance(message, UserFillsMessage)
    assert message.is_snapshot is True and message.user == LEADER
    assert len(message.page.fills) == 1 and len(message.page.rejects) == 1
    live = parse_ws_message({"channel": "userFills", "data": {"user": LEADER, "fills": [fill()]}})
    assert isinstance(live, UserFillsMessage) and live.is_snapshot is False
    for flag in ("true", 1, None):  # never guess whether fills are a replay
        bad = {"channel": "userFills", "data": {**data, "isSnapshot": flag}}
        assert reason_of(parse_ws_message, bad) is ReasonCode.MALFORMED_PAYLOAD


def test_ws_user_events_need_the_subscribed_user_for_their_fills() -> None:
    frame = {"channel": "user", "data": {"fills": [fill()]}}
    assert reason_of(parse_ws_message, frame) is ReasonCode.MALFORMED_PAYLOAD
    funding = {"channel": "user", "data": {"funding": {"coin": "BTC", "usdc": "-1.2"}}}
    message = parse_ws_message(funding)
    assert isinstance(message, UserEventsMessage)
    assert message.events == ("funding",) and message.page.fills == []


def test_ws_trades_post_error_and_unknown_channels() -> None:
    trades = parse_ws_message({"channel": "trades", "data": [trade(), trade(sz="0")]})
    assert isinstance(trades, TradesMessage) and len(trades.trades) == len(trades.rejects) == 1
    info = {"id": 7, "response": {"type": "info", "payload": {"type": "l2Book", "data": {}}}}
    posted = parse_ws_message({"channel": "post", "data": info})
    assert posted == PostResponse(7, "info", {"type": "l2Book", "data": {}})
    refused = {"id": 8, "response": {"type": "error", "payload": "Too many requests"}}
    assert parse_ws_message({"channel": "post", "data": refused}) == PostResponse(
        8, "error", "Too many requests"
    )
    weird = {"id": 9, "response": {"type": "nope", "payload": {}}}
    assert (
        reason_of(parse_ws_message, {"channel": "post", "data": weird})
        is ReasonCode.MALFORMED_PAYLOAD
    )
    error = parse_ws_message({"channel": "error", "data": "Invalid subscription {'type': 'x'}"})
    assert error == ErrorMessage("Invalid subscription {'type': 'x'}")
    other = parse_ws_message({"channel": "webData2", "data": {"x": 1}})
    assert other == UnhandledMessage("webData2", {"x": 1})


@pytest.mark.parametrize(
    "frame",
    ['{"channel":', "not json", b"\xff\xfe", "[]", '{"data":{}}', '{"channel":5}', "[" * 100_000,
     '{"channel":"l2Book"}', '{"channel":"allMids","data":{"BTC":"1"}}', "9" * 5000],
)  # fmt: skip
def test_ws_broken_frames_are_payload_errors(frame: str | bytes) -> None:
    assert reason_of(parse_ws_message, frame) is ReasonCode.MALFORMED_PAYLOAD


# --- orders ------------------------------------------------------------------------------------


def _request(cid: str, size: float = 1.0) -> OrderRequest:
    return OrderRequest(client_order_id=cid, coin="BTC", is_buy=True, size=size, limit_price=100.0)


def test_order_response_statuses_become_results() -> None:
    requests = [_request(c) for c in ("a", "b", "c", "d", "e", "f")]
    raw = {
        "status": "ok",
        "response": {
            "type": "order",
            "data": {
                "statuses": [
                    {"resting": {"oid": 88383}},
                    {"filled": {"totalSz": "1.0", "avgPx": "99.5", "oid": 2}},
                    {"filled": {"totalSz": "0.4", "avgPx": "99.9", "oid": 3}},
                    {"error": f"Order {IOC_NOT_FILLED} against any resting orders. asset=0"},
                    {"error": "Insufficient margin to place order. asset=0"},
                    "waitingForTrigger",
                ]
            },
        },
    }
    a, b, c, d, e, f = parse_order_response(raw, requests)
    assert (a.status, a.venue_order_id) == (OrderStatus.OPEN, "88383")
    assert (b.status, b.filled_size, b.avg_price) == (OrderStatus.FILLED, 1.0, 99.5)
    assert (c.status, c.filled_size, c.reason) == (OrderStatus.PARTIAL, 0.4, "ORDER_PARTIAL")
    assert d.status is OrderStatus.CANCELLED  # an IOC with no liquidity is not a rejection
    assert e.status is OrderStatus.REJECTED and e.reason.startswith("ORDER_REJECTED: Insufficient")
    assert f.status is OrderStatus.OPEN
    refused = parse_order_response(
        {"status": "err", "response": "User does not exist."}, requests[:2]
    )
    assert [r.status for r in refused] == [OrderStatus.REJECTED] * 2
    short = {**raw, "response": {"type": "order", "data": {"statuses": []}}}
    assert reason_of(parse_order_response, short, requests) is ReasonCode.MALFORMED_PAYLOAD
    unknown = {**raw, "response": {"type": "order", "data": {"statuses": [{"new": 1}]}}}
    assert reason_of(parse_order_response, unknown, requests[:1]) is ReasonCode.MALFORMED_PAYLOAD


def _status(word: str, sz: str = "12.5") -> dict[str, Any]:
    return {
        "status": "order",
        "order": {"order": order(sz=sz), "status": word, "statusTimestamp": 1},
    }


@pytest.mark.parametrize(
    ("word", "remaining", "expected"),
    [
        ("open", "12.5", OrderStatus.OPEN),
        ("triggered", "12.5", OrderStatus.OPEN),  # fired; the fills will say how it went
        ("filled", "0.0", OrderStatus.FILLED),
        ("canceled", "12.5", OrderStatus.CANCELLED),
        ("marginCanceled", "2.5", OrderStatus.PARTIAL),
        ("scheduledCancel", "12.5", OrderStatus.CANCELLED),
        ("iocCancelRejected", "12.5", OrderStatus.CANCELLED),
        ("rejected", "12.5", OrderStatus.REJECTED),
        ("perpMarginRejected", "12.5", OrderStatus.REJECTED),
        ("badTriggerPxRejected", "12.5", OrderStatus.REJECTED),
    ],
)
def test_order_status_words(word: str, remaining: str, expected: OrderStatus) -> None:
    result = parse_order_status(_status(word, remaining), "cid-1")
    assert result is not None and result.status is expected and result.client_order_id == "cid-1"
    assert result.filled_size == pytest.approx(12.5 - float(remaining))


def test_order_status_takes_prices_from_our_fills_and_refuses_unknown_words() -> None:
    ours = parse_user_fills(
        [
            fill(oid=3184595906, tid=1, px="9.9", sz="10", fee="0.01"),
            fill(oid=3184595906, tid=2, px="9.8", sz="2.5", fee="0.0025"),
            fill(oid=1, tid=3),  # another order
        ],
        LEADER,
    ).fills
    result = parse_order_status(_status("filled", "0.0"), fills=ours)
    assert result is not None and result.client_order_id == "0xe8d5fd7ebbb4c3cff4d1803472a11463"
    assert (result.filled_size, len(result.fills)) == (12.5, 2)
    assert result.avg_price == pytest.approx(9.88) and result.fee == pytest.approx(0.0125)
    assert reason_of(parse_order_status, _status("someNewWord")) is ReasonCode.MALFORMED_PAYLOAD
    assert reason_of(parse_order_status, {"status": "maybe"}) is ReasonCode.MALFORMED_PAYLOAD


def test_open_orders_sizes_triggers_and_nesting() -> None:
    tpsl = order(oid=1, sz="0.0", origSz="0.0", isPositionTpsl=True)
    plain_zero = order(oid=2, sz="0.0", origSz="0.0", isTrigger=False, orderType="Limit")
    no_trigger = order(oid=3, triggerPx="0.0")
    parent = order(oid=4, isTrigger=False, orderType="Limit", children=[order(oid=5), order(oid=1)])
    orders, rejects = parse_orders([tpsl, plain_zero, no_trigger, parent, None])
    assert [o.oid for o in orders] == [1, 4, 5]
    assert [r.reason for r in rejects] == [
        ReasonCode.INVALID_SIZE,
        ReasonCode.INVALID_PRICE,
        ReasonCode.MALFORMED_PAYLOAD,
    ]
    assert orders[0].open_order().size == 0.0  # closes whatever position is open


# --- account -----------------------------------------------------------------------------------


def _state(*positions: dict[str, Any]) -> dict[str, Any]:
    return {
        "assetPositions": list(positions),
        "marginSummary": {"accountValue": "1000"},
        "withdrawable": "5",
    }


def test_positions_are_judged_and_a_bad_one_fails_the_state() -> None:
    state = parse_clearinghouse(_state(position(), position(coin="ETH", szi="0.0")))
    (btc,) = state.positions
    assert (btc.leverage, btc.leverage_type, btc.liquidation_price) == (5.0, "isolated", 32000.5)
    assert (
        parse_clearinghouse(_state(position(liquidationPx="-12"))).positions[0].liquidation_price
        is None
    )
    for bad, reason in (
        (position(szi="NaN"), ReasonCode.INVALID_SIZE),
        (position(entryPx="0"), ReasonCode.INVALID_PRICE),
        (position(leverage={"type": "cross", "value": 0}), ReasonCode.MALFORMED_PAYLOAD),
        (position(marginUsed="inf"), ReasonCode.MALFORMED_PAYLOAD),
    ):
        assert reason_of(parse_clearinghouse, _state(position(coin="SOL"), bad)) is reason
    twice = _state(position(), position(szi="1"))
    assert reason_of(parse_clearinghouse, twice) is ReasonCode.MALFORMED_PAYLOAD


# --- market data -------------------------------------------------------------------------------


def _book(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> dict[str, Any]:
    side = lambda levels: [{"px": p, "sz": s, "n": 1} for p, s in levels]  # noqa: E731
    return {"coin": "BTC", "time": 1, "levels": [side(bids), side(asks)]}


def test_books_are_sorted_best_first_and_crossed_or_empty_levels_rejected() -> None:
    book = parse_l2_book(_book([("99", "1"), ("100", "2")], [("102", "1"), ("101", "3")]))
    assert [lv.price for lv in book.bids] == [100.0, 99.0] and [lv.price for lv in book.asks] == [
        101.0,
        102.0,
    ]
    assert (
        reason_of(parse_l2_book, _book([("101", "1")], [("100", "1")])) is ReasonCode.INVALID_PRICE
    )
    assert reason_of(parse_l2_book, _book([("100", "0")], [])) is ReasonCode.INVALID_SIZE
    assert reason_of(parse_l2_book, _book([("-1", "1")], [])) is ReasonCode.INVALID_PRICE
    assert parse_l2_book(_book([], [])).bids == ()  # a quiet book is a book


BOOK_NUMBERS = st.one_of(
    st.decimals(min_value=0, max_value=10**12, allow_nan=False, places=6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["0", "0.0", "00012.50", "1e3", " 7", "1_0", "١٢", "9" * 30, "9" * 45, "-1"]),
    st.integers(-5, 10**6),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(BOOK_NUMBERS, BOOK_NUMBERS), max_size=6))
def test_a_books_quick_reading_is_the_strict_one(levels: list[tuple[Any, Any]]) -> None:
    """Levels written as the venue writes them skip the general checks: whatever they are
    read as, or refused for, is what the strict reading of each level gives."""
    raw = {"coin": "BTC", "time": 1, "levels": [[{"px": p, "sz": s} for p, s in levels], []]}
    try:
        expected: object = sorted(
            (_strict_level({"px": p, "sz": s}, "l2Book.bids[0]") for p, s in levels),
            key=lambda lv: -lv.price,
        )
    except PayloadError as exc:
        expected = exc.reason
    try:
        got: object = list(parse_l2_book(raw).bids)
    except PayloadError as exc:
        got = exc.reason
    assert got == expected


def test_meta_keeps_asset_ids_when_an_entry_is_bad() -> None:
    raw = {
        "universe": [
            {"name": "BTC", "szDecimals": 5, "maxLeverage": 40},
            {"name": "OLD", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True},
            {"name": "BAD", "szDecimals": "two", "maxLeverage": 5},
            {"name": "ISO", "szDecimals": 0, "maxLeverage": 3, "marginMode": "strictIsolated"},
        ]
    }
    assets, rejects = parse_perp_meta(raw)
    assert [(a.asset_id, a.coin) for a in assets] == [(0, "BTC"), (1, "OLD"), (3, "ISO")]
    assert assets[1].is_delisted and assets[2].only_isolated and len(rejects) == 1
    assert reason_of(parse_meta, raw) is ReasonCode.MALFORMED_PAYLOAD  # the strict form
    del raw["universe"][2]
    assert [m.coin for m in parse_meta(raw)] == ["BTC", "ISO"]


def test_mids_skip_a_bad_one_and_the_strict_form_raises() -> None:
    mids, rejects = parse_mids({"BTC": "100", "ETH": "0", "SOL": None, "X": "NaN"})
    assert mids == {"BTC": 100.0} and [r.reason for r in rejects] == [
        ReasonCode.INVALID_PRICE,
        ReasonCode.MALFORMED_PAYLOAD,
        ReasonCode.INVALID_PRICE,
    ]
    assert reason_of(parse_all_mids, {"BTC": "-3"}) is ReasonCode.INVALID_PRICE


def _candle(t: int, **overrides: Any) -> dict[str, Any]:
    raw = {
        "t": t,
        "T": t + 59_999,
        "s": "BTC",
        "i": "1m",
        "o": "10",
        "h": "11",
        "l": "9",
        "c": "10.5",
        "v": "3",
        "n": 4,
    }
    raw.update(overrides)
    return raw


def test_candles_skip_bad_bars_and_report_them() -> None:
    page = parse_candle_snapshot([_candle(0), _candle(60_000, h="8"), _candle(120_000, c="NaN")])
    assert len(page.bars) == 1 and [r.reason for r in page.rejects] == [
        ReasonCode.MALFORMED_PAYLOAD,  # high < low: an inconsistent bar
        ReasonCode.INVALID_PRICE,
    ]
    assert parse_candle_snapshot([]).bars is None
    assert reason_of(parse_candle_snapshot, {"t": 1}) is ReasonCode.MALFORMED_PAYLOAD
    assert reason_of(parse_candle_snapshot, [_candle(0, o="x")]) is ReasonCode.MALFORMED_PAYLOAD


# --- excerpts ----------------------------------------------------------------------------------


def test_excerpts_are_short_and_cheap_on_any_input() -> None:
    deep: list[Any] = []
    for _ in range(50_000):
        deep = [deep]
    huge = {"leaderboardRows": [{"ethAddress": "0x" + "a" * 40}] * 200_000}
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    for raw in (deep, huge, cyclic, 10**5000, "x" * 10**6, {1: object()}, float("nan")):
        assert len(excerpt(raw)) <= EXCERPT_CHARS
    assert excerpt({"px": "abc", "sz": None}) == '{"px": "abc", "sz": null}'
