"""The store's catalog and shoppers: items and users, upserted, read, deleted and erased."""
