"""Accounts, developer tokens and API keys: who is calling, and for which organisation."""
