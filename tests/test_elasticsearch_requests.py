"""What the Elasticsearch backend sends, checked without a cluster: the templates and mappings, the ILM
policy, search/count/purge bodies, bulk actions, and the store's requests against a small local HTTP server
that answers like Elasticsearch. The behaviour against a real cluster is in test_store_contract.py."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from elastic_transport import SecurityWarning
from pydantic import SecretStr

from index.elasticsearch import (
    POSTS_MAPPING_VERSION,
    ElasticsearchStore,
    IndexNames,
    build_counts,
    build_search,
    connect,
)
from index.elasticsearch.documents import (
    REVIEW_FIELDS,
    alert_document,
    audit_document,
    post_document,
    review_change,
    run_document,
    stored_post,
    upsert_action,
)
from index.elasticsearch.mappings import alias_swap, index_templates, retention_policy
from index.elasticsearch.queries import parse_counts, purge_cutoffs, purge_queries
from index.store import NotFoundError, RetentionPolicy, ReviewUpdate, SearchQuery, Store, StoreError
from tests.factories import BASE, analysed
from vaktpost.schema import LABELS, Alert, Exposure, PiiSpan, RunReport, Severity, Verdict
from vaktpost.settings import ElasticsearchSettings

NAMES = IndexNames("test")


def posts_template() -> dict[str, Any]:
    return index_templates(NAMES, shards=3, replicas=2)["test-posts"]


# -- templates, mappings, policy -------------------------------------------------------------------


def test_posts_template_is_strict_with_explicit_mappings() -> None:
    template = posts_template()
    assert template["index_patterns"] == ["test-posts-v*"]
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    assert mappings["_meta"]["mapping_version"] == POSTS_MAPPING_VERSION
    settings = template["template"]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (3, 2)
    props = mappings["properties"]
    for date in ("created_at", "collected_at", "analysed_at", "reviewed_at"):
        assert props[date] == {"type": "date"}
    for keyword in ("id", "source", "flags", "review_status", "assignee", "corrected_labels", "protected_staff"):
        assert props[keyword]["type"] == "keyword"
    assert props["scores"]["properties"] == {label: {"type": "float"} for label in LABELS}
    assert props["severity"] == {"type": "float"}
    assert props["flagged"] == {"type": "boolean"}
    for name in ("author_name", "forwarded_from"):
        assert props[name]["fields"]["keyword"]["type"] == "keyword"
    for stored in ("post_json", "verdict_json"):
        assert props[stored] == {"type": "object", "enabled": False}
    assert props["notes"]["type"] == "nested"
    assert props["notes"]["properties"]["text"]["index"] is False


def test_personal_data_spans_are_nested_and_their_text_is_not_searchable() -> None:
    pii = posts_template()["template"]["mappings"]["properties"]["pii"]
    assert pii["type"] == "nested"
    assert pii["properties"]["type"] == {"type": "keyword"}
    assert pii["properties"]["start"] == pii["properties"]["end"] == {"type": "integer"}
    assert pii["properties"]["text"]["index"] is False


def test_swedish_analyzer_folds_stems_and_drops_stop_words() -> None:
    template = posts_template()
    analysis = template["template"]["settings"]["index"]["analysis"]
    analyzer = analysis["analyzer"]["vaktpost_swedish"]
    assert analyzer["tokenizer"] == "standard"
    filters = {name: analysis["filter"].get(name, {"type": name}) for name in analyzer["filter"]}
    types = [f["type"] for f in filters.values()]
    assert types[0] == "lowercase"
    assert {"type": "asciifolding", "preserve_original": True} in filters.values()
    assert {"type": "stemmer", "language": "light_swedish"} in filters.values()
    assert {"type": "stop", "stopwords": "_swedish_"} in filters.values()
    props = template["template"]["mappings"]["properties"]
    for text in ("title", "text", "quoted_text"):
        assert props[text]["analyzer"] == "vaktpost_swedish"
        prefix = props[text]["fields"]["prefix"]
        assert analysis["analyzer"][prefix["analyzer"]]["filter"][-1] == "vaktpost_edge"
        assert "vaktpost_edge" not in analysis["analyzer"][prefix["search_analyzer"]]["filter"]


def test_data_streams_use_the_retention_policy_and_posts_do_not() -> None:
    templates = index_templates(NAMES)
    assert set(templates) == {"test-posts", "test-alerts", "test-meta", "test-audit", "test-runs"}
    for stream in ("test-audit", "test-runs"):
        template = templates[stream]
        assert template["data_stream"] == {}
        assert template["index_patterns"] == [stream]
        assert template["template"]["settings"]["index"]["lifecycle"] == {"name": "test-retention"}
        assert template["template"]["mappings"]["properties"]["@timestamp"]["type"] == "date"
        assert template["template"]["mappings"]["dynamic"] == "strict"
    for name in ("test-posts", "test-alerts", "test-meta"):
        assert "data_stream" not in templates[name]
        assert "lifecycle" not in templates[name]["template"]["settings"]["index"]
    for template in templates.values():
        assert template["priority"] > 100  # above the built-in templates


def test_template_digest_follows_the_settings() -> None:
    one = index_templates(NAMES, shards=1)["test-posts"]["_meta"]["digest"]
    assert one == index_templates(NAMES, shards=1)["test-posts"]["_meta"]["digest"]
    assert one != index_templates(NAMES, shards=2)["test-posts"]["_meta"]["digest"]


def test_retention_policy_rolls_over_and_deletes_after_the_audit_days() -> None:
    policy = retention_policy(400)
    hot = policy["phases"]["hot"]["actions"]["rollover"]
    assert hot == {"max_age": "30d", "max_primary_shard_size": "50gb"}
    assert policy["phases"]["delete"] == {"min_age": "400d", "actions": {"delete": {}}}
    assert policy["_meta"]["audit_days"] == 400
    assert policy["_meta"]["digest"] != retention_policy(730)["_meta"]["digest"]


def test_every_document_field_is_mapped() -> None:
    """The mappings are strict: a field a document has and the mapping lacks would fail every write."""
    templates = index_templates(NAMES)

    def mapped(name: str) -> dict[str, Any]:
        properties: dict[str, Any] = templates[name]["template"]["mappings"]["properties"]
        return properties

    span = PiiSpan(type="phone", text="070-123 45 67", start=0, end=13)
    document = post_document(analysed(1, flags=("threat",), pii=(span,)), "run-1")
    posts = mapped("test-posts")
    assert set(document) == set(posts)
    assert set(document["pii"][0]) == set(posts["pii"]["properties"])
    assert set(document["scores"]) == set(posts["scores"]["properties"])
    params, _ = review_change(ReviewUpdate(status="confirmed", assignee="a", note="n"), "r", BASE)
    assert params is not None
    assert set(params["set"]) <= set(posts)
    assert set(params["note"]) == set(posts["notes"]["properties"])
    alert = Alert(
        id="r:flashback:1",
        rule="r",
        post_id="flashback:1",
        severity=Severity.high,
        labels=["threat"],
        source="flashback",
        post_created_at=BASE,
        link="l",
    )
    assert set(alert_document(alert, "pending", BASE)) == set(mapped("test-alerts"))
    assert set(audit_document("a", "review", None, "", BASE, 1)) == set(mapped("test-audit"))
    report = RunReport(run_id="r", started_at=BASE, finished_at=BASE, outcome="completed", sources=[])
    assert set(run_document(report, BASE)) == set(mapped("test-runs"))


def test_alias_swap_is_one_remove_and_one_add() -> None:
    assert alias_swap("test-posts", "test-posts-v1", "test-posts-v2") == [
        {"remove": {"index": "test-posts-v1", "alias": "test-posts"}},
        {"add": {"index": "test-posts-v2", "alias": "test-posts"}},
    ]


# -- search and counts -----------------------------------------------------------------------------


def test_default_search_is_flagged_posts_by_severity() -> None:
    body = build_search(SearchQuery())
    assert body["query"] == {"bool": {"filter": [{"term": {"flagged": True}}]}}
    assert body["sort"] == [{"severity": "desc"}, {"created_at": "desc"}, {"id": "asc"}]
    assert (body["from"], body["size"], body["track_total_hits"]) == (0, 50, True)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("severity", [{"severity": "desc"}, {"created_at": "desc"}, {"id": "asc"}]),
        ("newest", [{"created_at": "desc"}, {"id": "asc"}]),
        ("oldest", [{"created_at": "asc"}, {"id": "asc"}]),
    ],
)
def test_sort_orders(sort: Any, expected: list[dict[str, str]]) -> None:
    body = build_search(SearchQuery(sort=sort, limit=10, offset=30, flagged_only=False))
    assert body["sort"] == expected
    assert (body["from"], body["size"]) == (30, 10)
    assert body["query"] == {"match_all": {}}


def filters_of(query: SearchQuery) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = build_search(query)["query"]["bool"]["filter"]
    return clauses


def test_every_filter() -> None:
    stockholm = timezone(timedelta(hours=1))
    query = SearchQuery(
        sources=["flashback", "reddit"],
        since=datetime(2026, 11, 1, 1, 0, tzinfo=stockholm),
        until=datetime(2026, 11, 8, tzinfo=UTC),
        review_status=["new", "escalated"],
        assignees=["anna"],
        protected_staff=["w17"],
        thread_id="flashback:t1",
        flagged_only=False,
    )
    assert filters_of(query) == [
        {"terms": {"source": ["flashback", "reddit"]}},
        {"terms": {"review_status": ["new", "escalated"]}},
        {"terms": {"assignee": ["anna"]}},
        {"terms": {"protected_staff": ["w17"]}},
        {"term": {"thread_id": "flashback:t1"}},
        {"range": {"created_at": {"gte": "2026-11-01T00:00:00+00:00", "lt": "2026-11-08T00:00:00+00:00"}}},
    ]


def test_assignees_or_unassigned() -> None:
    unassigned = {"bool": {"must_not": [{"exists": {"field": "assignee"}}]}}
    assert filters_of(SearchQuery(unassigned=True, flagged_only=False)) == [unassigned]
    assert filters_of(SearchQuery(assignees=["anna", "bo"], unassigned=True, flagged_only=False)) == [
        {"bool": {"should": [{"terms": {"assignee": ["anna", "bo"]}}, unassigned], "minimum_should_match": 1}}
    ]


def test_score_bounds_apply_to_any_of_the_labels_else_to_severity() -> None:
    labelled = filters_of(SearchQuery(labels=["threat", "doxxing"], min_score=0.7, max_score=0.9))
    assert labelled[:2] == [{"term": {"flagged": True}}, {"terms": {"flags": ["threat", "doxxing"]}}]
    should = labelled[2]["bool"]
    assert should["minimum_should_match"] == 1
    assert should["should"] == [
        {
            "bool": {
                "filter": [
                    {"term": {"flags": label}},
                    {"range": {f"scores.{label}": {"gte": 0.7, "lte": 0.9}}},
                ]
            }
        }
        for label in ("threat", "doxxing")
    ]
    assert filters_of(SearchQuery(labels=["threat"])) == [{"term": {"flagged": True}}, {"terms": {"flags": ["threat"]}}]
    assert filters_of(SearchQuery(min_score=0.5)) == [
        {"term": {"flagged": True}},
        {"range": {"severity": {"gte": 0.5}}},
    ]


def leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for value in node:
            yield from leaves(value, path)
    else:
        yield path, node


HOSTILE = ['kidnappar" OR *:*', ") AND (", "text:* -flagged:false", "soc* ~2 +hot | /.*/", '\\"}}] {"match_all"']


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_only_ever_text(text: str) -> None:
    body = build_search(SearchQuery(text=text))
    forbidden = {"query_string", "simple_query_string", "wildcard", "regexp", "prefix", "fuzzy", "script"}
    keys = {key for path, _ in leaves(body) for key in path}
    assert not keys & forbidden
    text_query = body["query"]["bool"]["must"][0]
    if "match_none" in text_query:
        return
    words = [w for w in text.split() if any(c.isalnum() for c in w)]
    clauses = text_query["bool"]["must"]
    assert [clause["multi_match"]["query"] for clause in clauses] == words
    for clause in clauses:
        assert set(clause["multi_match"]) == {"query", "type", "fields", "operator"}
        assert clause["multi_match"]["operator"] == "and"
        assert clause["multi_match"]["type"] == "best_fields"
    user_values = {path for path, value in leaves(body) if isinstance(value, str) and value in words}
    assert user_values <= {("query", "bool", "must", "bool", "must", "multi_match", "query")}


def test_text_searches_words_and_word_beginnings_in_all_text_fields() -> None:
    body = build_search(SearchQuery(text="socialtj  hotade ", flagged_only=False))
    clauses = body["query"]["bool"]["must"][0]["bool"]["must"]
    assert [c["multi_match"]["query"] for c in clauses] == ["socialtj", "hotade"]
    assert clauses[0]["multi_match"]["fields"] == [
        "title",
        "text",
        "quoted_text",
        "title.prefix",
        "text.prefix",
        "quoted_text.prefix",
    ]
    assert build_search(SearchQuery(text=" !! ", flagged_only=False))["query"] == {
        "bool": {"must": [{"match_none": {}}]}
    }


@pytest.mark.parametrize(
    ("facet", "aggregation"),
    [
        ("label", {"terms": {"field": "flags", "size": 1000}}),
        ("source", {"terms": {"field": "source", "size": 1000}}),
        ("review_status", {"terms": {"field": "review_status", "size": 1000}}),
        (
            "day",
            {
                "date_histogram": {
                    "field": "created_at",
                    "calendar_interval": "day",
                    "time_zone": "UTC",
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 1,
                }
            },
        ),
    ],
)
def test_counts_per_facet(facet: Any, aggregation: dict[str, Any]) -> None:
    query = SearchQuery(sources=["flashback"])
    body = build_counts(query, facet)
    assert body["aggs"] == {"counts": aggregation}
    assert body["size"] == 0
    assert body["query"] == build_search(query)["query"]


def test_parse_counts_sorts_by_key() -> None:
    terms = {
        "aggregations": {"counts": {"buckets": [{"key": "threat", "doc_count": 2}, {"key": "doxxing", "doc_count": 1}]}}
    }
    assert list(parse_counts(terms, "label").items()) == [("doxxing", 1), ("threat", 2)]
    days = {
        "aggregations": {
            "counts": {
                "buckets": [
                    {"key": 1795392000000, "key_as_string": "2026-11-22", "doc_count": 3},
                    {"key": 1795219200000, "key_as_string": "2026-11-20", "doc_count": 1},
                ]
            }
        }
    }
    assert list(parse_counts(days, "day").items()) == [("2026-11-20", 1), ("2026-11-22", 3)]


# -- documents and bulk actions --------------------------------------------------------------------


def test_upsert_action_updates_the_analysis_and_inserts_the_first_capture() -> None:
    item = analysed(1, text="hot mot socialsekreteraren", flags=("threat",), author_name="Nick")
    action = upsert_action(item, "test-posts", run_id="run-1")
    assert (action["_op_type"], action["_index"], action["_id"]) == ("update", "test-posts", "flashback:1")
    assert action["retry_on_conflict"] >= 1
    doc = action["script"]["params"]["doc"]
    assert not set(doc) & REVIEW_FIELDS
    assert not set(doc) & {"text", "title", "quoted_text", "url", "post_json", "author_name", "created_at"}
    assert doc["flags"] == ["threat"] and doc["flagged"] is True and doc["severity"] == 0.8
    assert doc["scores"]["threat"] == 0.8
    assert action["script"]["params"]["author_name"] == "Nick"
    upsert = action["upsert"]
    assert upsert["text"] == "hot mot socialsekreteraren"
    assert upsert["review_status"] == "new" and upsert["first_seen_run"] == "run-1"
    assert upsert["author_name"] == "Nick"
    assert "author_name" not in upsert["post_json"]


def test_author_name_is_dropped_for_unflagged_posts() -> None:
    action = upsert_action(analysed(2, author_name="Nick"), "test-posts")
    assert action["upsert"]["author_name"] is None
    assert action["script"]["params"] == {**action["script"]["params"], "flagged": False, "author_name": None}
    assert "ctx._source.author_name = null" in action["script"]["source"]


def test_a_document_rebuilds_the_stored_post_exactly() -> None:
    span = PiiSpan(type="phone", text="070-123 45 67", start=0, end=13)
    item = analysed(3, flags=("doxxing",), pii=(span,))
    exposure = Exposure(person="watchlist:w17", exposed=["phone"], spans=[span], severity=Severity.high, score=0.9)
    verdict = Verdict.model_validate({**item.verdict.model_dump(), "exposures": [exposure]})
    item = item.model_copy(update={"verdict": verdict})
    document = json.loads(json.dumps(post_document(item, "run-1")))  # as it comes back from Elasticsearch
    assert document["protected_staff"] == ["w17"] and document["exposed"] == ["phone"]
    assert document["pii"] == [{"type": "phone", "text": "070-123 45 67", "start": 0, "end": 13, "score": 1.0}]
    stored = stored_post(document)
    assert stored.post == item.post
    assert stored.verdict == verdict
    assert (stored.review_status, stored.first_seen_run, stored.corrected_labels, stored.notes) == (
        "new",
        "run-1",
        None,
        (),
    )


def test_review_change_never_logs_the_note_text() -> None:
    at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    update = ReviewUpdate(status="confirmed", corrected_labels=["threat", "doxxing", "threat"], note="Anna Berg, 070-1")
    params, changes = review_change(update, "reviewer", at)
    assert params is not None
    assert params["set"] == {
        "review_status": "confirmed",
        "corrected_labels": ["doxxing", "threat"],
        "reviewed_by": "reviewer",
        "reviewed_at": "2026-11-21T09:00:00+00:00",
    }
    assert params["note"] == {"at": "2026-11-21T09:00:00+00:00", "author": "reviewer", "text": "Anna Berg, 070-1"}
    assert changes == {"status": "confirmed", "corrected_labels": ["doxxing", "threat"], "note": "added"}
    only_note, _ = review_change(ReviewUpdate(note="x"), "r", at)
    assert only_note is not None and only_note["set"] == {}
    unassign, changes = review_change(ReviewUpdate(unassign=True), "r", at)
    assert unassign is not None and unassign["set"]["assignee"] is None and changes == {"assignee": None}
    assert review_change(ReviewUpdate(), "r", at) == (None, {})


# -- purge -----------------------------------------------------------------------------------------


def test_purge_cutoffs_and_queries() -> None:
    now = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
    cutoffs = purge_cutoffs(RetentionPolicy(30, 365, 7, 730), now)
    assert cutoffs == {
        "unflagged": "2026-12-01T12:00:00+00:00",
        "flagged": "2025-12-31T12:00:00+00:00",
        "dismissed": "2026-12-24T12:00:00+00:00",
        "audit": "2024-12-31T12:00:00+00:00",
    }
    queries = purge_queries(cutoffs)
    assert queries["unflagged"]["bool"]["filter"] == [
        {"term": {"flagged": False}},
        {"range": {"collected_at": {"lt": "2026-12-01T12:00:00+00:00"}}},
    ]
    assert queries["flagged"]["bool"]["filter"] == [
        {"term": {"flagged": True}},
        {"range": {"collected_at": {"lt": "2025-12-31T12:00:00+00:00"}}},
    ]
    assert queries["flagged"]["bool"]["must_not"] == [{"term": {"review_status": "dismissed"}}]
    dismissed = queries["dismissed"]["bool"]["filter"]
    assert dismissed[:2] == [{"term": {"flagged": True}}, {"term": {"review_status": "dismissed"}}]
    coalesce = dismissed[2]["bool"]
    assert coalesce["minimum_should_match"] == 1
    assert coalesce["should"][0] == {"range": {"reviewed_at": {"lt": "2026-12-24T12:00:00+00:00"}}}
    assert coalesce["should"][1] == {
        "bool": {
            "must_not": [{"exists": {"field": "reviewed_at"}}],
            "filter": [{"range": {"collected_at": {"lt": "2026-12-24T12:00:00+00:00"}}}],
        }
    }


# -- the store against a recording HTTP server -----------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def lines(self) -> list[Any]:
        """The NDJSON lines of a bulk request."""
        return list(self.body) if isinstance(self.body, list) else []


Reply = tuple[int, Any]
Responder = Callable[[Request], Reply]


def missing(request: Request) -> Reply:
    error = {"type": "resource_not_found_exception", "reason": f"{request.path} missing"}
    return 404, {"error": {**error, "root_cause": [error]}, "status": 404}


def error(status: int, kind: str, reason: str) -> Reply:
    body = {"type": kind, "reason": reason}
    return status, {"error": {**body, "root_cause": [body]}, "status": status}


@dataclass
class FakeElasticsearch:
    """Answers like Elasticsearch (with the X-Elastic-Product header) and records every request.

    Routes are tried newest first; a route with ``times`` answers that many times, then steps aside.
    Unrouted: GET and HEAD answer 404, other methods ``{"acknowledged": true}``.
    """

    requests: list[Request] = field(default_factory=list)
    routes: list[list[Any]] = field(default_factory=list)

    def route(self, method: str, pattern: str, reply: Responder | Reply, times: int | None = None) -> None:
        responder = reply if callable(reply) else (lambda _request, reply=reply: reply)
        self.routes.insert(0, [method, re.compile(pattern), responder, times])

    def answer(self, request: Request) -> Reply:
        for route in self.routes:
            method, pattern, responder, times = route
            if method == request.method and pattern.fullmatch(request.path) and times != 0:
                if times is not None:
                    route[3] = times - 1
                reply: Reply = responder(request)
                return reply
        if request.method in ("GET", "HEAD"):
            return missing(request)
        return 200, {"acknowledged": True}

    def calls(self, method: str, pattern: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                body: Any = None
                if raw:
                    lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
                    body = lines if "ndjson" in (self.headers.get("Content-Type") or "") else lines[0]
                url = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=unquote(url.path),
                    params={key: values[-1] for key, values in parse_qs(url.query).items()},
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                )
                fake.requests.append(request)
                status, payload = fake.answer(request)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def fake() -> Iterator[tuple[FakeElasticsearch, str]]:
    recorder = FakeElasticsearch()
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorder.handler())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield recorder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def es(fake: tuple[FakeElasticsearch, str]) -> Iterator[tuple[FakeElasticsearch, ElasticsearchStore]]:
    recorder, url = fake
    store = ElasticsearchStore.from_url(url, index_prefix="test")
    store.bulk_initial_backoff_s = 0.01
    recorder.requests.clear()
    yield recorder, store
    store.close()


def bulk_reply(results: dict[str, tuple[int, str]]) -> Responder:
    """A bulk response: per post id, the item status and result (or error type when the status is >= 300)."""

    def reply(request: Request) -> Reply:
        items = []
        for line in request.lines[::2]:
            post_id = line["update"]["_id"]
            status, outcome = results.get(post_id, (200, "updated"))
            item: dict[str, Any] = {"_index": "test-posts-v1", "_id": post_id, "status": status}
            if status < 300:
                item |= {"result": outcome, "_version": 1, "_seq_no": 0, "_primary_term": 1}
            else:
                item["error"] = {"type": outcome, "reason": f"{outcome} for {post_id}"}
            items.append({"update": item})
        return 200, {"took": 1, "errors": any(i["update"]["status"] >= 300 for i in items), "items": items}

    return reply


def test_opening_an_empty_cluster_creates_policy_templates_indices_and_streams(
    fake: tuple[FakeElasticsearch, str],
) -> None:
    recorder, url = fake
    store = ElasticsearchStore.from_url(url, index_prefix="test")
    store.close()
    assert recorder.calls("PUT", "/_ilm/policy/test-retention")[0].body["policy"]["phases"]["delete"]["min_age"] == (
        "730d"
    )
    templates = [r.path.rpartition("/")[2] for r in recorder.calls("PUT", "/_index_template/.*")]
    assert templates == ["test-posts", "test-alerts", "test-meta", "test-audit", "test-runs"]
    assert recorder.calls("PUT", "/test-posts-v1")[0].body == {"aliases": {"test-posts": {}}}
    assert recorder.calls("PUT", "/test-alerts-v1")[0].body == {"aliases": {"test-alerts": {}}}
    assert recorder.calls("PUT", "/test-meta-v1")[0].body == {"aliases": {"test-meta": {}}}
    assert [r.path for r in recorder.calls("PUT", "/_data_stream/.*")] == [
        "/_data_stream/test-audit",
        "/_data_stream/test-runs",
    ]
    for request in recorder.requests:  # ES 8 refuses the 9.x client's default compatible-with=9
        assert request.headers["accept"].endswith("compatible-with=8")


def test_an_up_to_date_cluster_is_left_alone(fake: tuple[FakeElasticsearch, str]) -> None:
    recorder, url = fake
    templates = index_templates(NAMES)
    policy = retention_policy(400)  # set by an earlier purge: kept
    recorder.route("GET", "/_ilm/policy/test-retention", (200, {"test-retention": {"version": 1, "policy": policy}}))
    for name, body in templates.items():
        found = {"index_templates": [{"name": name, "index_template": body}]}
        recorder.route("GET", f"/_index_template/{name}", (200, found))
    for alias in ("posts", "alerts", "meta"):
        recorder.route("GET", f"/_alias/test-{alias}", (200, {f"test-{alias}-v1": {"aliases": {f"test-{alias}": {}}}}))
        meta = {"managed_by": "vaktpost", "kind": alias, "mapping_version": 1}
        recorder.route("GET", f"/test-{alias}-v1/_mapping", (200, {f"test-{alias}-v1": {"mappings": {"_meta": meta}}}))
    for stream in ("audit", "runs"):
        recorder.route("GET", f"/_data_stream/test-{stream}", (200, {"data_streams": [{"name": f"test-{stream}"}]}))
    ElasticsearchStore.from_url(url, index_prefix="test").close()
    assert [r.method for r in recorder.requests] == ["GET"] * len(recorder.requests)


def test_a_newer_mapping_is_refused(fake: tuple[FakeElasticsearch, str]) -> None:
    recorder, url = fake
    recorder.route("GET", "/_alias/test-posts", (200, {"test-posts-v9": {"aliases": {"test-posts": {}}}}))
    meta = {"managed_by": "vaktpost", "kind": "posts", "mapping_version": 9}
    recorder.route("GET", "/test-posts-v9/_mapping", (200, {"test-posts-v9": {"mappings": {"_meta": meta}}}))
    with pytest.raises(StoreError, match="newer than this Vaktpost"):
        ElasticsearchStore.from_url(url, index_prefix="test")


def test_a_foreign_index_behind_the_alias_is_refused(fake: tuple[FakeElasticsearch, str]) -> None:
    recorder, url = fake
    recorder.route("GET", "/_alias/test-posts", (200, {"logs": {"aliases": {"test-posts": {}}}}))
    recorder.route("GET", "/logs/_mapping", (200, {"logs": {"mappings": {"properties": {}}}}))
    with pytest.raises(StoreError, match="not a Vaktpost posts index"):
        ElasticsearchStore.from_url(url, index_prefix="test")


def reindex_routes(recorder: FakeElasticsearch, old: str, old_version: int) -> None:
    recorder.route("GET", "/_alias/test-posts", (200, {old: {"aliases": {"test-posts": {}}}}))
    meta = {"managed_by": "vaktpost", "kind": "posts", "mapping_version": old_version}
    recorder.route("GET", f"/{old}/_mapping", (200, {old: {"mappings": {"_meta": meta}}}))
    recorder.route("POST", "/_reindex", (200, {"task": "node1:42"}))
    done = {"completed": True, "task": {}, "response": {"total": 3, "created": 3, "failures": []}}
    recorder.route("GET", "/_tasks/node1:42", (200, done))
    recorder.route("GET", "/[^_].*/_count", (200, {"count": 3, "_shards": {}}))
    recorder.route("POST", "/[^_].*/_count", (200, {"count": 3, "_shards": {}}))


def test_reindex_copies_then_swaps_the_alias_atomically_then_deletes_the_old_index(
    es: tuple[FakeElasticsearch, ElasticsearchStore],
) -> None:
    recorder, store = es
    reindex_routes(recorder, "test-posts-v1", 1)
    description = store.reindex()
    new = recorder.calls("POST", "/_reindex")[0].body["dest"]["index"]
    assert re.fullmatch(r"test-posts-v1-\d{8}-\d{6}-\d{6}", new)
    order = [(r.method, r.path) for r in recorder.requests if r.method != "GET"]
    assert order.index(("PUT", f"/{new}")) < order.index(("PUT", "/test-posts-v1/_block/write"))
    assert order.index(("PUT", "/test-posts-v1/_block/write")) < order.index(("POST", "/_reindex"))
    assert order.index(("POST", "/_reindex")) < order.index(("POST", "/_aliases"))
    assert order.index(("POST", "/_aliases")) < order.index(("DELETE", "/test-posts-v1"))
    swaps = recorder.calls("POST", "/_aliases")
    assert len(swaps) == 1
    assert swaps[0].body == {"actions": alias_swap("test-posts", "test-posts-v1", new)}
    assert recorder.calls("POST", "/_reindex")[0].body["source"] == {"index": "test-posts-v1"}
    assert f"test-posts now points at {new}" in description


def test_a_failed_reindex_unblocks_the_old_index_and_removes_the_new_one(
    es: tuple[FakeElasticsearch, ElasticsearchStore],
) -> None:
    recorder, store = es
    reindex_routes(recorder, "test-posts-v1", 1)
    recorder.route("POST", "/_reindex", error(400, "illegal_argument_exception", "bad"))
    with pytest.raises(StoreError, match="reindexing test-posts-v1"):
        store.reindex()
    assert not recorder.calls("POST", "/_aliases")
    unblock = [r for r in recorder.calls("PUT", "/test-posts-v1/_settings")]
    assert unblock[0].body == {"index": {"blocks": {"write": False}}}
    assert len(recorder.calls("DELETE", "/test-posts-v1-.*")) == 1
    assert not recorder.calls("DELETE", "/test-posts-v1")


def test_an_older_mapping_is_migrated_on_open(fake: tuple[FakeElasticsearch, str]) -> None:
    recorder, url = fake
    reindex_routes(recorder, "test-posts-v0", 0)
    ElasticsearchStore.from_url(url, index_prefix="test").close()
    assert recorder.calls("POST", "/_reindex")[0].body["dest"] == {"index": "test-posts-v1", "op_type": "create"}
    assert recorder.calls("POST", "/_aliases")[0].body == {
        "actions": alias_swap("test-posts", "test-posts-v0", "test-posts-v1")
    }


def test_upsert_sends_one_update_per_post_and_reports_new_and_updated(
    es: tuple[FakeElasticsearch, ElasticsearchStore],
) -> None:
    recorder, store = es
    recorder.route("PUT", "/_bulk", bulk_reply({"flashback:1": (201, "created"), "flashback:2": (200, "noop")}))
    result = store.upsert([analysed(1, flags=("threat",)), analysed(2), analysed(3)], run_id="run-1")
    assert (result.new, result.updated) == (["flashback:1"], ["flashback:2", "flashback:3"])
    (bulk,) = recorder.calls("PUT", "/_bulk")
    assert (bulk.params["refresh"], bulk.params["require_alias"]) == ("true", "true")
    headers, bodies = bulk.lines[::2], bulk.lines[1::2]
    assert [h["update"]["_id"] for h in headers] == ["flashback:1", "flashback:2", "flashback:3"]
    assert all(h["update"]["_index"] == "test-posts" for h in headers)
    assert bodies[0]["upsert"]["first_seen_run"] == "run-1"
    assert not set(bodies[0]["script"]["params"]["doc"]) & REVIEW_FIELDS


def test_a_rejected_bulk_is_retried(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    recorder.route("PUT", "/_bulk", bulk_reply({"flashback:1": (201, "created")}))
    recorder.route("PUT", "/_bulk", error(429, "es_rejected_execution_exception", "queue full"), times=1)
    assert store.upsert([analysed(1)]).new == ["flashback:1"]
    assert len(recorder.calls("PUT", "/_bulk")) == 2


def test_rejected_items_are_retried_alone(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    recorder.route("PUT", "/_bulk", bulk_reply({"flashback:1": (201, "created"), "flashback:2": (201, "created")}))
    rejected = {"flashback:2": (429, "es_rejected_execution_exception"), "flashback:1": (201, "created")}
    recorder.route("PUT", "/_bulk", bulk_reply(rejected), times=1)
    assert store.upsert([analysed(1), analysed(2)]).new == ["flashback:1", "flashback:2"]
    _, second = recorder.calls("PUT", "/_bulk")
    assert [line["update"]["_id"] for line in second.lines[::2]] == ["flashback:2"]


def test_failed_items_raise_with_their_ids(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    recorder.route("PUT", "/_bulk", bulk_reply({"flashback:2": (400, "document_parsing_exception")}))
    with pytest.raises(StoreError, match=r"1 of 2 posts were not stored.*flashback:2.*document_parsing_exception"):
        store.upsert([analysed(1), analysed(2)])


def test_a_server_that_is_down_is_a_store_error_naming_the_host() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ElasticsearchSettings(hosts=[f"http://elastic:hemligt@127.0.0.1:{port}"], max_retries=1)
    with pytest.raises(StoreError) as raised:
        ElasticsearchStore(settings)
    message = str(raised.value)
    assert f"cannot reach Elasticsearch at http://127.0.0.1:{port}" in message
    assert "hemligt" not in message and "elastic:" not in message


def test_bad_credentials_are_a_store_error_without_the_key(fake: tuple[FakeElasticsearch, str]) -> None:
    recorder, url = fake
    recorder.route("GET", "/.*", error(401, "security_exception", "unable to authenticate"))
    with pytest.raises(StoreError, match=r"HTTP 401.*authentication failed") as raised:
        ElasticsearchStore.from_url(url, api_key="c2VjcmV0LWtleQ==")
    assert url in str(raised.value)
    assert "c2VjcmV0LWtleQ==" not in str(raised.value)
    assert recorder.requests[0].headers["authorization"] == "ApiKey c2VjcmV0LWtleQ=="


def test_search_sends_the_built_body_and_rebuilds_posts(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    item = analysed(5, flags=("harassment",))
    source = json.loads(json.dumps(post_document(item)))
    hits = {"total": {"value": 7, "relation": "eq"}, "hits": [{"_id": item.post.id, "_source": source, "sort": [1]}]}
    recorder.route("POST", "/test-posts/_search", (200, {"took": 1, "timed_out": False, "hits": hits}))
    query = SearchQuery(text="hot", labels=["harassment"], limit=5)
    page = store.search(query)
    assert page.total == 7
    assert page.items[0].post == item.post
    assert recorder.calls("POST", "/test-posts/_search")[0].body == build_search(query)


def test_get_of_an_unknown_post_is_none(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    recorder.route("GET", "/test-posts/_doc/.*", (404, {"_index": "test-posts-v1", "_id": "x:1", "found": False}))
    assert store.get("x:1") is None


def test_claim_alert_creates_once(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    alert = Alert(
        id="immediate:flashback:1",
        rule="immediate",
        post_id="flashback:1",
        severity=Severity.critical,
        labels=["threat"],
        source="flashback",
        post_created_at=BASE,
        link="http://review/p/flashback:1",
    )
    created = {"_index": "test-alerts-v1", "_id": alert.id, "result": "created", "_version": 1}
    recorder.route("PUT", "/test-alerts/_create/.*", (201, created))
    assert store.claim_alert(alert) is True
    recorder.route("PUT", "/test-alerts/_create/.*", error(409, "version_conflict_engine_exception", "exists"))
    assert store.claim_alert(alert) is False
    assert recorder.calls("PUT", "/test-alerts/_create/.*")[0].body["status"] == "pending"


def test_review_of_an_unknown_post_raises_not_found(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    _, store = es
    with pytest.raises(NotFoundError):
        store.review("flashback:404", "reviewer", ReviewUpdate(status="confirmed"))


def test_review_writes_the_audit_entry_then_updates_only_review_fields(
    es: tuple[FakeElasticsearch, ElasticsearchStore],
) -> None:
    recorder, store = es
    item = analysed(6, flags=("threat",))
    recorder.route("HEAD", "/test-posts/_doc/.*", (200, {}))
    reviewed = post_document(item) | {"review_status": "dismissed", "reviewed_by": "rev"}
    answer = {"_id": item.post.id, "result": "updated", "get": {"_source": json.loads(json.dumps(reviewed))}}
    recorder.route("POST", "/test-posts/_update/.*", (200, answer))
    stored = store.review(item.post.id, "rev", ReviewUpdate(status="dismissed", note="Ring Anna på 070-1"))
    assert stored.review_status == "dismissed"
    writes = [r for r in recorder.requests if r.method in ("PUT", "POST")]
    assert [w.path for w in writes] == ["/test-audit/_doc", "/test-posts/_update/flashback:6"]
    audit, update = writes
    assert audit.params["op_type"] == "create"
    assert (audit.body["actor"], audit.body["action"], audit.body["post_id"]) == ("rev", "review", "flashback:6")
    assert "Anna" not in audit.body["detail"]
    assert json.loads(audit.body["detail"]) == {"status": "dismissed", "note": "added"}
    params = update.body["script"]["params"]
    assert set(params["set"]) <= REVIEW_FIELDS
    assert params["note"]["text"] == "Ring Anna på 070-1"
    assert update.params["retry_on_conflict"] == "3"


def test_purge_deletes_by_query_and_syncs_the_audit_retention(
    es: tuple[FakeElasticsearch, ElasticsearchStore],
) -> None:
    recorder, store = es
    deleted = iter([4, 2, 1])
    recorder.route("POST", "/test-posts/_delete_by_query", lambda _r: (200, {"deleted": next(deleted), "failures": []}))
    now = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
    report = store.purge(RetentionPolicy(30, 365, 7, 400), now=now)
    assert (report.unflagged, report.flagged, report.dismissed, report.audit_entries) == (4, 2, 1, 0)
    assert report.cutoffs == purge_cutoffs(RetentionPolicy(30, 365, 7, 400), now)
    calls = recorder.calls("POST", "/test-posts/_delete_by_query")
    assert [c.body["query"] for c in calls] == list(purge_queries(report.cutoffs).values())
    assert all(c.params["conflicts"] == "proceed" for c in calls)
    policy = recorder.calls("PUT", "/_ilm/policy/test-retention")[0].body["policy"]
    assert policy["phases"]["delete"]["min_age"] == "400d"
    (audit,) = recorder.calls("POST", "/test-audit/_doc")
    assert json.loads(audit.body["detail"]) == {"unflagged": 4, "flagged": 2, "dismissed": 1, "audit_entries": 0}


def test_audit_log_is_newest_first(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    entry = {"at": "2026-11-21T09:00:00+00:00", "actor": "rev", "action": "review", "post_id": "p:1", "detail": "{}"}
    recorder.route(
        "POST", "/test-audit/_search", (200, {"hits": {"total": {"value": 1}, "hits": [{"_source": entry}]}})
    )
    (found,) = store.audit_log(post_id="p:1", limit=5, offset=5)
    assert (found.actor, found.post_id, found.at) == ("rev", "p:1", datetime(2026, 11, 21, 9, tzinfo=UTC))
    body = recorder.calls("POST", "/test-audit/_search")[0].body
    assert body["sort"] == [{"at": "desc"}, {"seq": "desc"}]
    assert body["query"] == {"bool": {"filter": [{"term": {"post_id": "p:1"}}]}}
    assert (body["from"], body["size"]) == (5, 5)


def test_the_store_meets_the_store_protocol() -> None:
    def as_store(store: ElasticsearchStore) -> Store:  # checked by mypy
        return store

    assert ElasticsearchStore.backend == "elasticsearch"
    assert callable(as_store)


def test_client_options_come_from_the_settings() -> None:
    settings = ElasticsearchSettings(
        hosts=["https://es1.example:9200"],
        api_key=SecretStr("a2V5"),
        verify_certs=False,
        request_timeout_s=12.5,
        max_retries=7,
    )
    with pytest.warns(SecurityWarning, match="verify_certs=False is insecure"):
        client = connect(settings)
    try:
        options = client.transport.node_pool.all()[0].config
        assert options.verify_certs is False
        assert client._headers["authorization"] == "ApiKey a2V5"
        assert client._request_timeout == 12.5
        assert client._max_retries == 7
        assert client._retry_on_status == (429, 502, 503, 504)
        assert client._retry_on_timeout is True
    finally:
        client.close()
    with pytest.raises(StoreError, match="set both"):
        connect(ElasticsearchSettings(username="vaktpost"))


def test_summary_has_the_sqlite_keys(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    posts = {
        "hits": {"total": {"value": 3}, "hits": []},
        "aggregations": {
            "by_source": {"buckets": [{"key": "reddit", "doc_count": 1}, {"key": "flashback", "doc_count": 2}]},
            "flagged": {"doc_count": 2},
            "flags": {"buckets": [{"key": "threat", "doc_count": 2}]},
            "urls": {"value": 3},
        },
    }
    recent = {"hits": {"total": {"value": 2}, "hits": [{"_id": "flashback:2"}, {"_id": "flashback:1"}]}}

    def posts_reply(request: Request) -> Reply:
        return 200, (posts if request.body["size"] == 0 else recent)

    report = RunReport(
        run_id="r1", started_at=BASE, finished_at=BASE + timedelta(minutes=3), outcome="completed", sources=[]
    )
    runs = {
        "hits": {"total": {"value": 1}, "hits": [{"_source": {"report_json": report.model_dump(mode="json")}}]},
        "aggregations": {"runs": {"value": 1}},
    }
    alerts = {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {"status": {"buckets": []}}}
    recorder.route("POST", "/test-posts/_search", posts_reply)
    recorder.route("POST", "/test-runs/_search", (200, runs))
    recorder.route("POST", "/test-alerts/_search", (200, alerts))
    recorder.route("GET", "/_alias/test-posts", (200, {"test-posts-v1": {"aliases": {"test-posts": {}}}}))
    meta = {"managed_by": "vaktpost", "kind": "posts", "mapping_version": 1}
    recorder.route("GET", "/test-posts-v1/_mapping", (200, {"test-posts-v1": {"mappings": {"_meta": meta}}}))
    summary = store.summary(recent=2)
    assert set(summary) == {
        "store", "schema_version", "posts", "duplicates", "by_source", "flagged_posts", "flags", "alerts", "runs",
        "last_run", "recent_flagged",
    }  # fmt: skip
    assert summary["store"].startswith("elasticsearch:http://127.0.0.1:") and summary["store"].endswith(" test-posts")
    assert (summary["posts"], summary["duplicates"], summary["flagged_posts"], summary["schema_version"]) == (
        3,
        0,
        2,
        1,
    )
    assert list(summary["by_source"]) == ["flashback", "reddit"]
    assert summary["flags"] == {"disinformation": 0, "doxxing": 0, "threat": 2, "harassment": 0}
    assert summary["alerts"] == {"total": 0}
    assert summary["last_run"]["run_id"] == "r1" and summary["runs"] == 1
    assert summary["recent_flagged"] == ["flashback:2", "flashback:1"]


def test_runs_are_appended_and_read_back_once_per_run(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    report = RunReport(
        run_id="r2", started_at=BASE, finished_at=BASE + timedelta(minutes=1), outcome="partial", sources=[]
    )
    store.record_run(report)
    (write,) = recorder.calls("POST", "/test-runs/_doc")
    assert write.params["op_type"] == "create"
    assert write.body["@timestamp"] == write.body["finished_at"] == "2026-11-20T12:01:00+00:00"
    hit = {"_source": write.body}
    recorder.route("POST", "/test-runs/_search", (200, {"hits": {"total": {"value": 1}, "hits": [hit]}}))
    assert store.last_runs(5) == [report]
    assert recorder.calls("POST", "/test-runs/_search")[0].body["collapse"] == {"field": "run_id"}


def test_drop_all_deletes_by_name(es: tuple[FakeElasticsearch, ElasticsearchStore]) -> None:
    recorder, store = es
    found: dict[str, Any] = {
        "test-posts-v1": {},
        "test-posts-v1-20261120-120000-000000": {},
        "test-alerts-v1": {},
        "test-meta-v1": {},
    }
    recorder.route("GET", "/test-posts-v\\*,test-alerts-v\\*,test-meta-v\\*", (200, found))
    store.drop_all()
    deletes = [r.path for r in recorder.requests if r.method == "DELETE"]
    assert deletes == [
        "/test-alerts-v1,test-meta-v1,test-posts-v1,test-posts-v1-20261120-120000-000000",
        "/_data_stream/test-audit",
        "/_data_stream/test-runs",
        "/_index_template/test-posts",
        "/_index_template/test-alerts",
        "/_index_template/test-meta",
        "/_index_template/test-audit",
        "/_index_template/test-runs",
        "/_ilm/policy/test-retention",
    ]


def test_from_url_takes_credentials_out_of_the_url(fake: tuple[FakeElasticsearch, str]) -> None:
    recorder, url = fake
    store = ElasticsearchStore.from_url(url.replace("http://", "http://vaktpost:hem%40ligt@"), index_prefix="test")
    store.close()
    assert store.hosts == url
    assert store.settings.password is not None and store.settings.password.get_secret_value() == "hem@ligt"
    assert recorder.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"vaktpost:hem@ligt").decode()
