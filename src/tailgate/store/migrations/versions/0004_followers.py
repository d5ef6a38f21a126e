"""Follower accounts and their subscriptions to leaders (SPEC §E10).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "followers",
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("signer", sa.String(), nullable=False),
        sa.Column("proxy", sa.String(), nullable=True),
        sa.Column("capital_usd", sa.Float(), nullable=False),
        sa.Column("max_order_usd", sa.Float(), nullable=True),
        sa.Column("daily_volume_cap_usd", sa.Float(), nullable=True),
        sa.Column("daily_loss_cap_usd", sa.Float(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_followers")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("follower", sa.String(), nullable=False),
        sa.Column("leader", sa.String(), nullable=False),
        sa.Column("ratio", sa.Float(), nullable=False),
        sa.Column("max_order_usd", sa.Float(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["follower"],
            ["followers.account"],
            name=op.f("fk_subscriptions_follower_followers"),
        ),
        sa.PrimaryKeyConstraint("follower", "leader", name=op.f("pk_subscriptions")),
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
    op.drop_table("followers")
