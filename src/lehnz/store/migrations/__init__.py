"""Alembic migrations, run from code at start-up (``lehnz serve``) or by ``lehnz migrate``."""
