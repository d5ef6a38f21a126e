"""`Store`: the only way the rest of tailgate touches the database.

Every public method is one transaction: it commits whole or not at all, so the engine can treat
each call as one durable step (SPEC §E1: the store is written before each irreversible step).
Records passed in get their new ids only *after* the commit, so a failed call leaves the
caller's objects as they were.

The hot paths (`seen_fill_keys`, `record_trade`) run thousands of times per simulated run, so
the store uses SQLAlchemy Core with prebuilt statements (`store.sql`), one statement per table
touched, and detects duplicates by letting the unique constraints fail — never by
SELECT-before-INSERT.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tailgate.domain.followers import Follower, Subscription
from tailgate.domain.models import LeaderTrade, Trader
from tailgate.domain.signals import Signal
from tailgate.store import rows
from tailgate.store.db import (
    SQLITE_BEGIN_OPTION,
    SQLITE_NO_BEGIN,
    create_db_engine,
    redacted_url,
    upgrade_database,
)
from tailgate.store.errors import (
    DeferredNotWaitingError,
    DuplicateOrderError,
    DuplicateTradeError,
    StoreError,
    UnknownAccountError,
)
from tailgate.store.records import (
    DeferredRecord,
    DiscrepancyRecord,
    FillRecord,
    LeaderPositionRecord,
    ObligationKind,
    ObligationRecord,
    ObligationStatus,
    OrderPurpose,
    OrderRecord,
    OrderState,
    PositionRecord,
    PositionStatus,
    RecordedTrade,
    StoredSignal,
)
from tailgate.store.schema import metadata
from tailgate.store.sql import DEFERRED_WAITING, PK, Statements, Tables

__all__ = ["IN_CHUNK", "Store"]

log = logging.getLogger(__name__)

IN_CHUNK = 500  # longest IN (...) list sent in one statement

t = Tables


class Store:
    """Typed, transactional access to tailgate's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        try:
            self._sql = Statements(engine.dialect.name)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        self._engine = engine
        # Writers take SQLite's write lock at BEGIN, so a method that reads before it writes
        # cannot fail half-way with SQLITE_BUSY (PostgreSQL ignores the option). Readers run
        # without BEGIN/ROLLBACK, each statement reading one consistent snapshot: that saves
        # two round trips per read on PostgreSQL.
        self._writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        # key → count of this Store's writes of it: a cache of the switches (kill, halts)
        # sees its own process's writes at once, and only those of its keys
        self._state_writes: dict[str, int] = {}
        if engine.dialect.name == "sqlite":
            self._reader = engine.execution_options(**{SQLITE_BEGIN_OPTION: SQLITE_NO_BEGIN})
        else:
            self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Self:
        """Connect to `url`, upgrading its schema to the newest revision unless told not to."""
        engine = create_db_engine(url)
        try:
            if migrate:
                upgrade_database(engine)
            return cls(engine)
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({redacted_url(self._engine.url)!r})"

    @property
    def engine(self) -> Engine:
        return self._engine

    # --- leaders (SPEC §C1) --------------------------------------------------------------------

    def save_leaders(self, traders: Sequence[Trader], now_ms: int) -> None:
        """Upsert every field of every trader.

        A stored blacklist is kept when the incoming trader carries none: a leaderboard refresh
        that does not know about a liquidation cooldown must not lift it (SPEC §C5).
        """
        if traders:
            with self._writer.begin() as conn:
                conn.execute(
                    self._sql.upsert_leaders, [rows.trader_values(x, now_ms) for x in traders]
                )

    def load_leaders(self) -> list[Trader]:
        """All leaders, best score first."""
        query = select(t.leaders).order_by(t.leaders.c.score.desc(), t.leaders.c.address)
        with self._reader.connect() as conn:
            return [rows.trader(row) for row in conn.execute(query).mappings()]

    def blacklist_leader(self, address: str, until_ms: int, reason: str) -> None:
        """Blacklist a leader until `until_ms`; an unknown leader gets a row (never scored)."""
        row = rows.trader_values(Trader(address=address), updated_ms=0)
        row.update(blacklisted_until_ms=until_ms, blacklist_reason=reason)
        with self._writer.begin() as conn:
            conn.execute(self._sql.upsert_blacklist, row)

    # --- ingestion (SPEC §C2) ------------------------------------------------------------------

    def seen_fill_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these fill dedupe keys are already recorded (in a trade or as rejected)."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return set()
        with self._reader.connect() as conn:
            return self._seen_keys(conn, unique)

    def fill_keys_seen_since(self, since_ms: int) -> dict[str, int]:
        """Every fill dedupe key recorded at or after `since_ms` → when it was recorded."""
        seen = t.fills_seen
        query = select(seen.c.dedupe_key, seen.c.seen_ms).where(seen.c.seen_ms >= since_ms)
        with self._reader.connect() as conn:
            return {key: seen_ms for key, seen_ms in conn.execute(query)}

    def _seen_keys(self, conn: Connection, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in rows.chunks(keys, IN_CHUNK):
            found.update(conn.execute(self._sql.select_seen_keys, {"keys": chunk}).scalars())
        return found

    def record_rejected_fill(
        self,
        *,
        leader: str,
        dedupe_key: str | None,
        reason: str,
        detail: str,
        excerpt: str,
        time_ms: int | None,
        seen_ms: int,
    ) -> bool:
        """Record a fill refused before the pipeline; False when its key was already recorded.

        A keyed rejection also marks the fill as seen, so a replay of it is skipped by
        `seen_fill_keys` like any processed fill (a fill is processed at most once).
        """
        with self._writer.begin() as conn:
            if dedupe_key is not None:
                claim = {"dedupe_key": dedupe_key, "leader": leader, "seen_ms": seen_ms}
                if conn.execute(self._sql.claim_fill_seen, claim).first() is None:
                    return False
            conn.execute(
                self._sql.insert_rejected,
                {
                    "leader": leader,
                    "dedupe_key": dedupe_key,
                    "reason": str(reason),
                    "detail": detail,
                    "excerpt": excerpt,
                    "time_ms": time_ms,
                    "seen_ms": seen_ms,
                },
            )
        return True

    def record_trade(
        self,
        trade: LeaderTrade,
        signal: Signal,
        *,
        seen_ms: int,
        deferred_due_ms: int | None = None,
        leader_position: LeaderPositionRecord | None = None,
        close_leader_position: bool = False,
        order: OrderRecord | None = None,
        obligations: Sequence[ObligationRecord] = (),
        fanout: Sequence[OrderRecord] = (),
    ) -> RecordedTrade:
        """Record a leader trade and everything it caused, in one transaction.

        Writes the trade, its fill keys (the durable dedupe), the signal (evaluated at
        `seen_ms`), the deferred-queue entry, the leader-position change and the order intent
        (linked to the signal), the followers' intents for it (`fanout`, §E10) and the
        obligations it creates (a leader's Close we must mirror) — or nothing at all: when the
        trade or any of its fills is already recorded, raises `DuplicateTradeError` naming them.
        """
        if leader_position is not None and close_leader_position:
            raise ValueError(
                "record_trade: give leader_position or close_leader_position, not both"
            )
        sql = self._sql
        fill_keys = list(dict.fromkeys(trade.fill_keys))
        order_values = rows.order_values(order) if order is not None else None
        deferred_id: int | None = None
        order_id: int | None = None
        try:
            with self._writer.begin() as conn:
                trade_id: int = conn.execute(
                    sql.insert_trade, rows.trade_values(trade, seen_ms)
                ).scalar_one()
                if fill_keys:
                    conn.execute(
                        sql.insert_fills_seen,
                        [
                            {
                                "dedupe_key": key,
                                "leader": trade.leader,
                                "leader_trade_id": trade_id,
                                "seen_ms": seen_ms,
                            }
                            for key in fill_keys
                        ],
                    )
                signal_id = self._insert_signal(conn, signal, trade_id, seen_ms)
                if deferred_due_ms is not None:
                    deferred_id = conn.execute(
                        sql.insert_deferred,
                        {
                            "signal_id": signal_id,
                            "leader_trade_id": trade_id,
                            "due_ms": deferred_due_ms,
                            "status": DEFERRED_WAITING,
                        },
                    ).scalar_one()
                if leader_position is not None:
                    conn.execute(
                        sql.upsert_leader_position, rows.leader_position_values(leader_position)
                    )
                elif close_leader_position:
                    self._delete_leader_position(conn, trade.leader, trade.coin)
                if order_values is not None:
                    order_values["signal_id"] = signal_id
                    order_values["leader_trade_id"] = trade_id
                    order_id = conn.execute(sql.insert_order, order_values).scalar_one()
                fanout_ids = self._insert_orders(conn, fanout, signal_id, trade_id)
                self._insert_obligations(conn, obligations, None)
        except IntegrityError as exc:
            duplicate = self._explain_trade_conflict(trade, fill_keys, order)
            if duplicate is None:
                raise
            raise duplicate from exc
        if order is not None:
            order.signal_id = signal_id
            order.leader_trade_id = trade_id
            order.id = order_id
        _set_ids(fanout, fanout_ids, signal_id, trade_id)
        return RecordedTrade(trade_id, signal_id, deferred_id, order_id)

    def _explain_trade_conflict(
        self, trade: LeaderTrade, fill_keys: Sequence[str], order: OrderRecord | None
    ) -> StoreError | None:
        """After a failed `record_trade`: the unique key that made it fail (None: no duplicate)."""
        with self._reader.connect() as conn:
            keys = self._seen_keys(conn, fill_keys)
            query = select(t.leader_trades.c.id).where(t.leader_trades.c.trade_key == trade.key)
            if conn.execute(query).first() is not None:
                keys.add(trade.key)
            if keys:
                return DuplicateTradeError(keys)
            if order is not None and self._order_exists(conn, order.client_order_id):
                return DuplicateOrderError(order.client_order_id)
        return None

    def load_leader_positions(self) -> list[LeaderPositionRecord]:
        lp = t.leader_positions
        query = select(lp).order_by(lp.c.leader, lp.c.coin)
        with self._reader.connect() as conn:
            return [rows.leader_position_record(row) for row in conn.execute(query).mappings()]

    def load_leader_trades(
        self, leader: str | None = None, since_ms: int | None = None
    ) -> list[LeaderTrade]:
        """Leader trades in time order; their `fill_keys` are not loaded (empty)."""
        lt = t.leader_trades
        query = select(lt).order_by(lt.c.time_ms, lt.c.id)
        if leader is not None:
            query = query.where(lt.c.leader == leader)
        if since_ms is not None:
            query = query.where(lt.c.time_ms >= since_ms)
        with self._reader.connect() as conn:
            return [rows.leader_trade(row) for row in conn.execute(query).mappings()]

    # --- the deferred queue (SPEC §C3 step 4) --------------------------------------------------

    def load_pending_deferred(self) -> list[DeferredRecord]:
        """Waiting deferred signals, soonest first, each with its leader trade rebuilt."""
        d, lt = t.deferred, t.leader_trades
        query = (
            select(d.c.id.label("deferred_id"), d.c.signal_id, d.c.due_ms, lt)
            .join(lt, lt.c.id == d.c.leader_trade_id)
            .where(d.c.status == DEFERRED_WAITING)
            .order_by(d.c.due_ms, d.c.id)
        )
        with self._reader.connect() as conn:
            return [
                DeferredRecord(
                    id=row["deferred_id"],
                    signal_id=row["signal_id"],
                    leader_trade_id=row["id"],
                    trade=rows.leader_trade(row),
                    due_ms=row["due_ms"],
                )
                for row in conn.execute(query).mappings()
            ]

    def resolve_deferred(
        self,
        deferred_id: int,
        signal: Signal,
        *,
        evaluated_ms: int,
        order: OrderRecord | None = None,
        leader_position_closed: bool = False,
        fanout: Sequence[OrderRecord] = (),
    ) -> tuple[int, int | None]:
        """Settle a deferred signal with its re-evaluation, in one transaction.

        Marks the deferred row done, inserts the new signal for the same leader trade and the
        order, if any → (signal_id, order_id). When the re-check found the leader's position
        closed (`leader_position_closed`), the tracked leader position is deleted too. Raises
        `DeferredNotWaitingError` when the row is not waiting: a deferral resolves once.
        """
        order_values = rows.order_values(order) if order is not None else None
        order_id: int | None = None
        with self._writer.begin() as conn:
            claimed = conn.execute(
                self._sql.claim_deferred, {PK: deferred_id, "resolved_ms_": evaluated_ms}
            ).first()
            if claimed is None:
                status = conn.execute(
                    select(t.deferred.c.status).where(t.deferred.c.id == deferred_id)
                ).scalar_one_or_none()
                raise DeferredNotWaitingError(deferred_id, status)
            signal_id = self._insert_signal(conn, signal, claimed.leader_trade_id, evaluated_ms)
            if leader_position_closed:
                self._delete_leader_position(conn, signal.trade.leader, signal.trade.coin)
            if order_values is not None:
                order_values["signal_id"] = signal_id
                order_values["leader_trade_id"] = claimed.leader_trade_id
                order_id = conn.execute(self._sql.insert_order, order_values).scalar_one()
            fanout_ids = self._insert_orders(conn, fanout, signal_id, claimed.leader_trade_id)
        _set_ids(fanout, fanout_ids, signal_id, claimed.leader_trade_id)
        if order is not None:
            order.signal_id = signal_id
            order.leader_trade_id = claimed.leader_trade_id
            order.id = order_id
        return signal_id, order_id

    # --- orders, fills, positions (SPEC §E1) ---------------------------------------------------

    def insert_order(self, order: OrderRecord, obligations: Sequence[ObligationRecord] = ()) -> int:
        """Write an order intent (PENDING, before anything is sent), with the obligations that
        must outlive it (a close that must happen even if this order is lost); sets `order.id`.

        Raises `DuplicateOrderError` when the client order id exists: ids are deterministic,
        so that is a second attempt at the same order.
        """
        try:
            with self._writer.begin() as conn:
                order_id: int = conn.execute(
                    self._sql.insert_order, rows.order_values(order)
                ).scalar_one()
                self._insert_obligations(conn, obligations, None)
        except IntegrityError as exc:
            with self._reader.connect() as conn:
                if self._order_exists(conn, order.client_order_id):
                    raise DuplicateOrderError(order.client_order_id) from exc
            raise
        order.id = order_id
        return order_id

    def update_order(self, order: OrderRecord) -> None:
        """Write every field of an existing order."""
        order_id = _require_id(order.id, "order")
        with self._writer.begin() as conn:
            self._update_order(conn, order_id, rows.order_values(order))

    def claim_order(self, order: OrderRecord, now_ms: int) -> bool:
        """PENDING → SUBMITTED in the store, atomically: True for exactly one caller, however
        many executors (threads, processes) try — the one that may send the order."""
        order_id = _require_id(order.id, "order")
        with self._writer.begin() as conn:
            claimed = conn.execute(
                self._sql.claim_order, {PK: order_id, "updated_ms_": now_ms}
            ).rowcount
        return claimed == 1

    def expire_pending(self, order: OrderRecord, reason: str, now_ms: int) -> bool:
        """PENDING → EXPIRED with `reason`, atomically: False when the intent was claimed (or
        settled) meanwhile, so a sweep never expires an intent another executor is sending."""
        order_id = _require_id(order.id, "order")
        o = t.orders
        with self._writer.begin() as conn:
            expired = conn.execute(
                o.update()
                .where(o.c.id == order_id, o.c.state == OrderState.PENDING.value)
                .values(state=OrderState.EXPIRED.value, reason=reason, updated_ms=now_ms)
            ).rowcount
        if expired == 1:
            order.state, order.reason, order.updated_ms = OrderState.EXPIRED, reason, now_ms
        return expired == 1

    def claim_pending_orders(self, limit: int, now_ms: int) -> list[OrderRecord]:
        """Claim up to `limit` PENDING intents (oldest first) for one executor: on PostgreSQL
        rows another executor is claiming are skipped (`FOR UPDATE SKIP LOCKED`), on SQLite the
        write lock taken at BEGIN serialises claimers. Claimed intents are SUBMITTED."""
        o = t.orders
        query = select(o).where(o.c.state == "pending").order_by(o.c.id).limit(limit)
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self._writer.begin() as conn:
            claimed = [rows.order_record(row) for row in conn.execute(query).mappings()]
            if claimed:
                conn.execute(
                    o.update()
                    .where(o.c.id.in_([c.id for c in claimed]))
                    .values(state="submitted", updated_ms=now_ms)
                )
        for order in claimed:
            order.state, order.updated_ms = OrderState.SUBMITTED, now_ms
        return claimed

    def record_order_outcome(
        self,
        order: OrderRecord,
        fills: Sequence[FillRecord],
        position: PositionRecord | None,
        *,
        cash_delta: float = 0.0,
        obligations: Sequence[ObligationRecord] = (),
    ) -> int | None:
        """Record what the venue did with an order, in one transaction → the position id.

        Updates the order, inserts its fills (a fill id already recorded is skipped), inserts
        (no id yet) or updates the position and links it to the order, and adds `cash_delta`
        — the cash effect of the *new* fills — to the account's cash, and writes the
        obligations the outcome creates (protect the position), linked to the position.

        Idempotent on fill ids: when `fills` is not empty and every one of them was already
        recorded, the call replays one that succeeded, so the order row is still written but
        the position and the cash, already moved by that call, are left alone.
        """
        order_id = _require_id(order.id, "order")
        order_values = rows.order_values(order)
        inserted: dict[str, int] = {}
        position_id = position.id if position is not None else None
        with self._writer.begin() as conn:
            if fills:
                result = conn.execute(
                    self._sql.insert_fills, [rows.fill_values(f, order_id) for f in fills]
                )
                inserted = {fill_id: id_ for fill_id, id_ in result}
            replay = bool(fills) and not inserted
            if replay:
                query = select(t.orders.c.position_id).where(t.orders.c.id == order_id)
                stored = conn.execute(query).scalar_one_or_none()
                position_id = stored if stored is not None else order.position_id
                log.info("order %s: outcome replayed, its fills were already recorded", order_id)
            else:
                if position is not None:
                    position_id = self._save_position(conn, position)
                if cash_delta:
                    self._add_cash(conn, order.account, cash_delta, order.updated_ms)
                self._insert_obligations(conn, obligations, position_id)
            if position_id is not None:
                order_values["position_id"] = position_id
            self._update_order(conn, order_id, order_values)
        for fill in fills:
            fill.order_id = order_id
            fill.id = inserted.get(fill.fill_id, fill.id)
        if position_id is not None:
            order.position_id = position_id
            if position is not None and not replay:
                position.id = position_id
        return position_id

    def load_orders(
        self, states: Collection[OrderState] | None = None, account: str | None = None
    ) -> list[OrderRecord]:
        query = self._sql.select_orders[(states is not None, account is not None)]
        params: dict[str, Any] = {}
        if states is not None:
            params["states_"] = [rows.plain(s) for s in states]
        if account is not None:
            params["account_"] = account
        with self._reader.connect() as conn:
            return [rows.order_record(row) for row in conn.execute(query, params).mappings()]

    def order_by_client_id(self, client_order_id: str) -> OrderRecord | None:
        query = select(t.orders).where(t.orders.c.client_order_id == client_order_id)
        with self._reader.connect() as conn:
            row = conn.execute(query).mappings().first()
        return rows.order_record(row) if row is not None else None

    def load_positions(
        self, status: PositionStatus | None = None, account: str | None = None
    ) -> list[PositionRecord]:
        query = select(t.positions).order_by(t.positions.c.id)
        if status is not None:
            query = query.where(t.positions.c.status == rows.plain(status))
        if account is not None:
            query = query.where(t.positions.c.account == account)
        with self._reader.connect() as conn:
            return [rows.position_record(row) for row in conn.execute(query).mappings()]

    def adopt_position(self, position: PositionRecord, cash_delta: float, now_ms: int) -> int:
        """Reconciliation (§R1): write a position as the venue has it, and the cash that moves
        with it, in one transaction; sets and returns `position.id`."""
        with self._writer.begin() as conn:
            position_id = self._save_position(conn, position)
            if cash_delta:
                self._add_cash(conn, position.account, cash_delta, now_ms)
        position.id = position_id
        return position_id

    def save_position(self, position: PositionRecord) -> int:
        """Insert (no id yet) or update a position; sets and returns `position.id`."""
        with self._writer.begin() as conn:
            position_id = self._save_position(conn, position)
        position.id = position_id
        return position_id

    def load_fills(self, order_id: int | None = None) -> list[FillRecord]:
        query = select(t.fills).order_by(t.fills.c.id)
        if order_id is not None:
            query = query.where(t.fills.c.order_id == order_id)
        with self._reader.connect() as conn:
            return [rows.fill_record(row) for row in conn.execute(query).mappings()]

    # --- accounts ------------------------------------------------------------------------------

    def ensure_account(self, account: str, cash: float, now_ms: int) -> float:
        """Create the account with `cash` unless it exists; return its current cash."""
        with self._writer.begin() as conn:
            conn.execute(
                self._sql.create_account, {"account": account, "cash": cash, "updated_ms": now_ms}
            )
            return self._cash(conn, account)

    def get_cash(self, account: str) -> float:
        with self._reader.connect() as conn:
            return self._cash(conn, account)

    # --- obligations (SPEC §E5) and reconciliation (SPEC §R1) -------------------------------

    def add_obligations(self, obligations: Sequence[ObligationRecord]) -> None:
        """Write obligations (one already written under the same key is left as it is)."""
        with self._writer.begin() as conn:
            self._insert_obligations(conn, obligations, None)

    def open_obligations(
        self, due_by_ms: int | None = None, account: str | None = None
    ) -> list[ObligationRecord]:
        """Open obligations (due by `due_by_ms`, of `account`, when given), oldest first."""
        ob = t.obligations
        query = select(ob).where(ob.c.status == ObligationStatus.OPEN.value).order_by(ob.c.id)
        if due_by_ms is not None:
            query = query.where(ob.c.due_ms <= due_by_ms)
        if account is not None:
            query = query.where(ob.c.account == account)
        with self._reader.connect() as conn:
            return [rows.obligation_record(row) for row in conn.execute(query).mappings()]

    def update_obligation(self, obligation: ObligationRecord) -> None:
        obligation_id = _require_id(obligation.id, "obligation")
        with self._writer.begin() as conn:
            conn.execute(
                self._sql.update_obligation,
                {PK: obligation_id, **rows.obligation_values(obligation)},
            )

    def complete_obligations(self, position_id: int, kind: ObligationKind, now_ms: int) -> int:
        """Mark every open obligation of `kind` for the position done → how many."""
        ob = t.obligations
        with self._writer.begin() as conn:
            return conn.execute(
                ob.update()
                .where(
                    ob.c.position_id == position_id,
                    ob.c.kind == kind.value,
                    ob.c.status == ObligationStatus.OPEN.value,
                )
                .values(status=ObligationStatus.DONE.value, done_ms=now_ms)
            ).rowcount

    def traded_notional(self, account: str, since_ms: int) -> float:
        """Notional of our fills since `since_ms` (the daily volume guardrail, §E4)."""
        f, o = t.fills, t.orders
        query = (
            select(func.coalesce(func.sum(f.c.price * f.c.size), 0.0))
            .select_from(f.join(o, f.c.order_id == o.c.id))
            .where(o.c.account == account, f.c.time_ms >= since_ms)
        )
        with self._reader.connect() as conn:
            return float(conn.execute(query).scalar_one())

    def traded_notional_by_account(self, since_ms: int) -> dict[str, float]:
        """`traded_notional` of every account at once (the fan-out's volume caps, §E10)."""
        f, o = t.fills, t.orders
        query = (
            select(o.c.account, func.sum(f.c.price * f.c.size))
            .select_from(f.join(o, f.c.order_id == o.c.id))
            .where(f.c.time_ms >= since_ms)
            .group_by(o.c.account)
        )
        with self._reader.connect() as conn:
            return {account: float(total or 0.0) for account, total in conn.execute(query)}

    def record_discrepancies(self, discrepancies: Sequence[DiscrepancyRecord]) -> None:
        if not discrepancies:
            return
        with self._writer.begin() as conn:
            conn.execute(
                t.discrepancies.insert(), [rows.discrepancy_values(d) for d in discrepancies]
            )

    def load_discrepancies(self, since_ms: int | None = None) -> list[DiscrepancyRecord]:
        d = t.discrepancies
        query = select(d).order_by(d.c.id)
        if since_ms is not None:
            query = query.where(d.c.run_ms >= since_ms)
        with self._reader.connect() as conn:
            return [rows.discrepancy_record(row) for row in conn.execute(query).mappings()]

    def _insert_obligations(
        self,
        conn: Connection,
        obligations: Sequence[ObligationRecord],
        position_id: int | None,
    ) -> None:
        for obligation in obligations:
            if obligation.position_id is None:
                obligation.position_id = position_id
            obligation.id = conn.execute(
                self._sql.insert_obligation, rows.obligation_values(obligation)
            ).scalar_one_or_none()

    # --- followers (SPEC §E10) -----------------------------------------------------------------

    def save_follower(self, follower: Follower, now_ms: int) -> None:
        """Create or replace a follower; its paper account starts with its capital."""
        values = {**rows.follower_values(follower), "updated_ms": now_ms}
        with self._writer.begin() as conn:
            conn.execute(self._sql.upsert_follower, values)
            conn.execute(
                self._sql.create_account,
                {"account": follower.account, "cash": follower.capital_usd, "updated_ms": now_ms},
            )

    def save_subscription(self, subscription: Subscription, now_ms: int) -> None:
        """Create or replace follower ↔ leader; the follower must exist."""
        values = {**rows.subscription_values(subscription), "updated_ms": now_ms}
        with self._writer.begin() as conn:
            exists = select(t.followers.c.account).where(
                t.followers.c.account == subscription.follower
            )
            if conn.execute(exists).first() is None:
                raise UnknownAccountError(subscription.follower)
            conn.execute(self._sql.upsert_subscription, values)

    def load_followers(self) -> list[Follower]:
        query = select(t.followers).order_by(t.followers.c.account)
        with self._reader.connect() as conn:
            return [rows.follower(row) for row in conn.execute(query).mappings()]

    def load_subscriptions(self) -> list[Subscription]:
        sub = t.subscriptions
        query = select(sub).order_by(sub.c.follower, sub.c.leader)
        with self._reader.connect() as conn:
            return [rows.subscription(row) for row in conn.execute(query).mappings()]

    def _insert_orders(
        self,
        conn: Connection,
        orders: Sequence[OrderRecord],
        signal_id: int | None,
        leader_trade_id: int | None,
    ) -> list[int]:
        """Many intents in one multi-row INSERT … RETURNING, ids in the orders' order."""
        if not orders:
            return []
        values = []
        for order in orders:
            v = rows.order_values(order)
            v["signal_id"], v["leader_trade_id"] = signal_id, leader_trade_id
            values.append(v)
        result = conn.execute(
            t.orders.insert().returning(t.orders.c.id, sort_by_parameter_order=True), values
        )
        return [row[0] for row in result]

    # --- checkpoints (SPEC §R5) ----------------------------------------------------------------

    def get_state(self, key: str) -> Any | None:
        query = select(t.engine_state.c.value).where(t.engine_state.c.key == key)
        with self._reader.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def get_states(self, *keys: str) -> dict[str, Any]:
        """Several checkpoints in one read (the guardrails' switches, per entry): {key: value}
        for the keys that are set."""
        st = t.engine_state
        query = select(st.c.key, st.c.value).where(st.c.key.in_(keys))
        with self._reader.connect() as conn:
            return {key: value for key, value in conn.execute(query)}

    def states_with_prefix(self, prefix: str) -> dict[str, Any]:
        """Every checkpoint whose key starts with `prefix` (e.g. every account's halt)."""
        st = t.engine_state
        query = select(st.c.key, st.c.value).where(st.c.key.startswith(prefix, autoescape=True))
        with self._reader.connect() as conn:
            return {key: value for key, value in conn.execute(query)}

    def clear_state(self, key: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(t.engine_state.delete().where(t.engine_state.c.key == key))
        self._wrote_states((key,))

    def set_state(self, key: str, value: Any, now_ms: int) -> None:
        """Checkpoint a JSON-serialisable value under `key`, replacing the previous one."""
        with self._writer.begin() as conn:
            conn.execute(self._sql.upsert_state, {"key": key, "value": value, "updated_ms": now_ms})
        self._wrote_states((key,))

    def set_states(self, values: dict[str, Any], now_ms: int) -> None:
        """Checkpoint several values in one transaction (a periodic checkpoint's keys)."""
        if not values:
            return
        with self._writer.begin() as conn:
            conn.execute(
                self._sql.upsert_state,
                [{"key": k, "value": v, "updated_ms": now_ms} for k, v in values.items()],
            )
        self._wrote_states(values)

    def state_version(self, *keys: str) -> int:
        """How many times this Store wrote any of `keys`: changes when one of them is written
        here (another process's writes are not seen)."""
        writes = self._state_writes
        return sum(writes.get(key, 0) for key in keys)

    def _wrote_states(self, keys: Iterable[str]) -> None:
        writes = self._state_writes
        for key in keys:
            writes[key] = writes.get(key, 0) + 1

    def record_equity(self, account: str, time_ms: int, equity: float, cash: float) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                self._sql.upsert_equity,
                {"account": account, "time_ms": time_ms, "equity": equity, "cash": cash},
            )

    def load_equity(self, account: str) -> list[tuple[int, float]]:
        """The equity curve of `account` as (time_ms, equity), in time order."""
        eq = t.equity
        query = (
            select(eq.c.time_ms, eq.c.equity).where(eq.c.account == account).order_by(eq.c.time_ms)
        )
        with self._reader.connect() as conn:
            return [(time_ms, equity) for time_ms, equity in conn.execute(query)]

    # --- reporting -----------------------------------------------------------------------------

    def final_signal_outcomes(self) -> list[tuple[str, str, int]]:
        """(outcome, reason, count) over leader trades, each counted by its latest signal.

        A trade deferred at step 4 and accepted later counts once, as accepted.
        """
        s = t.signals
        latest = select(func.max(s.c.id)).group_by(s.c.leader_trade_id)
        query = (
            select(s.c.outcome, s.c.reason, func.count())
            .where(s.c.id.in_(latest))
            .group_by(s.c.outcome, s.c.reason)
            .order_by(s.c.outcome, s.c.reason)
        )
        with self._reader.connect() as conn:
            return [(outcome, reason, int(n)) for outcome, reason, n in conn.execute(query)]

    def load_signals(
        self, limit: int = 100, leader_trade_id: int | None = None
    ) -> list[StoredSignal]:
        """The newest signals first (all of one leader trade's, with `leader_trade_id`)."""
        query = select(t.signals).order_by(t.signals.c.id.desc()).limit(limit)
        if leader_trade_id is not None:
            query = query.where(t.signals.c.leader_trade_id == leader_trade_id)
        with self._reader.connect() as conn:
            return [rows.stored_signal(row) for row in conn.execute(query).mappings()]

    def table_counts(self) -> dict[str, int]:
        """Row count of every table, in one query."""
        all_tables = metadata.sorted_tables
        query = select(
            *(
                select(func.count()).select_from(table).scalar_subquery().label(table.name)
                for table in all_tables
            )
        )
        with self._reader.connect() as conn:
            counts = conn.execute(query).mappings().one()
        return {table.name: int(counts[table.name]) for table in all_tables}

    def copied_leaders(self) -> set[str]:
        """Leaders we actually copied: an entry order of theirs (partly) filled."""
        o = t.orders
        query = (
            select(o.c.leader)
            .distinct()
            .where(
                o.c.purpose == OrderPurpose.ENTRY.value,
                o.c.state.in_([OrderState.FILLED.value, OrderState.PARTIAL.value]),
                o.c.leader.is_not(None),
            )
        )
        with self._reader.connect() as conn:
            return set(conn.execute(query).scalars())

    # --- steps shared by several methods, inside the caller's transaction ----------------------

    def _insert_signal(
        self, conn: Connection, signal: Signal, leader_trade_id: int, evaluated_ms: int
    ) -> int:
        values = rows.signal_values(signal, leader_trade_id, evaluated_ms)
        signal_id: int = conn.execute(self._sql.insert_signal, values).scalar_one()
        return signal_id

    def _delete_leader_position(self, conn: Connection, leader: str, coin: str) -> None:
        conn.execute(self._sql.delete_leader_position, {"leader_": leader, "coin_": coin})

    def _update_order(self, conn: Connection, order_id: int, values: dict[str, Any]) -> None:
        result = conn.execute(self._sql.update_order, {**values, PK: order_id})
        if result.rowcount != 1:
            raise StoreError(f"order {order_id} does not exist")

    @staticmethod
    def _order_exists(conn: Connection, client_order_id: str) -> bool:
        query = select(t.orders.c.id).where(t.orders.c.client_order_id == client_order_id)
        return conn.execute(query).first() is not None

    def _save_position(self, conn: Connection, position: PositionRecord) -> int:
        values = rows.position_values(position)
        if position.id is None:
            position_id: int = conn.execute(self._sql.insert_position, values).scalar_one()
            return position_id
        result = conn.execute(self._sql.update_position, {**values, PK: position.id})
        if result.rowcount != 1:
            raise StoreError(f"position {position.id} does not exist")
        return position.id

    def _add_cash(self, conn: Connection, account: str, delta: float, now_ms: int) -> None:
        params = {"account_": account, "delta": delta, "now_ms": now_ms}
        if conn.execute(self._sql.add_cash, params).rowcount != 1:
            raise UnknownAccountError(account)

    @staticmethod
    def _cash(conn: Connection, account: str) -> float:
        query = select(t.accounts.c.cash).where(t.accounts.c.account == account)
        cash = conn.execute(query).scalar_one_or_none()
        if cash is None:
            raise UnknownAccountError(account)
        return float(cash)


def _set_ids(
    orders: Sequence[OrderRecord], ids: Sequence[int], signal_id: int, leader_trade_id: int
) -> None:
    for order, order_id in zip(orders, ids, strict=True):
        order.id, order.signal_id, order.leader_trade_id = order_id, signal_id, leader_trade_id


def _require_id(record_id: int | None, what: str) -> int:
    if record_id is None:
        raise ValueError(f"the {what} has no id: insert it first")
    return record_id
