"""Leader discovery, scoring and selection (SPEC §C1), and what we know of leaders' positions.

The daily refresh reads the 7/30/90-day leaderboards, drops candidates that cannot qualify on
leaderboard figures alone (cheap), fetches the rest's trade history incrementally (only what
is new since the last refresh), classifies style, scores the ones that can still qualify, and
selects primary (copied) and secondary (watched) tiers. Blacklists survive refreshes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from tailgate.domain import (
    aggregate_fills,
    classify_trader_style,
    compute_trader_score,
    select_traders,
    validate_leader_fill,
)
from tailgate.domain.liquidations import find_liquidations
from tailgate.domain.models import (
    MS_PER_DAY,
    Action,
    LeaderPosition,
    LeaderTrade,
    Side,
    Tier,
    Trader,
    TraderStyle,
)
from tailgate.domain.params import CopyParams
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.store.records import LeaderPositionRecord
from tailgate.venues.protocols import LeaderFeed

__all__ = ["LeaderBook", "LeaderPositionTracker", "max_drawdown"]

log = get_logger("tailgate.leaders")

HISTORY_DAYS = 90
TRADER_LIQUIDATED = "TRADER_LIQUIDATED"
LEVERAGE_MEMORY = 0.5  # weight of the leverage seen at earlier refreshes
LEADERBOARD_WINDOWS = (7, 30, 90)


def max_drawdown(values: Iterable[float]) -> float:
    """Largest peak-to-trough fall, as a fraction of the peak."""
    peak, worst = 0.0, 0.0
    for v in values:
        peak = max(peak, v)
        if peak > 0:
            worst = max(worst, (peak - v) / peak)
    return worst


class LeaderPositionTracker:
    """Leaders' open positions as their trades tell us (for the Add window of §C3 step 1)."""

    def __init__(self, records: Iterable[LeaderPositionRecord]) -> None:
        self._positions = {(r.leader, r.coin): r for r in records}

    def get(self, leader: str, coin: str) -> LeaderPositionRecord | None:
        return self._positions.get((leader, coin))

    def after(self, trade: LeaderTrade) -> tuple[LeaderPositionRecord | None, bool]:
        """The leader's position after `trade` (not yet applied), and whether it is now closed."""
        if trade.end_position == 0:
            return None, True
        current = self._positions.get((trade.leader, trade.coin))
        opened = (
            current.opened_ms
            if current is not None and trade.action is not Action.OPEN
            else trade.time_ms
        )
        record = LeaderPositionRecord(
            leader=trade.leader,
            coin=trade.coin,
            side=Side.of(trade.end_position),
            size=abs(trade.end_position),
            opened_ms=opened,
            updated_ms=trade.time_ms,
        )
        return record, False

    def apply(self, trade: LeaderTrade, record: LeaderPositionRecord | None, closed: bool) -> None:
        if closed:
            self._positions.pop((trade.leader, trade.coin), None)
        elif record is not None:
            self._positions[(trade.leader, trade.coin)] = record

    def seed(self, leader: str, trades: list[LeaderTrade]) -> list[LeaderPositionRecord]:
        """Derive a newly followed leader's open positions from their history."""
        added: list[LeaderPositionRecord] = []
        for trade in trades:
            record, closed = self.after(trade)
            self.apply(trade, record, closed)
        for (who, _), record in self._positions.items():
            if who == leader:
                added.append(record)
        return added


@dataclass(slots=True)
class _History:
    trades: list[LeaderTrade] = field(default_factory=list)
    fetched_until_ms: int = 0
    first_seen_ms: int | None = None


class LeaderBook:
    """Who we copy (primary), who we watch (secondary), and their scores."""

    def __init__(
        self, feed: LeaderFeed, store: Store, params: CopyParams, known_coins: Iterable[str]
    ) -> None:
        self._feed = feed
        self._store = store
        self._params = params
        self._known_coins = frozenset(known_coins)
        self._history: dict[str, _History] = {}
        self._seeded: set[str] = set()  # leaders whose positions this process derived
        # positions seen to have vanished: (leader, coin, last trade time) -> first seen
        self._vanished_seen: dict[tuple[str, str, int], int] = {}
        self.traders: dict[str, Trader] = {t.address: t for t in store.load_leaders()}
        self.tracker = LeaderPositionTracker(store.load_leader_positions())
        self.last_refresh_ms: int | None = store.get_state("leaders_refreshed_ms")
        self.selections: list[tuple[int, tuple[str, ...]]] = []  # (time, primary) per refresh

    @property
    def primary(self) -> list[Trader]:
        return sorted(
            (t for t in self.traders.values() if t.tier is Tier.PRIMARY),
            key=lambda t: (-t.score, t.address),
        )

    @property
    def secondary(self) -> list[Trader]:
        return sorted(
            (t for t in self.traders.values() if t.tier is Tier.SECONDARY),
            key=lambda t: (-t.score, t.address),
        )

    def get(self, address: str) -> Trader | None:
        return self.traders.get(address)

    def coins_traded(self) -> list[str]:
        """The coins the primary leaders traded over their known history, most traded first
        (ties by name): where their next trades will most likely be."""
        counts = Counter(
            t.coin
            for leader in self.primary
            for t in (
                self._history[leader.address].trades if leader.address in self._history else ()
            )
        )
        return sorted(counts, key=lambda coin: (-counts[coin], coin))

    def blacklist(self, address: str, until_ms: int, reason: str) -> None:
        trader = self.traders.setdefault(address, Trader(address=address))
        trader.blacklisted_until_ms = until_ms
        trader.blacklist_reason = reason
        trader.tier = Tier.NONE
        self._store.blacklist_leader(address, until_ms, reason)

    async def refresh(self, now_ms: int) -> None:
        boards = {w: await self._feed.leaderboard(w) for w in LEADERBOARD_WINDOWS}
        previous = self.traders
        traders: dict[str, Trader] = {}
        for window, rows in boards.items():
            for row in rows:
                t = traders.get(row.leader)
                if t is None:
                    old = previous.get(row.leader)
                    t = Trader(address=row.leader)
                    if old is not None:
                        t.blacklisted_until_ms = old.blacklisted_until_ms
                        t.blacklist_reason = old.blacklist_reason
                        t.avg_leverage = old.avg_leverage
                    traders[row.leader] = t
                t.account_value = row.account_value
                t.smart_money = t.smart_money or row.smart_money
                if window == 7:
                    t.roi_7d = row.roi
                elif window == 30:
                    t.roi_30d = row.roi
                else:
                    t.roi_90d = row.roi
        p = self._params
        scored = 0
        for t in traders.values():
            if t.account_value < p.min_account_value_usd:
                t.disqualified_reason = "ACCOUNT_TOO_SMALL"
                continue
            if t.roi_30d <= 0:
                t.disqualified_reason = "ROI_30D_NOT_POSITIVE"
                continue
            if t.is_blacklisted(now_ms):
                t.disqualified_reason = "BLACKLISTED"
                continue
            trades = await self._trades_90d(t.address, now_ms)
            history = self._history[t.address]
            first = history.first_seen_ms if history.first_seen_ms is not None else now_ms
            t.days_active = max(min(HISTORY_DAYS, (now_ms - first) / MS_PER_DAY), 1.0)
            t.trade_count = len(trades)
            t.style = classify_trader_style(trades, t.days_active, p)
            if t.style is TraderStyle.HFT:
                t.disqualified_reason = "HFT_STYLE"
                continue
            if t.trade_count < p.min_trades_required:
                t.disqualified_reason = "TOO_FEW_TRADES"
                continue
            state = await self._feed.leader_state(t.address)
            if self._blacklist_recent_liquidation(t, trades, state.positions, now_ms):
                t.disqualified_reason = "BLACKLISTED"
                continue
            t.max_drawdown = max_drawdown(
                v for _, v in await self._feed.leader_portfolio(t.address)
            )
            if state.positions:
                # Leverage is only visible while a position is open: blend what we see now into
                # what we saw before, so a reckless trader caught flat is not scored as careful.
                now_leverage = sum(x.leverage for x in state.positions) / len(state.positions)
                seen_before = t.address in previous and previous[t.address].avg_leverage > 1.0
                t.avg_leverage = (
                    LEVERAGE_MEMORY * t.avg_leverage + (1 - LEVERAGE_MEMORY) * now_leverage
                    if seen_before
                    else now_leverage
                )
            score = compute_trader_score(t, trades, now_ms, p)
            t.score = score.score
            t.score_components = dict(score.components)
            t.win_rate = score.win_rate
            t.disqualified_reason = score.disqualified_reason
            scored += 1
        selection = select_traders(list(traders.values()), now_ms, p)
        for t in traders.values():
            if t.address in selection.rejected and t.disqualified_reason is None:
                t.disqualified_reason = selection.rejected[t.address]
        self.traders = traders
        for t in selection.primary:
            if t.address not in self._seeded:
                self.tracker.seed(t.address, self._history[t.address].trades)
                self._seeded.add(t.address)
        self._store.save_leaders(list(traders.values()), now_ms)
        self._store.set_state("leaders_refreshed_ms", now_ms, now_ms)
        self.last_refresh_ms = now_ms
        self.selections.append((now_ms, tuple(t.address for t in selection.primary)))
        log.info(
            "leaders_refreshed",
            candidates=len(traders),
            scored=scored,
            primary=[t.address for t in selection.primary],
            secondary=len(selection.secondary),
        )

    def _blacklist_recent_liquidation(
        self,
        t: Trader,
        trades: list[LeaderTrade],
        positions: Iterable[LeaderPosition],
        now_ms: int,
    ) -> bool:
        """§C5's cooldown, applied to history too: a leader liquidated within the last
        LIQUIDATION_COOLDOWN_DAYS is blacklisted until the cooldown ends."""
        cooldown_ms = int(self._params.liquidation_cooldown_days * MS_PER_DAY)
        for liq in find_liquidations(trades, {p.coin for p in positions}):
            when = liq.time_ms
            if liq.open_ended:  # vanished at some point since: date it when we first saw it
                when = self._vanished_seen.setdefault((t.address, liq.coin, liq.time_ms), now_ms)
            until = when + cooldown_ms
            if until > now_ms and (t.blacklisted_until_ms or 0) < until:
                t.blacklisted_until_ms = until
                t.blacklist_reason = TRADER_LIQUIDATED
                log.info(
                    "leader_liquidation_found",
                    leader=t.address,
                    coin=liq.coin,
                    reported=liq.reported,
                    time_ms=when,
                    blacklisted_until_ms=until,
                )
        return t.is_blacklisted(now_ms)

    async def _trades_90d(self, address: str, now_ms: int) -> list[LeaderTrade]:
        """The leader's trades of the last 90 days, fetching only what is new."""
        history = self._history.setdefault(address, _History())
        horizon = now_ms - HISTORY_DAYS * MS_PER_DAY
        start = max(history.fetched_until_ms, horizon)
        page = await self._feed.leader_fills(address, start, now_ms)
        fills = [f for f in page.fills if validate_leader_fill(f, self._known_coins) is None]
        if fills:
            if history.first_seen_ms is None:
                history.first_seen_ms = fills[0].time_ms
            history.trades.extend(aggregate_fills(fills))
        history.fetched_until_ms = now_ms
        history.trades = [t for t in history.trades if t.time_ms >= horizon]
        return history.trades
