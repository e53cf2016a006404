"""Training per organisation: read its events and catalog from the store, fit, save, announce."""
