"""Storage and search of analysed posts, runs, alerts and the audit log.

Public interface: ``Store`` (the contract), ``open_store(settings)``, the query types, and the spool
that keeps what the store could not take.
"""

from __future__ import annotations

from index.spool import Delivery, Spool, SpoolError, SpoolingWriter
from index.store import (
    FACETS,
    REVIEW_STATUSES,
    AuditEntry,
    Facet,
    NotFoundError,
    PurgeReport,
    RetentionPolicy,
    ReviewNote,
    ReviewStatus,
    ReviewUpdate,
    SearchPage,
    SearchQuery,
    SortOrder,
    Store,
    StoredPost,
    StoreError,
    UpsertResult,
)
from vaktpost.datadir import DataDir
from vaktpost.settings import Settings


def open_store(settings: Settings) -> Store:
    """The store the settings name: the embedded SQLite database in the data dir (default) or an
    Elasticsearch cluster. Raises StoreError, saying which store and why, when it cannot be opened."""
    if settings.store.backend == "elasticsearch":
        from index.elasticsearch import ElasticsearchStore

        return ElasticsearchStore(settings.store.elasticsearch)
    from index.sqlite import SQLiteStore

    return SQLiteStore(
        settings.store.sqlite_path or DataDir(settings.data_dir).store,
        busy_timeout_s=settings.store.sqlite_busy_timeout_s,
    )


def retention_policy(settings: Settings) -> RetentionPolicy:
    r = settings.retention
    return RetentionPolicy(r.unflagged_days, r.flagged_days, r.dismissed_days, r.audit_days)


__all__ = [
    "FACETS",
    "REVIEW_STATUSES",
    "AuditEntry",
    "Delivery",
    "Facet",
    "NotFoundError",
    "PurgeReport",
    "RetentionPolicy",
    "ReviewNote",
    "ReviewStatus",
    "ReviewUpdate",
    "SearchPage",
    "SearchQuery",
    "SortOrder",
    "Spool",
    "SpoolError",
    "SpoolingWriter",
    "Store",
    "StoreError",
    "StoredPost",
    "UpsertResult",
    "open_store",
    "retention_policy",
]
