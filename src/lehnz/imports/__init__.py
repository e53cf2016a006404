"""Importing whole files of items, users or events: CSV, JSON arrays or NDJSON, gzip or not."""
