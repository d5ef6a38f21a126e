"""The simulated world: configuration, and everything built from it in one place.

`SimWorld` is omniscient — it holds the whole price history and every leader's whole life,
including their hidden archetype and skill. That is what the demo and the tests need to judge
the engine. The engine itself only ever talks to a `SimVenue`, which serves this world through
the venue protocols and never reveals anything after its clock's `now`.

Time layout: the history starts `history_days` before `start_ms` (leaderboards and scoring at
the start of a run see a full history) and the world ends `forward_days` after it. Queries
beyond the end see the world frozen at its last minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from tailgate.domain.models import MS_PER_DAY, Market, OrderBook
from tailgate.venues.sim.archetypes import Archetype, LeaderProfile, make_profiles
from tailgate.venues.sim.book import build_book
from tailgate.venues.sim.coins import DEFAULT_COINS, CoinSpec, coin_specs, market_of
from tailgate.venues.sim.ids import mix64
from tailgate.venues.sim.ledger import LeaderLedger, TradeOutcomes, build_ledgers
from tailgate.venues.sim.population import plan_trades
from tailgate.venues.sim.prices import MINUTES_PER_DAY, PricePaths, generate_prices

__all__ = ["DEFAULT_START_MS", "LeaderTruth", "SimConfig", "SimWorld"]

DEFAULT_START_MS = 1_740_787_200_000  # 2025-03-01T00:00:00Z


def _default_coin_names() -> tuple[str, ...]:
    return tuple(c.coin for c in DEFAULT_COINS)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that determines a world. Same config → byte-identical world."""

    seed: int = 7
    start_ms: int = DEFAULT_START_MS  # the moment the run starts
    history_days: int = 90  # simulated history before start_ms
    forward_days: int = 90  # simulated future after start_ms
    coins: tuple[str, ...] = field(default_factory=_default_coin_names)
    n_swing: int = 25
    n_position: int = 10
    n_noise: int = 90
    n_hft: int = 30
    n_overleveraged: int = 30
    n_tiny_win: int = 15
    malformed_fill_rate: float = 0.0  # share of served fills corrupted (deterministically)
    fills_page_limit: int | None = None  # max fills per leader_fills call (Hyperliquid: 2000)

    def __post_init__(self) -> None:
        if self.history_days < 0 or self.forward_days < 0:
            raise ValueError("history_days and forward_days must be >= 0")
        if self.history_days + self.forward_days < 1:
            raise ValueError("the world must span at least one day")
        if not 0.0 <= self.malformed_fill_rate <= 1.0:
            raise ValueError("malformed_fill_rate must be within [0, 1]")
        if min(self.counts.values()) < 0 or sum(self.counts.values()) < 1:
            raise ValueError("archetype counts must be >= 0 with at least one leader")
        if self.fills_page_limit is not None and self.fills_page_limit < 1:
            raise ValueError("fills_page_limit must be >= 1 or None")
        coin_specs(self.coins)  # validates the names

    @property
    def counts(self) -> dict[Archetype, int]:
        return {
            Archetype.SWING: self.n_swing,
            Archetype.POSITION: self.n_position,
            Archetype.NOISE: self.n_noise,
            Archetype.HFT: self.n_hft,
            Archetype.OVERLEVERAGED: self.n_overleveraged,
            Archetype.TINY_WIN: self.n_tiny_win,
        }

    @property
    def history_start_ms(self) -> int:
        return self.start_ms - self.history_days * MS_PER_DAY

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.forward_days * MS_PER_DAY


@dataclass(frozen=True, slots=True)
class LeaderTruth:
    """What a leader really is (for the demo and tests; no venue serves this)."""

    archetype: str
    edge: float
    is_skilled: bool


class SimWorld:
    """Prices, books and a population of leaders, generated from a `SimConfig`."""

    def __init__(self, config: SimConfig | None = None) -> None:
        started = time.perf_counter()
        self.config = config or SimConfig()
        cfg = self.config
        self.specs: tuple[CoinSpec, ...] = coin_specs(cfg.coins)
        self.coins: tuple[str, ...] = tuple(s.coin for s in self.specs)
        self.markets: tuple[Market, ...] = tuple(market_of(s) for s in self.specs)
        self._coin_index = {c: i for i, c in enumerate(self.coins)}
        self.lot_scale = 10.0 ** np.array([s.sz_decimals for s in self.specs])
        n_minutes = (cfg.history_days + cfg.forward_days) * MINUTES_PER_DAY + 1
        self.paths: PricePaths = generate_prices(
            self.specs,
            cfg.history_start_ms,
            n_minutes,
            np.random.default_rng([cfg.seed, 0]),
            anchor_minute=cfg.history_days * MINUTES_PER_DAY,
        )
        self.profiles: list[LeaderProfile] = make_profiles(
            cfg.counts, self.specs, cfg.seed, cfg.history_start_ms, cfg.end_ms
        )
        plan = plan_trades(self.profiles, self.specs, self.paths, cfg.seed)
        self.ledgers: dict[str, LeaderLedger]
        self.outcomes: TradeOutcomes
        self.ledgers, self.outcomes = build_ledgers(plan, self.profiles, self.specs, self.paths)
        self.leaders: tuple[str, ...] = tuple(sorted(self.ledgers))
        self.build_seconds = time.perf_counter() - started

    # --- time -------------------------------------------------------------------------------
    @property
    def start_ms(self) -> int:
        return self.config.start_ms

    @property
    def history_start_ms(self) -> int:
        return self.config.history_start_ms

    @property
    def end_ms(self) -> int:
        return self.config.end_ms

    # --- markets ----------------------------------------------------------------------------
    def coin_index(self, coin: str) -> int | None:
        return self._coin_index.get(coin)

    def market(self, coin: str) -> Market | None:
        i = self._coin_index.get(coin)
        return None if i is None else self.markets[i]

    def _index(self, coin: str) -> int:
        i = self._coin_index.get(coin)
        if i is None:
            raise KeyError(f"unknown coin {coin!r}; simulated coins: {self.coins}")
        return i

    def price_at(self, coin: str, t_ms: int) -> float:
        """Close of the last completed minute at or before t_ms."""
        return self.paths.price_at(self._index(coin), t_ms)

    def high_low(self, coin: str, t0_ms: int, t1_ms: int) -> tuple[float, float]:
        """(highest high, lowest low) of the minutes completed in (t0, t1]."""
        return self.paths.high_low(self._index(coin), t0_ms, t1_ms)

    def mids_at(self, t_ms: int) -> dict[str, float]:
        """Every coin's price at t (last completed minute), e.g. to mark a book at the end."""
        minute = self.paths.minute_of(t_ms)
        return {c: float(self.paths.close[i, minute]) for i, c in enumerate(self.coins)}

    def vol_multiplier_at(self, t_ms: int) -> float:
        """The hidden regime's volatility multiplier at t."""
        return float(self.paths.vol_multipliers[self.paths.regime[self.paths.minute_of(t_ms)]])

    def book(self, coin: str, t_ms: int) -> OrderBook:
        """The L2 book at t: around the last completed minute's price, fixed within a minute."""
        i = self._index(coin)
        minute = self.paths.minute_of(t_ms)
        return build_book(
            self.specs[i],
            self.markets[i],
            float(self.paths.close[i, minute]),
            t_ms,
            self.vol_multiplier_at(t_ms),
            salt=mix64(self.config.seed, i, minute),
        )

    # --- leaders ----------------------------------------------------------------------------
    def leader_addresses(self) -> tuple[str, ...]:
        """Every simulated leader, sorted by address (which says nothing about the archetype)."""
        return self.leaders

    def ledger(self, address: str) -> LeaderLedger | None:
        return self.ledgers.get(address)

    def hidden_skill(self, address: str) -> LeaderTruth:
        ledger = self.ledgers.get(address)
        if ledger is None:
            raise KeyError(f"no simulated leader {address!r}")
        p = ledger.profile
        return LeaderTruth(archetype=p.archetype.value, edge=p.edge, is_skilled=p.skilled)

    def equity(self, address: str, times_ms: np.ndarray) -> np.ndarray:
        """A leader's account value (realised + unrealised) at sorted times, clamped to range."""
        ledger = self._ledger(address)
        times = np.clip(np.asarray(times_ms, dtype=np.int64), self.history_start_ms, self.end_ms)
        return ledger.equity_at(times, self.paths, self.lot_scale)

    def _ledger(self, address: str) -> LeaderLedger:
        ledger = self.ledgers.get(address)
        if ledger is None:
            raise KeyError(f"no simulated leader {address!r}")
        return ledger
