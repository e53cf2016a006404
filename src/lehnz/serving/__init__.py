"""Serving: the newest model of each organisation in memory, the catalog's current state,
and the five recommendation questions answered from them plus the user's live state."""
