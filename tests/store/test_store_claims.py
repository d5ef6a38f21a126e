"""Intent claiming (SPEC §E1, several executors): an intent is sent by exactly one executor,
and the obligations ledger (§E5) is written with its cause."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tailgate.store import Store
from tailgate.store.records import (
    ObligationKind,
    ObligationRecord,
    ObligationStatus,
    OrderState,
)
from tests.store.factories import T0, make_fill, make_order, make_position

EXECUTOR = textwrap.dedent(
    """
    import json, sys
    from tailgate.store import Store
    store = Store.open(sys.argv[1], migrate=False)
    mine = []
    while True:
        claimed = store.claim_pending_orders(3, now_ms=1)
        if not claimed:
            break
        mine.extend(o.client_order_id for o in claimed)



    print(json.dumps({"batch": mine}))
    """
)


def test_two_executor_processes_never_claim_one_intent_twice(db_url: str, tmp_path: Path) -> None:
    store = Store.open(db_url)
    for i in range(120):
        store.insert_order(make_order(f"cid-{i:03d}"))
    store.close()
    script = tmp_path / "executor.py"
    script.write_text(EXECUTOR)
    executors = [
        subprocess.Popen([sys.executable, str(script), db_url], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in executors]
    assert all(p.returncode == 0 for p in executors)
    batches = [cid for r in results for cid in r["batch"]]
    assert sorted(batches) == [f"cid-{i:03d}" for i in range(120)]  # each once, none lost
    store = Store.open(db_url)
    assert {o.state for o in store.load_orders()} == {OrderState.SUBMITTED}
    store.close()


def test_a_claim_succeeds_once_and_never_on_a_settled_intent(store: Store) -> None:
    order = make_order("solo-1")
    store.insert_order(order)
    assert store.claim_order(order, T0 + 1) is True
    assert store.claim_order(order, T0 + 2) is False
    assert store.order_by_client_id("solo-1").state is OrderState.SUBMITTED
    assert store.expire_pending(order, "STALE_PENDING", T0 + 3) is False  # claimed: not stale


def test_expiring_a_pending_intent_is_atomic_and_final(store: Store) -> None:
    order = make_order("late")
    store.insert_order(order)
    assert store.expire_pending(order, "STALE_PENDING", T0 + 61_000) is True
    assert store.claim_order(order, T0 + 61_001) is False  # an expired intent is never sent
    stored = store.order_by_client_id("late")
    assert (stored.state, stored.reason) == (OrderState.EXPIRED, "STALE_PENDING")


def test_an_outcome_writes_its_obligation_linked_to_the_new_position(store: Store) -> None:
    store.ensure_account("paper", 100_000.0, T0)
    order = make_order("entry-1")
    store.insert_order(order)
    order.state = OrderState.FILLED
    owed = ObligationRecord(
        key="protect:entry-1",
        kind=ObligationKind.PROTECT,
        account="paper",
        position_id=None,
        created_ms=T0,
        due_ms=T0,
    )
    position_id = store.record_order_outcome(
        order, [make_fill("f1")], make_position(), cash_delta=-1.0, obligations=[owed]
    )
    (stored,) = store.open_obligations()
    assert stored.position_id == position_id and stored.kind is ObligationKind.PROTECT
    assert store.open_obligations(due_by_ms=T0 - 1) == []
    store.add_obligations([owed])  # written twice: still one
    assert len(store.open_obligations()) == 1
    assert store.complete_obligations(position_id, ObligationKind.PROTECT, T0 + 5) == 1
    assert store.open_obligations() == []
    assert store.complete_obligations(position_id, ObligationKind.PROTECT, T0 + 6) == 0


def test_a_failed_attempt_is_recorded_with_its_backoff(store: Store) -> None:
    owed = ObligationRecord(
        key="close:7",
        kind=ObligationKind.CLOSE,
        account="paper",
        position_id=7,
        created_ms=T0,
        due_ms=T0,
        reason="LEADER_CLOSED",
    )
    store.add_obligations([owed])
    (stored,) = store.open_obligations()
    stored.attempts, stored.due_ms, stored.last_error = 1, T0 + 5_000, "venue 503"
    store.update_obligation(stored)
    (again,) = store.open_obligations()
    assert (again.attempts, again.due_ms, again.last_error) == (1, T0 + 5_000, "venue 503")
    assert again.status is ObligationStatus.OPEN and again.reason == "LEADER_CLOSED"
