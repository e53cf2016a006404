"""events.seq never reused on SQLite (AUTOINCREMENT)

Without AUTOINCREMENT SQLite gives a new row max(seq) + 1, so erasing the newest events (a
user's erasure) handed their numbers to the next events, which sat at or below the pipeline's
cursor and were never applied. PostgreSQL's sequence never goes back: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass
    # Numbers already handed out and since erased may sit above every stored row: start past
    # the highest number anything still remembers (a cursor or an attribution), too.
    op.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'events', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events')"
    )
    op.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, "
        "(SELECT coalesce(max(seq), 0) FROM events), "
        "(SELECT coalesce(max(last_seq), 0) FROM pipeline_cursors), "
        "(SELECT coalesce(max(event_seq), 0) FROM attributions)) "
        "WHERE name = 'events'"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "events", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
