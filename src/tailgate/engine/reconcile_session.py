"""`tailgate reconcile` (SPEC §R1 by hand): every account's books against the venue, now.

Opens the desks as a start would (non-final intents settled by the venue, nothing new sent),
then reconciles each account once and reports. With `resume` an operator who has looked at
a halted account says "the venue is right": its drift is repaired (the venue's positions
adopted, missing stops owed and placed) whatever RECONCILIATION_ON_DRIFT says, and the halt
is lifted — only when that reconciliation completed.
"""

from __future__ import annotations

from dataclasses import dataclass

from tailgate.config import Settings
from tailgate.engine.clock import Clock
from tailgate.engine.guardrails import halted_key
from tailgate.engine.reconcile import REPAIR, ReconcileReport
from tailgate.engine.runner import Engine, FollowerVenue
from tailgate.logs import get_logger
from tailgate.store import Store
from tailgate.venues.protocols import Venue

__all__ = ["AccountReconciliation", "reconcile_by_hand"]

log = get_logger("tailgate.reconcile")


@dataclass(frozen=True, slots=True)
class AccountReconciliation:
    account: str
    report: ReconcileReport | None  # None: it could not complete (see `error`)
    error: str | None = None
    was_halted: bool = False
    halted: bool = False  # still halted afterwards


async def reconcile_by_hand(
    settings: Settings,
    clock: Clock,
    venue: Venue,
    store: Store,
    *,
    follower_venue: FollowerVenue | None = None,
    resume: bool = False,
) -> list[AccountReconciliation]:
    if resume:
        settings = settings.model_copy(update={"reconciliation_on_drift": REPAIR})
    engine = Engine(
        settings,
        clock,
        feed=venue,
        market=venue,
        gateway=venue,
        store=store,
        follower_venue=follower_venue,
    )
    now = clock.now_ms()
    await engine.open_desks(now)
    results = []
    for desk in engine.desks:
        key = halted_key(desk.account)
        was_halted = bool(store.get_state(key))
        if desk.reconciler is None:
            results.append(
                AccountReconciliation(
                    desk.account, None, "the venue gives no account state", was_halted, was_halted
                )
            )
            continue
        try:
            _, report = await engine.settle(desk, now)  # incl. the stops a repair owes
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.error("reconcile_by_hand_failed", account=desk.account, error=error)
            results.append(AccountReconciliation(desk.account, None, error, was_halted, was_halted))
            continue
        halted = was_halted or report.halted
        if resume and not report.halted and was_halted:
            store.clear_state(key)
            log.warning("account_resumed", account=desk.account, now_ms=now)
            halted = False
        results.append(AccountReconciliation(desk.account, report, None, was_halted, halted))
    return results
