"""The store's hot-path and dialect-specific statements, built once per store, bound per call.

Building a statement with `.values(...)` on every call costs more than running it on SQLite
(coercion and cache-key generation for every value). Prebuilt statements are compiled once and
then only bound. A list of parameter sets with RETURNING is sent by SQLAlchemy as ONE multi-row
`INSERT ... VALUES (...), (...) RETURNING` ("insertmanyvalues") on both backends, so a
multi-row insert is still a single statement and a single round trip.

Upserts (`ON CONFLICT`) are spelled the same on SQLite and PostgreSQL, but each dialect has its
own `insert()` construct: that is why the statements belong to a dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tailgate.store import schema

__all__ = ["DEFERRED_DONE", "DEFERRED_WAITING", "PK", "SUPPORTED_DIALECTS", "Statements", "Tables"]

DEFERRED_WAITING = "waiting"
DEFERRED_DONE = "done"


def _table(row_class: type[schema.Base]) -> Table:
    table = row_class.__table__
    assert isinstance(table, Table)
    return table


class Tables:
    """The schema's Core tables, by short name."""

    leaders = _table(schema.LeaderRow)
    leader_positions = _table(schema.LeaderPositionRow)
    leader_trades = _table(schema.LeaderTradeRow)
    fills_seen = _table(schema.LeaderFillSeenRow)
    rejected_fills = _table(schema.RejectedFillRow)
    signals = _table(schema.SignalRow)
    deferred = _table(schema.DeferredSignalRow)
    positions = _table(schema.PositionRow)
    orders = _table(schema.OrderRow)
    fills = _table(schema.FillRow)
    accounts = _table(schema.AccountRow)
    engine_state = _table(schema.EngineStateRow)
    obligations = _table(schema.ObligationRow)
    discrepancies = _table(schema.ReconciliationDiscrepancyRow)
    equity = _table(schema.EquitySnapshotRow)
    followers = _table(schema.FollowerRow)
    subscriptions = _table(schema.SubscriptionRow)


_DIALECT_INSERTS: dict[str, Callable[[Table], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}
SUPPORTED_DIALECTS = frozenset(_DIALECT_INSERTS)

# Bound-parameter names for WHERE clauses; distinct from every column name, so the rest of a
# parameter dict can name the columns to SET.
PK = "pk_"


class Statements:
    """The prebuilt statements of the store, for one dialect."""

    def __init__(self, dialect: str) -> None:
        if dialect not in _DIALECT_INSERTS:
            raise ValueError(f"unsupported database dialect {dialect!r}")
        insert = _DIALECT_INSERTS[dialect]
        t = Tables

        # ingestion
        self.insert_trade = t.leader_trades.insert().returning(t.leader_trades.c.id)
        self.insert_fills_seen = t.fills_seen.insert()  # executemany: no RETURNING needed
        self.claim_fill_seen = (
            insert(t.fills_seen)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(t.fills_seen.c.dedupe_key)
        )
        self.insert_rejected = t.rejected_fills.insert()
        key = t.fills_seen.c.dedupe_key
        self.select_seen_keys = select(key).where(key.in_(bindparam("keys", expanding=True)))
        self.insert_signal = t.signals.insert().returning(t.signals.c.id)
        self.insert_deferred = t.deferred.insert().returning(t.deferred.c.id)
        self.claim_deferred = (  # waiting → done, atomically: a deferral resolves once
            update(t.deferred)
            .where(t.deferred.c.id == bindparam(PK), t.deferred.c.status == DEFERRED_WAITING)
            .values(status=DEFERRED_DONE, resolved_ms=bindparam("resolved_ms_"))
            .returning(t.deferred.c.leader_trade_id)
        )

        lp = insert(t.leader_positions)
        self.upsert_leader_position = lp.on_conflict_do_update(
            index_elements=["leader", "coin"],
            set_={c: lp.excluded[c] for c in ("side", "size", "opened_ms", "updated_ms")},
        )
        self.delete_leader_position = delete(t.leader_positions).where(
            t.leader_positions.c.leader == bindparam("leader_"),
            t.leader_positions.c.coin == bindparam("coin_"),
        )

        # leaders: a refresh that carries no blacklist keeps the stored one
        ld = insert(t.leaders)
        new = ld.excluded
        leader_set: dict[str, Any] = {
            c.name: new[c.name] for c in t.leaders.c if c.name not in ("address", "venue")
        }
        leader_set["blacklisted_until_ms"] = func.coalesce(
            new.blacklisted_until_ms, t.leaders.c.blacklisted_until_ms
        )
        leader_set["blacklist_reason"] = case(
            (new.blacklisted_until_ms.is_(None), t.leaders.c.blacklist_reason),
            else_=new.blacklist_reason,
        )
        self.upsert_leaders = ld.on_conflict_do_update(index_elements=["address"], set_=leader_set)
        self.upsert_blacklist = ld.on_conflict_do_update(
            index_elements=["address"],
            set_={c: new[c] for c in ("blacklisted_until_ms", "blacklist_reason")},
        )

        # execution
        self.insert_order = t.orders.insert().returning(t.orders.c.id)
        self.update_order = update(t.orders).where(t.orders.c.id == bindparam(PK))
        self.insert_position = t.positions.insert().returning(t.positions.c.id)
        self.update_position = update(t.positions).where(t.positions.c.id == bindparam(PK))
        self.insert_fills = (
            insert(t.fills)
            .on_conflict_do_nothing(index_elements=["fill_id"])
            .returning(t.fills.c.fill_id, t.fills.c.id)
        )
        # the periodic sweeps read orders by state (and account): one statement per shape
        orders_by_id = select(t.orders).order_by(t.orders.c.id)
        in_states = t.orders.c.state.in_(bindparam("states_", expanding=True))
        of_account = t.orders.c.account == bindparam("account_")
        self.select_orders: dict[tuple[bool, bool], Any] = {
            (False, False): orders_by_id,
            (True, False): orders_by_id.where(in_states),
            (False, True): orders_by_id.where(of_account),
            (True, True): orders_by_id.where(in_states, of_account),
        }
        self.claim_order = (  # PENDING → SUBMITTED, atomically: one executor sends an intent
            update(t.orders)
            .where(t.orders.c.id == bindparam(PK), t.orders.c.state == "pending")
            .values(state="submitted", updated_ms=bindparam("updated_ms_"))
        )
        self.insert_obligation = (
            insert(t.obligations)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(t.obligations.c.id)
        )
        self.update_obligation = update(t.obligations).where(t.obligations.c.id == bindparam(PK))
        self.create_account = insert(t.accounts).on_conflict_do_nothing(index_elements=["account"])
        self.add_cash = (
            update(t.accounts)
            .where(t.accounts.c.account == bindparam("account_"))
            .values(cash=t.accounts.c.cash + bindparam("delta"), updated_ms=bindparam("now_ms"))
        )

        # checkpoints
        st = insert(t.engine_state)
        self.upsert_state = st.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": st.excluded.value, "updated_ms": st.excluded.updated_ms},
        )
        # followers (SPEC §E10)
        fo = insert(t.followers)
        self.upsert_follower = fo.on_conflict_do_update(
            index_elements=["account"],
            set_={c.name: fo.excluded[c.name] for c in t.followers.c if c.name != "account"},
        )
        su = insert(t.subscriptions)
        self.upsert_subscription = su.on_conflict_do_update(
            index_elements=["follower", "leader"],
            set_={
                c.name: su.excluded[c.name]
                for c in t.subscriptions.c
                if c.name not in ("follower", "leader")
            },
        )
        eq = insert(t.equity)
        self.upsert_equity = eq.on_conflict_do_update(
            index_elements=["account", "time_ms"],
            set_={"equity": eq.excluded.equity, "cash": eq.excluded.cash},
        )
