"""The review app's pages: the queue and its filters, a post, the review actions, the exports and the evidence.

Real app, real SQLite store, real accounts; users sign in through the login form and post the CSRF token the
pages carry, as a browser would.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from warcio.archiveiterator import ArchiveIterator

from crawlers.evidence import CapturedResponse, WarcEvidenceWriter
from index import ReviewUpdate
from index.sqlite import SQLiteStore
from models.classifier.dataset import parse_example
from review.accounts import Accounts
from review.app import create_app
from tests.factories import BASE, analysed
from vaktpost.schema import AnalysedPost, Explanation, Exposure, Label, PiiSpan, Severity
from vaktpost.settings import ReviewSettings, Settings

PASSWORD = "a long password 123"
ADDRESS = "Storgatan 12"
DOXX_TEXT = f"Handläggaren bor på {ADDRESS} i Skogsby, åk dit."
STAFF_ID = "p1a2b3"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = re.compile(r'<a data-post-link href="/inlagg/([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# -- the site ----------------------------------------------------------------------------------------------


@dataclass
class Browser:
    client: TestClient
    csrf: str
    name: str

    def post(self, url: str, data: dict[str, Any], *, csrf: str | None = "valid") -> Any:
        form = dict(data)
        if csrf is not None:
            form["csrf"] = self.csrf if csrf == "valid" else csrf
        return self.client.post(url, data=form, follow_redirects=False)

    def queue_ids(self, page: int | None = None) -> list[str]:
        response = self.client.get("/" if page is None else f"/?sida={page}")
        assert response.status_code == 200, response.text[:500]
        return [unquote(found) for found in LINK.findall(response.text)]

    def filter(self, **fields: str | Sequence[str]) -> list[str]:
        response = self.post("/filter", {"reset": "1"})
        assert response.status_code == 303 and response.headers["location"] == "/"
        response = self.post("/filter", dict(fields))
        assert response.status_code == 303 and response.headers["location"] == "/"
        return self.queue_ids()


@dataclass
class Site:
    client_app: Any
    store: SQLiteStore
    accounts: Accounts
    data_dir: Path

    def login(self, name: str) -> Browser:
        client = TestClient(self.client_app)
        response = client.post("/logga-in", data={"name": name, "password": PASSWORD}, follow_redirects=False)
        assert response.status_code == 303, response.text[:300]
        found = CSRF.search(client.get("/konto").text)
        assert found is not None
        return Browser(client, found.group(1), name)

    def add(self, *items: AnalysedPost) -> None:
        self.store.upsert(list(items))

    def actions(self, post_id: str | None = None, action: str | None = None) -> list[tuple[str, str, str | None]]:
        entries = self.store.audit_log(post_id=post_id, limit=1000)
        return [(e.actor, e.action, e.post_id) for e in entries if action is None or e.action == action]


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The users, made once (argon2 hashing is slow on purpose) and copied for each test."""
    path = tmp_path_factory.mktemp("accounts") / "accounts.db"
    accounts = Accounts(path)
    for name, role in (("rita", "reviewer"), ("sam", "safety"), ("ada", "admin"), ("bo", "reviewer")):
        accounts.add_user(name, role, PASSWORD)
    accounts.close()
    return path


@pytest.fixture
def site(tmp_path: Path, accounts_file: Path) -> Iterator[Site]:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copyfile(accounts_file, data_dir / "accounts.db")
    settings = Settings(data_dir=data_dir, review=ReviewSettings(page_size=10))
    store = SQLiteStore(data_dir / "vaktpost.db")
    accounts = Accounts(data_dir / "accounts.db")
    yield Site(create_app(settings, store=store, accounts=accounts), store, accounts, data_dir)
    store.close()
    accounts.close()


def post(number: int, *flags: Label, score: float = 0.8, **fields: Any) -> AnalysedPost:
    """A post from tests.factories with ``fields`` of the post changed (created_at, title, evidence...)."""
    options = {k: fields.pop(k) for k in ("text", "source", "author_name", "pii", "hours") if k in fields}
    item = analysed(number, flags=flags, score=score, **options)
    return AnalysedPost(post=item.post.model_copy(update=fields), verdict=item.verdict)


def doxxing_post(number: int = 50) -> AnalysedPost:
    start = DOXX_TEXT.index(ADDRESS)
    span = PiiSpan(type="street_address", text=ADDRESS, start=start, end=start + len(ADDRESS))
    item = analysed(number, text=DOXX_TEXT, flags=("doxxing",), score=0.95, pii=(span,), source="reddit")
    reason = Explanation(
        start=0, end=start + len(ADDRESS), text=DOXX_TEXT[: start + len(ADDRESS)], reason="hemadress", weight=0.9
    )
    exposure = Exposure(
        person=f"watchlist:{STAFF_ID}",
        exposed=["street_address"],
        spans=[span],
        solicitation=True,
        severity=Severity.critical,
        score=0.95,
    )
    verdict = item.verdict.model_copy(update={"explanations": {"doxxing": [reason]}, "exposures": [exposure]})
    return AnalysedPost(post=item.post.model_copy(update={"title": "Hon som tog barnen"}), verdict=verdict)


# -- the queue ---------------------------------------------------------------------------------------------


def test_the_queue_lists_flagged_posts_most_severe_first_and_escapes_what_strangers_wrote(site: Site) -> None:
    site.add(
        post(1, "threat", score=0.9),
        post(2, "harassment", score=0.6),
        doxxing_post(3),
        post(4),  # not flagged: not in the queue
        post(5, "threat", score=0.7, text=f"Titta här {SCRIPT}", author_name=IMG, url="javascript:alert(1)"),
    )
    rita = site.login("rita")
    page = rita.client.get("/")
    assert rita.queue_ids() == ["reddit:3", "flashback:1", "flashback:5", "flashback:2"]
    assert 'href="/inlagg/flashback%3A1"' in page.text
    assert '<input type="checkbox" name="post_id" value="flashback:1" form="bulk"' in page.text
    assert 'id="select-all"' in page.text and '<form id="bulk" method="post" action="/massatgard"' in page.text
    assert '<strong class="queue-total">4</strong>' in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and SCRIPT not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and IMG not in page.text
    assert "Hot 90 %" in page.text and "Ny" in page.text
    # The queue shows reviewers the doxxing post's excerpt without the address.
    assert ADDRESS not in page.text and "[ADRESS]" in page.text
    assert ADDRESS in site.login("sam").client.get("/").text

    view = rita.client.get("/inlagg/flashback:5")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in view.text and SCRIPT not in view.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.text and IMG not in view.text
    assert 'href="javascript:' not in view.text, "only http(s) addresses become links"


def filter_posts() -> list[AnalysedPost]:
    day_two_in_stockholm = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 00:30 on 21 November in Stockholm
    return [
        post(1, "threat", score=0.9, text="Vi ska hälsa på socialtjänsten i Skogsby snart.", hours=1),
        post(2, "harassment", score=0.6, hours=30),
        doxxing_post(3),  # created at BASE + 3 h, reddit, exposes the protected staff member STAFF_ID
        post(4, "disinformation", score=0.75, created_at=day_two_in_stockholm),
    ]


def test_filters_narrow_the_queue(site: Site) -> None:
    site.add(*filter_posts())
    site.store.review("flashback:2", "sam", ReviewUpdate(status="dismissed"))
    site.store.review("flashback:1", "sam", ReviewUpdate(assignee="rita"))
    rita = site.login("rita")
    everything = ["reddit:3", "flashback:1", "flashback:4", "flashback:2"]
    assert rita.queue_ids() == everything
    assert rita.filter(label="threat") == ["flashback:1"]
    assert rita.filter(label=["threat", "doxxing"]) == ["reddit:3", "flashback:1"]
    assert rita.filter(source="reddit") == ["reddit:3"]
    assert rita.filter(status="dismissed") == ["flashback:2"]
    assert rita.filter(status=["new", "confirmed"]) == ["reddit:3", "flashback:1", "flashback:4"]
    assert rita.filter(min_score="80") == ["reddit:3", "flashback:1"]
    assert rita.filter(max_score="70") == ["flashback:2"]
    assert rita.filter(min_score="70", max_score="92,5") == ["flashback:1", "flashback:4"]
    shown = rita.client.get("/").text
    assert 'name="max_score" type="number"' in shown and 'value="92.5"' in shown and "Poäng: 70–92,5 %" in shown
    assert rita.filter(q="socialtjanst") == ["flashback:1"], "å, ä and ö are folded in the search"
    assert rita.filter(q="SOCIALTJÄNSTEN skogsby") == ["flashback:1"]
    # Days are Stockholm days; "until" includes its whole day.
    assert rita.filter(until="2026-11-20") == ["reddit:3", "flashback:1"]
    assert rita.filter(since="2026-11-21") == ["flashback:4", "flashback:2"]
    assert rita.filter(since="2026-11-21", until="2026-11-21") == ["flashback:4", "flashback:2"]
    assert rita.filter(since="2026-11-22") == []
    assert rita.filter(assignee="rita") == ["flashback:1"]
    assert rita.filter(assignee="-") == ["reddit:3", "flashback:4", "flashback:2"]
    assert rita.filter(unassigned="1") == ["reddit:3", "flashback:4", "flashback:2"]
    assert rita.filter(assignee="rita", unassigned="1") == everything
    assert rita.filter(sort="oldest") == ["flashback:1", "reddit:3", "flashback:4", "flashback:2"]
    assert rita.filter(sort="newest") == ["flashback:2", "flashback:4", "reddit:3", "flashback:1"]
    assert rita.filter(label="threat", source="reddit") == []
    # The search text is kept server-side: the form shows it, no URL carries it.
    rita.filter(q="socialtjanst")
    page = rita.client.get("/")
    assert 'value="socialtjanst"' in page.text
    assert "socialtjanst" not in "".join(re.findall(r'href="([^"]*)"', page.text))
    assert rita.post("/filter", {"reset": "1"}).status_code == 303
    assert rita.queue_ids() == everything


def test_bad_filter_values_give_a_swedish_message_not_an_error(site: Site) -> None:
    site.add(*filter_posts())
    rita = site.login("rita")
    assert rita.filter(min_score="mycket", since="2026-13-45", label="threat") == ["flashback:1"]
    page = rita.client.get("/")  # the messages were shown once
    assert "Lägsta poäng: ange ett tal mellan 0 och 100" not in page.text
    rita.post("/filter", {"min_score": "mycket", "since": "2026-13-45", "sort": "random"})
    page = rita.client.get("/")
    assert page.status_code == 200
    assert "Lägsta poäng: ange ett tal mellan 0 och 100 (procent)." in page.text
    assert "Från och med: ange ett datum som ÅÅÅÅ-MM-DD." in page.text
    assert "Okänd sortering." in page.text
    rita.post("/filter", {"min_score": "90", "max_score": "10"})
    assert "Lägsta poäng kan inte vara högre än högsta poäng." in rita.client.get("/").text
    rita.post("/filter", {"since": "2026-11-22", "until": "2026-11-20"})
    assert "kan inte vara senare" in rita.client.get("/").text
    assert rita.filter(min_score="150") == ["reddit:3", "flashback:1", "flashback:4", "flashback:2"]


def test_only_safety_officers_filter_on_the_protected_staff_watch_list(site: Site) -> None:
    site.add(*filter_posts())
    sam = site.login("sam")
    assert 'name="staff"' in sam.client.get("/").text
    assert sam.filter(staff=STAFF_ID) == ["reddit:3"]
    assert sam.filter(staff="p-nobody") == []
    assert site.login("ada").filter(staff=STAFF_ID) == ["reddit:3"]
    rita = site.login("rita")
    assert 'name="staff"' not in rita.client.get("/").text
    assert rita.filter(staff=STAFF_ID) == ["reddit:3", "flashback:1", "flashback:4", "flashback:2"]
    # Nor does a value saved while the user had the safety role count once it is gone.
    sam.filter(staff=STAFF_ID)
    site.accounts.set_role("sam", "reviewer")
    assert sam.queue_ids() == ["reddit:3", "flashback:1", "flashback:4", "flashback:2"]


def test_the_queue_is_paginated(site: Site) -> None:
    site.add(*(post(n, "harassment", score=0.5 + n / 100) for n in range(1, 24)))
    rita = site.login("rita")
    first = rita.queue_ids()
    assert first == [f"flashback:{n}" for n in range(23, 13, -1)]
    assert rita.queue_ids(2) == [f"flashback:{n}" for n in range(13, 3, -1)]
    assert rita.queue_ids(3) == ["flashback:3", "flashback:2", "flashback:1"]
    assert rita.queue_ids(99) == rita.queue_ids(3), "past the end: the last page"
    assert rita.client.get("/?sida=abc").status_code == 200
    assert rita.queue_ids(0) == first
    page = rita.client.get("/?sida=2").text
    assert "Sida 2 av 3" in page and 'href="/?sida=1"' in page and 'href="/?sida=3"' in page


def test_new_since_the_last_visit(site: Site) -> None:
    site.add(*(post(n, "threat") for n in range(1, 6)))  # created at BASE + n hours
    site.accounts.mark_visit("rita", at=BASE + timedelta(hours=3))
    rita = site.login("rita")
    before = datetime.now(UTC)
    assert "<strong>3</strong> nya sedan ditt senaste besök" in rita.client.get("/").text
    user = site.accounts.get_user("rita")
    assert user is not None and user.last_visit is not None and user.last_visit >= before
    # The count holds for the rest of the session (the next page is not "nothing new")...
    assert "<strong>3</strong> nya sedan ditt senaste besök" in rita.client.get("/?sida=2").text
    # ...and counts with the filters.
    rita.filter(until="2026-11-20")
    assert "<strong>3</strong> nya" in rita.client.get("/").text
    # The next session counts from this visit.
    assert "<strong>0</strong> nya sedan ditt senaste besök" in site.login("rita").client.get("/").text
    assert "Första besöket" in site.login("bo").client.get("/").text


# -- a post ------------------------------------------------------------------------------------------------


MARKED_ADDRESS = re.compile(r'<mark class="[^"]*\bpii-street_address\b[^"]*" title="[^"]*">' + ADDRESS + "</mark>")


def test_a_post_shows_safety_officers_the_exposed_address_and_reviewers_its_kind(site: Site) -> None:
    site.add(doxxing_post(3), post(1, "threat", text="Vi vet var ni bor.", author_name="Arg"), post(2))
    sam = site.login("sam").client.get("/inlagg/reddit:3")
    assert sam.status_code == 200
    assert MARKED_ADDRESS.search(sam.text), sam.text
    assert '<div class="post-text">' in sam.text and "label-doxxing" in sam.text
    assert f"Skyddad personal: {STAFF_ID}" in sam.text
    assert "Hon som tog barnen" in sam.text and "Kritisk" in sam.text and "95 %" in sam.text
    assert 'rel="noopener noreferrer nofollow"' in sam.text and 'href="https://reddit.example/p3"' in sam.text

    rita = site.login("rita").client.get("/inlagg/reddit:3")
    assert rita.status_code == 200
    assert '<mark class="pii-street_address" title="Adress">[ADRESS]</mark>' in rita.text
    assert ADDRESS not in rita.text and STAFF_ID not in rita.text
    assert "Skyddad personal (på bevakningslistan)" in rita.text


def test_a_post_shows_its_thread(site: Site) -> None:
    site.add(
        post(1, "threat", text="Först i tråden."),
        post(2, text="Ett svar utan flaggor."),
        post(3, "harassment", text="Ett tredje.", thread_id="flashback:annan"),
    )
    page = site.login("rita").client.get("/inlagg/flashback:1").text
    thread = page.split("<h2>Tråden</h2>", 1)[1].split("<h2>", 1)[0]
    assert 'href="/inlagg/flashback%3A2"' in thread and "Ett svar utan flaggor." in thread
    assert "flashback%3A1" not in thread and "Ett tredje." not in thread


def test_an_unknown_post_is_a_swedish_404(site: Site) -> None:
    response = site.login("rita").client.get("/inlagg/flashback:404")
    assert response.status_code == 404 and "Hittades inte" in response.text


def test_views_of_doxxing_posts_are_audited_and_no_others(site: Site) -> None:
    site.add(doxxing_post(3), post(1, "threat"), post(2, "harassment"))
    rita = site.login("rita")
    rita.client.get("/inlagg/reddit:3")
    rita.client.get("/inlagg/reddit:3")
    rita.client.get("/inlagg/flashback:1")
    assert site.actions("reddit:3", "view") == [("rita", "view", "reddit:3")] * 2
    assert site.actions("flashback:1") == []
    # A post a reviewer has labelled doxxing is audited too.
    site.store.review("flashback:2", "sam", ReviewUpdate(corrected_labels=["doxxing"]))
    rita.client.get("/inlagg/flashback:2")
    assert site.actions("flashback:2", "view") == [("rita", "view", "flashback:2")]


# -- actions -----------------------------------------------------------------------------------------------


def test_each_review_action_changes_the_post_and_is_audited(site: Site) -> None:
    site.add(post(1, "threat"))
    rita = site.login("rita")
    url = "/inlagg/flashback:1/granska"

    def act(action: str, **fields: str | list[str]) -> Any:
        response = rita.post(url, {"action": action, **fields})
        assert response.status_code == 303, response.text[:500]
        assert response.headers["location"] == "/inlagg/flashback%3A1"
        stored = site.store.get("flashback:1")
        assert stored is not None
        return stored

    assert act("confirm").review_status == "confirmed"
    assert act("dismiss", note="Skämt, inget hot.").review_status == "dismissed"
    assert act("escalate").review_status == "escalated"
    assert act("correct", labels=["harassment", "threat"]).corrected_labels == ["threat", "harassment"]
    assert act("correct").corrected_labels == []
    assert act("assign", assignee="bo").assignee == "bo"
    assert act("assign").assignee == "rita", "an empty assignee is the user themself"
    assert act("unassign").assignee is None
    stored = act("note", note="Polisanmälan gjord.")
    assert [n.text for n in stored.notes] == ["Skämt, inget hot.", "Polisanmälan gjord."]
    assert stored.reviewed_by == "rita"
    reviews = site.store.audit_log(post_id="flashback:1")
    assert len([e for e in reviews if e.action == "review" and e.actor == "rita"]) == 9
    assert all("Polisanmälan" not in e.detail for e in reviews)
    page = rita.client.get("/inlagg/flashback:1").text
    assert "Polisanmälan gjord." in page and "granskade" in page


def test_correcting_an_unreviewed_post_confirms_it_so_the_feedback_export_finds_it(site: Site) -> None:
    site.add(post(7, text="Ej flaggat, men ett hot."), post(8, "threat"))
    site.store.review("flashback:8", "rita", ReviewUpdate(status="escalated"))
    rita = site.login("rita")
    for number in (7, 8):
        response = rita.post(f"/inlagg/flashback:{number}/granska", {"action": "correct", "labels": ["threat"]})
        assert response.status_code == 303
    assert site.store.get("flashback:7").review_status == "confirmed"  # type: ignore[union-attr]
    assert site.store.get("flashback:8").review_status == "escalated"  # type: ignore[union-attr]
    lines = site.login("sam").client.get("/export/korrigeringar.jsonl").text.splitlines()
    assert {json.loads(line)["id"]: json.loads(line)["labels"] for line in lines}["flashback:7"] == ["threat"]


def test_bad_review_actions_are_refused(site: Site) -> None:
    site.add(post(1, "threat"))
    rita = site.login("rita")
    for form in (
        {"action": "delete"},
        {"action": "correct", "labels": "spam"},
        {"action": "assign", "assignee": "finns-inte"},
        {"action": "note", "note": "  "},
    ):
        response = rita.post("/inlagg/flashback:1/granska", form)
        assert response.status_code == 400, form
    assert rita.post("/inlagg/flashback:404/granska", {"action": "confirm"}).status_code == 404
    stored = site.store.get("flashback:1")
    assert stored is not None and stored.review_status == "new" and stored.reviewed_by is None
    assert site.actions("flashback:1") == []


def test_bulk_actions(site: Site) -> None:
    site.add(post(1, "threat"), post(2, "harassment"), post(3, "threat"))
    rita = site.login("rita")
    response = rita.post(
        "/massatgard", {"action": "escalate", "post_id": ["flashback:1", "flashback:2", "flashback:404"]}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    statuses = {n: s.review_status for n in ("flashback:1", "flashback:2", "flashback:3") if (s := site.store.get(n))}
    assert statuses == {"flashback:1": "escalated", "flashback:2": "escalated", "flashback:3": "new"}
    assert site.actions(action="review") == [("rita", "review", "flashback:2"), ("rita", "review", "flashback:1")]
    page = rita.client.get("/").text
    assert "2 inlägg uppdaterade. 1 fanns inte längre" in page
    rita.post("/massatgard", {"action": "assign", "assignee": "bo", "post_id": ["flashback:3"]})
    third = site.store.get("flashback:3")
    assert third is not None and third.assignee == "bo"
    assert rita.post("/massatgard", {"action": "correct", "post_id": ["flashback:3"]}).status_code == 400
    assert (
        rita.post("/massatgard", {"action": "assign", "assignee": "ingen", "post_id": "flashback:3"}).status_code == 400
    )
    assert rita.post("/massatgard", {"action": "confirm"}).status_code == 303
    assert "Inga inlägg valda" in rita.client.get("/").text


def test_changes_without_the_csrf_token_are_refused(site: Site) -> None:
    site.add(post(1, "threat"))
    rita = site.login("rita")
    other = site.login("bo")
    attempts = [
        ("/inlagg/flashback:1/granska", {"action": "confirm"}),
        ("/massatgard", {"action": "dismiss", "post_id": "flashback:1"}),
        ("/filter", {"label": "doxxing"}),
    ]
    before = site.store.audit_log(limit=1000)
    for url, form in attempts:
        for token in (None, "", "fel-token", other.csrf):
            response = rita.post(url, form, csrf=token)
            assert response.status_code == 403, (url, token)
            assert "CSRF" in response.text
    stored = site.store.get("flashback:1")
    assert stored is not None and stored.review_status == "new"
    assert site.store.audit_log(limit=1000) == before
    assert rita.queue_ids() == ["flashback:1"], "the filters did not change"


# -- exports -----------------------------------------------------------------------------------------------


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte order mark"
    return list(csv.DictReader(io.StringIO(body[3:].decode("utf-8")), delimiter=";"))


def test_csv_export_of_the_selection(site: Site) -> None:
    site.add(
        doxxing_post(3),
        post(1, "threat", score=0.9, text='=HYPERLINK("http://evil.example","klicka")'),
        post(2, "harassment", text="@SUM(1+1)"),
        post(4, "harassment", text="-2+3"),
        post(5),
    )
    rita = site.login("rita")
    response = rita.client.get("/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = read_csv(response.content)
    assert [row["id"] for row in rows] == ["reddit:3", "flashback:1", "flashback:4", "flashback:2"]
    by_id = {row["id"]: row for row in rows}
    assert by_id["flashback:1"]["text"] == '\'=HYPERLINK("http://evil.example","klicka")'
    assert by_id["flashback:2"]["text"] == "'@SUM(1+1)"
    assert by_id["flashback:4"]["text"] == "'-2+3"
    assert by_id["flashback:1"]["poäng hot (%)"] == "90" and by_id["flashback:1"]["etiketter"] == "Hot"
    assert by_id["flashback:1"]["status"] == "Ny" and by_id["flashback:1"]["källa"] == "flashback"
    assert by_id["flashback:1"]["författare (pseudonym)"] == f"a{1:020d}"
    assert by_id["flashback:1"]["skapad"] == "2026-11-20 14:00"
    assert by_id["reddit:3"]["text"] == DOXX_TEXT.replace(ADDRESS, "[ADRESS]")
    assert ADDRESS.encode() not in response.content
    # Safety officers get the full text; the export follows the saved filters.
    sam = site.login("sam")
    sam.filter(label="doxxing")
    rows = read_csv(sam.client.get("/export.csv").content)
    assert [(row["id"], row["text"]) for row in rows] == [("reddit:3", DOXX_TEXT)]
    exports = [e for e in site.store.audit_log() if e.action == "export"]
    assert [(e.actor, json.loads(e.detail)) for e in exports] == [
        ("sam", {"format": "csv", "posts": 1}),
        ("rita", {"format": "csv", "posts": 4}),
    ]


def test_printable_report(site: Site) -> None:
    site.add(doxxing_post(3), post(1, "threat", text=SCRIPT))
    rita = site.login("rita")
    rita.filter(label=["doxxing", "threat"], q="")
    page = rita.client.get("/rapport")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Rapport" in page.text and "Etiketter" in page.text and "Doxning, Hot" in page.text
    assert "reddit:3" in page.text and "flashback:1" in page.text
    assert "[ADRESS]" in page.text and ADDRESS not in page.text
    assert "&lt;script&gt;" in page.text and SCRIPT not in page.text
    assert ADDRESS in site.login("sam").client.get("/rapport").text
    exports = [json.loads(e.detail) for e in site.store.audit_log() if e.action == "export"]
    assert exports == [{"format": "report", "posts": 2}, {"format": "report", "posts": 2}]


def test_corrections_export_for_training_is_for_safety_officers(site: Site) -> None:
    site.add(
        post(1, "threat", text="Ett hot."),
        post(2, "harassment", text="Rättat till inget."),
        post(3, "threat", text="Bekräftat hot."),
        post(4, "harassment", text="Avfärdat utan rättelse."),
        post(5, text="Ej flaggat men rättat."),
        post(6, "threat", text="Ännu inte granskat."),
    )
    site.store.review("flashback:1", "rita", ReviewUpdate(corrected_labels=["threat", "harassment"]))
    site.store.review("flashback:2", "rita", ReviewUpdate(corrected_labels=[], status="dismissed"))
    site.store.review("flashback:3", "rita", ReviewUpdate(status="confirmed"))
    site.store.review("flashback:4", "rita", ReviewUpdate(status="dismissed"))
    site.store.review("flashback:5", "rita", ReviewUpdate(corrected_labels=["disinformation"], status="confirmed"))
    assert site.login("rita").client.get("/export/korrigeringar.jsonl").status_code == 403
    response = site.login("sam").client.get("/export/korrigeringar.jsonl")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    lines = [json.loads(line) for line in response.text.splitlines()]
    examples = {line["id"]: line for line in lines}
    assert set(examples) == {"flashback:1", "flashback:2", "flashback:3", "flashback:5"}
    assert examples["flashback:1"] == {"id": "flashback:1", "text": "Ett hot.", "labels": ["threat", "harassment"]}
    assert examples["flashback:2"]["labels"] == []
    assert examples["flashback:3"]["labels"] == ["threat"]
    assert examples["flashback:5"]["labels"] == ["disinformation"]
    for number, line in enumerate(lines, start=1):
        parse_example(line, f"korrigeringar.jsonl:{number}", strict=False)
    assert site.login("ada").client.get("/export/korrigeringar.jsonl").status_code == 200
    exports = [(e.actor, json.loads(e.detail)) for e in site.store.audit_log() if e.action == "export"]
    assert exports == [("ada", {"format": "corrections", "posts": 4}), ("sam", {"format": "corrections", "posts": 4})]


# -- evidence ----------------------------------------------------------------------------------------------


def test_evidence_download_is_the_captured_record_for_safety_officers_only(site: Site) -> None:
    writer = WarcEvidenceWriter(site.data_dir, Path("warc/2026-11-20.warc.gz"))
    captured = [
        CapturedResponse(
            url=f"https://flashback.example/p{n}",
            status=200,
            reason="OK",
            headers=[("Content-Type", "text/html; charset=utf-8")],
            body=f"<html><body>Inlägg {n}: {DOXX_TEXT}</body></html>".encode(),
            fetched_at=BASE + timedelta(days=1),
        )
        for n in (1, 2)
    ]
    evidence = [writer.write(response) for response in captured]
    writer.close()
    assert evidence[1].offset > 0
    site.add(post(1, "threat", evidence=evidence[0]), post(2, "threat", evidence=evidence[1]), post(3, "threat"))

    assert site.login("rita").client.get("/inlagg/flashback:2/bevis").status_code == 403
    assert "/bevis" not in site.login("rita").client.get("/inlagg/flashback:2").text
    sam = site.login("sam")
    page = sam.client.get("/inlagg/flashback:2").text
    assert 'href="/inlagg/flashback%3A2/bevis"' in page and evidence[1].sha256 in page
    assert html.escape(evidence[1].record_id) in page
    response = sam.client.get("/inlagg/flashback:2/bevis")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/warc"
    assert response.headers["content-disposition"] == 'attachment; filename="flashback_2.warc.gz"'
    assert response.headers["x-vaktpost-evidence-verified"] == "yes"
    records = []
    for record in ArchiveIterator(io.BytesIO(response.content)):
        records.append(
            (
                record.rec_type,
                record.rec_headers.get_header("WARC-Record-ID"),
                hashlib.sha256(record.content_stream().read()).hexdigest(),
            )
        )
    assert records == [("response", evidence[1].record_id, evidence[1].sha256)]
    assert site.actions("flashback:2", "evidence_download") == [("sam", "evidence_download", "flashback:2")]
    assert sam.client.get("/inlagg/flashback:3/bevis").status_code == 404, "no evidence kept"
    (site.data_dir / evidence[0].warc_file).unlink()
    assert sam.client.get("/inlagg/flashback:1/bevis").status_code == 404, "the WARC file is gone"
    assert site.actions("flashback:1", "evidence_download") == []
