"""Recommendation engines: pure NumPy/SciPy over arrays; no web framework, no store.

``trainer.train`` builds an ``OrgModel`` from plain arrays; ``OrgModel`` answers every
recommendation question from a user's history passed in; ``artifact`` saves and loads it as
arrays plus a JSON manifest (never pickle).
"""
