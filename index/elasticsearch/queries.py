"""Request bodies for searches, facet counts and the retention purge: pure functions, no client.

User input is only ever text: each typed word goes into a ``multi_match`` query, which analyses it and has
no query syntax at all (no ``query_string``, no wildcards, no field names, no boolean operators).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from index.store import Facet, RetentionPolicy, SearchQuery

TEXT_FIELDS = ("title", "text", "quoted_text")
PREFIX_FIELDS = tuple(f"{field}.prefix" for field in TEXT_FIELDS)
TERMS_SIZE = 1000
"""Buckets per terms aggregation: more than there are sources, labels or review statuses."""


def words(text: str) -> list[str]:
    """The words of a search, as the SQLite store splits them; words without a letter or digit are dropped
    (the analyzers drop them too, and an empty word would otherwise match nothing)."""
    return [word for word in text.split() if any(char.isalnum() for char in word)]


def text_query(text: str) -> dict[str, Any]:
    """Every word must occur, in the title, the text or the quoted text: as a word (stemmed, folded) or as
    the beginning of a longer word (the SQLite store's prefix terms)."""
    clauses = [
        {
            "multi_match": {
                "query": word,
                "type": "best_fields",
                "fields": [*TEXT_FIELDS, *PREFIX_FIELDS],
                "operator": "and",
            }
        }
        for word in words(text)
    ]
    if not clauses:
        return {"match_none": {}}
    return {"bool": {"must": clauses}}


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _score_range(query: SearchQuery) -> dict[str, float]:
    bounds: dict[str, float] = {}
    if query.min_score is not None:
        bounds["gte"] = query.min_score
    if query.max_score is not None:
        bounds["lte"] = query.max_score
    return bounds


def filters(query: SearchQuery) -> dict[str, Any]:
    """The ``query`` of a search body: the text (if any) and every filter, combined with AND."""
    must: list[dict[str, Any]] = []
    clauses: list[dict[str, Any]] = []
    if query.text:
        must.append(text_query(query.text))
    if query.flagged_only:
        clauses.append({"term": {"flagged": True}})
    bounds = _score_range(query)
    if query.labels:
        labels = list(dict.fromkeys(query.labels))
        clauses.append({"terms": {"flags": labels}})
        if bounds:
            # any of the labels, flagged and scored within the bounds (like the SQLite flags table)
            clauses.append(
                {
                    "bool": {
                        "should": [
                            {
                                "bool": {
                                    "filter": [
                                        {"term": {"flags": label}},
                                        {"range": {f"scores.{label}": dict(bounds)}},
                                    ]
                                }
                            }
                            for label in labels
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
    elif bounds:
        clauses.append({"range": {"severity": bounds}})
    if query.sources:
        clauses.append({"terms": {"source": list(query.sources)}})
    if query.review_status:
        clauses.append({"terms": {"review_status": list(query.review_status)}})
    if query.assignees or query.unassigned:
        either: list[dict[str, Any]] = []
        if query.assignees:
            either.append({"terms": {"assignee": list(query.assignees)}})
        if query.unassigned:
            either.append({"bool": {"must_not": [{"exists": {"field": "assignee"}}]}})
        clauses.append(either[0] if len(either) == 1 else {"bool": {"should": either, "minimum_should_match": 1}})
    if query.protected_staff:
        clauses.append({"terms": {"protected_staff": list(query.protected_staff)}})
    if query.thread_id:
        clauses.append({"term": {"thread_id": query.thread_id}})
    created: dict[str, str] = {}
    if query.since:
        created["gte"] = _utc(query.since)
    if query.until:
        created["lt"] = _utc(query.until)
    if created:
        clauses.append({"range": {"created_at": created}})
    if not (must or clauses):
        return {"match_all": {}}
    body: dict[str, Any] = {}
    if must:
        body["must"] = must
    if clauses:
        body["filter"] = clauses
    return {"bool": body}


SORTS: dict[str, list[dict[str, Any]]] = {
    "severity": [{"severity": "desc"}, {"created_at": "desc"}, {"id": "asc"}],
    "newest": [{"created_at": "desc"}, {"id": "asc"}],
    "oldest": [{"created_at": "asc"}, {"id": "asc"}],
}
"""Like the SQLite store's ORDER BY, with the post id as the tie-breaker so that pages are stable."""


def build_search(query: SearchQuery) -> dict[str, Any]:
    """The ``_search`` body of a query: one page of posts in the query's order, with the exact total."""
    return {
        "query": filters(query),
        "sort": [dict(key) for key in SORTS[query.sort]],
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
    }


def build_counts(query: SearchQuery, by: Facet) -> dict[str, Any]:
    """The ``_search`` body counting the posts that match ``query`` per label, UTC day, source or status."""
    aggregation: dict[str, Any]
    if by == "day":
        aggregation = {
            "date_histogram": {
                "field": "created_at",
                "calendar_interval": "day",
                "time_zone": "UTC",
                "format": "yyyy-MM-dd",
                "min_doc_count": 1,
            }
        }
    else:
        field = {"label": "flags", "source": "source", "review_status": "review_status"}[by]
        aggregation = {"terms": {"field": field, "size": TERMS_SIZE}}
    return {"query": filters(query), "size": 0, "track_total_hits": False, "aggs": {"counts": aggregation}}


def parse_counts(response: Mapping[str, Any], by: Facet) -> dict[str, int]:
    """The counts of a ``build_counts`` response, sorted by key, empty buckets left out."""
    buckets = response.get("aggregations", {}).get("counts", {}).get("buckets", [])
    key = "key_as_string" if by == "day" else "key"
    return dict(sorted((str(bucket[key]), int(bucket["doc_count"])) for bucket in buckets if bucket["doc_count"]))


def purge_cutoffs(policy: RetentionPolicy, now: datetime) -> dict[str, str]:
    """ISO times before which each kind is deleted, as the SQLite store computes them."""
    now = now.astimezone(UTC)
    return {
        "unflagged": (now - timedelta(days=policy.unflagged_days)).isoformat(),
        "flagged": (now - timedelta(days=policy.flagged_days)).isoformat(),
        "dismissed": (now - timedelta(days=policy.dismissed_days)).isoformat(),
        "audit": (now - timedelta(days=policy.audit_days)).isoformat(),
    }


def purge_queries(cutoffs: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ``_delete_by_query`` queries of a purge, by kind (the same rules as the SQLite store):

    - unflagged: not flagged, collected before the unflagged cutoff;
    - flagged: flagged, not dismissed, collected before the flagged cutoff;
    - dismissed: flagged and dismissed, dismissed (or, if never reviewed, collected) before its cutoff.
    """
    dismissed = cutoffs["dismissed"]
    return {
        "unflagged": {
            "bool": {
                "filter": [
                    {"term": {"flagged": False}},
                    {"range": {"collected_at": {"lt": cutoffs["unflagged"]}}},
                ]
            }
        },
        "flagged": {
            "bool": {
                "filter": [
                    {"term": {"flagged": True}},
                    {"range": {"collected_at": {"lt": cutoffs["flagged"]}}},
                ],
                "must_not": [{"term": {"review_status": "dismissed"}}],
            }
        },
        "dismissed": {
            "bool": {
                "filter": [
                    {"term": {"flagged": True}},
                    {"term": {"review_status": "dismissed"}},
                    {
                        "bool": {  # coalesce(reviewed_at, collected_at) < cutoff
                            "should": [
                                {"range": {"reviewed_at": {"lt": dismissed}}},
                                {
                                    "bool": {
                                        "must_not": [{"exists": {"field": "reviewed_at"}}],
                                        "filter": [{"range": {"collected_at": {"lt": dismissed}}}],
                                    }
                                },
                            ],
                            "minimum_should_match": 1,
                        }
                    },
                ]
            }
        },
    }


def audit_query(post_id: str | None = None, actor: str | None = None) -> dict[str, Any]:
    pairs = (("post_id", post_id), ("actor", actor))
    clauses = [{"term": {field: value}} for field, value in pairs if value is not None]
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def summary_requests(recent: int = 10) -> dict[str, dict[str, Any]]:
    """The ``_search`` bodies behind ``summary()``: posts (totals per source and label, distinct URLs), the
    most recent flagged posts, alerts per status, and runs (how many, and the latest)."""
    return {
        "posts": {
            "size": 0,
            "track_total_hits": True,
            "aggs": {
                "by_source": {"terms": {"field": "source", "size": TERMS_SIZE}},
                "flagged": {"filter": {"term": {"flagged": True}}},
                "flags": {"terms": {"field": "flags", "size": TERMS_SIZE}},
                "urls": {"cardinality": {"field": "url", "precision_threshold": 40000}},
            },
        },
        "recent": {
            "size": recent,
            "_source": False,
            "query": {"term": {"flagged": True}},
            "sort": [{"created_at": "desc"}, {"severity": "desc"}, {"id": "asc"}],
        },
        "alerts": {"size": 0, "aggs": {"status": {"terms": {"field": "status", "size": TERMS_SIZE}}}},
        "runs": {
            "size": 1,
            "sort": [{"finished_at": "desc"}, {"recorded_at": "desc"}],
            "aggs": {"runs": {"cardinality": {"field": "run_id", "precision_threshold": 40000}}},
        },
    }
