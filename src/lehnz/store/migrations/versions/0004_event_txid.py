"""event txid: appends no longer serialised on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("pipeline_cursors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_txid", sa.BigInteger(), server_default="0", nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        # Rows already stored come first, in seq order; new rows carry their transaction.
        op.execute("UPDATE events SET txid = 0")
        op.execute(
            "ALTER TABLE events ALTER COLUMN txid SET DEFAULT pg_current_xact_id()::text::bigint"
        )
        op.create_index("ix_events_org_txid_seq", "events", ["organization_id", "txid", "seq"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_events_org_txid_seq", table_name="events")
    with op.batch_alter_table("pipeline_cursors", schema=None) as batch_op:
        batch_op.drop_column("last_txid")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("txid")
