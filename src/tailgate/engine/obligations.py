"""The obligations keeper (SPEC §E5): work that must follow a fill is done, or retried.

An obligation is written in the same transaction as its cause (the fill that opened a
position owes it a stop; the decision to close owes a flat position), so a crash between the
cause and the work leaves it open in the store. The keeper retries every due obligation with
exponential backoff until it is done — a position is never left silently unprotected. It runs
once at startup, before any new order, and then from the monitor loop; it only queries the
store when something is due (`wake` is called by whoever writes an obligation).
"""

from __future__ import annotations

from dataclasses import dataclass

from tailgate.engine.portfolio import Portfolio
from tailgate.engine.positions import PositionManager
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.store.records import (
    ObligationKind,
    ObligationRecord,
    ObligationStatus,
    PositionRecord,
    PositionStatus,
)

__all__ = ["ObligationKeeper", "RetryPolicy"]

log = get_logger("tailgate.obligations")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_ms: int = 5_000
    max_ms: int = 300_000

    def delay_ms(self, attempts: int) -> int:
        """Deterministic exponential backoff (a backtest must replay identically)."""
        return min(self.base_ms * 2 ** max(attempts - 1, 0), self.max_ms)


class ObligationKeeper:
    def __init__(
        self,
        store: Store,
        positions: PositionManager,
        portfolio: Portfolio,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._store = store
        self._positions = positions
        self._portfolio = portfolio
        self._retry = retry or RetryPolicy()
        self._next_due_ms: int | None = 0  # unknown at start: look once
        self.done = 0
        self.failed_attempts = 0

    def wake(self, due_ms: int) -> None:
        """An obligation due at `due_ms` was written."""
        if self._next_due_ms is None or due_ms < self._next_due_ms:
            self._next_due_ms = due_ms

    async def run_due(self, now_ms: int) -> int:
        """Work every due open obligation once → how many are still open afterwards."""
        if self._next_due_ms is None or now_ms < self._next_due_ms:
            return 0
        self._next_due_ms = None
        still_open = 0
        for obligation in self._store.open_obligations(account=self._portfolio.account):
            if obligation.due_ms > now_ms:
                self.wake(obligation.due_ms)
                still_open += 1
                continue
            if not await self._work(obligation, now_ms):
                still_open += 1
        return still_open

    async def _work(self, obligation: ObligationRecord, now_ms: int) -> bool:
        """True when the obligation is done (now or already)."""
        position = self._open_position(obligation.position_id)
        if position is None:  # closed (or never opened): nothing is owed any more
            self._finish(obligation, now_ms)
            return True
        assert position.id is not None
        if self._positions.busy(position.id):  # being worked on right now: look again soon
            self.wake(now_ms + self._retry.base_ms)
            return False
        error: str | None = None
        try:
            if obligation.kind is ObligationKind.PROTECT:
                ok = await self._positions.ensure_protected(position, now_ms)
                error = None if ok else "stop not placed"
            else:
                await self._positions.close_position(
                    position, obligation.reason or "obligation", now_ms
                )
                ok = position.status is PositionStatus.CLOSED
                error = None if ok else "position still open"
        except Exception as exc:  # a venue or store failure: retried with backoff
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self._finish(obligation, now_ms)
            return True
        obligation.attempts += 1
        obligation.last_error = error
        obligation.due_ms = now_ms + self._retry.delay_ms(obligation.attempts)
        self._store.update_obligation(obligation)
        self.wake(obligation.due_ms)
        self.failed_attempts += 1
        log.warning(
            "obligation_retry",
            obligation=obligation.key,
            kind=obligation.kind.value,
            position=obligation.position_id,
            attempts=obligation.attempts,
            next_due_ms=obligation.due_ms,
            error=error,
        )
        return False

    def _finish(self, obligation: ObligationRecord, now_ms: int) -> None:
        obligation.status = ObligationStatus.DONE
        obligation.done_ms = now_ms
        self._store.update_obligation(obligation)
        self.done += 1

    def _open_position(self, position_id: int | None) -> PositionRecord | None:
        if position_id is None:
            return None
        return self._portfolio.get(position_id)
