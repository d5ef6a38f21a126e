"""`tailgate doctor` (SPEC §E11): is it safe to trade? Reads the store; changes nothing.

Unsafe: an order whose fate is unknown, a PENDING order older than its TTL (written, never
sent: a crash between the two), a market order still SUBMITTED (its answer never recorded),
an open position without a stop resting at the venue for its whole size, an open obligation
(§E5: work owed after a fill), an account halted by reconciliation or whose last
reconciliation left drift unrepaired (§R1), a database behind its migrations. The kill switch
is reported, not judged. Every finding says what to look at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tailgate.engine.guardrails import KILL_SWITCH_KEY
from tailgate.store import Store
from tailgate.store.db import current_revision, head_revision
from tailgate.store.records import OrderPurpose, OrderState, PositionStatus

REPAIRED_ELSEWHERE = frozenset({"recorded", "halted"})  # resolutions that leave drift in place

__all__ = ["PENDING_TTL_MS", "Finding", "diagnose"]

PENDING_TTL_MS = 60_000  # a PENDING order is sent right after it is written (§E2)


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    ok: bool
    detail: str


def diagnose(store: Store, now_ms: int, pending_ttl_ms: int = PENDING_TTL_MS) -> list[Finding]:
    findings: list[Finding] = []
    current, head = current_revision(store.engine), head_revision()
    findings.append(
        Finding(
            "database at the latest migration",
            current == head,
            f"at {current}, latest {head}"
            + ("" if current == head else ": run `tailgate db upgrade`"),
        )
    )
    if current != head:
        return findings  # the tables may not be what this version reads: check nothing more
    open_orders = store.load_orders([OrderState.PENDING, OrderState.SUBMITTED, OrderState.UNKNOWN])
    unknown = [o for o in open_orders if o.state is OrderState.UNKNOWN]
    stale = [
        o
        for o in open_orders
        if o.state is OrderState.PENDING and now_ms - o.created_ms > pending_ttl_ms
    ]
    unanswered = [
        o
        for o in open_orders
        if o.state is OrderState.SUBMITTED and o.purpose is not OrderPurpose.STOP
    ]
    for name, orders, hint in (
        ("no order with an unknown fate", unknown, "settled by the venue's record on start"),
        ("no stale PENDING order", stale, "written but never sent; expired on start"),
        ("no sent order without its answer", unanswered, "looked up by client id on start"),
    ):
        detail = ", ".join(f"{o.client_order_id} ({o.coin} {o.purpose.value})" for o in orders[:5])
        findings.append(
            Finding(name, not orders, f"{len(orders)}: {detail}; {hint}" if orders else "none")
        )
    stops: dict[int, list[float]] = {}
    for o in open_orders:
        if o.purpose is OrderPurpose.STOP and o.state is OrderState.SUBMITTED and o.position_id:
            stops.setdefault(o.position_id, []).append(o.size)
    unprotected = []
    open_positions = store.load_positions(status=PositionStatus.OPEN)
    for p in open_positions:
        resting = sum(stops.get(p.id or -1, []))
        if not math.isclose(resting, p.size, rel_tol=1e-6, abs_tol=1e-12):
            unprotected.append(f"#{p.id} {p.coin} {p.side.value} {p.size:g} (stop for {resting:g})")
    findings.append(
        Finding(
            "every open position has its stop at the venue",
            not unprotected,
            "; ".join(unprotected[:5]) if unprotected else "all protected",
        )
    )
    open_ids = {p.id for p in open_positions}
    stray = sorted(f"#{position_id}" for position_id in stops if position_id not in open_ids)
    findings.append(
        Finding(
            "no stop left resting for a closed position",
            not stray,
            f"{len(stray)}: {', '.join(stray[:5])}; cancelled by the engine on start and by its "
            "monitor (reduce-only, it would still cut a later position in the coin)"
            if stray
            else "none",
        )
    )
    owed = store.open_obligations()
    findings.append(
        Finding(
            "no open obligation",
            not owed,
            "; ".join(
                f"{o.kind.value} position #{o.position_id} (attempts {o.attempts}"
                + (f", last error: {o.last_error}" if o.last_error else "")
                + ")"
                for o in owed[:5]
            )
            + "; retried by the running engine, and on start"
            if owed
            else "none",
        )
    )
    findings.extend(_reconciliation(store))
    kill = bool(store.get_state(KILL_SWITCH_KEY))
    findings.append(
        Finding(
            "kill switch",
            True,
            "ON: no new entries (`tailgate kill off` to resume)" if kill else "off",
        )
    )
    return findings


def _reconciliation(store: Store) -> list[Finding]:
    halted = store.states_with_prefix("halted:")
    findings = [
        Finding(
            "no account halted",
            not halted,
            "; ".join(
                f"{key.removeprefix('halted:')} since {_since(v)}" for key, v in halted.items()
            )
            + "; check the drift, then `tailgate reconcile --resume`"
            if halted
            else "none",
        )
    ]
    runs = store.states_with_prefix("reconciliation:")
    if not runs:
        findings.append(Finding("reconciled with the venue", True, "no reconciliation run yet"))
        return findings
    drift = []
    for key, last in sorted(runs.items()):
        account = key.removeprefix("reconciliation:")
        left = [
            d
            for d in store.load_discrepancies(since_ms=int(last["run_ms"]))
            if d.account == account and d.resolution in REPAIRED_ELSEWHERE
        ]
        drift += [f"{account}: {d.kind} {d.coin or ''} ({d.local} vs {d.venue})" for d in left]
    findings.append(
        Finding(
            "no reconciliation drift left",
            not drift,
            "; ".join(drift[:5]) if drift else f"{len(runs)} account(s) agree with the venue",
        )
    )
    return findings


def _since(value: object) -> object:
    return value.get("since_ms") if isinstance(value, dict) else value
