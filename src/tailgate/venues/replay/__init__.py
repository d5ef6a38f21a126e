"""A venue that replays real history (SPEC §B1): imported leader fills and price bars served
through the same protocols as the simulator, so the engine backtests on them unchanged."""

from tailgate.venues.replay.data import ReplayData
from tailgate.venues.replay.leaders import (
    ASSUMED_LEADER_LEVERAGE,
    LeaderHistory,
    estimate_account_value,
)
from tailgate.venues.replay.slippage import fill_price, slippage, synthetic_book
from tailgate.venues.replay.venue import MARKET_FACTS, ReplayVenue, market_for

__all__ = [
    "ASSUMED_LEADER_LEVERAGE",
    "MARKET_FACTS",
    "LeaderHistory",
    "ReplayData",
    "ReplayVenue",
    "estimate_account_value",
    "fill_price",
    "market_for",
    "slippage",
    "synthetic_book",
]
