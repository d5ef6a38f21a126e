"""A desk: one account the engine trades and everything that acts on that account alone.

The engine's own account (the "house", `paper_account`) and every follower (SPEC §E10) each
get a desk: its venue gateway and account, portfolio, executor, position manager (stops,
trails, time stops), guardrails, obligations keeper and reconciler. What is shared — leaders,
ingestion, the pipeline's judgement — lives above the desks. Nothing in one desk touches
another's account, so one follower's failure stays its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tailgate.config import Mode, Settings
from tailgate.domain.followers import Follower
from tailgate.domain.guardrails import GuardrailLimits
from tailgate.domain.models import Market
from tailgate.domain.params import CopyParams
from tailgate.engine.balances import BalanceCache
from tailgate.engine.execution import OrderExecutor
from tailgate.engine.guardrails import Guardrails
from tailgate.engine.leaders import LeaderBook
from tailgate.engine.locks import NonceSource, ScopedLocks
from tailgate.engine.obligations import ObligationKeeper, RetryPolicy
from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.engine.reconcile import Reconciler
from tailgate.store import Store
from tailgate.store.records import OrderRecord, OrderState, PositionStatus
from tailgate.venues.protocols import AccountState, LeaderFeed, MarketData, OrderGateway

__all__ = ["Desk", "open_desk"]


@dataclass(slots=True)
class Desk:
    account: str
    signer: str
    gateway: OrderGateway
    portfolio: Portfolio
    executor: OrderExecutor
    positions: PositionManager
    guardrails: Guardrails
    obligations: ObligationKeeper
    reconciler: Reconciler | None
    follower: Follower | None = None  # None: the house account
    fresh_entries: list[OrderRecord] = field(default_factory=list)  # to send after startup
    orders_settled_on_start: int = 0
    last_equity_ms: int | None = None

    @property
    def is_follower(self) -> bool:
        return self.follower is not None


async def open_desk(
    settings: Settings,
    store: Store,
    *,
    account: str,
    signer: str,
    starting_cash: float,
    gateway: OrderGateway,
    venue_account: AccountState | None,
    feed: LeaderFeed,
    market: MarketData,
    markets: Mapping[str, Market],
    leaders: LeaderBook,
    params: CopyParams,
    now_ms: int,
    clock_ms: Callable[[], int],
    live_armed: bool = False,
    follower: Follower | None = None,
    locks: ScopedLocks | None = None,
    nonces: NonceSource | None = None,
) -> Desk:
    """Build the desk of `account` from the store (its cash, open positions, resting stops),
    settling first its intents a previous run left non-final by asking the venue (never by
    sending again): the stops the position manager then believes in are the venue's."""
    s = settings
    cash = store.ensure_account(account, starting_cash, now_ms)
    portfolio = Portfolio(
        account, cash, store.load_positions(status=PositionStatus.OPEN, account=account)
    )
    executor = OrderExecutor(
        gateway, store, markets, portfolio, params, signer=signer, locks=locks, nonces=nonces
    )
    if venue_account is not None:  # §E8: entries checked against the account's margin
        executor.balances = BalanceCache(venue_account, clock_ms, int(s.balance_ttl_sec * 1000))
    unfinished = len(store.load_orders([OrderState.SUBMITTED, OrderState.UNKNOWN], account=account))
    fresh_entries = await executor.resolve_open_orders(now_ms, int(s.pending_ttl_sec * 1000))
    positions = PositionManager(
        store=store,
        feed=feed,
        market=market,
        executor=executor,
        portfolio=portfolio,
        leaders=leaders,
        params=params,
        markets=markets,
    )
    # a follower's own caps; the engine-wide maximum order bounds every account
    caps = follower or s
    limits = GuardrailLimits(
        max_order_usd=min(s.max_order_usd, caps.max_order_usd or s.max_order_usd),
        max_market_data_age_ms=int(s.max_market_data_age_sec * 1000),
        daily_loss_cap_usd=caps.daily_loss_cap_usd,
        daily_volume_cap_usd=caps.daily_volume_cap_usd,
        live=s.mode is Mode.LIVE,
        live_armed=live_armed,
    )
    guardrails = Guardrails(
        store,
        portfolio,
        limits,
        kill_switch=s.kill_switch,
        switch_cache_ms=int(s.guardrail_switch_cache_sec * 1000),
    )
    obligations = ObligationKeeper(
        store,
        positions,
        portfolio,
        RetryPolicy(
            base_ms=int(s.obligation_retry_base_sec * 1000),
            max_ms=int(s.obligation_retry_max_sec * 1000),
        ),
    )
    executor.on_obligation = obligations.wake
    reconciler = None
    if s.reconciliation_enabled and venue_account is not None:
        reconciler = Reconciler(
            store=store,
            account=venue_account,
            market=market,
            portfolio=portfolio,
            positions=positions,
            executor=executor,
            params=params,
            markets=markets,
            threshold_usd=s.reconciliation_threshold_usd,
            retries=s.reconciliation_retry_count,
            on_drift=s.reconciliation_on_drift,
        )
    return Desk(
        account=account,
        signer=signer,
        gateway=gateway,
        portfolio=portfolio,
        executor=executor,
        positions=positions,
        guardrails=guardrails,
        obligations=obligations,
        reconciler=reconciler,
        follower=follower,
        fresh_entries=fresh_entries,
        orders_settled_on_start=unfinished,
    )
