"""The Elasticsearch store: the ``Store`` contract on a cluster the operator runs (ES 8 or 9).

Behaves like the SQLite store (the reference): a post is stored once under its id with its first captured
content, a re-analysis replaces only the verdict and what derives from it, reviewers' fields change only
through ``review``, which writes the append-only audit log, alerts are claimed once.

Layout, templates and the ILM policy are described in ``index.elasticsearch.mappings``; request bodies are
built in ``index.elasticsearch.queries`` and documents in ``index.elasticsearch.documents``. Every failure
of the cluster or the connection becomes a ``StoreError`` naming the hosts and what failed (never a secret).

Retention: posts are deleted per document by ``purge`` (``_delete_by_query``), because how long a post is
kept depends on whether it was flagged and on its review status, which ILM cannot express; the audit log and
the run reports are data streams that ILM rolls over and deletes by age (``{prefix}-retention``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from elastic_transport import HttpHeaders, TransportError, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import ApiError, ConflictError, Elasticsearch
from elasticsearch import NotFoundError as EsNotFoundError
from elasticsearch.exceptions import GeneralAvailabilityWarning
from elasticsearch.helpers import streaming_bulk
from pydantic import SecretStr

from index.elasticsearch.documents import (
    MARK_ALERT_SCRIPT,
    RETRY_ON_CONFLICT,
    REVIEW_SCRIPT,
    alert_document,
    audit_detail,
    audit_document,
    iso,
    parse_time,
    review_change,
    run_document,
    stored_post,
    upsert_actions,
)
from index.elasticsearch.mappings import (
    AUX_MAPPING_VERSION,
    MANAGED_BY,
    MIGRATION_SCRIPTS,
    POSTS_MAPPING_VERSION,
    IndexNames,
    alias_swap,
    index_templates,
    retention_policy,
)
from index.elasticsearch.queries import (
    audit_query,
    build_counts,
    build_search,
    parse_counts,
    purge_cutoffs,
    purge_queries,
    summary_requests,
)
from index.store import (
    AuditEntry,
    Facet,
    NotFoundError,
    PurgeReport,
    RetentionPolicy,
    ReviewUpdate,
    SearchPage,
    SearchQuery,
    StoredPost,
    StoreError,
    UpsertResult,
    run_brief,
)
from vaktpost.schema import LABELS, Alert, AnalysedPost, DeliveryStatus, RunReport
from vaktpost.settings import ElasticsearchSettings

_log = logging.getLogger(__name__)

RefreshPolicy = Literal[True, False, "wait_for"]
T = TypeVar("T")

RETRY_ON_STATUS = (429, 502, 503, 504)
REST_COMPATIBILITY = 8
"""The REST API version the store asks for: ES 8 serves it natively and ES 9 through REST compatibility,
whereas the 9.x client's default (``compatible-with=9``) is refused by ES 8."""
DEFAULT_AUDIT_DAYS = 730
SYSTEM_ACTOR = "vaktpost"
PAGE_SIZE = 1000
ID_CHUNK = 500

_COMPAT_RE = re.compile(r"compatible-with=\d+")
_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


class CompatibleNode(Urllib3HttpNode):
    """The default HTTP node, sending ``compatible-with=8`` in Accept and Content-Type (see REST_COMPATIBILITY)."""

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value:
                    headers[name] = _COMPAT_RE.sub(f"compatible-with={REST_COMPATIBILITY}", value)
        return super().perform_request(method, target, body=body, headers=headers, request_timeout=request_timeout)


def redact_url(url: str) -> str:
    """A host URL without the user and password it may carry."""
    return _USERINFO_RE.sub(r"\g<scheme>", url)


def connect(settings: ElasticsearchSettings) -> Elasticsearch:
    """A client for the settings' cluster: API key (preferred) or basic auth, TLS options, timeouts, retries."""
    hosts = ", ".join(redact_url(host) for host in settings.hosts)
    options: dict[str, Any] = {
        "hosts": list(settings.hosts),
        "request_timeout": settings.request_timeout_s,
        "max_retries": settings.max_retries,
        "retry_on_status": RETRY_ON_STATUS,
        "retry_on_timeout": True,
        "retry_backoff_base": 0.5,
        "retry_backoff_cap": 10.0,
        "node_class": CompatibleNode,
    }
    if settings.api_key is not None:
        options["api_key"] = settings.api_key.get_secret_value()
    elif settings.username or settings.password:
        if not (settings.username and settings.password):
            raise StoreError(
                f"Elasticsearch at {hosts}: set both store.elasticsearch.username and the password "
                "(VAKTPOST_STORE__ELASTICSEARCH__PASSWORD), or an API key instead"
            )
        options["basic_auth"] = (settings.username, settings.password.get_secret_value())
    if any(host.lower().startswith("https:") for host in settings.hosts):
        options["verify_certs"] = settings.verify_certs
        if settings.ca_certs is not None:
            options["ca_certs"] = str(settings.ca_certs)
    try:
        return Elasticsearch(**options)
    except (ValueError, TypeError) as err:
        raise StoreError(f"cannot configure the Elasticsearch client for {hosts}: {err}") from err


def describe(err: BaseException) -> str:
    """What went wrong, in one line: the HTTP status and Elasticsearch's reason, or the connection failure."""
    if isinstance(err, ApiError):
        reason = ""
        error = err.body.get("error") if isinstance(err.body, Mapping) else None
        if isinstance(error, Mapping):
            reason = f"{error.get('type', 'error')}: {error.get('reason', '')}".rstrip(": ")
        elif error:
            reason = str(error)
        hint = {
            401: " (authentication failed: check the API key or the username and password)",
            403: " (the credentials lack a privilege for this; see docs/elasticsearch.md)",
        }.get(err.status_code, "")
        return f"HTTP {err.status_code} {reason or err.message}{hint}"
    if isinstance(err, TransportError):
        return f"{type(err).__name__}: {err.message}"
    return f"{type(err).__name__}: {err}"


def _forbidden(err: StoreError) -> bool:
    cause = err.__cause__
    return isinstance(cause, ApiError) and cause.status_code == 403


def _already_exists(err: StoreError) -> bool:
    cause = err.__cause__
    return isinstance(cause, ApiError) and cause.error == "resource_already_exists_exception"


class ElasticsearchStore:
    """The ``Store`` on Elasticsearch; see the module docstring and docs/elasticsearch.md.

    ``refresh`` is how writes become visible to searches: ``"wait_for"`` (default: a write returns once a
    search sees it) or ``True`` (refresh at once: tests). ``setup=False`` skips creating and checking the
    templates, policy, indices and aliases (they must exist).
    """

    backend = "elasticsearch"
    bulk_chunk_size = 500
    bulk_initial_backoff_s = 2.0
    bulk_max_backoff_s = 60.0
    maintenance_timeout_s = 3600.0
    """Request timeout of purges (``_delete_by_query`` waits for its end) and of reindex task polls."""

    def __init__(
        self,
        settings: ElasticsearchSettings,
        *,
        client: Elasticsearch | None = None,
        refresh: RefreshPolicy = "wait_for",
        setup: bool = True,
    ) -> None:
        self.settings = settings
        self.names = IndexNames(settings.index_prefix)
        self.hosts = ", ".join(redact_url(host) for host in settings.hosts)
        self._secrets = [
            secret.get_secret_value() for secret in (settings.api_key, settings.password) if secret is not None
        ]
        self._refresh: RefreshPolicy = refresh
        self._owns_client = client is None
        self._client = client if client is not None else connect(settings)
        self._seq_lock = threading.Lock()
        self._last_seq = 0
        if setup:
            try:
                self.setup()
            except BaseException:
                self.close()
                raise

    @classmethod
    def from_url(
        cls,
        url: str,
        index_prefix: str = "vaktpost",
        *,
        api_key: str | None = None,
        verify_certs: bool = True,
        ca_certs: Path | None = None,
        refresh: RefreshPolicy = True,
        max_retries: int = 2,
    ) -> ElasticsearchStore:
        """A store on the cluster at ``url`` (``http(s)://[user:password@]host:port``), for tests and scripts.

        Refreshes at once after each write by default, so a test reads what it just wrote without waiting.
        """
        parts = urlsplit(url)
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        host = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        settings = ElasticsearchSettings(
            hosts=[host],
            index_prefix=index_prefix,
            api_key=SecretStr(api_key) if api_key else None,
            username=username,
            password=SecretStr(password) if password else None,
            verify_certs=verify_certs,
            ca_certs=ca_certs,
            max_retries=max_retries,
        )
        return cls(settings, refresh=refresh)

    # -- plumbing ----------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        text = redact_url(text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        """Turn the client's errors into StoreError naming the hosts and what failed."""
        try:
            yield
        except (ApiError, TransportError) as err:
            if isinstance(err, ApiError):
                message = f"Elasticsearch at {self.hosts}: {what} failed: {describe(err)}"
            else:
                message = f"cannot reach Elasticsearch at {self.hosts}: {what} failed: {describe(err)}"
            raise StoreError(self._scrub(message)) from err

    def _optional(self, what: str, call: Callable[[], T]) -> T | None:
        """The call's result, or None when Elasticsearch answers 404."""
        with self._calling(what):
            try:
                return call()
            except EsNotFoundError:
                return None

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _next_seq(self) -> int:
        """Increasing within this process, and across processes as far as their clocks agree."""
        with self._seq_lock:
            self._last_seq = max(time.time_ns(), self._last_seq + 1)
            return self._last_seq

    def _maintenance(self) -> Elasticsearch:
        return self._client.options(request_timeout=self.maintenance_timeout_s)

    # -- setup and migration -----------------------------------------------------------------------

    def setup(self) -> None:
        """Create what is missing (policy, templates, indices, aliases, data streams); bring templates up to
        date; migrate the posts index if its mapping is older than this Vaktpost's. Idempotent.

        Without the cluster privileges ``manage_ilm`` and ``manage_index_templates`` (a runtime key limited
        to the prefix's indices), policy and templates are assumed to be installed by an administrator.
        """
        self._ensure_policy(None)
        self._ensure_templates()
        self._ensure_posts()
        for alias, kind in ((self.names.alerts, "alerts"), (self.names.meta, "meta")):
            self._ensure_aliased_index(alias, self.names.aux_index(alias), AUX_MAPPING_VERSION, kind)
        for stream in self.names.data_streams:
            self._ensure_data_stream(stream)

    def _ensure_policy(self, audit_days: int | None) -> None:
        """Install the ILM policy; ``audit_days`` None keeps the retention of an installed one."""
        name = self.names.policy
        try:
            existing = self._optional(
                f"reading the ILM policy {name}", lambda: self._client.ilm.get_lifecycle(name=name)
            )
            installed: dict[str, Any] = {}
            if existing is not None:
                policies: dict[str, Any] = existing.body
                installed = policies.get(name, {}).get("policy", {}).get("_meta") or {}
            days = audit_days or int(installed.get("audit_days") or DEFAULT_AUDIT_DAYS)
            wanted = retention_policy(days)
            if existing is not None and installed.get("digest") == wanted["_meta"]["digest"]:
                return
            with self._calling(f"installing the ILM policy {name}"):
                self._client.ilm.put_lifecycle(name=name, policy=wanted)
        except StoreError as err:
            if not _forbidden(err):
                raise
            _log.warning("%s; assuming the ILM policy %s is installed by an administrator", err, name)

    def _ensure_templates(self) -> None:
        templates = index_templates(self.names, shards=self.settings.shards, replicas=self.settings.replicas)
        for name, body in templates.items():
            try:
                if self._template_digest(name) == body["_meta"]["digest"]:
                    continue
                with self._calling(f"installing the index template {name}"):
                    self._client.indices.put_index_template(name=name, body=body)
            except StoreError as err:
                if not _forbidden(err):
                    raise
                _log.warning("%s; assuming the index template %s is installed by an administrator", err, name)

    def _template_digest(self, name: str) -> str | None:
        existing = self._optional(
            f"reading the index template {name}", lambda: self._client.indices.get_index_template(name=name)
        )
        found = existing.body.get("index_templates", []) if existing is not None else []
        return found[0].get("index_template", {}).get("_meta", {}).get("digest") if found else None

    def _alias_targets(self, alias: str) -> list[str]:
        found = self._optional(f"reading the alias {alias}", lambda: self._client.indices.get_alias(name=alias))
        return sorted(found.body) if found is not None else []

    def _mapping_version(self, index: str, kind: str = "posts") -> int:
        with self._calling(f"reading the mapping of {index}"):
            response = self._client.indices.get_mapping(index=index)
        indices: dict[str, Any] = response.body
        first: dict[str, Any] = next(iter(indices.values())) if indices else {}
        mappings: dict[str, Any] = first.get("mappings") or {}
        meta: dict[str, Any] = mappings.get("_meta") or {}
        if meta.get("managed_by") != MANAGED_BY or meta.get("kind") != kind:
            raise StoreError(
                f"Elasticsearch at {self.hosts}: {index} is not a Vaktpost {kind} index (no Vaktpost _meta in its "
                "mapping); choose another index_prefix or remove it"
            )
        return int(meta.get("mapping_version", 0))

    def _create_index(self, index: str, alias: str) -> None:
        try:
            with self._calling(f"creating the index {index}"):
                self._client.indices.create(index=index, aliases={alias: {}})
        except StoreError as err:
            if not (_already_exists(err) and index in self._alias_targets(alias)):
                raise

    def _ensure_aliased_index(self, alias: str, index: str, version: int, kind: str) -> tuple[str, int]:
        """The index behind ``alias`` and its mapping version, creating both if missing."""
        targets = self._alias_targets(alias)
        if not targets:
            self._create_index(index, alias)
            return index, version
        if len(targets) > 1:
            raise StoreError(
                f"Elasticsearch at {self.hosts}: the alias {alias} points at {len(targets)} indices "
                f"({', '.join(targets)}); it must point at one"
            )
        found = self._mapping_version(targets[0], kind)
        if found > version:
            raise StoreError(
                f"Elasticsearch at {self.hosts}: {targets[0]} has mapping version {found}, newer than this "
                f"Vaktpost ({version}); upgrade Vaktpost"
            )
        return targets[0], found

    def _ensure_posts(self) -> None:
        index, found = self._ensure_aliased_index(
            self.names.posts, self.names.posts_index(), POSTS_MAPPING_VERSION, "posts"
        )
        if found < POSTS_MAPPING_VERSION:
            _log.warning("migrating %s from mapping version %d to %d", index, found, POSTS_MAPPING_VERSION)
            _log.warning("%s", self._rebuild(index, found, self._new_posts_index(timestamped=False)))

    def _ensure_data_stream(self, stream: str) -> None:
        found = self._optional(
            f"reading the data stream {stream}", lambda: self._client.indices.get_data_stream(name=stream)
        )
        if found is not None and found.body.get("data_streams"):
            return
        try:
            with self._calling(f"creating the data stream {stream}"):
                self._client.indices.create_data_stream(name=stream)
        except StoreError as err:
            if not _already_exists(err):
                raise

    def _new_posts_index(self, timestamped: bool = True) -> str:
        plain = self.names.posts_index()
        if not timestamped:
            with self._calling(f"checking whether {plain} exists"):
                if not self._client.indices.exists(index=plain):
                    return plain
        return f"{plain}-{self._now():%Y%m%d-%H%M%S-%f}"

    def _posts_target(self) -> str:
        targets = self._alias_targets(self.names.posts)
        if len(targets) != 1:
            raise StoreError(
                f"Elasticsearch at {self.hosts}: the alias {self.names.posts} points at {len(targets)} indices, "
                "expected one (is the store set up?)"
            )
        return targets[0]

    def reindex(self) -> str:
        """Rebuild the posts index with the current mapping and analyzers, then swap the alias atomically.

        The old index is write-blocked while it is copied (searches go on; writes fail with StoreError and a
        nightly run spools them), so no write is lost; it is deleted only after the swap.
        """
        old = self._posts_target()
        return self._rebuild(old, self._mapping_version(old), self._new_posts_index())

    def _rebuild(self, old: str, from_version: int, new: str) -> str:
        alias = self.names.posts
        scripts = [MIGRATION_SCRIPTS[v] for v in range(from_version, POSTS_MAPPING_VERSION) if v in MIGRATION_SCRIPTS]
        with self._calling(f"creating the index {new}"):
            self._client.indices.create(
                index=new, settings={"index": {"refresh_interval": "-1", "number_of_replicas": 0}}
            )
        blocked = False
        try:
            with self._calling(f"blocking writes to {old} for the reindex"):
                self._client.indices.add_block(index=old, block="write")
                blocked = True
                self._client.indices.refresh(index=old)  # the copy reads what a search sees: everything
            request: dict[str, Any] = {"source": {"index": old}, "dest": {"index": new, "op_type": "create"}}
            if scripts:
                request["script"] = {"lang": "painless", "source": "\n".join(scripts)}
            with self._calling(f"reindexing {old} into {new}"):
                task = self._client.reindex(**request, slices="auto", wait_for_completion=False)
            result = self._wait_for_task(str(task["task"]), f"reindexing {old} into {new}")
            if result.get("failures"):
                raise StoreError(
                    f"Elasticsearch at {self.hosts}: reindexing {old} into {new} failed for "
                    f"{len(result['failures'])} posts, e.g. {self._scrub(str(result['failures'][0]))[:300]}"
                )
            with self._calling(f"restoring the settings of {new}"):
                self._client.indices.put_settings(
                    index=new,
                    settings={"index": {"refresh_interval": None, "number_of_replicas": self.settings.replicas}},
                )
                self._client.indices.refresh(index=new)
                copied = int(self._client.count(index=new)["count"])
                expected = int(self._client.count(index=old)["count"])
            if copied != expected:
                raise StoreError(
                    f"Elasticsearch at {self.hosts}: {new} holds {copied} posts after the reindex, {old} holds "
                    f"{expected}; the alias was not switched"
                )
            with self._calling(f"switching the alias {alias} from {old} to {new}"):
                self._client.indices.update_aliases(actions=alias_swap(alias, old, new))
        except BaseException:
            self._undo_rebuild(old, new, blocked)
            raise
        try:
            with self._calling(f"deleting the old index {old}"):
                self._client.indices.delete(index=old)
            deleted = f"{old} deleted"
        except StoreError as err:
            _log.warning("%s", err)
            deleted = f"{old} could not be deleted ({err}); delete it by hand"
        return (
            f"reindexed {copied} posts from {old} (mapping version {from_version}) into {new} (mapping version "
            f"{POSTS_MAPPING_VERSION}); {alias} now points at {new}; {deleted}"
        )

    def _undo_rebuild(self, old: str, new: str, blocked: bool) -> None:
        """After a failed reindex: writes to the old index again, the half-built one removed (best effort)."""
        try:
            if blocked:
                with self._calling(f"unblocking writes to {old}"):
                    self._client.indices.put_settings(index=old, settings={"index": {"blocks": {"write": False}}})
            with self._calling(f"removing the unfinished index {new}"):
                self._client.options(ignore_status=404).indices.delete(index=new)
        except StoreError as err:
            _log.error("after a failed reindex: %s", err)

    def _wait_for_task(self, task_id: str, what: str) -> Mapping[str, Any]:
        """Poll a background task (reindex) until it ends; its response, or StoreError with its error."""
        pause = 0.1
        while True:
            with self._calling(what), warnings.catch_warnings():
                warnings.simplefilter("ignore", GeneralAvailabilityWarning)  # the client calls it a preview
                status = self._maintenance().tasks.get(task_id=task_id)
            if status.get("completed"):
                if status.get("error"):
                    error = status["error"]
                    raise StoreError(
                        self._scrub(
                            f"Elasticsearch at {self.hosts}: {what} failed: {error.get('type')}: {error.get('reason')}"
                        )
                    )
                response: Mapping[str, Any] = status.get("response") or {}
                return response
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    def schema_version(self) -> int:
        """The mapping version of the posts index behind the alias (its mapping's ``_meta``)."""
        return self._mapping_version(self._posts_target())

    def drop_all(self) -> None:
        """Delete everything of this prefix: indices, data streams, templates, policy (tests, decommissioning)."""
        client = self._client.options(ignore_status=404)
        with self._calling(f"deleting the indices, templates and policy of {self.names.prefix}"):
            patterns = ",".join(f"{alias}-v*" for alias in self.names.aliases)
            found = client.indices.get(index=patterns, expand_wildcards="open,closed", allow_no_indices=True)
            indices = sorted(found.body) if found.meta.status == 200 else []
            for start in range(0, len(indices), 50):
                client.indices.delete(index=indices[start : start + 50])
            for stream in self.names.data_streams:
                client.indices.delete_data_stream(name=stream)
            for name in self.names.templates:
                client.indices.delete_index_template(name=name)
            client.ilm.delete_lifecycle(name=self.names.policy)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- posts -------------------------------------------------------------------------------------

    def upsert(self, items: Sequence[AnalysedPost], run_id: str | None = None) -> UpsertResult:
        """Store new posts whole and re-analysed ones' verdicts (one bulk ``update`` with ``upsert`` per post)."""
        if not items:
            return UpsertResult()
        created: Counter[str] = Counter()
        failed: dict[str, str] = {}
        with self._calling(f"storing {len(items)} posts in {self.names.posts}"):
            for ok, result in streaming_bulk(
                self._client,
                upsert_actions(items, self.names.posts, run_id),
                chunk_size=self.bulk_chunk_size,
                raise_on_error=False,
                max_retries=self.settings.max_retries,
                initial_backoff=self.bulk_initial_backoff_s,
                max_backoff=self.bulk_max_backoff_s,
                refresh=self._refresh,
                require_alias=True,  # never auto-create a concrete index named like the alias
            ):
                item = next(iter(result.values()))
                post_id = str(item.get("_id"))
                if not ok:
                    error = item.get("error")
                    failed[post_id] = (
                        f"{error.get('type')}: {error.get('reason')}" if isinstance(error, Mapping) else str(error)
                    )
                elif item.get("result") == "created":
                    created[post_id] += 1
        if failed:
            ids = sorted(failed)
            reason = self._scrub(failed[ids[0]])[:300]
            raise StoreError(
                f"Elasticsearch at {self.hosts}: {len(ids)} of {len(items)} posts were not stored in "
                f"{self.names.posts}: {', '.join(ids[:20])}{' ...' if len(ids) > 20 else ''} (first reason: {reason})"
            )
        new: list[str] = []
        updated: list[str] = []
        for item in items:
            post_id = item.post.id
            if created[post_id] > 0:
                created[post_id] -= 1
                new.append(post_id)
            else:
                updated.append(post_id)
        return UpsertResult(new=new, updated=updated)

    def get(self, post_id: str) -> StoredPost | None:
        with self._calling(f"reading the post {post_id!r}"):
            try:
                response = self._client.get(index=self.names.posts, id=post_id)
            except EsNotFoundError as err:
                if isinstance(err.body, Mapping) and err.body.get("found") is False:
                    return None
                raise
        return stored_post(response["_source"])

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        with self._calling(f"looking up {len(unique)} post ids"):
            for start in range(0, len(unique), ID_CHUNK):
                response = self._client.mget(index=self.names.posts, ids=unique[start : start + ID_CHUNK], source=False)
                found.update(doc["_id"] for doc in response["docs"] if doc.get("found"))
        return found

    def search(self, query: SearchQuery) -> SearchPage:
        with self._calling(f"searching {self.names.posts}"):
            response = self._client.search(index=self.names.posts, body=build_search(query))
        hits = response["hits"]
        items = [stored_post(hit["_source"]) for hit in hits["hits"]]
        return SearchPage(total=int(hits["total"]["value"]), items=items)

    def counts(self, query: SearchQuery, by: Facet) -> dict[str, int]:
        with self._calling(f"counting posts in {self.names.posts} by {by}"):
            response = self._client.search(index=self.names.posts, body=build_counts(query, by))
        return parse_counts(response.body, by)

    # -- review and audit --------------------------------------------------------------------------

    def review(self, post_id: str, actor: str, update: ReviewUpdate) -> StoredPost:
        """Apply a reviewer's change and audit it (the entry is written first: no change goes unlogged)."""
        at = self._now()
        params, changes = review_change(update, actor, at)
        missing = f"no post {post_id!r} in the store (it may have been purged)"
        if params is None:
            stored = self.get(post_id)
            if stored is None:
                raise NotFoundError(missing)
            return stored
        with self._calling(f"reading the post {post_id!r}"):
            exists = bool(self._client.exists(index=self.names.posts, id=post_id))
        if not exists:
            raise NotFoundError(missing)
        self._audit(actor, "review", post_id, audit_detail(changes), at)
        with self._calling(f"saving the review of {post_id!r}"):
            try:
                response = self._client.update(
                    index=self.names.posts,
                    id=post_id,
                    script={"lang": "painless", "source": REVIEW_SCRIPT, "params": params},
                    retry_on_conflict=RETRY_ON_CONFLICT,
                    refresh=self._refresh,
                    require_alias=True,
                    source=True,
                )
            except EsNotFoundError as err:
                raise NotFoundError(missing) from err
        return stored_post(response["get"]["_source"])

    def audit(self, actor: str, action: str, post_id: str | None = None, detail: str = "") -> None:
        self._audit(actor, action, post_id, detail, self._now())

    def _audit(self, actor: str, action: str, post_id: str | None, detail: str, at: datetime) -> None:
        document = audit_document(actor, action, post_id, detail, at, self._next_seq())
        with self._calling(f"writing to the audit log {self.names.audit}"):
            self._client.index(index=self.names.audit, document=document, op_type="create", refresh=self._refresh)

    def audit_log(
        self, post_id: str | None = None, actor: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[AuditEntry]:
        body = {
            "query": audit_query(post_id, actor),
            "sort": [{"at": "desc"}, {"seq": "desc"}],
            "from": offset,
            "size": limit,
        }
        with self._calling(f"reading the audit log {self.names.audit}"):
            response = self._client.search(index=self.names.audit, body=body)
        return [
            AuditEntry(
                at=parse_time(source["at"]),
                actor=source["actor"],
                action=source["action"],
                post_id=source.get("post_id"),
                detail=source.get("detail") or "",
            )
            for source in (hit["_source"] for hit in response["hits"]["hits"])
        ]

    # -- retention ---------------------------------------------------------------------------------

    def purge(self, policy: RetentionPolicy, now: datetime | None = None) -> PurgeReport:
        """Delete posts past their retention with ``_delete_by_query`` (rules as in the SQLite store).

        Audit entries are not deleted here: ILM deletes the audit data stream's backing indices
        ``audit_days`` after their rollover. The policy is brought in line with ``policy.audit_days``.
        """
        now = (now or self._now()).astimezone(UTC)
        self._ensure_policy(policy.audit_days)
        cutoffs = purge_cutoffs(policy, now)
        removed: dict[str, int] = {}
        for kind, query in purge_queries(cutoffs).items():
            with self._calling(f"purging {kind} posts from {self.names.posts}"):
                response = self._maintenance().delete_by_query(
                    index=self.names.posts,
                    query=query,
                    conflicts="proceed",
                    refresh=True,
                    slices="auto",
                    wait_for_completion=True,
                )
            if response.get("failures"):
                raise StoreError(
                    f"Elasticsearch at {self.hosts}: purging {kind} posts failed for {len(response['failures'])} "
                    f"posts, e.g. {self._scrub(str(response['failures'][0]))[:300]}"
                )
            removed[kind] = int(response.get("deleted", 0))
        self._audit(SYSTEM_ACTOR, "purge", None, json.dumps(removed | {"audit_entries": 0}), self._now())
        return PurgeReport(**removed, audit_entries=0, cutoffs=cutoffs)

    # -- summary -----------------------------------------------------------------------------------

    def summary(self, recent: int = 10) -> dict[str, Any]:
        """What the store holds, for ``vaktpost status`` and health checks (the SQLite store's keys)."""
        requests = summary_requests(recent)
        with self._calling("summarising the store"):
            posts = self._client.search(index=self.names.posts, body=requests["posts"]).body
            recent_hits = self._client.search(index=self.names.posts, body=requests["recent"]).body
            alerts = self._client.search(index=self.names.alerts, body=requests["alerts"]).body
            runs = self._client.search(index=self.names.runs, body=requests["runs"]).body
        aggs = posts["aggregations"]
        total = int(posts["hits"]["total"]["value"])
        flags = dict.fromkeys(LABELS, 0)
        flags.update({b["key"]: int(b["doc_count"]) for b in aggs["flags"]["buckets"]})
        by_alert_status = {b["key"]: int(b["doc_count"]) for b in alerts["aggregations"]["status"]["buckets"]}
        run_hits = runs["hits"]["hits"]
        last_run = RunReport.model_validate(run_hits[0]["_source"]["report_json"]) if run_hits else None
        return {
            "store": f"elasticsearch:{self.hosts} {self.names.posts}",
            "schema_version": self.schema_version(),
            "posts": total,
            # posts sharing a source and URL (ids are unique by construction); the count of distinct URLs
            # is exact below 40 000 posts and an estimate above
            "duplicates": max(0, total - int(aggs["urls"]["value"])),
            "by_source": dict(sorted((b["key"], int(b["doc_count"])) for b in aggs["by_source"]["buckets"])),
            "flagged_posts": int(aggs["flagged"]["doc_count"]),
            "flags": flags,
            "alerts": {"total": sum(by_alert_status.values()), **by_alert_status},
            "runs": int(runs["aggregations"]["runs"]["value"]),
            "last_run": None if last_run is None else run_brief(last_run),
            "recent_flagged": [hit["_id"] for hit in recent_hits["hits"]["hits"]],
        }

    # -- runs --------------------------------------------------------------------------------------

    def record_run(self, report: RunReport) -> None:
        """Append the report to the runs data stream; a run recorded again is read back in its latest form."""
        with self._calling(f"recording the run {report.run_id}"):
            self._client.index(
                index=self.names.runs,
                document=run_document(report, self._now()),
                op_type="create",
                refresh=self._refresh,
            )

    def last_runs(self, limit: int = 10) -> list[RunReport]:
        body = {
            "size": limit,
            "sort": [{"finished_at": "desc"}, {"recorded_at": "desc"}],
            "collapse": {"field": "run_id"},
        }
        with self._calling(f"reading the runs in {self.names.runs}"):
            response = self._client.search(index=self.names.runs, body=body)
        return [RunReport.model_validate(hit["_source"]["report_json"]) for hit in response["hits"]["hits"]]

    # -- alerts ------------------------------------------------------------------------------------

    def claim_alert(self, alert: Alert) -> bool:
        """Record an alert as pending (``op_type=create``); False when this rule already alerted on this post."""
        document = alert_document(alert, DeliveryStatus.pending.value, self._now())
        with self._calling(f"claiming the alert {alert.id!r}"):
            try:
                self._client.create(
                    index=self.names.alerts, id=alert.id, document=document, refresh=self._refresh, require_alias=True
                )
            except ConflictError:
                return False
        return True

    def mark_alert(self, alert_id: str, status: DeliveryStatus, error: str | None = None) -> None:
        params = {"status": DeliveryStatus(status).value, "error": error, "at": iso(self._now())}
        with self._calling(f"marking the alert {alert_id!r} {status}"):
            try:
                self._client.update(
                    index=self.names.alerts,
                    id=alert_id,
                    script={"lang": "painless", "source": MARK_ALERT_SCRIPT, "params": params},
                    retry_on_conflict=RETRY_ON_CONFLICT,
                    refresh=self._refresh,
                    require_alias=True,
                )
            except EsNotFoundError:
                return  # like an UPDATE that matches no row

    def pending_alerts(self) -> list[Alert]:
        """Alerts claimed but not delivered (a crash, a receiver that was down): retried next run."""
        query = {"terms": {"status": [DeliveryStatus.pending.value, DeliveryStatus.failed.value]}}
        sort = [{"created_at": "asc"}, {"id": "asc"}]
        return [Alert.model_validate(source["alert_json"]) for source in self._every(self.names.alerts, query, sort)]

    def _every(self, index: str, query: Mapping[str, Any], sort: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
        """Every matching document's source, in order, a page at a time (``search_after``)."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": query, "sort": sort, "size": PAGE_SIZE}
            if after is not None:
                body["search_after"] = after
            with self._calling(f"reading {index}"):
                hits = self._client.search(index=index, body=body)["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            if len(hits) < PAGE_SIZE:
                return
            after = hits[-1]["sort"]

    # -- meta --------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        found = self._optional(
            f"reading {key!r} from {self.names.meta}", lambda: self._client.get(index=self.names.meta, id=key)
        )
        return None if found is None else str(found["_source"]["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self._calling(f"writing {key!r} to {self.names.meta}"):
            self._client.index(index=self.names.meta, id=key, document={"key": key, "value": value}, require_alias=True)
