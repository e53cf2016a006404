"""The schema: every table, every row scoped by organisation.

Alembic migrations in ``migrations/versions`` create exactly this; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from lehnz.store.types import BigSerial, JsonDocument, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 64  # our own ids: a prefix and random characters
EXTERNAL_ID = 256  # ids a store sends: user_id, item_id, session_id

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("settings", JsonDocument, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
)

developers = Table(
    "developers",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("type", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    # SHA-256 of the whole key: keys carry 190+ random bits, so a fast hash is safe and the
    # look-up stays an index probe rather than an argon2 verification per request.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    # Set when a key was rotated with a grace period: it works until then.
    Column("expires_at", UTCDateTime, nullable=True),
)

dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    # SHA-256 of the cookie's random token, like api_keys.key_hash: a stolen database holds
    # no usable session.
    Column("token_hash", String(64), primary_key=True),
    Column(
        "developer_id",
        String(ID),
        ForeignKey("developers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_id", String(EXTERNAL_ID), primary_key=True),
    Column("item_type", String(64), nullable=False, default="product"),
    Column("status", String(16), nullable=False, default="active"),
    Column("attributes", JsonDocument, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_items_org_updated", "organization_id", "updated_at"),
)

users = Table(
    "users",
    metadata,
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", String(EXTERNAL_ID), primary_key=True),
    Column("attributes", JsonDocument, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    # The log's order: the pipeline tails it by this sequence number.
    Column("seq", BigSerial, primary_key=True, autoincrement=True),
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", String(128), nullable=True),
    Column("user_id", String(EXTERNAL_ID), nullable=False),
    Column("event_name", String(EXTERNAL_ID), nullable=False),
    Column("item_id", String(EXTERNAL_ID), nullable=True),
    Column("session_id", String(EXTERNAL_ID), nullable=True),
    Column("recommendation_id", String(ID), nullable=True),
    Column("previous_user_id", String(EXTERNAL_ID), nullable=True),
    Column("context", JsonDocument, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # PostgreSQL only: the id of the transaction that appended the row (the column's default
    # there, set by migration 0004; NULL on SQLite). Transactions commit in any order, so a
    # row can appear below sequence numbers the pipeline has passed; it reads only rows of
    # transactions older than every one still running, in (txid, seq) order, and so never
    # skips one. SQLite has one writer, and seq alone is the order.
    Column("txid", BigInteger, nullable=True),
    UniqueConstraint("organization_id", "event_id", name="uq_events_org_event_id"),
    Index("ix_events_org_seq", "organization_id", "seq"),
    Index("ix_events_org_user_seq", "organization_id", "user_id", "seq"),
    Index("ix_events_org_txid_seq", "organization_id", "txid", "seq").ddl_if(dialect="postgresql"),
    # SQLite would otherwise hand the numbers of deleted newest rows (an erased user's) to the
    # next events, which then sit below the pipeline's cursor and are never applied.
    # PostgreSQL's sequence never goes back.
    sqlite_autoincrement=True,
)

identity_links = Table(
    "identity_links",
    metadata,
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # An id that was merged away (e.g. an anonymous visitor) ...
    Column("alias_user_id", String(EXTERNAL_ID), primary_key=True),
    # ... and the identified user it now belongs to.
    Column("canonical_user_id", String(EXTERNAL_ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_identity_links_canonical", "organization_id", "canonical_user_id"),
)

recommendation_logs = Table(
    "recommendation_logs",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("endpoint", String(64), nullable=False),
    Column("placement", String(EXTERNAL_ID), nullable=True),
    Column("user_id", String(EXTERNAL_ID), nullable=True),
    Column("item_ids", JsonDocument, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_recommendation_logs_org_created", "organization_id", "created_at"),
    Index("ix_recommendation_logs_org_user", "organization_id", "user_id"),
)

models = Table(
    "models",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("trained_at", UTCDateTime, nullable=True),
    Column("manifest", JsonDocument, nullable=False, default=dict),
    Column("artifact", LargeBinary, nullable=True),
    Column("artifact_size", Integer, nullable=True),
    Column("serving", Boolean, nullable=False, default=False),
    Column("notes", Text, nullable=True),
    UniqueConstraint("organization_id", "version", name="uq_models_org_version"),
)

# The pipeline's position in each organisation's event log: events up to ``last_seq`` have
# been applied to user states, identity links and attributions, in the same transaction as
# this row was moved, so a restart resumes exactly where it stopped.
pipeline_cursors = Table(
    "pipeline_cursors",
    metadata,
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("last_seq", BigInteger, nullable=False, default=0),
    # PostgreSQL: the txid of the event at last_seq; the position is (last_txid, last_seq).
    Column("last_txid", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime, nullable=False),
    # Bumped by anything else that changes user data (erasure). The pipeline reads a batch
    # outside its write transaction and moves the cursor only if this is unchanged, so a
    # batch read before an erasure can never write the erased user's state back.
    Column("generation", BigInteger, nullable=False, server_default="0"),
)

# What the serving side reads about a shopper: recent events, cart, price profile. One small
# JSON document per (canonical) user, kept current by the pipeline.
user_states = Table(
    "user_states",
    metadata,
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", String(EXTERNAL_ID), primary_key=True),
    Column("state", JsonDocument, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Events credited to the recommendation list they came from.
attributions = Table(
    "attributions",
    metadata,
    Column("event_seq", BigInteger, primary_key=True),
    Column(
        "organization_id",
        String(ID),
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("recommendation_id", String(ID), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("placement", String(EXTERNAL_ID), nullable=True),
    Column("user_id", String(EXTERNAL_ID), nullable=False),
    Column("event_name", String(EXTERNAL_ID), nullable=False),
    Column("family", String(16), nullable=False),
    Column("item_id", String(EXTERNAL_ID), nullable=True),
    Column("revenue", Float, nullable=False, default=0.0),
    Column("occurred_at", UTCDateTime, nullable=False),
    Index("ix_attributions_org_occurred", "organization_id", "occurred_at"),
    Index("ix_attributions_org_user", "organization_id", "user_id"),
)
