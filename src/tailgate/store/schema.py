"""The database schema, declared once: Alembic migrations are checked against it.

Conventions, chosen so one schema runs unchanged on SQLite and PostgreSQL:

* times are BIGINT milliseconds since the epoch (`*_ms`), like every record in the engine;
* money, prices and sizes are double precision floats (the domain computes in floats, so the
  store must not round them — a decimal column would change the trade fingerprint);
* enums are stored as their string values, not as database enum types, so adding a state or a
  reason code never needs a migration;
* constraints have deterministic names (`NAMING_CONVENTION`) so migrations can alter them on
  both backends (SQLite needs the names for its batch "move and copy" rebuilds).

Nothing here touches a database: tables are created by the migrations only.
"""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "NAMING_CONVENTION",
    "AccountRow",
    "Base",
    "DeferredSignalRow",
    "EngineStateRow",
    "EquitySnapshotRow",
    "FillRow",
    "FollowerRow",
    "LeaderFillSeenRow",
    "LeaderPositionRow",
    "LeaderRow",
    "LeaderTradeRow",
    "ObligationRow",
    "OrderRow",
    "PositionRow",
    "ReconciliationDiscrepancyRow",
    "RejectedFillRow",
    "SignalRow",
    "SubscriptionRow",
    "metadata",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Surrogate keys: 64-bit on PostgreSQL; plain INTEGER on SQLite, because only an
# "INTEGER PRIMARY KEY" column is an alias of the rowid and autoincrements there.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

Id = Annotated[int, mapped_column(_BigId, primary_key=True, autoincrement=True)]
Ms = Annotated[int, mapped_column(BigInteger)]
OptMs = Annotated[int | None, mapped_column(BigInteger)]


class Base(DeclarativeBase):
    """Declarative base: one `MetaData` with the naming convention, typed annotations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 — SQLAlchemy reads this class attribute
        str: String(),
        float: Float(),
        bool: Boolean(),
        int: Integer(),
        dict[str, Any]: JSON(),
        list[dict[str, Any]]: JSON(),
        Any: JSON(),
    }


metadata = Base.metadata


# --- leaders (SPEC §C1) ----------------------------------------------------------------------


class LeaderRow(Base):
    """A scored leader; `blacklisted_until_ms` survives refreshes (see `Store.save_leaders`)."""

    __tablename__ = "leaders"

    address: Mapped[str] = mapped_column(primary_key=True)
    venue: Mapped[str] = mapped_column(default="hyperliquid", server_default="hyperliquid")
    account_value: Mapped[float]
    roi_7d: Mapped[float]
    roi_30d: Mapped[float]
    roi_90d: Mapped[float]
    smart_money: Mapped[bool]
    max_drawdown: Mapped[float]
    avg_leverage: Mapped[float]
    days_active: Mapped[float]
    trade_count: Mapped[int]
    win_rate: Mapped[float]
    style: Mapped[str | None]
    score: Mapped[float]
    score_components: Mapped[dict[str, Any]]
    disqualified_reason: Mapped[str | None]
    tier: Mapped[str]
    blacklisted_until_ms: Mapped[OptMs]
    blacklist_reason: Mapped[str | None]
    updated_ms: Mapped[Ms]


class LeaderPositionRow(Base):
    """A leader's open position as tracked from their trades (Add windows, step-4 re-checks)."""

    __tablename__ = "leader_positions"

    leader: Mapped[str] = mapped_column(primary_key=True)
    coin: Mapped[str] = mapped_column(primary_key=True)
    side: Mapped[str]
    size: Mapped[float]
    opened_ms: Mapped[Ms]
    updated_ms: Mapped[Ms]


# --- ingestion (SPEC §C2) --------------------------------------------------------------------


class LeaderTradeRow(Base):
    """One aggregated leader trade; `trade_key` (= `LeaderTrade.key`) makes it unique."""

    __tablename__ = "leader_trades"
    __table_args__ = (Index(None, "leader", "time_ms"),)

    id: Mapped[Id]
    trade_key: Mapped[str] = mapped_column(unique=True)
    leader: Mapped[str]
    coin: Mapped[str]
    side: Mapped[str]
    action: Mapped[str]
    size: Mapped[float]
    price: Mapped[float]
    value_usd: Mapped[float]
    time_ms: Mapped[Ms]
    order_id: Mapped[int] = mapped_column(BigInteger)
    start_position: Mapped[float]
    end_position: Mapped[float]
    closed_pnl: Mapped[float]
    seen_ms: Mapped[Ms]


class LeaderFillSeenRow(Base):
    """The durable dedupe: a leader fill is processed at most once, across restarts.

    Its primary key is `LeaderFill.dedupe_key`; fills that were rejected before becoming a
    trade are recorded here too, with no `leader_trade_id`.
    """

    __tablename__ = "leader_fills_seen"

    dedupe_key: Mapped[str] = mapped_column(primary_key=True)
    leader: Mapped[str]
    leader_trade_id: Mapped[int | None] = mapped_column(
        _BigId, ForeignKey("leader_trades.id"), index=True
    )
    seen_ms: Mapped[Ms]


class RejectedFillRow(Base):
    """A fill (or payload) refused before the pipeline, with its reason and a raw excerpt."""

    __tablename__ = "rejected_fills"

    id: Mapped[Id]
    leader: Mapped[str]
    # unique, but NULLs are distinct on both backends: payloads without a key all stay
    dedupe_key: Mapped[str | None] = mapped_column(unique=True)
    reason: Mapped[str]
    detail: Mapped[str]
    excerpt: Mapped[str]
    time_ms: Mapped[OptMs]
    seen_ms: Mapped[Ms]


# --- the pipeline (SPEC §C3) -----------------------------------------------------------------


class SignalRow(Base):
    """One evaluation of a leader trade; a deferred trade has several, the latest one counts."""

    __tablename__ = "signals"
    __table_args__ = (Index(None, "outcome", "reason"),)

    id: Mapped[Id]
    leader_trade_id: Mapped[int] = mapped_column(_BigId, ForeignKey("leader_trades.id"), index=True)
    leader: Mapped[str]
    coin: Mapped[str]
    action: Mapped[str]
    outcome: Mapped[str]
    reason: Mapped[str]
    evaluated_ms: Mapped[Ms]
    steps: Mapped[list[dict[str, Any]]]  # [{step, name, passed, reason, detail}, ...]
    size_usd: Mapped[float]
    order_type: Mapped[str | None]
    limit_price: Mapped[float | None]
    defer_until_ms: Mapped[OptMs]
    actionable_ms: Mapped[OptMs]


class DeferredSignalRow(Base):
    """The persisted confirmation-delay queue: re-enters the pipeline at step 4 when due."""

    __tablename__ = "deferred_signals"
    __table_args__ = (Index(None, "status", "due_ms"),)

    id: Mapped[Id]
    signal_id: Mapped[int] = mapped_column(_BigId, ForeignKey("signals.id"))
    leader_trade_id: Mapped[int] = mapped_column(_BigId, ForeignKey("leader_trades.id"))
    due_ms: Mapped[Ms]
    status: Mapped[str]  # 'waiting' | 'done'
    resolved_ms: Mapped[OptMs]


# --- execution (SPEC §E1) --------------------------------------------------------------------


class PositionRow(Base):
    """Our position (every `PositionRecord` field)."""

    __tablename__ = "positions"
    __table_args__ = (Index(None, "account", "status"),)

    id: Mapped[Id]
    account: Mapped[str]
    coin: Mapped[str]
    side: Mapped[str]
    size: Mapped[float]
    entry_price: Mapped[float]
    opened_ms: Mapped[Ms]
    status: Mapped[str]
    leader: Mapped[str | None]
    leader_trade_id: Mapped[int | None] = mapped_column(BigInteger)
    fees_paid: Mapped[float]
    realized_pnl: Mapped[float]
    closed_ms: Mapped[OptMs]
    exit_price: Mapped[float | None]
    close_reason: Mapped[str | None]
    stop_price: Mapped[float | None]
    trailing_stop: Mapped[float | None]
    extreme_price: Mapped[float | None]
    tiers_taken: Mapped[int]


class OrderRow(Base):
    """An order intent, written before anything is sent (every `OrderRecord` field)."""

    __tablename__ = "orders"
    __table_args__ = (Index(None, "state"),)

    id: Mapped[Id]
    client_order_id: Mapped[str] = mapped_column(unique=True)
    account: Mapped[str]
    coin: Mapped[str]
    is_buy: Mapped[bool]
    size: Mapped[float]
    limit_price: Mapped[float]
    order_type: Mapped[str]
    purpose: Mapped[str]
    state: Mapped[str]
    created_ms: Mapped[Ms]
    updated_ms: Mapped[Ms]
    reduce_only: Mapped[bool]
    signal_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    position_id: Mapped[int | None] = mapped_column(BigInteger)
    leader: Mapped[str | None]
    price_source: Mapped[str | None]
    reason: Mapped[str | None]
    venue_order_id: Mapped[str | None]
    filled_size: Mapped[float]
    avg_price: Mapped[float]
    fee: Mapped[float]
    trigger_price: Mapped[float | None]
    leader_trade_id: Mapped[int | None] = mapped_column(BigInteger)


class FillRow(Base):
    """A venue fill of one of our orders; `fill_id` is the venue's id, recorded once."""

    __tablename__ = "fills"

    id: Mapped[Id]
    order_id: Mapped[int] = mapped_column(_BigId, ForeignKey("orders.id"), index=True)
    fill_id: Mapped[str] = mapped_column(unique=True)
    price: Mapped[float]
    size: Mapped[float]
    fee: Mapped[float]
    time_ms: Mapped[Ms]


class AccountRow(Base):
    """The paper account's cash: moved by fills in the same transaction as the fills."""

    __tablename__ = "accounts"

    account: Mapped[str] = mapped_column(primary_key=True)
    cash: Mapped[float]
    updated_ms: Mapped[Ms]


class ObligationRow(Base):
    """Work that must follow a fill (SPEC §E5), written before it is attempted.

    `key` names the obligation's cause, so writing it twice is harmless; an open obligation is
    retried from `due_ms` with backoff until it is done.
    """

    __tablename__ = "obligations"
    __table_args__ = (Index(None, "status", "due_ms"),)

    id: Mapped[Id]
    key: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str]
    account: Mapped[str]
    position_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    reason: Mapped[str | None]
    status: Mapped[str]
    created_ms: Mapped[Ms]
    due_ms: Mapped[Ms]
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    done_ms: Mapped[OptMs]


class ReconciliationDiscrepancyRow(Base):
    """One difference between our books and the venue's (SPEC §R1), and what was done about it."""

    __tablename__ = "reconciliation_discrepancies"
    __table_args__ = (Index(None, "account", "run_ms"),)

    id: Mapped[Id]
    account: Mapped[str]
    run_ms: Mapped[Ms]
    kind: Mapped[str]
    coin: Mapped[str | None]
    local: Mapped[str]
    venue: Mapped[str]
    diff_usd: Mapped[float]
    resolution: Mapped[str]


# --- followers (SPEC §E10) ---------------------------------------------------------------------


class FollowerRow(Base):
    """A follower account (every `tailgate.domain.followers.Follower` field)."""

    __tablename__ = "followers"

    account: Mapped[str] = mapped_column(primary_key=True)
    signer: Mapped[str]
    proxy: Mapped[str | None]
    capital_usd: Mapped[float]
    max_order_usd: Mapped[float | None]
    daily_volume_cap_usd: Mapped[float | None]
    daily_loss_cap_usd: Mapped[float | None]
    enabled: Mapped[bool]
    updated_ms: Mapped[Ms]


class SubscriptionRow(Base):
    """Follower ↔ leader ('*': every leader), with its ratio and cap."""

    __tablename__ = "subscriptions"

    follower: Mapped[str] = mapped_column(ForeignKey("followers.account"), primary_key=True)
    leader: Mapped[str] = mapped_column(primary_key=True)
    ratio: Mapped[float]
    max_order_usd: Mapped[float | None]
    enabled: Mapped[bool]
    updated_ms: Mapped[Ms]


# --- checkpoints and reporting (SPEC §R5, §B) ------------------------------------------------


class EngineStateRow(Base):
    """Checkpoints of long-lived in-memory state, one JSON document per key."""

    __tablename__ = "engine_state"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[Any]
    updated_ms: Mapped[Ms]


class EquitySnapshotRow(Base):
    """The equity curve, one point per account and time."""

    __tablename__ = "equity_snapshots"

    account: Mapped[str] = mapped_column(primary_key=True)
    time_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    equity: Mapped[float]
    cash: Mapped[float]
