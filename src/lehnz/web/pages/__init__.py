"""One module per dashboard page, each with its ``router``."""
