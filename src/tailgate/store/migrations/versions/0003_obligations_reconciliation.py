"""The obligations ledger (SPEC §E5), the reconciliation audit table (SPEC §R1), and the
leader trade on each order intent (SPEC §E1: an intent names its leader trade).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("leader_trade_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "obligations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("due_ms", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("done_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
        sa.UniqueConstraint("key", name=op.f("uq_obligations_key")),
    )
    op.create_index(op.f("ix_obligations_status_due_ms"), "obligations", ["status", "due_ms"])
    op.create_index(op.f("ix_obligations_position_id"), "obligations", ["position_id"])
    op.create_table(
        "reconciliation_discrepancies",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("run_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("coin", sa.String(), nullable=True),
        sa.Column("local", sa.String(), nullable=False),
        sa.Column("venue", sa.String(), nullable=False),
        sa.Column("diff_usd", sa.Float(), nullable=False),
        sa.Column("resolution", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_discrepancies")),
    )
    op.create_index(
        op.f("ix_reconciliation_discrepancies_account_run_ms"),
        "reconciliation_discrepancies",
        ["account", "run_ms"],
    )


def downgrade() -> None:
    op.drop_table("reconciliation_discrepancies")
    op.drop_table("obligations")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("leader_trade_id")
