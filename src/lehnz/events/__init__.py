"""Shopper events: validated, appended to the durable log, and read back for debugging."""
