"""Shared helpers for the review app's tests (tests/test_review_access.py, tests/test_review_browser.py).

The real app from ``review.create_app`` over a real SQLite store and real accounts in a data dir, with one
user per role and seeded posts (a doxxing post with an address and an exposure, a threat with an explanation,
posts whose every outside field carries an XSS payload); ``serve`` runs it with uvicorn in a background thread
on a free loopback port, for a real browser. ``demo_data_dir`` runs the real nightly demo once instead, so a
browser can triage the posts a real run flagged.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from index import ReviewUpdate
from index.sqlite import SQLiteStore
from review.accounts import Accounts, Role, Session
from review.app import create_app
from review.web import Services
from tests.factories import analysed
from vaktpost.datadir import DataDir
from vaktpost.schema import AnalysedPost, Explanation, Exposure, Label, PiiSpan, Severity
from vaktpost.settings import ReviewSettings, Settings

PASSWORD = "ett-langt-losenord-1"
USERS: dict[Role, str] = {"reviewer": "granskare", "safety": "sakerhet", "admin": "admin"}
SPARE_USER = "reserv"
"""A reviewer account that tests may change (disable, new role, new password) without touching the others."""

PAYLOADS_FILE = Path(__file__).with_name("xss_payloads.txt")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts" / "screenshots"

# The seeded posts (ids follow tests/factories.analysed: "<source>:<number>").
THREAT_ID = "flashback:101"
DOXX_ID = "flashback:102"
HARASSMENT_ID = "mastodon:103"
DISINFORMATION_ID = "flashback:104"
SEARCH_WORD = "kaffebryggare"
"""A word only the harassment post contains: what the queue's search finds it by."""

DOXX_TEXT = "Socialsekreteraren Anna Berg på Kumla socialtjänst bor på Björkvägen 12, 692 31 Kumla. Åk dit i kväll."
DOXX_ADDRESS = "Björkvägen 12"
DOXX_NAME = "Anna Berg"
THREAT_TEXT = "Jag vet var du jobbar. Jag ska se till att du får betala för det här, vänta bara."
THREAT_PHRASE = "Jag ska se till att du får betala"
THREAT_REASON = "hot om vedergällning mot en namngiven tjänsteperson"
SCRIPT_URLS = {201: "javascript:window.__xss(901)", 202: " JaVaScRiPt:window.__xss(902)"}
"""Posts whose original URL (from a feed, say) is a script: the post view must not make it a live link."""


def xss_payloads() -> list[tuple[int, str]]:
    """(N, payload) for every payload in xss_payloads.txt; payload N tries to call ``__xss(N)`` or ``alert(N)``."""
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").splitlines()
    payloads = [line for line in lines if line.strip() and not line.startswith("#")]
    return list(enumerate(payloads, start=1))


def xss_post_id(number: int) -> str:
    return f"flashback:{9000 + number}"


def _span(text: str, part: str, kind: str) -> PiiSpan:
    start = text.index(part)
    return PiiSpan(type=kind, text=part, start=start, end=start + len(part))


def _with(
    item: AnalysedPost,
    *,
    explanations: Mapping[Label, list[Explanation]] | None = None,
    exposures: list[Exposure] | None = None,
    **post: Any,
) -> AnalysedPost:
    verdict_changes: dict[str, Any] = {}
    if explanations is not None:
        verdict_changes["explanations"] = dict(explanations)
    if exposures is not None:
        verdict_changes["exposures"] = exposures
    return AnalysedPost(post=item.post.model_copy(update=post), verdict=item.verdict.model_copy(update=verdict_changes))


def _explain(text: str, part: str, reason: str, weight: float = 0.8) -> Explanation:
    start = text.index(part)
    return Explanation(start=start, end=start + len(part), text=part, reason=reason, weight=weight)


def seeded_posts(now: datetime | None = None) -> list[AnalysedPost]:
    """The posts ``seed`` stores, created in the hours before ``now``: four ordinary flagged posts, one
    unflagged, two whose original URL is a script, and one per XSS payload."""
    now = now or datetime.now(UTC)

    def at(hours: float) -> dict[str, Any]:
        return {"created_at": now - timedelta(hours=hours), "collected_at": now - timedelta(hours=hours / 2)}

    address = _span(DOXX_TEXT, DOXX_ADDRESS, "street_address")
    postal = _span(DOXX_TEXT, "692 31", "postal_code")
    name = _span(DOXX_TEXT, DOXX_NAME, "person_name")
    doxx = _with(
        analysed(102, DOXX_TEXT, flags=("doxxing",), score=0.95, pii=(name, address, postal), author_name="Granne"),
        explanations={"doxxing": [_explain(DOXX_TEXT, "bor på Björkvägen 12", "hemadress till en handläggare")]},
        exposures=[
            Exposure(
                person="staff",
                name=name,
                exposed=["street_address", "postal_code"],
                spans=[address, postal],
                solicitation=True,
                severity=Severity.critical,
                score=0.95,
            )
        ],
        title="Hon som tog barnen",
        **at(2),
    )
    threat = _with(
        analysed(101, THREAT_TEXT, flags=("threat",), score=0.92, author_name="Arg pappa"),
        explanations={"threat": [_explain(THREAT_TEXT, THREAT_PHRASE, THREAT_REASON, 0.9)]},
        **at(1),
    )
    harassment = _with(
        analysed(
            103,
            f"Den där handläggaren är en idiot och en {SEARCH_WORD}, skäms.",
            flags=("harassment",),
            score=0.7,
            source="mastodon",
        ),
        **at(3),
    )
    disinformation = _with(
        analysed(104, "Socialtjänsten tar barn för pengar, det vet alla.", flags=("disinformation",), score=0.85),
        **at(4),
    )
    calm = _with(analysed(105, "Tack till socialtjänsten för hjälpen i vintras.", score=0.1), **at(5))
    posts = [threat, doxx, harassment, disinformation, calm]
    for number, url in SCRIPT_URLS.items():
        item = analysed(number, f"Inlägg med en farlig länk ({number}).", flags=("threat",), score=0.6, source="rss")
        posts.append(_with(item, url=url, **at(6)))
    for number, payload in xss_payloads():
        text = f"XSS {number}: {payload} | igen: {payload} | slut"
        second = text.index(payload, text.index("| igen: "))
        hidden = PiiSpan(type="person_name", text=payload, start=second, end=second + len(payload))
        item = analysed(
            9000 + number,
            text,
            flags=("harassment",),
            score=0.5 + number / 1000,
            author_name=payload,
            pii=(hidden,),
        )
        posts.append(
            _with(
                item,
                explanations={"harassment": [_explain(text, payload, reason=payload)]},
                title=payload,
                quoted_text=payload,
                forwarded_from=payload,
                url=f"https://flashback.example/t?q={payload}",
                thread_id=f"flashback:{payload}",
                **at(10 + number),
            )
        )
    return posts


def settings_for(data_dir: Path, **review: Any) -> Settings:
    """Settings with ``data_dir`` and the [review] values given, whatever VAKTPOST_* the environment holds."""
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("VAKTPOST_")}
    try:
        return Settings(data_dir=data_dir, review=ReviewSettings(**review))
    finally:
        os.environ.update(saved)


@dataclass
class Harness:
    """The app and the real services behind it."""

    app: FastAPI
    settings: Settings
    store: SQLiteStore
    accounts: Accounts

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    @property
    def cookie_name(self) -> str:
        return self.services.cookie_name

    def open_session(self, name: str) -> Session:
        """A session for ``name`` without a login (no argon2 work): set ``cookie_name`` to its token."""
        user = self.accounts.get_user(name)
        assert user is not None, name
        return self.accounts.open_session(user)

    def close(self) -> None:
        self.store.close()
        self.accounts.close()


def add_users(accounts: Accounts) -> None:
    for role, name in USERS.items():
        if accounts.get_user(name) is None:
            accounts.add_user(name, role, PASSWORD)
    if accounts.get_user(SPARE_USER) is None:
        accounts.add_user(SPARE_USER, "reviewer", PASSWORD)


def seed(store: SQLiteStore) -> None:
    """Store the seeded posts; every XSS post also gets a reviewer's note carrying its payload."""
    store.upsert(seeded_posts(), run_id="test-seed")
    for number, payload in xss_payloads():
        store.review(xss_post_id(number), USERS["reviewer"], ReviewUpdate(note=payload))


def build(data_dir: Path, *, seed_posts: bool = True, idle: timedelta | None = None, **review: Any) -> Harness:
    """The app over ``<data_dir>/vaktpost.db`` and ``<data_dir>/accounts.db``, with the users (and the posts)."""
    settings = settings_for(data_dir, **review)
    layout = DataDir(data_dir)
    store = SQLiteStore(layout.store)
    idle = idle if idle is not None else timedelta(minutes=settings.review.session_idle_minutes)
    accounts = Accounts(layout.accounts, idle=idle)
    add_users(accounts)
    if seed_posts:
        seed(store)
    return Harness(create_app(settings, store=store, accounts=accounts), settings, store, accounts)


@contextmanager
def harness(
    data_dir: Path, *, seed_posts: bool = True, idle: timedelta | None = None, **review: Any
) -> Iterator[Harness]:
    built = build(data_dir, seed_posts=seed_posts, idle=idle, **review)
    try:
        yield built
    finally:
        built.close()


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="review-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the review app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@dataclass
class LiveApp:
    """A running app: ``url`` to point a browser at, ``harness`` for the store and accounts behind it."""

    url: str
    harness: Harness


@contextmanager
def running_app(
    data_dir: Path,
    *,
    seed_posts: bool = True,
    demo_store: bool = False,
    prefect_home: Path | None = None,
    **review: Any,
) -> Iterator[LiveApp]:
    """The app served on a free loopback port. ``demo_store``: first run the real nightly demo in
    ``data_dir``'s parent (``data_dir`` must then be ``<workdir>/var``), and seed nothing."""
    if demo_store:
        assert data_dir.name == "var" and prefect_home is not None, "a demo run needs <workdir>/var and prefect_home"
        demo_data_dir(data_dir.parent, prefect_home)
        seed_posts = False
    with harness(data_dir, seed_posts=seed_posts, **review) as built, serve(built.app) as url:
        yield LiveApp(url, built)


def demo_data_dir(workdir: Path, prefect_home: Path) -> Path:
    """Run the real nightly job on the bundled demo once in ``workdir``; returns its data dir (``<workdir>/var``,
    the store at ``<workdir>/var/vaktpost.db``). Give it the session's ``prefect_home``: a fresh Prefect
    database takes half a minute to migrate."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAKTPOST_", "PREFECT_"))}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run(
        [sys.executable, "-m", "vaktpost.cli", "run"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data_dir = workdir / "var"
    assert DataDir(data_dir).store.is_file(), f"the demo run left no store in {data_dir}"
    return data_dir


CSRF_INPUT = re.compile(r'name="csrf"\s+value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = CSRF_INPUT.search(html)
    assert found is not None, "no csrf input in the page"
    return found.group(1)
