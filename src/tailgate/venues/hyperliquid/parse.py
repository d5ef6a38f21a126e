"""Hyperliquid JSON → domain objects, at the boundary (SPEC §S: validate every payload).

One import for every parser of the adapter; each lives in a small module by subject:

* `parse_fills`   — `userFills` / `userFillsByTime`, the `trades` channel, and the fills of
  followed leaders read off public trades;
* `parse_market`  — `meta`, `allMids`, `l2Book`, `candleSnapshot`;
* `parse_account` — `clearinghouseState`, `portfolio`;
* `parse_orders`  — `openOrders` / `frontendOpenOrders`, `orderStatus`, order responses;
* `leaderboard`   — the stats leaderboard, streamed row by row (`json_stream`);
* `ws_messages`   — WebSocket frames;
* `parse_common`  — what a venue number, price, size, id and time are; rejection excerpts.

The rules they share: nothing but `PayloadError` (a `ReasonCode` and a detail naming the field)
escapes a parser, whatever the input; a bad element of a list of independent facts (fills,
trades, orders, mids, meta assets, leaderboard rows, candles) becomes a `RejectedPayload` and
the good ones are kept; a bad part of a whole (a book level, a position of an account state, a
portfolio point) rejects the whole. Market and account values are judged here (prices finite
and > 0, sizes finite and > 0); leader fills are judged by the domain under their durable
dedupe key (see `parse_fills`).
"""

from __future__ import annotations

from tailgate.venues.hyperliquid.leaderboard import (
    LEADERBOARD_WINDOWS,
    LeaderboardRow,
    WindowPerformance,
    aiter_leaderboard_rows,
    iter_leaderboard_rows,
    parse_leaderboard,
    parse_leaderboard_row,
    read_leaderboard_row,
)
from tailgate.venues.hyperliquid.parse_account import (
    ClearinghouseState,
    PerpPosition,
    PortfolioWindow,
    parse_account_snapshot,
    parse_clearinghouse,
    parse_clearinghouse_state,
    parse_portfolio,
    parse_portfolio_windows,
)
from tailgate.venues.hyperliquid.parse_common import EXCERPT_CHARS, excerpt
from tailgate.venues.hyperliquid.parse_fills import (
    Trade,
    leader_fills_from_trades,
    parse_trade,
    parse_trades,
    parse_user_fill,
    parse_user_fills,
)
from tailgate.venues.hyperliquid.parse_market import (
    CandlePage,
    PerpAsset,
    parse_all_mids,
    parse_candle_snapshot,
    parse_l2_book,
    parse_meta,
    parse_mids,
    parse_perp_meta,
)
from tailgate.venues.hyperliquid.parse_orders import (
    VenueOrder,
    parse_open_orders,
    parse_order,
    parse_order_response,
    parse_order_status,
    parse_orders,
    with_order_fills,
)
from tailgate.venues.hyperliquid.ws_messages import WsMessage, parse_ws_message

__all__ = [
    "EXCERPT_CHARS",
    "LEADERBOARD_WINDOWS",
    "CandlePage",
    "ClearinghouseState",
    "LeaderboardRow",
    "PerpAsset",
    "PerpPosition",
    "PortfolioWindow",
    "Trade",
    "VenueOrder",
    "WindowPerformance",
    "WsMessage",
    "aiter_leaderboard_rows",
    "excerpt",
    "iter_leaderboard_rows",
    "leader_fills_from_trades",
    "parse_account_snapshot",
    "parse_all_mids",
    "parse_candle_snapshot",
    "parse_clearinghouse",
    "parse_clearinghouse_state",
    "parse_l2_book",
    "parse_leaderboard",
    "parse_leaderboard_row",
    "parse_meta",
    "parse_mids",
    "parse_open_orders",
    "parse_order",
    "parse_order_response",
    "parse_order_status",
    "parse_orders",
    "parse_perp_meta",
    "parse_portfolio",
    "parse_portfolio_windows",
    "parse_trade",
    "parse_trades",
    "parse_user_fill",
    "parse_user_fills",
    "parse_ws_message",
    "read_leaderboard_row",
    "with_order_fills",
]
