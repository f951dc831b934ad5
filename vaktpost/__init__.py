"""Vaktpost: what every stage shares — settings, the data schema, the data dir, privacy helpers, the CLI."""

__version__ = "0.1.0"
