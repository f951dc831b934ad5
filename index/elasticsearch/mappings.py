"""What the Elasticsearch backend creates on a cluster: names, index templates, mappings, the ILM policy.

Everything lives under one index prefix (one per municipality):

- ``{prefix}-posts``: an alias over the versioned index ``{prefix}-posts-v{N}`` (N = ``POSTS_MAPPING_VERSION``,
  recorded in the index mapping's ``_meta``). Reads and writes go through the alias, so a reindex into a new
  index is one atomic alias swap;
- ``{prefix}-alerts`` and ``{prefix}-meta``: aliases over ``-v1`` indices (small, kept until deleted);
- ``{prefix}-audit`` and ``{prefix}-runs``: data streams, append-only by design, rolled over and deleted by
  the ILM policy ``{prefix}-retention``.

Why posts are not under ILM: ILM deletes whole indices by age, but a post's retention depends on whether
it was flagged and on its review status (a dismissed post goes 30 days after the dismissal, a flagged one
is kept a year), which no index-level rule can express. ``ElasticsearchStore.purge`` deletes them per
document with ``_delete_by_query``. The audit log and run reports expire by age alone, so ILM suits them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from vaktpost.schema import LABELS

POSTS_MAPPING_VERSION = 1
"""Version of the posts mapping; bump it with every change of the posts mapping or analyzers (existing
indices keep theirs until reindexed). On open, a store whose alias points at an index of an older version
is reindexed into a new one (see ``MIGRATION_SCRIPTS``); one of a newer version is refused."""

AUX_MAPPING_VERSION = 1
"""Version of the alerts and meta mappings (their indices are ``{prefix}-alerts-v1``, ``{prefix}-meta-v1``)."""

MIGRATION_SCRIPTS: dict[int, str] = {}
"""Painless run by ``_reindex`` on each post when migrating from a mapping version to the next, keyed by
the version migrated from (1: from v1 to v2). Empty while there has only been one version."""

MANAGED_BY = "vaktpost"
TEMPLATE_PRIORITY = 200
"""Above the built-in templates (priority 100), so ours win for our names whatever the prefix."""

ROLLOVER = {"max_age": "30d", "max_primary_shard_size": "50gb"}

SWEDISH_ANALYZER = "vaktpost_swedish"
FOLDED_ANALYZER = "vaktpost_folded"
PREFIX_ANALYZER = "vaktpost_prefix"
PREFIX_SEARCH_ANALYZER = "vaktpost_prefix_search"
PREFIX_MAX_CHARS = 30


@dataclass(frozen=True)
class IndexNames:
    """The aliases, data streams, templates and policy of one index prefix."""

    prefix: str

    @property
    def posts(self) -> str:
        return f"{self.prefix}-posts"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def meta(self) -> str:
        return f"{self.prefix}-meta"

    @property
    def audit(self) -> str:
        return f"{self.prefix}-audit"

    @property
    def runs(self) -> str:
        return f"{self.prefix}-runs"

    @property
    def policy(self) -> str:
        return f"{self.prefix}-retention"

    def posts_index(self, version: int = POSTS_MAPPING_VERSION) -> str:
        return f"{self.posts}-v{version}"

    def aux_index(self, alias: str) -> str:
        return f"{alias}-v{AUX_MAPPING_VERSION}"

    @property
    def aliases(self) -> tuple[str, ...]:
        """The aliased (non data stream) names: posts, alerts, meta."""
        return (self.posts, self.alerts, self.meta)

    @property
    def data_streams(self) -> tuple[str, ...]:
        return (self.audit, self.runs)

    @property
    def templates(self) -> tuple[str, ...]:
        """Template names: one per alias or data stream, named like it."""
        return (*self.aliases, *self.data_streams)


def analysis() -> dict[str, Any]:
    """Analyzers for Swedish text: folded (å/ä/ö also indexed without diacritics) and lightly stemmed.

    ``vaktpost_swedish`` indexes the words; ``vaktpost_prefix`` indexes every word's first 1-30 characters
    (edge n-grams) so that a typed word also finds the longer words it begins, like the SQLite store's
    prefix terms; ``vaktpost_prefix_search`` is its search analyzer (folded, cut at 30 characters, no
    n-grams, no stemming); ``vaktpost_folded`` analyses names and handles.
    """
    return {
        "filter": {
            "vaktpost_swedish_stop": {"type": "stop", "stopwords": "_swedish_"},
            "vaktpost_swedish_stemmer": {"type": "stemmer", "language": "light_swedish"},
            "vaktpost_folding": {"type": "asciifolding", "preserve_original": True},
            "vaktpost_edge": {"type": "edge_ngram", "min_gram": 1, "max_gram": PREFIX_MAX_CHARS},
            "vaktpost_truncate": {"type": "truncate", "length": PREFIX_MAX_CHARS},
        },
        "analyzer": {
            SWEDISH_ANALYZER: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "vaktpost_swedish_stop", "vaktpost_swedish_stemmer", "vaktpost_folding"],
            },
            FOLDED_ANALYZER: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "vaktpost_folding"],
            },
            PREFIX_ANALYZER: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "vaktpost_folding", "vaktpost_edge"],
            },
            PREFIX_SEARCH_ANALYZER: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["lowercase", "vaktpost_folding", "vaktpost_truncate"],
            },
        },
    }


_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_STORED_ONLY = {"type": "object", "enabled": False}
"""Kept in ``_source``, neither indexed nor parsed: the full Post and Verdict, to rebuild them exactly."""


def _searchable_text() -> dict[str, Any]:
    return {
        "type": "text",
        "analyzer": SWEDISH_ANALYZER,
        "fields": {"prefix": {"type": "text", "analyzer": PREFIX_ANALYZER, "search_analyzer": PREFIX_SEARCH_ANALYZER}},
    }


def _name() -> dict[str, Any]:
    """A name or handle: folded text for search, ``.keyword`` for filters, sorting and aggregations."""
    return {
        "type": "text",
        "analyzer": FOLDED_ANALYZER,
        "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
    }


def posts_mappings() -> dict[str, Any]:
    """The posts mapping: explicit and strict (an unknown field is an error, not a new mapping)."""
    return {
        "dynamic": "strict",
        "_meta": {"managed_by": MANAGED_BY, "kind": "posts", "mapping_version": POSTS_MAPPING_VERSION},
        "properties": {
            # the post, as first captured
            "id": _KEYWORD,
            "source": _KEYWORD,
            "url": {"type": "keyword", "ignore_above": 2048},
            "author_id": _KEYWORD,
            "author_name": _name(),  # only kept while the post is flagged
            "forwarded_from": _name(),
            "title": _searchable_text(),
            "text": _searchable_text(),
            "quoted_text": _searchable_text(),
            "lang": _KEYWORD,
            "created_at": _DATE,
            "collected_at": _DATE,
            "thread_id": _KEYWORD,
            "reply_to": _KEYWORD,
            "first_seen_run": _KEYWORD,
            "post_json": _STORED_ONLY,
            # the latest analysis (replaced by a re-analysis)
            "verdict_json": _STORED_ONLY,
            "scores": {"properties": {label: {"type": "float"} for label in LABELS}},
            "flags": _KEYWORD,
            "severity": {"type": "float"},
            "flagged": {"type": "boolean"},
            "analysed_at": _DATE,
            "pii": {
                "type": "nested",
                "properties": {
                    "type": _KEYWORD,
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                    "score": {"type": "float"},
                    "text": {"type": "keyword", "index": False, "doc_values": False},  # stored, never searchable
                },
            },
            "protected_staff": _KEYWORD,
            "exposed": _KEYWORD,
            # the reviewers' fields (never touched by an upsert)
            "review_status": _KEYWORD,
            "assignee": _KEYWORD,
            "corrected_labels": _KEYWORD,
            "reviewed_by": _KEYWORD,
            "reviewed_at": _DATE,
            "notes": {
                "type": "nested",
                "properties": {"at": _DATE, "author": _KEYWORD, "text": {"type": "text", "index": False}},
            },
        },
    }


def alerts_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "_meta": {"managed_by": MANAGED_BY, "kind": "alerts", "mapping_version": AUX_MAPPING_VERSION},
        "properties": {
            "id": _KEYWORD,
            "rule": _KEYWORD,
            "post_id": _KEYWORD,
            "severity": _KEYWORD,
            "labels": _KEYWORD,
            "source": _KEYWORD,
            "created_at": _DATE,
            "status": _KEYWORD,
            "attempts": {"type": "integer"},
            "last_error": {"type": "text", "index": False},
            "updated_at": _DATE,
            "alert_json": _STORED_ONLY,
        },
    }


def meta_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "_meta": {"managed_by": MANAGED_BY, "kind": "meta", "mapping_version": AUX_MAPPING_VERSION},
        "properties": {"key": _KEYWORD, "value": {"type": "keyword", "index": False, "doc_values": False}},
    }


def audit_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "_meta": {"managed_by": MANAGED_BY, "kind": "audit", "mapping_version": AUX_MAPPING_VERSION},
        "properties": {
            "@timestamp": _DATE,
            "at": {"type": "date_nanos"},
            "seq": {"type": "long"},  # orders entries written within the same microsecond
            "actor": _KEYWORD,
            "action": _KEYWORD,
            "post_id": _KEYWORD,
            "detail": {"type": "keyword", "ignore_above": 2048},
        },
    }


def runs_mappings() -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "_meta": {"managed_by": MANAGED_BY, "kind": "runs", "mapping_version": AUX_MAPPING_VERSION},
        "properties": {
            "@timestamp": _DATE,
            "run_id": _KEYWORD,
            "started_at": _DATE,
            "finished_at": _DATE,
            "recorded_at": {"type": "date_nanos"},
            "outcome": _KEYWORD,
            "demo": {"type": "boolean"},
            "report_json": _STORED_ONLY,
        },
    }


def _settings(shards: int, replicas: int, **extra: Any) -> dict[str, Any]:
    return {"index": {"number_of_shards": shards, "number_of_replicas": replicas, **extra}}


def index_templates(names: IndexNames, shards: int = 1, replicas: int = 1) -> dict[str, dict[str, Any]]:
    """Composable index templates (``PUT _index_template/<name>``) by name.

    The posts template matches every versioned posts index (``{prefix}-posts-v*``), so an index created by a
    reindex gets the current mapping. ``shards`` applies to posts only; the other indices are small.
    """
    posts = {
        "index_patterns": [f"{names.posts}-v*"],
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": _settings(shards, replicas, codec="best_compression", analysis=analysis()),
            "mappings": posts_mappings(),
        },
    }
    aux = {
        names.alerts: alerts_mappings(),
        names.meta: meta_mappings(),
    }
    streams = {
        names.audit: audit_mappings(),
        names.runs: runs_mappings(),
    }
    templates: dict[str, dict[str, Any]] = {names.posts: posts}
    for alias, mappings in aux.items():
        templates[alias] = {
            "index_patterns": [f"{alias}-v*"],
            "priority": TEMPLATE_PRIORITY,
            "template": {"settings": _settings(1, replicas), "mappings": mappings},
        }
    for stream, mappings in streams.items():
        templates[stream] = {
            "index_patterns": [stream],
            "data_stream": {},
            "priority": TEMPLATE_PRIORITY,
            "template": {
                "settings": _settings(1, replicas, lifecycle={"name": names.policy}),
                "mappings": mappings,
            },
        }
    for template in templates.values():
        template["_meta"] = {"managed_by": MANAGED_BY, "digest": digest(template)}
    return templates


def retention_policy(audit_days: int) -> dict[str, Any]:
    """The ILM policy of the time-based, append-only data streams (audit log, run reports).

    Roll over monthly (or at 50 GB per primary shard), delete a backing index ``audit_days`` after its
    rollover: an entry is kept at least ``audit_days`` and at most about 30 days longer.
    """
    phases: dict[str, Any] = {
        "hot": {"min_age": "0ms", "actions": {"rollover": dict(ROLLOVER)}},
        "delete": {"min_age": f"{audit_days}d", "actions": {"delete": {}}},
    }
    return {
        "_meta": {"managed_by": MANAGED_BY, "audit_days": audit_days, "digest": digest(phases)},
        "phases": phases,
    }


def digest(body: dict[str, Any]) -> str:
    """A short hash of a template or policy body (without its ``_meta``): changed code means a new digest."""
    content = {key: value for key, value in body.items() if key != "_meta"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def alias_swap(alias: str, old: str, new: str) -> list[dict[str, Any]]:
    """The ``_aliases`` actions moving ``alias`` from ``old`` to ``new`` in one atomic step."""
    return [{"remove": {"index": old, "alias": alias}}, {"add": {"index": new, "alias": alias}}]
