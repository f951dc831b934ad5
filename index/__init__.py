"""Storage and search of analysed posts, runs, alerts and the audit log.

Public interface: ``Store`` (the contract), ``open_store(settings)``, and the query types.
"""

from __future__ import annotations

from index.store import SearchPage, SearchQuery, Store, StoredPost, StoreError, UpsertResult
from vaktpost.datadir import DataDir
from vaktpost.settings import Settings


def open_store(settings: Settings) -> Store:
    """The store the settings name (today: the embedded SQLite database in the data dir)."""
    from index.sqlite import SQLiteStore

    return SQLiteStore(settings.store.sqlite_path or DataDir(settings.data_dir).store)


__all__ = ["SearchPage", "SearchQuery", "Store", "StoreError", "StoredPost", "UpsertResult", "open_store"]
