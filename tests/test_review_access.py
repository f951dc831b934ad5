"""Who may do what in the review app: every route against every role, CSRF, headers, cookies, throttling, idle.

``RULES`` is the access table: every route the app serves must have a rule here (a new route without one
fails ``test_every_route_has_an_access_rule``), and every rule is checked unauthenticated, with each role
that may not use it (403) and with each role that may (neither 401 nor 403).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response
from starlette.routing import Mount

from review.accounts import ROLES, Role
from tests.review_harness import (
    DOXX_ID,
    HARASSMENT_ID,
    PASSWORD,
    SPARE_USER,
    THREAT_ID,
    USERS,
    Harness,
    csrf_from,
    harness,
)

ANY: frozenset[Role] = frozenset(ROLES)
SAFETY: frozenset[Role] = frozenset({"safety", "admin"})
ADMIN: frozenset[Role] = frozenset({"admin"})

# What a path parameter is filled with: a seeded post, or the spare account admin actions may change.
SAMPLES = {"post_id": THREAT_ID, "id": THREAT_ID, "name": SPARE_USER}

Form = Mapping[str, str | list[str]]


@dataclass(frozen=True)
class Rule:
    method: str
    path: str  # as the app declares it, e.g. "/inlagg/{post_id:path}"
    allowed: frozenset[Role] | None  # None: public (the login form)
    form: Form = field(default_factory=dict)  # what a POST sends besides the CSRF token
    signs_out: bool = False  # a right answer is the redirect to the login page

    @property
    def url(self) -> str:
        def sample(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in SAMPLES, f"no sample value for the path parameter {name!r} of {self.path}"
            return SAMPLES[name]

        return re.sub(r"\{(\w+)(?::\w+)?\}", sample, self.path)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


RULES = [
    Rule("GET", "/logga-in", None),
    Rule("POST", "/logga-in", None),
    Rule("POST", "/logga-ut", ANY, signs_out=True),
    Rule("GET", "/konto", ANY),
    Rule("GET", "/", ANY),
    Rule("POST", "/filter", ANY, {"q": "", "sort": "severity"}),
    Rule("GET", "/inlagg/{post_id:path}", ANY),
    Rule("POST", "/inlagg/{post_id:path}/granska", ANY, {"action": "note", "note": "Granskad i behörighetstestet."}),
    Rule("GET", "/inlagg/{post_id:path}/bevis", SAFETY),
    Rule("POST", "/inlagg/{post_id:path}/bevispaket", SAFETY, {"reason": "Behörighetstestet."}),
    Rule("POST", "/massatgard", ANY, {"action": "assign", "assignee": USERS["reviewer"], "post_id": [HARASSMENT_ID]}),
    Rule("GET", "/export.csv", ANY),
    Rule("GET", "/rapport", ANY),
    Rule("GET", "/export/korrigeringar.jsonl", SAFETY),
    Rule("GET", "/oversikt", ANY),
    Rule("GET", "/admin/logg", ADMIN),
    Rule("GET", "/admin/anvandare", ADMIN),
    Rule("POST", "/admin/anvandare", ADMIN, {"name": "ny-granskare", "role": "reviewer", "password": PASSWORD}),
    Rule("POST", "/admin/anvandare/{name}", ADMIN, {"action": "role", "role": "reviewer"}),
    Rule("GET", "/admin/installningar", ADMIN),
]
PROTECTED = [rule for rule in RULES if rule.allowed is not None]
PROTECTED_POSTS = [rule for rule in PROTECTED if rule.method == "POST"]


def rule_id(rule: Rule) -> str:
    return f"{rule.method} {rule.path}"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with harness(tmp_path_factory.mktemp("access") / "var") as built:
        yield built


def client_for(app: Harness, name: str | None) -> tuple[TestClient, str]:
    """A client signed in as ``name`` (None: nobody) and the session's CSRF token."""
    client = TestClient(app.app, follow_redirects=False)
    if name is None:
        return client, ""
    session = app.open_session(name)
    client.cookies.set(app.cookie_name, session.token)
    return client, session.csrf


def send(client: TestClient, rule: Rule, csrf: str | None) -> Response:
    if rule.method == "GET":
        return client.get(rule.url)
    form = dict(rule.form) | ({"csrf": csrf} if csrf is not None else {})
    return client.post(rule.url, data=form)


def goes_to_login(response: Response) -> bool:
    return response.status_code == 303 and response.headers["location"].endswith("/logga-in")


def app_routes(app: Harness) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.app.routes):
        route = context.original_route
        if isinstance(route, Mount) and route.path == "/static":
            continue
        assert isinstance(route, APIRoute), f"unexpected kind of route: {route!r}"
        assert context.path is not None
        found.update((method, context.path) for method in context.methods or () if method != "HEAD")
    return found


def test_every_route_has_an_access_rule(app: Harness) -> None:
    routes = app_routes(app)
    ruled = {rule.key for rule in RULES}
    assert not routes - ruled, f"routes without an access rule in RULES: {sorted(routes - ruled)}"
    assert not ruled - routes, f"rules for routes the app does not serve: {sorted(ruled - routes)}"
    assert len(ruled) == len(RULES), "two rules for one route"


@pytest.mark.parametrize("rule", PROTECTED, ids=rule_id)
def test_access_matrix(app: Harness, rule: Rule) -> None:
    if rule.key not in app_routes(app):
        pytest.fail(f"{rule_id(rule)} is not served by the app")
    assert rule.allowed is not None
    client, _ = client_for(app, None)
    response = send(client, rule, csrf=None)
    if rule.method == "GET":
        assert goes_to_login(response), (response.status_code, response.headers.get("location"))
    else:
        assert response.status_code == 401 or goes_to_login(response), response.status_code
    for role in ROLES:
        client, csrf = client_for(app, USERS[role])
        response = send(client, rule, csrf)
        if role in rule.allowed:
            assert response.status_code not in (401, 403), (role, response.status_code, response.text[:500])
            assert response.status_code < 500, (role, response.status_code)
            assert goes_to_login(response) == rule.signs_out, (role, response.status_code)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text[:500])
            assert "Åtkomst nekad" in response.text


@pytest.mark.parametrize("rule", PROTECTED_POSTS, ids=rule_id)
def test_post_without_or_with_a_wrong_csrf_token_is_refused(app: Harness, rule: Rule) -> None:
    if rule.key not in app_routes(app):
        pytest.fail(f"{rule_id(rule)} is not served by the app")
    assert rule.allowed is not None
    name = USERS["admin"] if rule.allowed == ADMIN else USERS["reviewer"]
    client, csrf = client_for(app, name)
    before = app.store.audit_log(limit=10_000)
    status = {
        post_id: stored.review_status for post_id in (THREAT_ID, HARASSMENT_ID) if (stored := app.store.get(post_id))
    }
    for token in (None, "", csrf[:-2] + "xx", client_for(app, USERS["safety"])[1]):
        response = send(client, rule, token)
        assert response.status_code == 403, (token, response.status_code)
        assert "CSRF" in response.text
    assert app.store.audit_log(limit=10_000) == before, "a refused request changed the audit log"
    assert {p: s.review_status for p in status if (s := app.store.get(p))} == status
    assert client.get("/konto").status_code == 200, "the session ended"


def test_a_verdict_posted_without_csrf_changes_nothing(app: Harness) -> None:
    client, _ = client_for(app, USERS["safety"])
    before = app.store.get(DOXX_ID)
    assert before is not None
    response = client.post(f"/inlagg/{DOXX_ID}/granska", data={"action": "escalate"})
    assert response.status_code == 403
    after = app.store.get(DOXX_ID)
    assert after is not None and after.review_status == before.review_status
    assert after.reviewed_by == before.reviewed_by


# -- headers and cookies ------------------------------------------------------------------------------------


def check_security_headers(response: Response, what: str) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()}
    assert directives.get("script-src") == "script-src 'self'", (what, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (what, csp)
    assert "default-src" in directives, (what, csp)
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    if not what.startswith("GET /static/"):
        assert "no-store" in headers.get("cache-control", ""), what


def test_security_headers_on_every_response(app: Harness) -> None:
    nobody, _ = client_for(app, None)
    seen: list[tuple[str, Response]] = [
        ("GET /logga-in", nobody.get("/logga-in")),
        (
            "POST /logga-in (wrong)",
            nobody.post("/logga-in", data={"name": "granskare", "password": "fel-losenord-123"}),
        ),
        ("GET / (redirect)", nobody.get("/")),
        ("POST /logga-ut (401)", nobody.post("/logga-ut", data={})),
        ("GET /finns-inte (404)", nobody.get("/finns-inte")),
        ("GET /static/app.css", nobody.get("/static/app.css")),
        ("GET /static/app.js", nobody.get("/static/app.js")),
    ]
    for role, name in USERS.items():
        client, _ = client_for(app, name)
        for rule in RULES:
            if rule.method == "GET" and rule.key in app_routes(app):
                seen.append((f"{rule_id(rule)} as {role}", client.get(rule.url)))
        seen.append((f"GET /inlagg/finns:inte as {role}", client.get("/inlagg/finns:inte")))
        seen.append((f"POST /logga-ut without csrf as {role}", client.post("/logga-ut", data={})))
    for what, response in seen:
        check_security_headers(response, what)
    pages = [r for what, r in seen if r.headers.get("content-type", "").startswith("text/html")]
    assert len(pages) > 10


def test_an_internal_error_still_carries_the_security_headers(tmp_path: Path) -> None:
    with harness(tmp_path / "var", seed_posts=False) as broken:
        session = broken.open_session(USERS["reviewer"])
        client = TestClient(broken.app, follow_redirects=False, raise_server_exceptions=False)
        client.cookies.set(broken.cookie_name, session.token)
        broken.store.close()  # every page that reads the store now fails
        response = client.get("/")
        assert response.status_code == 500
        check_security_headers(response, "GET / failing with 500")


def set_cookie_attributes(response: Response) -> tuple[str, dict[str, str]]:
    header = response.headers["set-cookie"]
    first, *attributes = (part.strip() for part in header.split(";"))
    name = first.split("=", 1)[0]
    parsed = {}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value
    return name, parsed


def login(client: TestClient, name: str, password: str = PASSWORD) -> Response:
    return client.post("/logga-in", data={"name": name, "password": password})


def test_login_sets_an_httponly_samesite_strict_session_cookie(app: Harness) -> None:
    client, _ = client_for(app, None)
    response = login(client, USERS["reviewer"])
    assert response.status_code == 303 and response.headers["location"] == "/"
    name, attributes = set_cookie_attributes(response)
    assert name == "vaktpost_session"
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "strict"
    assert attributes.get("path") == "/"
    assert "max-age" not in attributes and "expires" not in attributes, (
        "the session cookie must not outlive the browser"
    )
    assert client.get("/konto").status_code == 200
    signed_in = client.get("/logga-in")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"


def test_behind_tls_the_cookie_is_host_prefixed_and_secure(tmp_path: Path) -> None:
    with harness(tmp_path / "var", seed_posts=False, behind_tls=True) as tls:
        client = TestClient(tls.app, base_url="https://testserver", follow_redirects=False)
        response = login(client, USERS["safety"])
        assert response.status_code == 303
        name, attributes = set_cookie_attributes(response)
        assert name == "__Host-vaktpost_session"
        assert "secure" in attributes and "httponly" in attributes
        assert attributes.get("samesite", "").lower() == "strict"
        assert attributes.get("path") == "/" and "domain" not in attributes
        assert "max-age=" in response.headers.get("strict-transport-security", "")
        assert client.get("/konto").status_code == 200
        plain = TestClient(tls.app, follow_redirects=False)
        plain.cookies.set("vaktpost_session", client.cookies[name])
        assert goes_to_login(plain.get("/konto")), "the unprefixed cookie name must not be accepted behind TLS"


def test_wrong_password_and_unknown_user_get_the_same_answer(app: Harness) -> None:
    client, _ = client_for(app, None)
    wrong = login(client, USERS["admin"], "inte-ratt-losenord")
    unknown = login(client, "finns-inte", "inte-ratt-losenord")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Fel användarnamn eller lösenord." in response.text
        assert "set-cookie" not in response.headers


def test_logout_ends_the_session_on_the_server(app: Harness) -> None:
    client, _ = client_for(app, None)
    login(client, USERS["reviewer"])
    token = client.cookies["vaktpost_session"]
    csrf = csrf_from(client.get("/konto").text)
    response = client.post("/logga-ut", data={"csrf": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/logga-in"
    replay = TestClient(app.app, follow_redirects=False)
    replay.cookies.set("vaktpost_session", token)
    assert goes_to_login(replay.get("/konto")), "a logged-out session token still works"


def test_login_is_throttled_after_too_many_failures(tmp_path: Path) -> None:
    with harness(tmp_path / "var", seed_posts=False, login_attempts=3) as throttled:
        client = TestClient(throttled.app, follow_redirects=False)
        for _ in range(3):
            assert login(client, USERS["reviewer"], "gissat-losenord-1").status_code == 401
        refused = login(client, USERS["reviewer"])
        assert refused.status_code == 429, refused.status_code
        assert "För många misslyckade inloggningar" in refused.text
        assert "set-cookie" not in refused.headers
        # The client's address is throttled too: guessing on to another account gets nowhere.
        assert login(client, USERS["safety"]).status_code == 429


def test_an_idle_session_ends(tmp_path: Path) -> None:
    with harness(tmp_path / "var", seed_posts=False, idle=timedelta(seconds=1)) as idle:
        client = TestClient(idle.app, follow_redirects=False)
        assert login(client, USERS["reviewer"]).status_code == 303
        page = client.get("/konto")
        assert page.status_code == 200
        csrf = csrf_from(page.text)
        time.sleep(1.3)
        assert goes_to_login(client.get("/konto"))
        assert client.post("/logga-ut", data={"csrf": csrf}).status_code == 401


# -- links ----------------------------------------------------------------------------------------------------

HREF = re.compile(r'href="(/[^"]*)"')
CRAWLED = ["/", "/?sida=2", f"/inlagg/{DOXX_ID}", f"/inlagg/{THREAT_ID}", "/oversikt", "/oversikt?dagar=7", "/rapport"]
CRAWLED_ADMIN = ["/konto", "/admin/logg", "/admin/anvandare", "/admin/installningar"]


def test_every_link_in_the_pages_leads_somewhere(app: Harness) -> None:
    client, _ = client_for(app, USERS["admin"])
    client.get(f"/inlagg/{DOXX_ID}")  # a doxxing post's view is audited: the audit log then links to a post
    links: dict[str, str] = {}
    for page in CRAWLED + CRAWLED_ADMIN:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        for href in HREF.findall(response.text):
            links.setdefault(href.replace("&amp;", "&"), page)
    broken = {}
    for href, page in sorted(links.items()):
        status = client.get(href).status_code
        if status >= 400:
            broken[href] = f"{status} (linked from {page})"
    examples = dict(list(broken.items())[:5])
    assert not broken, f"{len(broken)} broken links, for example {examples}"


def test_the_link_an_alert_carries_opens_the_post(app: Harness) -> None:
    from alerts.rules import review_link

    client, _ = client_for(app, USERS["safety"])
    link = review_link("http://testserver", DOXX_ID)
    response = client.get(link, follow_redirects=True)
    assert response.status_code == 200, (link, response.status_code)
    assert "Hon som tog barnen" in response.text
