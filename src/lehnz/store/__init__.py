"""Persistence: tables, queries and migrations, the same on SQLite and PostgreSQL.

Nothing above this package touches SQLAlchemy exceptions or knows which database runs.
"""

from lehnz.store.store import Store, open_store

__all__ = ["Store", "open_store"]
