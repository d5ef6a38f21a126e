"""Finding a leader's liquidations in their trade history (SPEC §C1 risk, §C5 cooldown).

A venue may report a liquidation as fills marked `liquidation`; it may also say nothing: the
position just vanishes. Both are found here. Walking a leader's trades per coin in time order,
the position each trade starts from must be the one the previous trade left; a position that
was open and is flat at the next trade (or absent from the leader's live state now) vanished
without a Close: a liquidation, or fills we never saw — treated alike, conservatively.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from operator import attrgetter

from tailgate.domain.models import LeaderTrade, Side

__all__ = ["Liquidation", "find_liquidations"]

_FLAT = 1e-9  # relative: below this a position is flat


@dataclass(frozen=True, slots=True)
class Liquidation:
    coin: str
    side: Side
    size: float  # coins
    entry_price: float | None  # unknown when the position vanished without a fill
    time_ms: int  # the liquidation fill; else the next trade (it happened before); else, when
    # `open_ended`, the last trade in the coin (it happened after, by now: when is unknown)
    reported: bool  # True: the venue's fills said so; False: the position vanished
    open_ended: bool = False


def find_liquidations(
    trades: Iterable[LeaderTrade], open_coins_now: Collection[str]
) -> list[Liquidation]:
    """Every liquidation visible in `trades` (any order), oldest first.

    `open_coins_now` are the coins the leader holds now (their live account state); a position
    the history leaves open in a coin that is not among them has vanished since.
    """
    found: list[Liquidation] = []
    position: dict[str, tuple[float, int]] = {}  # coin -> (signed size, last trade time)
    for trade in sorted(trades, key=attrgetter("time_ms", "order_id")):
        held, _ = position.get(trade.coin, (0.0, trade.time_ms))
        scale = abs(held) + abs(trade.start_position) + trade.size
        if abs(held) > _FLAT * scale and abs(trade.start_position) <= _FLAT * scale:
            found.append(
                Liquidation(trade.coin, Side.of(held), abs(held), None, trade.time_ms, False)
            )
        if trade.liquidation:
            found.append(
                Liquidation(trade.coin, trade.side, trade.size, trade.price, trade.time_ms, True)
            )
        position[trade.coin] = (trade.end_position, trade.time_ms)
    for coin, (held, last_ms) in sorted(position.items()):
        if held != 0 and coin not in open_coins_now:
            found.append(Liquidation(coin, Side.of(held), abs(held), None, last_ms, False, True))
    found.sort(key=lambda x: x.time_ms)
    return found
