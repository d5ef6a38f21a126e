"""Plain domain objects shared by every layer.

Conventions: times are integer milliseconds since the Unix epoch (UTC), like the venues send
them; ratios and returns are fractions (0.15 means 15 %); money is USD; sizes are in coins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Action",
    "LeaderFill",
    "LeaderPosition",
    "LeaderState",
    "LeaderTrade",
    "LeaderboardEntry",
    "Level",
    "Market",
    "OrderBook",
    "OrderType",
    "PortfolioView",
    "Side",
    "Tier",
    "Trader",
    "TraderStyle",
]

MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000


class Side(StrEnum):
    """Direction of a position."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Side.LONG else -1

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG

    @classmethod
    def of(cls, signed_size: float) -> Side:
        """The side of a signed position size (must be non-zero)."""
        if signed_size == 0:
            raise ValueError("a flat position has no side")
        return cls.LONG if signed_size > 0 else cls.SHORT


class Action(StrEnum):
    """What a leader trade did to the leader's position (Hyperliquid's `dir` + start position)."""

    OPEN = "open"
    ADD = "add"
    REDUCE = "reduce"
    CLOSE = "close"


class TraderStyle(StrEnum):
    HFT = "hft"
    SWING = "swing"
    POSITION = "position"


class Tier(StrEnum):
    PRIMARY = "primary"  # copied
    SECONDARY = "secondary"  # watched
    NONE = "none"


class OrderType(StrEnum):
    MARKET = "market"  # marketable IOC with a slippage cap
    LIMIT = "limit"  # IOC limit close to the leader's price


@dataclass(frozen=True, slots=True)
class LeaderFill:
    """One fill of a leader, as a venue reports it (shape of Hyperliquid's `userFills`)."""

    leader: str
    coin: str
    price: float
    size: float  # coins, > 0
    is_buy: bool
    direction: str  # the venue's text, e.g. "Open Long", "Close Short", "Long > Short"
    start_position: float  # the leader's signed position in `coin` before this fill
    time_ms: int
    order_id: int  # several fills of one order share it
    fill_id: str  # unique per leader (Hyperliquid `tid`)
    tx_hash: str = ""
    closed_pnl: float = 0.0
    fee: float = 0.0
    liquidation: bool = False

    @property
    def dedupe_key(self) -> str:
        """Durable key: a fill is processed at most once, across restarts and replays."""
        return f"{self.leader}:{self.fill_id}"

    @property
    def end_position(self) -> float:
        return self.start_position + (self.size if self.is_buy else -self.size)


@dataclass(frozen=True, slots=True)
class LeaderTrade:
    """Fills of one leader order aggregated into one trade (SPEC §C2)."""

    leader: str
    coin: str
    side: Side  # side of the leader position this trade acts on
    action: Action
    size: float  # coins traded, > 0
    price: float  # size-weighted average fill price
    time_ms: int  # time of the first fill
    order_id: int
    start_position: float  # signed, before the trade
    end_position: float  # signed, after the trade
    fill_keys: tuple[str, ...] = ()
    closed_pnl: float = 0.0
    liquidation: bool = False  # the venue reported these fills as a liquidation of the leader

    @property
    def value_usd(self) -> float:
        return self.size * self.price

    @property
    def resulting_position_value_usd(self) -> float:
        """Notional of the leader's position in this coin after the trade, at the trade price."""
        return abs(self.end_position) * self.price

    @property
    def key(self) -> str:
        """Stable identity of the trade: leader, order and action (a flip makes two trades)."""
        return f"{self.leader}:{self.order_id}:{self.action.value}"


@dataclass(frozen=True, slots=True)
class LeaderPosition:
    """A leader's open position as the venue's account state reports it."""

    coin: str
    side: Side
    size: float  # coins, > 0
    entry_price: float
    leverage: float = 1.0
    position_value: float = 0.0  # notional at mark

    @property
    def signed_size(self) -> float:
        return self.size * self.side.sign


@dataclass(frozen=True, slots=True)
class LeaderState:
    """A leader's account at one moment (shape of Hyperliquid's `clearinghouseState`)."""

    leader: str
    account_value: float
    positions: tuple[LeaderPosition, ...]
    time_ms: int

    def position(self, coin: str) -> LeaderPosition | None:
        for p in self.positions:
            if p.coin == coin:
                return p
        return None


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    """One leaderboard row for one window (7, 30 or 90 days)."""

    leader: str
    window_days: int
    account_value: float
    pnl: float
    roi: float  # fraction over the window
    volume: float = 0.0
    display_name: str | None = None
    smart_money: bool = False  # the source's label, where it has one


@dataclass(slots=True)
class Trader:
    """A leader as we know them: leaderboard figures, derived metrics, score and tier."""

    address: str
    account_value: float = 0.0
    roi_7d: float = 0.0
    roi_30d: float = 0.0
    roi_90d: float = 0.0
    smart_money: bool = False
    max_drawdown: float = 0.0  # fraction of peak account value, from the portfolio history
    avg_leverage: float = 1.0
    days_active: float = 0.0
    trade_count: int = 0
    win_rate: float = 0.0
    style: TraderStyle | None = None
    score: float = 0.0
    score_components: dict[str, float] = field(default_factory=dict)
    disqualified_reason: str | None = None
    tier: Tier = Tier.NONE
    blacklisted_until_ms: int | None = None
    blacklist_reason: str | None = None

    def is_blacklisted(self, now_ms: int) -> bool:
        return self.blacklisted_until_ms is not None and now_ms < self.blacklisted_until_ms


@dataclass(frozen=True, slots=True)
class Market:
    """Venue facts about one perpetual (Hyperliquid `meta`)."""

    coin: str
    sz_decimals: int
    max_leverage: int
    max_price_decimals: int = 6  # perps: 6; the price rule is min(5 sig figs, 6 - szDecimals)


@dataclass(frozen=True, slots=True)
class Level:
    price: float
    size: float  # coins


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Top levels of a book; bids best (highest) first, asks best (lowest) first."""

    coin: str
    time_ms: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    @property
    def mid(self) -> float:
        return (self.bids[0].price + self.asks[0].price) / 2


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """What the portfolio-limit step (§C3 step 8) needs to know about our book."""

    account_value: float
    open_positions: int
    total_exposure_usd: float
    exposure_by_coin: dict[str, float]
    open_coins: frozenset[str] = frozenset()
    holders: Mapping[str, str] = field(default_factory=dict)  # coin -> leader we copied it from
