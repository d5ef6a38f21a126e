"""Leaders' account states kept ahead of their trades (SPEC §N: a copy decided from memory).

An entry is judged on the leader's account: its value (§C3 step 3), whether the position is
still open (step 4) and its leverage (step 9). Read from the venue when the trade arrives, that
is a round trip on the copy path. When the engine streams leaders' fills it also keeps every
followed leader's state in memory, read in the background every `leader_state_refresh_sec`,
and judges a trade on the latest state with the trade itself applied: the coin's position
becomes the trade's end position (its side and size are in the fill), at the leverage the
state shows for it — or last showed, for a position the trade opens (a leader's leverage on a
coin is a setting that outlives the position). When memory cannot say — no state younger than
`leader_state_max_age_sec`, or a coin the leader was never seen holding — the venue is read,
as before.

Without a stream (backtests, paper on the simulator) nothing is kept: every entry reads the
state at its moment, and the trade fingerprint stays what it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace

from tailgate.domain.models import LeaderPosition, LeaderState, LeaderTrade, Side
from tailgate.logs import get_logger
from tailgate.venues.protocols import LeaderFeed

__all__ = ["LeaderStates"]

log = get_logger("tailgate.leader_states")


class LeaderStates:
    def __init__(self, feed: LeaderFeed, now_ms: Callable[[], int], max_age_ms: int) -> None:
        self._feed = feed
        self._now_ms = now_ms
        self._max_age_ms = max_age_ms
        self._states: dict[str, LeaderState] = {}
        self._leverage: dict[tuple[str, str], float] = {}  # (leader, coin) → last seen
        self.served = 0  # trades judged from memory
        self.missed = 0  # trades memory could not judge (the venue was read)
        self.refresh_failures = 0

    def remember(self, state: LeaderState) -> None:
        """A state read from the venue (by the refresh, or by a copy that had to read)."""
        current = self._states.get(state.leader)
        if current is None or current.time_ms <= state.time_ms:
            self._states[state.leader] = state
        for p in state.positions:
            self._leverage[(state.leader, p.coin)] = p.leverage

    async def refresh(self, leaders: Iterable[str]) -> None:
        """Read every leader's state at once; a failed read is logged and the old one kept."""
        wanted = sorted(set(leaders))
        results = await asyncio.gather(
            *(self._feed.leader_state(leader) for leader in wanted), return_exceptions=True
        )
        for leader, result in zip(wanted, results, strict=True):
            if isinstance(result, LeaderState):
                self.remember(result)
            elif isinstance(result, BaseException):
                self.refresh_failures += 1
                log.warning(
                    "leader_state_unavailable",
                    leader=leader,
                    error=f"{type(result).__name__}: {result}",
                )

    def after(self, trade: LeaderTrade) -> LeaderState | None:
        """The leader's state right after `trade`, from memory; None when memory cannot say.
        Only for a trade as fresh as the memory: an older one may have been followed by
        others the state already shows (the venue, read, says what holds now)."""
        now = self._now_ms()
        state = self._states.get(trade.leader)
        if (
            state is None
            or not 0 <= now - state.time_ms <= self._max_age_ms
            or not now - trade.time_ms <= self._max_age_ms
        ):
            self.missed += 1
            return None
        others = tuple(p for p in state.positions if p.coin != trade.coin)
        end = trade.end_position
        if end == 0:
            self.served += 1
            return replace(state, positions=others)
        side = Side.of(end)
        held = state.position(trade.coin)
        if held is not None and held.side is side:
            leverage, entry = held.leverage, held.entry_price
        else:
            known = self._leverage.get((trade.leader, trade.coin))
            if known is None:
                self.missed += 1
                return None
            leverage, entry = known, trade.price
        position = LeaderPosition(
            coin=trade.coin,
            side=side,
            size=abs(end),
            entry_price=entry,
            leverage=leverage,
            position_value=abs(end) * trade.price,
        )
        self.served += 1
        return replace(state, positions=(*others, position))
