"""Every Hyperliquid parser on the venue's real recorded payloads: the SDK's vcrpy cassettes
and NautilusTrader's captured HTTP and WebSocket samples (skipped when the shared data folder
is absent). Values asserted here were read from the files."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tailgate.domain import aggregate_fills
from tailgate.domain.models import Action, Side
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.parse import (
    leader_fills_from_trades,
    parse_account_snapshot,
    parse_all_mids,
    parse_candle_snapshot,
    parse_clearinghouse,
    parse_clearinghouse_state,
    parse_l2_book,
    parse_open_orders,
    parse_order_status,
    parse_orders,
    parse_perp_meta,
    parse_portfolio_windows,
    parse_trades,
    parse_user_fills,
    parse_ws_message,
)
from tailgate.venues.hyperliquid.ws_messages import (
    BookMessage,
    MidsMessage,
    UserEventsMessage,
)
from tailgate.venues.protocols import OrderStatus
from tests.shared_data import data_dir
from tests.venues.hyperliquid.hl_payloads import LEADER, cassette, nautilus

pytestmark = pytest.mark.realdata

LIQUIDATED_USER = "0x360878d351f05975e25f1807a27895e1e5e004fb"  # named by the liquidation fill


# --- userFills ---------------------------------------------------------------------------------


def test_500_real_fills_parse_oldest_first_with_their_directions() -> None:
    (raw,) = cassette("test_get_user_fills.yaml")
    page = parse_user_fills(raw, LEADER)
    assert len(page.fills) == 500 and page.rejects == []
    assert [f.time_ms for f in page.fills] == sorted(f.time_ms for f in page.fills)
    assert Counter(f.direction for f in page.fills) == {
        "Close Short": 197,
        "Open Short": 157,
        "Close Long": 69,
        "Open Long": 55,
        "Short > Long": 13,
        "Long > Short": 9,
    }
    # 2023 fills carry no `tid`: the derived ids are unique, and the dedupe key is the
    # foundation's "{leader}:{fill id}".
    assert len({f.dedupe_key for f in page.fills}) == 500
    first = page.fills[0]
    assert first.dedupe_key == f"{LEADER}:{first.fill_id}"
    assert first.fill_id.startswith(f"{first.order_id}:")


def test_seven_real_fills_of_one_taker_order_aggregate_into_one_close() -> None:
    (raw,) = cassette("test_get_user_fills.yaml")
    page = parse_user_fills(raw, LEADER)
    eth = [f for f in page.fills if f.order_id == 189324110]
    assert len(eth) == 7 and len({f.tx_hash for f in eth}) == 1
    assert [f.price for f in eth] == [1875.3, 1877.5, 1879.6, 1885.7, 1887.8, 1889.0, 1892.9]
    assert all(f.is_buy and f.direction == "Close Short" for f in eth)
    (trade,) = [t for t in aggregate_fills(page.fills) if t.order_id == 189324110]
    assert (trade.coin, trade.side, trade.action) == ("ETH", Side.SHORT, Action.CLOSE)
    assert trade.size == pytest.approx(11.7891) and trade.end_position == 0.0
    assert trade.price == pytest.approx(1884.124751677397)
    assert trade.closed_pnl == pytest.approx(-83.856265)
    assert len(trade.fill_keys) == 7


def test_a_real_flip_is_a_close_then_an_open() -> None:
    (raw,) = cassette("test_get_user_fills.yaml")
    page = parse_user_fills(raw, LEADER)
    (flip,) = [f for f in page.fills if f.order_id == 189317827]
    assert (flip.direction, flip.start_position, flip.size, flip.is_buy) == (
        "Long > Short",
        5.9,
        67.9,
        False,
    )
    close, open_ = [t for t in aggregate_fills([flip])]
    assert (close.action, close.side, close.size) == (Action.CLOSE, Side.LONG, 5.9)
    assert (open_.action, open_.side) == (Action.OPEN, Side.SHORT)
    assert open_.size == pytest.approx(62.0)


def test_a_transaction_hash_is_not_an_order_id() -> None:
    """Quirk: in these (pre self-trade-prevention) fills 84 hashes each carry two orders of
    the leader — a taker order crossing the leader's own resting order, one coin per hash."""
    (raw,) = cassette("test_get_user_fills.yaml")
    page = parse_user_fills(raw, LEADER)
    orders_per_hash: dict[str, set[int]] = {}
    coins_per_hash: dict[str, set[str]] = {}
    for f in page.fills:
        orders_per_hash.setdefault(f.tx_hash, set()).add(f.order_id)
        coins_per_hash.setdefault(f.tx_hash, set()).add(f.coin)
    shared = [h for h, oids in orders_per_hash.items() if len(oids) > 1]
    assert len(shared) == 84
    assert all(len(coins_per_hash[h]) == 1 for h in shared)


def test_user_fills_by_time_is_the_same_page() -> None:
    (by_time,) = cassette("test_get_user_fills_by_time.yaml")
    (recent,) = cassette("test_get_user_fills.yaml")
    assert parse_user_fills(by_time, LEADER) == parse_user_fills(recent, LEADER)


def test_a_fill_against_someone_elses_liquidation_is_not_the_leaders_liquidation() -> None:
    """Quirk: the `liquidation` object rides on the counterparty's fill too. This one is an
    "Open Short" (the owner added to a short) while `liquidatedUser` is someone else."""
    frame = json.dumps(nautilus("ws_user_fill_liquidation.json"))
    message = parse_ws_message(frame, user=LEADER)
    assert isinstance(message, UserEventsMessage)
    (fill,) = message.page.fills
    assert (fill.coin, fill.price, fill.size, fill.is_buy) == ("BTC", 66653.0, 0.001, False)
    assert (fill.fill_id, fill.fee, fill.direction) == ("745210434703679", 0.009997, "Open Short")
    assert fill.liquidation is False
    assert message.events == ()
    liquidated = parse_ws_message(frame, user=LIQUIDATED_USER.upper().replace("0X", "0x"))
    assert isinstance(liquidated, UserEventsMessage)
    assert liquidated.page.fills[0].liquidation is True


def test_spot_and_dust_conversion_fills_parse_for_the_importer_to_sort() -> None:
    page = parse_user_fills(nautilus("http_user_fills_dust_conversion.json"), LEADER)
    assert not page.rejects
    assert {f.direction for f in page.fills} >= {"Buy", "Spot Dust Conversion", "Open Long"}
    assert "0" in {f.fill_id for f in page.fills}  # tid 0 is still an id


# --- account -----------------------------------------------------------------------------------


def test_real_clearinghouse_state_with_leverage_liquidation_and_margin() -> None:
    (raw,) = cassette("test_get_user_state.yaml")
    state = parse_clearinghouse(raw)
    assert (state.account_value, state.withdrawable) == (1182.312496, 1010.57173)
    assert (state.total_margin_used, state.total_notional) == (171.740766, 3434.815334)
    assert state.time_ms is None and len(state.positions) == 12
    btc, eth = state.positions[0], state.positions[1]
    assert (btc.coin, btc.side, btc.signed_size, btc.entry_price) == (
        "BTC",
        Side.SHORT,
        -0.00785,
        26951.0,
    )
    assert (btc.leverage, btc.leverage_type, btc.liquidation_price) == (
        20.0,
        "cross",
        173198.69592357,
    )
    assert (btc.margin_used, btc.position_value, btc.unrealized_pnl) == (
        10.582271,
        211.64542,
        -0.08007,
    )
    assert eth.liquidation_price is None  # the venue sends null
    snapshot = parse_account_snapshot(raw, received_ms=1_700_000_000_123)
    assert snapshot.time_ms == 1_700_000_000_123  # no `time` in this old payload
    assert snapshot.account_value == 1182.312496
    assert [(p.coin, p.side, p.size) for p in snapshot.positions[:2]] == [
        ("BTC", Side.SHORT, 0.00785),
        ("ETH", Side.LONG, 0.1334),
    ]
    leader = parse_clearinghouse_state(raw, LEADER, 5)
    assert leader.position("BTC") is not None and leader.position("BTC").leverage == 20.0  # type: ignore[union-attr]


def test_real_cross_only_state_uses_the_cross_summary_and_the_venue_time() -> None:
    raw = nautilus("http_clearinghouse_state_negative_total_raw_usd.json")
    state = parse_clearinghouse(raw)
    assert (state.account_value, state.withdrawable) == (1736.030875, 772.232111)
    assert state.total_margin_used == 963.798764 and state.positions == ()
    assert parse_account_snapshot(raw, received_ms=1).time_ms == 1700000000000


def test_real_open_orders() -> None:
    (raw,) = cassette("test_get_open_orders.yaml")
    orders, rejects = parse_open_orders(raw)
    assert len(orders) == 196 and rejects == []
    assert sum(o.is_buy for o in orders) == 99
    first = orders[0]
    assert (first.coin, first.is_buy, first.size, first.limit_price) == (
        "MATIC",
        True,
        208.7,
        1.0357,
    )
    assert first.client_order_id == "oid:62269971"  # no cloid: not placed by us
    assert all(o.trigger_price is None and o.limit_price for o in orders)


def test_real_frontend_open_orders_flatten_tpsl_children_once() -> None:
    """Quirk: the parent limit order lists its TP and SL under `children`, and the venue lists
    them at the top level too; each order is kept once."""
    (raw,) = cassette("test_get_frontend_open_orders.yaml")
    orders, rejects = parse_orders(raw)
    assert rejects == [] and [o.oid for o in orders] == [3184595907, 3184595906, 3184595905]
    take_profit, stop, entry = (o.open_order() for o in orders)
    assert (take_profit.trigger_price, take_profit.limit_price, take_profit.is_buy) == (
        10.004,
        None,
        False,
    )
    assert (stop.trigger_price, stop.limit_price, stop.size) == (9.995, None, 12.5)
    assert (entry.trigger_price, entry.limit_price, entry.is_buy) == (None, 10.0, True)
    assert orders[1].order_type == "Stop Market" and orders[1].reduce_only


def test_real_historical_orders_read_as_order_status_answers() -> None:
    """`historicalOrders` elements have `orderStatus`'s `order` shape: IOCs that met no
    liquidity ("iocCancelRejected") and cancelled ALO orders."""
    (raw,) = cassette("test_historical_orders.yaml")
    results = [parse_order_status({"status": "order", "order": item}) for item in raw]
    assert [r.status for r in results if r] == [OrderStatus.CANCELLED] * 5
    assert [r.reason for r in results if r] == ["iocCancelRejected"] * 3 + ["canceled"] * 2
    assert results[0] is not None and results[0].venue_order_id == "141682155424"
    assert parse_order_status({"status": "unknownOid"}) is None


def test_real_portfolio_windows() -> None:
    """Quirk: "perpAllTime" has 72 points where "allTime" has 76."""
    (raw,) = cassette("test_portfolio.yaml")
    windows = parse_portfolio_windows(raw)
    assert list(windows) == [
        "day", "week", "month", "allTime", "perpDay", "perpWeek", "perpMonth", "perpAllTime"
    ]  # fmt: skip
    assert len(windows["allTime"].account_value) == 76 and len(windows["perpAllTime"].pnl) == 72
    assert windows["day"].account_value[0] == (1755772320063, 160794563.9261809886)
    assert windows["allTime"].pnl[-1] == (1755863121304, 650509.577425)
    assert windows["day"].volume == pytest.approx(55823015.66)


# --- market data -------------------------------------------------------------------------------


def test_real_meta_keeps_asset_ids_and_size_decimals() -> None:
    (raw,) = cassette("test_get_info.yaml")
    assets, rejects = parse_perp_meta(raw)
    assert len(assets) == 28 and rejects == []
    btc = assets[0]
    assert (btc.asset_id, btc.coin, btc.sz_decimals, btc.max_leverage) == (0, "BTC", 5, 50)
    kpepe = next(a for a in assets if a.coin == "kPEPE")
    assert (kpepe.asset_id, kpepe.sz_decimals) == (15, 0)
    sample, _ = parse_perp_meta(nautilus("http_meta_perp_sample.json"))  # isDelisted: null
    assert [(a.coin, a.max_leverage, a.is_delisted) for a in sample] == [
        ("BTC", 40, False),
        ("ETH", 25, False),
        ("ATOM", 5, False),
    ]
    dexes = nautilus("http_all_perp_metas_non_usdc_collateral.json")  # builder-deployed dexes
    assert [parse_perp_meta(d)[0][0].coin for d in dexes] == ["BTC", "km:US500", "hyna:BTC"]


def test_real_all_mids_rest_and_websocket() -> None:
    (raw,) = cassette("test_get_all_mids.yaml")
    mids = parse_all_mids(raw)
    assert len(mids) == 28 and mids["BTC"] == 30135.0 and mids["kPEPE"] == 0.001565
    message = parse_ws_message(json.dumps(nautilus("ws_allmids.json")))
    assert isinstance(message, MidsMessage) and message.rejects == []
    assert message.mids == {
        "@142": 80907.5,
        "BTC": 80868.5,
        "ETH": 2296.45,
        "SOL": 94.8775,
        "PURR/USDC": 0.067131,
    }


def test_real_books_rest_and_websocket_best_first() -> None:
    _, raw = cassette("test_get_l2_snapshot.yaml")
    book = parse_l2_book(raw)
    assert (book.coin, book.time_ms, len(book.bids), len(book.asks)) == (
        "DYDX",
        1689630203930,
        20,
        20,
    )
    assert (book.bids[0].price, book.bids[0].size, book.asks[0].price) == (2.111, 134.4, 2.1124)
    assert [lv.price for lv in book.bids] == sorted((lv.price for lv in book.bids), reverse=True)
    assert [lv.price for lv in book.asks] == sorted(lv.price for lv in book.asks)
    btc = parse_l2_book(nautilus("http_l2_book_btc.json"))  # levels without "n"
    assert (btc.bids[0].price, btc.asks[0].price, btc.asks[-1].size) == (
        110427.0,
        110428.0,
        1.27191,
    )
    frame = json.dumps({"channel": "l2Book", "data": nautilus("ws_book_data.json")})
    message = parse_ws_message(frame)
    assert isinstance(message, BookMessage)
    assert (message.book.bids[0].price, message.book.asks[0].price) == (98450.5, 98451.0)


def test_real_candles_become_bars() -> None:
    _, raw = cassette("test_get_candles_snapshot.yaml")
    page = parse_candle_snapshot(raw)
    bars = page.bars
    assert (bars.coin, bars.interval_ms, len(bars), page.rejects) == ("kPEPE", 3_600_000, 24, [])
    assert (bars.time_ms[0], bars.close[0], bars.high[0]) == (1684699200000, 0.001604, 0.001616)


def test_real_candle_file_with_a_stray_row_keeps_5001_bars_and_reports_the_stray() -> None:
    folder = data_dir()
    path = folder and folder / "hl-btc-15m-candles-simsim" / "data" / "BTC-PERP-15m.json"
    if not path or not path.is_file():
        pytest.skip("BTC 15m candle file not in the shared data folder")
    page = parse_candle_snapshot(json.loads(path.read_text()))
    assert len(page.bars) == 5001 and page.bars.interval_ms == 900_000
    (stray,) = page.rejects
    assert stray.reason is ReasonCode.MALFORMED_PAYLOAD and "BTC-PERP" in stray.detail


# --- public trades → followed leaders' fills ---------------------------------------------------


def test_real_recent_trades_give_followed_leaders_their_side() -> None:
    trades, rejects = parse_trades(nautilus("http_recent_trades_btc.json"))
    assert rejects == [] and [t.trade_id for t in trades] == [
        300001,
        300002,
        300003,
    ]  # oldest first
    positions: dict[tuple[str, str], float] = {("0xseller3", "BTC"): 0.01}
    fills = leader_fills_from_trades(trades, {"0xBUYER2", "0xseller3"}, positions)
    buy, sell = fills
    assert (buy.leader, buy.is_buy, buy.size, buy.price) == ("0xBUYER2", True, 0.02, 104310.5)
    assert (buy.direction, buy.start_position, buy.fill_id) == ("Open Long", 0.0, "300002")
    assert (sell.leader, sell.is_buy, sell.direction) == ("0xseller3", False, "Long > Short")
    assert sell.start_position == 0.01 and positions[("0xseller3", "BTC")] == pytest.approx(-0.005)
