"""pipeline state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:28:51.320824
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lehnz.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "attributions",
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("recommendation_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("placement", sa.String(length=256), nullable=True),
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.Column("event_name", sa.String(length=256), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=256), nullable=True),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("occurred_at", lehnz.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_attributions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_seq", name=op.f("pk_attributions")),
    )
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attributions_org_occurred", ["organization_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_attributions_org_user", ["organization_id", "user_id"], unique=False
        )

    op.create_table(
        "pipeline_cursors",
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", lehnz.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_pipeline_cursors_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_pipeline_cursors")),
    )
    op.create_table(
        "user_states",
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", lehnz.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_user_states_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "user_id", name=op.f("pk_user_states")),
    )


def downgrade() -> None:

    op.drop_table("user_states")
    op.drop_table("pipeline_cursors")
    with op.batch_alter_table("attributions", schema=None) as batch_op:
        batch_op.drop_index("ix_attributions_org_user")
        batch_op.drop_index("ix_attributions_org_occurred")

    op.drop_table("attributions")
