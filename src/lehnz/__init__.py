"""lehnz: a self-hosted recommendations API for online stores."""

__version__ = "0.1.0"
