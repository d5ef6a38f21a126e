"""`tailgate doctor` (SPEC §E11): is it safe to trade? Reads the store; changes nothing.

Unsafe: an order whose fate is unknown, a PENDING order older than its TTL (written, never
sent: a crash between the two), a market order still SUBMITTED (its answer never recorded),
an open position without a stop resting at the venue for its whole size, a database behind
its migrations. Every finding says what to look at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tailgate.store import Store
from tailgate.store.db import current_revision, head_revision
from tailgate.store.records import OrderPurpose, OrderState, PositionStatus

__all__ = ["PENDING_TTL_MS", "Finding", "diagnose"]

PENDING_TTL_MS = 60_000  # a PENDING order is sent right after it is written (§E2)


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    ok: bool
    detail: str


def diagnose(store: Store, now_ms: int) -> list[Finding]:
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
        if o.state is OrderState.PENDING and now_ms - o.created_ms > PENDING_TTL_MS
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
    for p in store.load_positions(status=PositionStatus.OPEN):
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
    return findings
