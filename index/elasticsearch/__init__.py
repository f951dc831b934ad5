"""The Elasticsearch backend of the store (ES 8 or 9): ``ElasticsearchStore`` and what it sends.

- ``mappings``: names, index templates with explicit mappings and the Swedish analyzers, the ILM policy;
- ``queries``: search, facet, purge and summary request bodies (pure functions);
- ``documents``: posts, reviews, runs, alerts and audit entries as documents and bulk actions;
- ``store``: the client, setup and migration, and the ``Store`` methods.

See docs/elasticsearch.md for running it against a cluster.
"""

from __future__ import annotations

from index.elasticsearch.mappings import POSTS_MAPPING_VERSION, IndexNames, index_templates, retention_policy
from index.elasticsearch.queries import build_counts, build_search
from index.elasticsearch.store import ElasticsearchStore, connect

__all__ = [
    "POSTS_MAPPING_VERSION",
    "ElasticsearchStore",
    "IndexNames",
    "build_counts",
    "build_search",
    "connect",
    "index_templates",
    "retention_policy",
]
