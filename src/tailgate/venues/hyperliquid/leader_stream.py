"""Leaders' fills pushed by Hyperliquid's WebSocket (SPEC §C2, §R2): `LeaderFillStream`.

Two ways to listen, chosen by how many leaders are followed:

* up to the venue's cap on users per IP (10): one `userFills` subscription per leader. Each
  (re)subscribe replays recent fills with `isSnapshot: true`; that replay is never taken as
  new trades — the REST back-fill after a connect covers the same span, through the durable
  dedupe;
* above the cap: the public `trades` channel of every coin we trade. A trade names its two
  users; one of ours tells us *that* the leader traded, not the fill's direction or start
  position, so the leader's own fills around that time are read by `userFillsByTime` and
  pushed as they are. Any number of leaders can be followed this way, one REST read per trade
  of theirs.

Every connection, the first included, emits a `StreamGap` for all followed leaders before any
of its messages: the consumer back-fills by REST first, then takes the pushed fills (SPEC:
"the gap is back-filled by userFillsByTime before streaming resumes"). Frames that do not
parse are logged and counted, never raised: the stream outlives a bad message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import replace

from tailgate.domain.models import LeaderFill
from tailgate.logs import get_logger
from tailgate.transport import (
    ResilientStream,
    StreamHealth,
    StreamPolicy,
    hyperliquid_wire,
    stop_reading,
)
from tailgate.transport.limits import WsBudget
from tailgate.transport.metrics import TransportMetrics
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.parse_fills import Trade
from tailgate.venues.hyperliquid.ws_messages import (
    ErrorMessage,
    TradesMessage,
    UserFillsMessage,
    parse_ws_message,
)
from tailgate.venues.protocols import (
    FillPage,
    LeaderStreamEvent,
    PayloadError,
    PushedFills,
    StreamGap,
)

__all__ = ["MAX_USER_SUBSCRIPTIONS", "HyperliquidLeaderStream"]

log = get_logger("tailgate.hyperliquid.stream")

MAX_USER_SUBSCRIPTIONS = 10  # the venue's cap on distinct users per IP (WsLimits)


class HyperliquidLeaderStream:
    def __init__(
        self,
        ws_url: str,
        info: HyperliquidInfo,
        coins: Sequence[str],
        *,
        max_users: int = MAX_USER_SUBSCRIPTIONS,
        policy: StreamPolicy | None = None,
        metrics: TransportMetrics | None = None,
        budget: WsBudget | None = None,
    ) -> None:
        self._url = ws_url
        self._info = info
        self._coins = tuple(sorted(coins))
        self._max_users = max_users
        self._policy = policy
        self._metrics = metrics
        self._budget = budget
        self._events: asyncio.Queue[LeaderStreamEvent] = asyncio.Queue()
        self._followed: dict[str, str] = {}  # lower-case address → the engine's spelling
        self._stream: ResilientStream | None = None
        self._reader: asyncio.Task[None] | None = None
        self.mode = ""  # "userFills" | "trades" once following
        self.pushed = 0  # fills pushed to the consumer
        self.snapshots_skipped = 0  # replayed fills never taken as new
        self.trade_reads = 0  # userFillsByTime reads triggered by the trades channel
        self.bad_frames = 0
        self.connections = 0  # every connection of every subscription set so far

    # ---- LeaderFillStream -----------------------------------------------------------------

    async def follow(self, leaders: Collection[str]) -> None:
        wanted = {leader.lower(): leader for leader in leaders}
        if wanted == self._followed and (self._stream is not None or not wanted):
            return
        await self._stop()
        self._followed = wanted
        if not wanted:
            self.mode = ""
            return
        by_user = len(wanted) <= self._max_users
        self.mode = "userFills" if by_user else "trades"
        subscriptions = (
            [{"type": "userFills", "user": leader} for leader in sorted(wanted.values())]
            if by_user
            else [{"type": "trades", "coin": coin} for coin in self._coins]
        )
        self._stream = ResilientStream(
            self._url,
            subscriptions,
            name=f"hyperliquid.{self.mode}",
            wire=hyperliquid_wire(),
            policy=self._policy,
            metrics=self._metrics,
            budget=self._budget,
            on_connect=self._connected,
        )
        self._stream.start()
        self._reader = asyncio.create_task(self._read(self._stream), name="hl-leader-stream")
        log.info("leader_stream_following", mode=self.mode, leaders=len(wanted))

    async def events(self) -> AsyncIterator[LeaderStreamEvent]:
        while True:
            yield await self._events.get()

    @property
    def healthy(self) -> bool:
        return self._stream is not None and self._stream.health is StreamHealth.HEALTHY

    async def close(self) -> None:
        await self._stop()

    # ---- plumbing -------------------------------------------------------------------------

    async def _stop(self) -> None:
        reader, self._reader = self._reader, None
        stream, self._stream = self._stream, None
        await stop_reading(reader, stream)

    async def _connected(self, connections: int) -> None:
        """Subscriptions are sent; nothing of this connection is read yet: the gap first."""
        self.connections += 1
        self._events.put_nowait(StreamGap(tuple(sorted(self._followed.values()))))

    async def _read(self, stream: ResilientStream) -> None:
        async for raw in stream:
            received = time.perf_counter_ns()
            try:
                message = parse_ws_message(raw)
            except PayloadError as exc:
                self.bad_frames += 1
                log.warning("leader_stream_bad_frame", reason=exc.reason.value, detail=exc.detail)
                continue
            try:
                if isinstance(message, UserFillsMessage):
                    self._user_fills(message, received)
                elif isinstance(message, TradesMessage):
                    await self._trades(message, received)
                elif isinstance(message, ErrorMessage):
                    log.warning("leader_stream_venue_error", message=message.message)
            except Exception:  # one message's trouble is logged; the stream goes on
                log.exception("leader_stream_message_failed")

    def _user_fills(self, message: UserFillsMessage, received_ns: int) -> None:
        if message.is_snapshot:  # what already happened: the REST back-fill reads it
            self.snapshots_skipped += len(message.page.fills)
            return
        leader = self._followed.get(message.user.lower())
        if leader is None:  # a user we stopped following, still in flight
            return
        fills = [_as_leader(f, leader) for f in message.page.fills]
        self._push(FillPage(fills, list(message.page.rejects)), received_ns)

    async def _trades(self, message: TradesMessage, received_ns: int) -> None:
        """Our leaders' trades → their own fills over that span, read by REST."""
        spans: dict[str, tuple[int, int]] = {}
        for trade in message.trades:
            for user in _users(trade):
                leader = self._followed.get(user)
                if leader is not None:
                    lo, hi = spans.get(leader, (trade.time_ms, trade.time_ms))
                    spans[leader] = (min(lo, trade.time_ms), max(hi, trade.time_ms))
        for leader, (start, end) in sorted(spans.items()):
            self.trade_reads += 1
            try:
                page = await self._info.leader_fills(leader, start, end + 1)
            except Exception as exc:  # the consumer's REST back-fill tries again
                log.warning(
                    "leader_stream_fills_read_failed",
                    leader=leader,
                    error=f"{type(exc).__name__}: {exc}",
                )
                self._events.put_nowait(StreamGap((leader,)))
                continue
            self._push(page, received_ns)

    def _push(self, page: FillPage, received_ns: int) -> None:
        if page.fills or page.rejects:
            self.pushed += len(page.fills)
            self._events.put_nowait(PushedFills(page, received_ns))


def _users(trade: Trade) -> tuple[str, ...]:
    return tuple(u.lower() for u in (trade.buyer, trade.seller) if u)


def _as_leader(fill: LeaderFill, leader: str) -> LeaderFill:
    """The fill under the engine's spelling of the address: its dedupe key must match the
    one polling gives it."""
    return fill if fill.leader == leader else replace(fill, leader=leader)
