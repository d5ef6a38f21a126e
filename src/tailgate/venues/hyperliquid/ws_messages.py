"""WebSocket frames → typed messages: `{"channel": …, "data": …}` read once, at the boundary.

`parse_ws_message(frame)` takes the frame's text (or bytes, or an already decoded object) and
returns one of the message classes below, or raises `PayloadError` for a frame that is not
JSON, has no channel, or whose data is not the channel's shape. A channel we do not handle
(`notification`, `webData2`, `candle`, …) is an `UnhandledMessage`, not an error: the venue adds
channels, and an adapter that only subscribed to some must not fail on the others.

Snapshots: on every (re)subscribe the venue replays recent fills with `isSnapshot: true`.
`UserFillsMessage.is_snapshot` carries that flag, so the caller passes those fills through the
durable dedupe (they may include fills missed while disconnected) but never treats them as new
live trades. A non-boolean `isSnapshot` rejects the frame rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tailgate.domain.models import OrderBook
from tailgate.venues.hyperliquid.parse_common import (
    SHAPE_ERRORS,
    bad,
    decode_json,
    integer,
    mapping,
    show,
    text,
)
from tailgate.venues.hyperliquid.parse_common import field as required
from tailgate.venues.hyperliquid.parse_fills import Trade, parse_trades, parse_user_fills
from tailgate.venues.hyperliquid.parse_market import parse_l2_book, parse_mids
from tailgate.venues.protocols import FillPage, PayloadError, RejectedPayload

__all__ = [
    "BookMessage",
    "ErrorMessage",
    "MidsMessage",
    "PongMessage",
    "PostResponse",
    "SubscriptionResponse",
    "TradesMessage",
    "UnhandledMessage",
    "UserEventsMessage",
    "UserFillsMessage",
    "WsMessage",
    "parse_ws_message",
]

MAX_FRAME_CHARS = 8 * 1024 * 1024  # the venue's largest frames (allMids, webData2) are < 1 MB


@dataclass(frozen=True, slots=True)
class SubscriptionResponse:
    method: str  # "subscribe" | "unsubscribe"
    subscription: Mapping[str, Any]  # the request as the venue echoes it


@dataclass(frozen=True, slots=True)
class UserFillsMessage:
    user: str
    is_snapshot: bool
    page: FillPage


@dataclass(frozen=True, slots=True)
class UserEventsMessage:
    """The `user` channel (userEvents): fills, and events we only name (funding,
    liquidation, nonUserCancel)."""

    page: FillPage
    events: tuple[str, ...] = ()  # the data's other keys


@dataclass(frozen=True, slots=True)
class TradesMessage:
    trades: list[Trade]
    rejects: list[RejectedPayload] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BookMessage:
    book: OrderBook


@dataclass(frozen=True, slots=True)
class MidsMessage:
    mids: dict[str, float]
    rejects: list[RejectedPayload] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PongMessage:
    pass


@dataclass(frozen=True, slots=True)
class PostResponse:
    """The answer to a request posted over the socket, matched by `id`.

    kind "info": `payload` is `{"type": …, "data": …}` — hand `data` to the REST parser of
    that type; kind "action": `payload` is the `/exchange` response (`parse_order_response`);
    kind "error": `payload` is the venue's message."""

    request_id: int
    kind: str
    payload: Any


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    message: str


@dataclass(frozen=True, slots=True)
class UnhandledMessage:
    channel: str
    data: Any


WsMessage = (
    SubscriptionResponse
    | UserFillsMessage
    | UserEventsMessage
    | TradesMessage
    | BookMessage
    | MidsMessage
    | PongMessage
    | PostResponse
    | ErrorMessage
    | UnhandledMessage
)

_POST_KINDS = frozenset({"info", "action", "error"})


def _subscription(data: object) -> SubscriptionResponse:
    body = mapping(data, "subscriptionResponse")
    method = text(required(body, "method", "subscriptionResponse"), "subscriptionResponse.method")
    sub = mapping(required(body, "subscription", "subscriptionResponse"), "subscription")
    return SubscriptionResponse(method=method, subscription=sub)


def _user_fills(data: object) -> UserFillsMessage:
    body = mapping(data, "userFills")
    user = text(required(body, "user", "userFills"), "userFills.user")
    snapshot = body.get("isSnapshot", False)
    if not isinstance(snapshot, bool):
        raise bad(f"userFills.isSnapshot: expected a boolean, got {show(snapshot)}")
    page = parse_user_fills(required(body, "fills", "userFills"), user)
    return UserFillsMessage(user=user, is_snapshot=snapshot, page=page)


def _user_events(data: object, user: str | None) -> UserEventsMessage:
    body = mapping(data, "user")
    fills = body.get("fills")
    if fills is not None and not user:
        raise bad("user channel: fills name no user; pass user= (the subscribed address)")
    page = parse_user_fills(fills, user or "") if fills is not None else FillPage(fills=[])
    events = tuple(sorted(str(k)[:40] for k in body if k != "fills"))
    return UserEventsMessage(page=page, events=events)


def _trades(data: object) -> TradesMessage:
    if not isinstance(data, list):
        raise bad(f"trades: expected a list, got {type(data).__name__}")
    trades, rejects = parse_trades(data)
    return TradesMessage(trades=trades, rejects=rejects)


def _mids(data: object) -> MidsMessage:
    body = mapping(data, "allMids")
    mids, rejects = parse_mids(required(body, "mids", "allMids"))
    return MidsMessage(mids=mids, rejects=rejects)


def _post(data: object) -> PostResponse:
    body = mapping(data, "post")
    request_id = integer(required(body, "id", "post"), "post.id")
    response = mapping(required(body, "response", "post"), "post.response")
    kind = required(response, "type", "post.response")
    if kind not in _POST_KINDS:
        raise bad(f"post.response.type: expected info, action or error, got {show(kind)}")
    payload = required(response, "payload", "post.response")
    if kind == "error" and not isinstance(payload, str):
        raise bad("post.response.payload: an error's payload is its message")
    if kind != "error":
        mapping(payload, "post.response.payload")
    return PostResponse(request_id=request_id, kind=kind, payload=payload)


def _error(data: object) -> ErrorMessage:
    if isinstance(data, str):
        return ErrorMessage(message=data[:500])
    return ErrorMessage(message=show(data, 500))


def _dispatch(channel: str, message: Mapping[str, Any], user: str | None) -> WsMessage:
    if channel == "pong":
        return PongMessage()
    data = required(message, "data", channel)
    if channel == "subscriptionResponse":
        return _subscription(data)
    if channel == "userFills":
        return _user_fills(data)
    if channel == "user":
        return _user_events(data, user)
    if channel == "trades":
        return _trades(data)
    if channel == "l2Book":
        return BookMessage(book=parse_l2_book(data))
    if channel == "allMids":
        return _mids(data)
    if channel == "post":
        return _post(data)
    if channel == "error":
        return _error(data)
    return UnhandledMessage(channel=channel, data=data)


def parse_ws_message(
    frame: str | bytes | bytearray | Mapping[str, Any], *, user: str | None = None
) -> WsMessage:
    """One WebSocket frame → a typed message. `user`: the address a `user` (userEvents)
    subscription is for — that channel's fills do not name it."""
    if isinstance(frame, str | bytes | bytearray):
        if len(frame) > MAX_FRAME_CHARS:
            raise bad(f"ws frame: {len(frame)} characters")
        raw = decode_json(frame, "ws frame")
    else:
        raw = frame
    try:
        message = mapping(raw, "ws frame")
        channel = text(required(message, "channel", "ws frame"), "ws frame.channel")
        return _dispatch(channel, message, user)
    except PayloadError:
        raise
    except SHAPE_ERRORS as exc:  # an exotic object where JSON was expected
        raise bad(f"ws frame: {type(exc).__name__}") from None
