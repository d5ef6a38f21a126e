"""Leaders' states kept in memory: a fresh trade is judged on the latest state with the trade
applied; memory that cannot say (too old, a coin never seen held) sends the copier to the venue."""

from __future__ import annotations

import asyncio

from tailgate.domain.models import Action, LeaderPosition, LeaderState, LeaderTrade, Side
from tailgate.engine.leader_states import LeaderStates

LEADER = "0x" + "b" * 40
T0 = 1_740_000_000_000
MAX_AGE = 30_000


def trade(
    action: Action, side: Side, start: float, end: float, *, coin: str = "ETH", t: int = T0
) -> LeaderTrade:
    return LeaderTrade(
        LEADER, coin, side, action, abs(end - start), 3_000.0, t, 7, start, end, fill_keys=("k",)
    )


def state(*positions: LeaderPosition, at: int = T0 - 5_000) -> LeaderState:
    return LeaderState(LEADER, 250_000.0, positions, at)


ETH_LONG_5X = LeaderPosition("ETH", Side.LONG, 2.0, 2_900.0, leverage=5.0, position_value=6_000.0)
BTC_SHORT_3X = LeaderPosition("BTC", Side.SHORT, 0.1, 60_000.0, leverage=3.0)


class Feed:
    def __init__(self, answers: dict[str, LeaderState | Exception]) -> None:
        self.answers = answers
        self.reads: list[str] = []

    async def leader_state(self, leader: str) -> LeaderState:
        self.reads.append(leader)
        answer = self.answers[leader]
        if isinstance(answer, Exception):
            raise answer
        return answer


def kept(now: int = T0, *states: LeaderState) -> LeaderStates:
    memory = LeaderStates(Feed({}), lambda: now, MAX_AGE)  # type: ignore[arg-type]
    for s in states:
        memory.remember(s)
    return memory


def test_an_add_keeps_the_held_leverage_and_entry_and_takes_the_trades_size() -> None:
    memory = kept(T0, state(ETH_LONG_5X, BTC_SHORT_3X))
    after = memory.after(trade(Action.ADD, Side.LONG, 2.0, 3.5))
    assert after is not None
    eth = after.position("ETH")
    assert eth is not None
    assert (eth.side, eth.size, eth.leverage, eth.entry_price) == (Side.LONG, 3.5, 5.0, 2_900.0)
    assert after.position("BTC") == BTC_SHORT_3X  # other coins as the venue said
    assert after.account_value == 250_000.0 and memory.served == 1


def test_an_open_takes_the_leverage_the_coin_last_had() -> None:
    memory = kept(T0, state(ETH_LONG_5X, at=T0 - 3_600_000), state(at=T0 - 5_000))
    after = memory.after(trade(Action.OPEN, Side.SHORT, 0.0, -1.0))
    assert after is not None
    eth = after.position("ETH")
    assert eth is not None and (eth.side, eth.size, eth.leverage) == (Side.SHORT, 1.0, 5.0)


def test_a_close_removes_the_position() -> None:
    after = kept(T0, state(ETH_LONG_5X)).after(trade(Action.CLOSE, Side.LONG, 2.0, 0.0))
    assert after is not None and after.position("ETH") is None


def test_memory_that_cannot_say_sends_the_copier_to_the_venue() -> None:
    never_held = kept(T0, state(BTC_SHORT_3X))
    assert never_held.after(trade(Action.OPEN, Side.LONG, 0.0, 1.0)) is None
    too_old = kept(T0, state(ETH_LONG_5X, at=T0 - MAX_AGE - 1))
    assert too_old.after(trade(Action.ADD, Side.LONG, 2.0, 3.0)) is None
    old_trade = kept(T0, state(ETH_LONG_5X))  # later trades may be in the state already
    assert old_trade.after(trade(Action.ADD, Side.LONG, 2.0, 3.0, t=T0 - MAX_AGE - 1)) is None
    assert kept(T0).after(trade(Action.ADD, Side.LONG, 2.0, 3.0)) is None  # no state at all
    assert (never_held.missed, too_old.missed, old_trade.missed) == (1, 1, 1)


def test_an_older_read_never_replaces_a_newer_one() -> None:
    memory = kept(T0, state(ETH_LONG_5X, at=T0 - 1_000), state(at=T0 - 9_000))
    after = memory.after(trade(Action.ADD, Side.LONG, 2.0, 3.0))
    assert after is not None and after.position("ETH") is not None
    assert after.time_ms == T0 - 1_000


def test_refresh_reads_every_leader_at_once_and_keeps_the_old_state_on_a_failure() -> None:
    other = "0x" + "c" * 40
    feed = Feed({LEADER: state(ETH_LONG_5X, at=T0), other: RuntimeError("venue down")})
    memory = LeaderStates(feed, lambda: T0, MAX_AGE)  # type: ignore[arg-type]
    asyncio.run(memory.refresh([LEADER, other, LEADER]))
    assert sorted(feed.reads) == sorted([LEADER, other])
    assert memory.refresh_failures == 1
    assert memory.after(trade(Action.ADD, Side.LONG, 2.0, 3.0)) is not None
