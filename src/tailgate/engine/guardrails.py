"""Gathers what the guardrails judge (SPEC §E4) for one account: the kill switch, a halt by
reconciliation, market data age, the day's loss and volume. The judging is the domain's
(`tailgate.domain.guardrails`); the switches live in the store, so `tailgate kill on` reaches
a running engine without a restart — within SWITCH_CACHE_MS, because the entry path (SPEC §N:
a copy within a millisecond) cannot afford a database read per entry. A switch written by this
process (a reconciliation halt) takes effect at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tailgate.domain.guardrails import GuardrailLimits, GuardrailState, check_guardrails
from tailgate.domain.models import MS_PER_DAY
from tailgate.domain.reasons import ReasonCode
from tailgate.engine.portfolio import Portfolio
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.store.records import OrderRecord

__all__ = ["KILL_SWITCH_KEY", "SWITCH_CACHE_MS", "Guardrails", "day_start", "halted_key"]

log = get_logger("tailgate.guardrails")

KILL_SWITCH_KEY = "kill_switch"
SWITCH_CACHE_MS = 1_000
"""How long the switches read from the store are trusted (unless this process wrote one):
the default of `guardrail_switch_cache_sec`."""


def day_start(now_ms: int) -> int:
    """The start of the UTC day: the daily caps' window (§E4)."""
    return now_ms - now_ms % MS_PER_DAY


def halted_key(account: str) -> str:
    return f"halted:{account}"


class Guardrails:
    def __init__(
        self,
        store: Store,
        portfolio: Portfolio,
        limits: GuardrailLimits,
        *,
        kill_switch: bool = False,
        switch_cache_ms: int = SWITCH_CACHE_MS,
    ) -> None:
        self._store = store
        self._portfolio = portfolio
        self.limits = limits
        self._kill_switch = kill_switch  # from config: on until the config says otherwise
        self._market_seen_ms: int | None = None
        self._day_open: tuple[int, float] | None = None  # (day start ms, equity then)
        # (read at, store's state version then, (kill switch, halted))
        self._switches: tuple[int, int, tuple[bool, bool]] | None = None
        self._switch_cache_ms = switch_cache_ms
        self._switch_keys = (KILL_SWITCH_KEY, halted_key(portfolio.account))
        self.skipped = 0

    def market_seen(self, now_ms: int) -> None:
        """Fresh market data arrived (mids fetched)."""
        self._market_seen_ms = now_ms

    @property
    def market_seen_ms(self) -> int | None:
        return self._market_seen_ms

    def observe_equity(self, now_ms: int, equity: float) -> None:
        """Remember the equity at the first look of each UTC day (the daily loss baseline)."""
        day = day_start(now_ms)
        if self._day_open is None or self._day_open[0] != day:
            key = f"day_open:{self._portfolio.account}"
            stored = self._store.get_state(key)
            if isinstance(stored, dict) and stored.get("day_ms") == day:
                self._day_open = (day, float(stored["equity"]))
            else:
                self._day_open = (day, equity)
                self._store.set_state(key, {"day_ms": day, "equity": equity}, now_ms)

    def check(
        self, order: OrderRecord, now_ms: int, marks: Mapping[str, float]
    ) -> ReasonCode | None:
        """The guardrail an entry breaks, or None; logged when one does."""
        account = self._portfolio.account
        volume = 0.0
        if self.limits.daily_volume_cap_usd is not None:
            volume = self._store.traded_notional(account, day_start(now_ms))
        kill_switch, halted = self.switches(now_ms)
        return self.judge(
            order,
            now_ms,
            marks,
            kill_switch=kill_switch,
            halted=halted,
            day_volume_usd=volume,
        )

    def switches(self, now_ms: int) -> tuple[bool, bool]:
        """(kill switch, this account halted) as the store says, read at most once per
        `switch_cache_ms` — and again at once after this process wrote one of them."""
        cached = self._switches
        if (
            cached is not None
            and cached[1] == self._store.state_version(*self._switch_keys)
            and 0 <= now_ms - cached[0] < self._switch_cache_ms
        ):
            return cached[2]
        return self.read_switches(now_ms)

    def read_switches(
        self, now_ms: int, values: Mapping[str, Any] | None = None
    ) -> tuple[bool, bool]:
        """The switches read from the store now — or taken from `values`, checkpoints the
        caller read for many accounts at once. The engine reads them ahead every half cache
        time while leaders' fills are streamed in real time, so an entry never waits for this
        read (SPEC §N)."""
        keys = self._switch_keys
        version = self._store.state_version(*keys)
        if values is None:
            values = self._store.get_states(*keys)
        switches = (bool(values.get(keys[0])), bool(values.get(keys[1])))
        self._switches = (now_ms, version, switches)
        return switches

    @property
    def switch_cache_ms(self) -> int:
        return self._switch_cache_ms

    def judge(
        self,
        order: OrderRecord,
        now_ms: int,
        marks: Mapping[str, float],
        *,
        kill_switch: bool,
        halted: bool,
        day_volume_usd: float,
        market_seen_ms: int | None = None,
    ) -> ReasonCode | None:
        """`check` with the store's switches and the day's volume already read — one read
        for many accounts when a trade fans out to followers (§E10), whose market data is the
        house's (`market_seen_ms`)."""
        limits = self.limits
        seen_ms = self._market_seen_ms if market_seen_ms is None else market_seen_ms
        equity = self._portfolio.equity(marks)
        self.observe_equity(now_ms, equity)
        assert self._day_open is not None
        state = GuardrailState(
            order_usd=order.size * order.limit_price,
            kill_switch=self._kill_switch or kill_switch,
            halted=halted,
            market_data_age_ms=None if seen_ms is None else now_ms - seen_ms,
            day_loss_usd=self._day_open[1] - equity,
            day_volume_usd=day_volume_usd,
        )
        reason = check_guardrails(limits, state)
        if reason is not None:
            self.skipped += 1
            log.warning(
                "entry_skipped_by_guardrail",
                account=self._portfolio.account,
                reason=reason.value,
                client_order_id=order.client_order_id,
                coin=order.coin,
                order_usd=round(state.order_usd, 2),
                day_loss_usd=round(state.day_loss_usd, 2),
                day_volume_usd=round(day_volume_usd, 2),
            )
        return reason
