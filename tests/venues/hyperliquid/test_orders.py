"""Order intents → Hyperliquid wire: rounded at the boundary, refused locally (typed) when the
venue would reject them, and in exactly the SDK's shapes."""

from __future__ import annotations

import math

import pytest

from tailgate.domain.models import Market, OrderType
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.orders import (
    OrderRefused,
    RefusalKind,
    asset_indices,
    cancel_by_cloid_action,
    order_action,
    order_wire,
    update_leverage_action,
)
from tailgate.venues.protocols import OrderRequest

BTC = Market("BTC", sz_decimals=5, max_leverage=40)
ETH = Market("ETH", sz_decimals=4, max_leverage=25)
MEME = Market("kPEPE", sz_decimals=0, max_leverage=10)
CLOID = "0x" + "0123456789abcdef" * 2
BTC_ASSET, ETH_ASSET, MEME_ASSET = 0, 1, 7


def req(coin="BTC", is_buy=True, size=0.001, price=104_567.8, **kw) -> OrderRequest:
    return OrderRequest(CLOID, coin, is_buy, size, price, **kw)


def refusal(request: OrderRequest, market: Market, asset: int = 0) -> OrderRefused:
    with pytest.raises(OrderRefused) as err:
        order_wire(request, market, asset)
    return err.value


def test_btc_market_buy_is_an_ioc_limit_at_the_cap_rounded_down_to_a_whole_dollar():
    wire = order_wire(req(size=0.000123456, price=104_567.8), BTC, BTC_ASSET)
    assert wire == {
        "a": 0,
        "b": True,
        "p": "104567",  # 5 sig figs → 0 decimals; a buy's cap rounds down (never pay more)
        "s": "0.00012",  # 5 decimals, rounded down to the lot
        "r": False,
        "t": {"limit": {"tif": "Ioc"}},
        "c": CLOID,
    }


def test_btc_sell_cap_104567_8_rounds_up_to_104568():
    wire = order_wire(req(is_buy=False, size=0.000123456, price=104_567.8), BTC, BTC_ASSET)
    assert (wire["p"], wire["s"], wire["b"]) == ("104568", "0.00012", False)


def test_limit_orders_are_ioc_too():
    market = order_wire(req(order_type=OrderType.MARKET), BTC, 0)
    limit = order_wire(req(order_type=OrderType.LIMIT), BTC, 0)
    assert market["t"] == limit["t"] == {"limit": {"tif": "Ioc"}}


def test_eth_price_keeps_five_significant_figures():
    buy = order_wire(req("ETH", True, 0.123456, 3456.789), ETH, ETH_ASSET)
    sell = order_wire(req("ETH", False, 0.123456, 3456.789), ETH, ETH_ASSET)
    assert (buy["p"], sell["p"], buy["s"]) == ("3456.7", "3456.8", "0.1234")
    assert buy["a"] == ETH_ASSET


def test_meme_coin_price_is_limited_to_six_decimals_and_size_to_whole_coins():
    # 0.0012345678: 5 sig figs would allow 7 decimals, 6 - szDecimals(0) allows only 6
    buy = order_wire(req("kPEPE", True, 12_345.6, 0.0012345678), MEME, MEME_ASSET)
    sell = order_wire(req("kPEPE", False, 12_345.6, 0.0012345678), MEME, MEME_ASSET)
    assert (buy["p"], sell["p"]) == ("0.001234", "0.001235")
    assert buy["s"] == sell["s"] == "12345"


def test_integer_prices_above_five_significant_figures_are_kept():
    wire = order_wire(req(is_buy=True, size=0.001, price=123_456.0), BTC, 0)
    assert wire["p"] == "123456"


def test_limit_that_rounds_to_zero_is_refused_before_the_venue():
    err = refusal(req("kPEPE", True, 1e9, 0.0000004), MEME)
    assert err.kind is RefusalKind.PRICE_ROUNDS_TO_ZERO
    assert err.reason is ReasonCode.INVALID_PRICE
    assert "rounds to 0" in str(err)


@pytest.mark.parametrize("price", [0.0, -1.0, math.nan, math.inf])
def test_non_positive_or_non_finite_prices_are_refused(price):
    assert refusal(req(price=price), BTC).kind is RefusalKind.INVALID_PRICE


def test_size_below_one_lot_is_refused():
    err = refusal(req(size=0.0000099, price=100_000.0), BTC)
    assert err.kind is RefusalKind.SIZE_BELOW_LOT
    assert err.reason is ReasonCode.SIZE_BELOW_VENUE_MINIMUM
    assert "below one lot (1e-05)" in str(err)
    assert refusal(req("kPEPE", True, 0.9, 20.0), MEME).kind is RefusalKind.SIZE_BELOW_LOT


@pytest.mark.parametrize("size", [0.0, -0.1, math.nan])
def test_empty_negative_or_nan_sizes_are_refused(size):
    assert refusal(req(size=size), BTC).kind is RefusalKind.INVALID_SIZE


def test_notional_under_10_usd_is_refused_for_an_entry():
    err = refusal(req(size=0.00009, price=100_000.0), BTC)  # $9
    assert err.kind is RefusalKind.NOTIONAL_BELOW_MINIMUM
    assert err.reason is ReasonCode.SIZE_BELOW_VENUE_MINIMUM
    assert "$9.00 is under the venue's $10 minimum" in str(err)


def test_notional_of_exactly_10_usd_passes():
    assert order_wire(req(size=0.0001, price=100_000.0), BTC, 0)["s"] == "0.0001"
    # float noise (0.1 × 100.0 is not exactly 10) is not a refusal
    assert order_wire(req("kPEPE", True, 100.0, 0.1), MEME, MEME_ASSET)["p"] == "0.1"


def test_notional_is_judged_after_rounding():
    # 0.000104999 BTC × 99,999.9 ≈ $10.50 asked; rounded: 0.0001 × 99,999 = $9.9999
    err = refusal(req(size=0.000104999, price=99_999.9), BTC)
    assert err.kind is RefusalKind.NOTIONAL_BELOW_MINIMUM


def test_reduce_only_orders_are_exempt_from_the_10_usd_minimum():
    wire = order_wire(req(is_buy=False, size=0.00005, price=100_000.0, reduce_only=True), BTC, 0)
    assert (wire["s"], wire["r"]) == ("0.00005", True)


def test_protective_stop_is_a_reduce_only_stop_market_trigger_order():
    stop = req(
        is_buy=False,
        size=0.25,
        price=94_050.03,  # worst price once triggered
        order_type=OrderType.MARKET,
        reduce_only=True,
        trigger_price=95_000.0,
    )
    assert order_wire(stop, BTC, BTC_ASSET) == {
        "a": 0,
        "b": False,
        "p": "94051",  # a sell's worst price rounds up
        "s": "0.25",
        "r": True,
        "t": {"trigger": {"isMarket": True, "triggerPx": "95000", "tpsl": "sl"}},
        "c": CLOID,
    }


def test_stop_triggers_round_to_fire_no_later_than_asked():
    sell_stop = req("ETH", False, 1.0, 3000.0, reduce_only=True, trigger_price=3456.789)
    buy_stop = req("ETH", True, 1.0, 4000.0, reduce_only=True, trigger_price=3456.789)
    assert order_wire(sell_stop, ETH, 1)["t"]["trigger"]["triggerPx"] == "3456.8"
    assert order_wire(buy_stop, ETH, 1)["t"]["trigger"]["triggerPx"] == "3456.7"


def test_stop_limit_when_the_intent_is_a_limit():
    stop = req(is_buy=False, size=0.1, price=94_000.0, order_type=OrderType.LIMIT)
    stop = OrderRequest(**{**_fields(stop), "reduce_only": True, "trigger_price": 95_000.0})
    assert order_wire(stop, BTC, 0)["t"]["trigger"]["isMarket"] is False


def test_trigger_order_that_is_not_reduce_only_is_refused():
    err = refusal(req(is_buy=False, size=0.1, price=94_000.0, trigger_price=95_000.0), BTC)
    assert err.kind is RefusalKind.STOP_NOT_REDUCE_ONLY


def test_stop_trigger_that_rounds_to_zero_is_refused():
    # a buy stop (closing a short) rounds its trigger down: below 0.000001 that is 0
    stop = req("kPEPE", True, 1e9, 0.001, reduce_only=True, trigger_price=4e-7)
    assert refusal(stop, MEME).kind is RefusalKind.PRICE_ROUNDS_TO_ZERO


@pytest.mark.parametrize("cloid", ["abc", "0x" + "a" * 31, "0x" + "g" * 32, "0x" + "a" * 33, ""])
def test_client_order_id_must_be_a_cloid(cloid):
    request = OrderRequest(cloid, "BTC", True, 0.001, 100_000.0)
    assert refusal(request, BTC).kind is RefusalKind.INVALID_CLIENT_ORDER_ID


def test_coin_must_match_the_market_and_asset_must_be_an_index():
    assert refusal(req(coin="ETH"), BTC).kind is RefusalKind.COIN_MISMATCH
    assert refusal(req(), BTC, asset=-1).kind is RefusalKind.INVALID_ASSET
    with pytest.raises(OrderRefused):
        order_wire(req(), BTC, True)  # type: ignore[arg-type]


def test_order_action_has_the_sdk_shape():
    wire = order_wire(req(), BTC, 0)
    assert order_action([wire]) == {"type": "order", "orders": [wire], "grouping": "na"}
    assert list(order_action([wire])) == ["type", "orders", "grouping"]
    with pytest.raises(ValueError):
        order_action([])


def test_cancel_by_cloid():
    action = cancel_by_cloid_action(BTC_ASSET, CLOID)
    assert action == {"type": "cancelByCloid", "cancels": [{"asset": 0, "cloid": CLOID}]}
    with pytest.raises(OrderRefused):
        cancel_by_cloid_action(0, "12")


@pytest.mark.parametrize(
    ("asked", "setting", "market_max", "sent"),
    [
        (3, 5, 40, 3),
        (20, 5, 40, 5),  # capped by MAX_LEVERAGE
        (10, 5, 3, 3),  # capped by the market's maximum
        (5.9, 5.5, 40, 5),  # the venue takes whole numbers: floored
        (1, 5, 40, 1),
    ],
)
def test_isolated_leverage_is_capped_by_the_setting_and_the_market(
    asked, setting, market_max, sent
):
    market = Market("SOL", sz_decimals=2, max_leverage=market_max)
    action = update_leverage_action(5, market, asked, max_leverage=setting)
    assert action == {"type": "updateLeverage", "asset": 5, "isCross": False, "leverage": sent}
    assert list(action) == ["type", "asset", "isCross", "leverage"]
    assert type(action["leverage"]) is int


@pytest.mark.parametrize("asked", [0.5, 0, -2, math.nan])
def test_leverage_below_1x_is_refused(asked):
    with pytest.raises(OrderRefused) as err:
        update_leverage_action(0, BTC, asked, max_leverage=5)
    assert err.value.kind is RefusalKind.INVALID_LEVERAGE


def test_asset_indices_count_delisted_coins():
    meta = {
        "universe": [
            {"name": "BTC", "szDecimals": 5, "maxLeverage": 40},
            {"name": "OLD", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True},
            {"name": "ETH", "szDecimals": 4, "maxLeverage": 25},
        ]
    }
    assert asset_indices(meta) == {"BTC": 0, "OLD": 1, "ETH": 2}
    with pytest.raises(ValueError):
        asset_indices({"universe": [{"szDecimals": 1}]})
    with pytest.raises(ValueError):
        asset_indices({})


def _fields(request: OrderRequest) -> dict:
    return {name: getattr(request, name) for name in OrderRequest.__slots__}
