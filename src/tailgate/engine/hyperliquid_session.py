"""Run the engine on Hyperliquid (the real venue, or the loopback emulator): paper or live.

Leaders, their fills, books and mids always come over HTTP through the adapter
(`HyperliquidInfo`) and the shared resilient transport. Where our orders go is decided once,
by `live_switches.decide_run_mode`:

* **paper** (the default, and whenever live is not fully armed): orders are filled against the
  live book by the paper gateway and never sent; the store's paper account is the account.
* **live** — only with `mode = "live"` in the configuration *and* `live=True` (`--live`) *and*
  `max_live_order_usd` set: orders are signed by the API wallet's key and sent by
  `HyperliquidGateway`, which is also the account the engine reconciles against and checks
  margin on. Entries are capped at min(max_order_usd, max_live_order_usd) by the engine's
  max-order guardrail; each coin is set to isolated margin at ≤ MAX_LEVERAGE before its first
  entry. The live account has its own name in the store (`live_account_name`), so nothing a
  paper run left there is ever sent live, and it starts from the venue's account value.

The network (`hyperliquid_network`: mainnet | testnet) gives the API URL and the chain the
signatures are for; a custom URL (`hyperliquid_base_url`, or `base_url`) replaces the URL only.
Only addresses are logged, never the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from tailgate.config import Settings
from tailgate.engine.clock import Clock
from tailgate.engine.live_switches import (
    LiveNotArmed,
    RunMode,
    decide_run_mode,
    live_settings,
    paper_settings,
)
from tailgate.engine.runner import Engine, checkpointed_nonces
from tailgate.engine.sim_session import restore_paper_account
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.transport import (
    BreakerPolicy,
    HttpTransport,
    RetryPolicy,
    StreamPolicy,
    TransportMetrics,
    WeightedLimiter,
    WsBudget,
    hyperliquid_limits,
)
from tailgate.venues.hyperliquid.execution import HyperliquidGateway
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.keys import PasswordPrompt, Signer, signer_from_settings
from tailgate.venues.hyperliquid.leader_stream import HyperliquidLeaderStream
from tailgate.venues.hyperliquid.market_stream import HyperliquidMarketStream
from tailgate.venues.hyperliquid.orders import asset_indices
from tailgate.venues.hyperliquid.signing import Network
from tailgate.venues.paper_gateway import PaperGateway
from tailgate.venues.protocols import AccountState, OrderGateway

__all__ = [
    "Endpoint",
    "LiveNotArmed",
    "NoCollateral",
    "live_account_name",
    "resolve_endpoint",
    "run_hyperliquid",
]

log = get_logger("tailgate.hyperliquid.session")

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class NoCollateral(ValueError):
    """The live account holds nothing to trade with (often: the agent's address was given
    where the master account's belongs)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    network: Network  # the chain signatures are for
    base_url: str  # `/info` and `/exchange`
    leaderboard_url: str

    @property
    def ws_url(self) -> str:
        """The WebSocket of the same host: `wss://…/ws` (`ws://` for plain http)."""
        scheme, _, rest = self.base_url.partition("://")
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws"

    @property
    def loopback(self) -> bool:
        return urlsplit(self.base_url).hostname in LOOPBACK_HOSTS


def resolve_endpoint(settings: Settings, base_url: str | None = None) -> Endpoint:
    """The network from `hyperliquid_network`; the URL from `base_url` (the command line), else
    `hyperliquid_base_url`, else the network's. A loopback URL (the emulator) also serves the
    leaderboard; anywhere else it is the network's stats service (testnet's own traders on
    testnet)."""
    network = Network(settings.hyperliquid_network)
    url = (base_url or settings.hyperliquid_base_url or network.base_url).rstrip("/")
    leaderboard = network.leaderboard_url
    if urlsplit(url).hostname in LOOPBACK_HOSTS:
        leaderboard = url + network.leaderboard_path
    return Endpoint(network, url, leaderboard)


def live_account_name(network: Network, account_address: str) -> str:
    """The live account's name in the store: apart from the paper account and per network."""
    return f"hl-{network.value}:{account_address.lower()}"


async def run_hyperliquid(
    settings: Settings,
    clock: Clock,
    store: Store,
    *,
    live: bool = False,
    base_url: str | None = None,
    leaderboard_url: str | None = None,
    retry: RetryPolicy | None = None,
    timeout_s: float = 10.0,
    resume: bool = True,
    rate_limited: bool = True,
    signer: Signer | None = None,
    password_prompt: PasswordPrompt | None = None,
    stream: bool = True,
    breaker: BreakerPolicy | None = None,
    metrics: TransportMetrics | None = None,
    stream_policy: StreamPolicy | None = None,
) -> Engine:
    """Start the engine on Hyperliquid and run it until the clock stops.

    `live=True` is the `--live` switch: without the other two (`mode = "live"`,
    `max_live_order_usd`) it raises `LiveNotArmed` before anything connects; `mode = "live"`
    without it runs paper, with a warning. `signer` replaces the one from the settings and
    the environment (`keys.signer_from_settings`; `password_prompt` for a keystore).
    `rate_limited=False` drops the venue's per-IP budget (1,200 weight a minute of wall time):
    only for the loopback emulator, whose simulated clock runs far faster than the budget
    allows — against the real venue the budget is what keeps us from being banned.
    `stream` takes leaders' fills from the WebSocket as they happen (polling stays as the
    safety net); `breaker`, `stream_policy` and `metrics` configure and observe the
    transport. Breakers keep the engine's time: a simulated run's cooldowns are simulated."""
    decision = decide_run_mode(settings, live_flag=live, venue="hyperliquid")
    if decision.refused:
        raise LiveNotArmed(decision.refusal)
    is_live = decision.mode is RunMode.LIVE
    if decision.warning:
        log.warning("live_not_armed_running_paper", detail=decision.warning)
    endpoint = resolve_endpoint(settings, base_url)
    if is_live and signer is None:  # before any connection: a bad key fails here
        signer = signer_from_settings(settings, password_prompt=password_prompt)
    limits = hyperliquid_limits()
    metrics = metrics or TransportMetrics()
    http = HttpTransport(
        endpoint.base_url,
        venue="hyperliquid",
        limiter=WeightedLimiter(limits.rest, metrics=metrics) if rate_limited else None,
        retry=retry,
        breaker=breaker,
        timeout_s=timeout_s,
        metrics=metrics,
        now=lambda: clock.now_ms() / 1000,
    )
    try:
        info = HyperliquidInfo(
            http,
            leaderboard_url=leaderboard_url or endpoint.leaderboard_url,
            weights=limits.info,
            now_ms=clock.now_ms,
        )
        markets = {m.coin: m for m in await info.markets()}
        # one source for every nonce of the session, the gateway's own actions included
        # (keyed by the agent key), checkpointed by the engine
        nonces = checkpointed_nonces(store, clock)
        gateway: OrderGateway
        account: AccountState
        if is_live:
            assert signer is not None
            live_gateway = HyperliquidGateway(
                http,
                info,
                signer,
                markets=markets,
                assets=asset_indices(await info.info({"type": "meta"})),
                nonces=nonces,
                network=endpoint.network,
                now_ms=clock.now_ms,
                leverage=settings.max_leverage,
            )
            engine_settings = await _live_engine_settings(settings, live_gateway, endpoint)
            gateway = account = live_gateway
        else:
            engine_settings = paper_settings(settings)
            paper = PaperGateway(
                info, markets, clock.now_ms, starting_cash=settings.paper_starting_balance_usd
            )
            if resume:
                restore_paper_account(paper, store, settings.paper_account)
            gateway = account = paper
        log.info(
            "hyperliquid_session_started",
            mode=decision.mode.value if decision.mode else None,
            network=endpoint.network.value,
            base_url=endpoint.base_url,
            account=engine_settings.paper_account,
            account_address=signer.account_address if is_live and signer else None,
            agent_address=signer.agent_address if is_live and signer else None,
            max_order_usd=engine_settings.max_order_usd,
            max_leverage=settings.max_leverage if is_live else None,
        )
        budget = WsBudget(limits.ws)  # one IP's subscriptions, shared by both streams
        engine = Engine(
            engine_settings,
            clock,
            feed=info,
            market=info,
            gateway=gateway,
            store=store,
            account=account,
            live_armed=is_live,
            stream=HyperliquidLeaderStream(
                endpoint.ws_url,
                info,
                list(markets),
                policy=stream_policy,
                metrics=metrics,
                budget=budget,
            )
            if stream
            else None,
            market_stream=HyperliquidMarketStream(
                endpoint.ws_url, policy=stream_policy, metrics=metrics, budget=budget
            )
            if stream
            else None,
            nonces=nonces,
        )
        await engine.start()
        await engine.run()
        return engine
    finally:
        await http.aclose()


async def _live_engine_settings(
    settings: Settings, gateway: HyperliquidGateway, endpoint: Endpoint
) -> Settings:
    """The engine's settings for a live run: the live order cap folded into max_order_usd, the
    live account's own name, and — for a new account — the venue's account value as its cash."""
    snapshot = await gateway.account_snapshot()
    if not snapshot.account_value > 0:
        raise NoCollateral(
            f"account {gateway.account} has no collateral on {endpoint.network.value} "
            f"({endpoint.base_url}): deposit USDC, or check TAILGATE_HYPERLIQUID_ACCOUNT_ADDRESS "
            "(the master account the API wallet trades for, not the API wallet's own address)"
        )
    return live_settings(settings).model_copy(
        update={
            "paper_account": live_account_name(endpoint.network, gateway.account),
            "paper_starting_balance_usd": snapshot.account_value,
        }
    )
