"""dashboard sessions

The dashboard's log-ins, kept server side so that logging out ends the session at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lehnz.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("developer_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", lehnz.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", lehnz.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["developer_id"],
            ["developers.id"],
            name=op.f("fk_dashboard_sessions_developer_id_developers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_dashboard_sessions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_sessions_developer_id"), ["developer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dashboard_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_sessions_developer_id"))
    op.drop_table("dashboard_sessions")
