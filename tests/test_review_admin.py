"""The overview and the admin pages of the review app, through HTTP with a real store and real accounts."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from index.sqlite import SQLiteStore
from review.accounts import Accounts
from review.app import create_app
from review.routes import overview
from review.routes.admin import settings_rows
from review.routes.overview import busiest, period
from tests.factories import analysed
from vaktpost.schema import AnalysedPost, Label
from vaktpost.settings import AlertSettings, ElasticsearchSettings, Settings, StoreSettings

PASSWORD = "a long password 123"
SECRETS = {
    "pseudonym_key": "pseudonym-secret-4f9a2c",
    "watchlist_key": "watchlist-secret-77b1e0",
    "es_api_key": "es-api-key-secret-0d3e",
    "es_password": "es-password-secret-9a1b",
}


@dataclass
class App:
    settings: Settings
    store: SQLiteStore
    accounts: Accounts
    tmp: Path

    def client(self, name: str | None = None) -> TestClient:
        client = TestClient(create_app(self.settings, store=self.store, accounts=self.accounts))
        client.follow_redirects = False
        if name is not None:
            login(client, name)
        return client


def login(client: TestClient, name: str, password: str = PASSWORD) -> None:
    response = client.post("/logga-in", data={"name": name, "password": password})
    assert response.status_code == 303, response.text


def csrf(client: TestClient, page: str = "/konto") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


@pytest.fixture(scope="module")
def accounts_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three accounts, hashed once for the module (an argon2 hash takes a good part of a second)."""
    path = tmp_path_factory.mktemp("accounts") / "a.db"
    accounts = Accounts(path)
    for name, role in (("granskare", "reviewer"), ("sakerhet", "safety"), ("admin", "admin")):
        accounts.add_user(name, role, PASSWORD)
    accounts.close()  # the last connection: SQLite folds the WAL back into the file
    return path


@pytest.fixture
def app(tmp_path: Path, accounts_template: Path) -> Iterator[App]:
    settings = Settings(
        data_dir=tmp_path / "var",
        pseudonym_key=SecretStr(SECRETS["pseudonym_key"]),
        watchlist_key=SecretStr(SECRETS["watchlist_key"]),
        store=StoreSettings(
            elasticsearch=ElasticsearchSettings(
                api_key=SecretStr(SECRETS["es_api_key"]), password=SecretStr(SECRETS["es_password"])
            )
        ),
    )
    store = SQLiteStore(tmp_path / "s.db")
    shutil.copyfile(accounts_template, tmp_path / "a.db")
    accounts = Accounts(tmp_path / "a.db")
    yield App(settings, store, accounts, tmp_path)
    store.close()
    accounts.close()


def recent(
    number: int,
    days_ago: int,
    flags: tuple[Label, ...],
    source: str = "flashback",
    thread: str = "t1",
    author: str | None = None,
    title: str | None = None,
) -> AnalysedPost:
    item = analysed(number, flags=flags, source=source)
    created = datetime.now(UTC) - timedelta(days=days_ago, minutes=number)
    post = item.post.model_copy(
        update={
            "created_at": created,
            "collected_at": created + timedelta(hours=1),
            "thread_id": f"{source}:{thread}",
            "author_id": author or item.post.author_id,
            "title": title,
        }
    )
    return item.model_copy(update={"post": post})


def seed(store: SQLiteStore) -> None:
    posts = [
        recent(n, 1, ("threat",), source="granhultforum", thread="hot", author="pseudo-busy-0001") for n in range(13)
    ]
    posts += [recent(100 + n, 3, ("doxxing", "harassment"), source="kommunchatt", thread="dox") for n in range(4)]
    posts.append(recent(200, 2, ("threat",), source="granhultforum", thread="hot", title="<script>alert(1)</script>"))
    posts.append(recent(300, 0, ()))  # not flagged: not counted
    posts.append(recent(400, 45, ("threat",), source="gammaltforum"))  # outside the 30 days
    store.upsert(posts)


# -- the overview ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["granskare", "sakerhet", "admin"])
def test_overview_shows_the_numbers_to_every_role(app: App, name: str) -> None:
    seed(app.store)
    client = app.client(name)
    page = client.get("/oversikt")
    assert page.status_code == 200
    html = page.text
    assert '<strong id="totalt">18</strong>' in html  # 14 + 4 flagged posts in the last 30 days
    assert 'granhultforum</th><td class="num">14</td>' in html
    assert 'kommunchatt</th><td class="num">4</td>' in html
    assert "gammaltforum" not in html
    assert 'Hot</th><td class="num">14</td>' in html
    assert 'Doxning</th><td class="num">4</td>' in html
    assert "<svg" in html and "granhultforum: 14" in html  # the chart's bar title
    assert "<title" in html
    # the busiest thread and account: the thread's first post linked, the pseudonym shortened, no names
    assert 'href="/inlagg/granhultforum%3A' in html
    assert "granhultforum:hot" in html
    assert "pseudo-bus…" in html
    assert "Nick" not in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "style=" not in html
    assert any(entry.action == "overview_view" and entry.actor == name for entry in app.store.audit_log())


def test_overview_periods(app: App) -> None:
    seed(app.store)
    client = app.client("granskare")
    week = client.get("/oversikt?dagar=7").text
    assert '<strong id="totalt">18</strong>' in week
    assert '<strong id="totalt">19</strong>' in client.get("/oversikt?dagar=90").text
    for odd in ("5", "abc", "-1", "99999999999999999999"):
        page = client.get(f"/oversikt?dagar={odd}")
        assert page.status_code == 200
        assert 'aria-current="page">30 dagar' in page.text


def test_overview_numbers_are_cached_for_a_minute(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.client("granskare")
    assert '<strong id="totalt">0</strong>' in client.get("/oversikt").text
    seed(app.store)
    assert '<strong id="totalt">0</strong>' in client.get("/oversikt").text  # the same minute: cached
    assert '<strong id="totalt">18</strong>' in client.get("/oversikt?dagar=7").text  # another period
    monkeypatch.setattr(overview, "CACHE_SECONDS", 0.0)
    assert '<strong id="totalt">18</strong>' in client.get("/oversikt").text
    assert len([e for e in app.store.audit_log() if e.action == "overview_view"]) == 4  # every view is audited


def test_overview_without_posts(app: App) -> None:
    page = app.client("granskare").get("/oversikt")
    assert page.status_code == 200
    assert '<strong id="totalt">0</strong>' in page.text
    assert "Inga flaggade inlägg under perioden." in page.text


def test_overview_needs_a_login(app: App) -> None:
    response = app.client().get("/oversikt")
    assert response.status_code == 303
    assert response.headers["location"] == "/logga-in"


def test_period_is_whole_utc_days() -> None:
    since, until, days = period(7, datetime(2026, 12, 4, 23, 30, tzinfo=UTC))
    assert since == datetime(2026, 11, 28, tzinfo=UTC)
    assert until == datetime(2026, 12, 5, tzinfo=UTC)
    assert len(days) == 7 and days[-1].isoformat() == "2026-12-04"


def test_busiest_scans_at_most_the_limit(app: App) -> None:
    seed(app.store)
    since, until, _ = period(30, datetime.now(UTC))
    top = busiest(app.store, since, until, limit=5)
    assert (top.scanned, top.total) == (5, 18)
    full = busiest(app.store, since, until)
    assert [(t.thread_id, t.posts) for t in full.threads] == [("granhultforum:hot", 14), ("kommunchatt:dox", 4)]
    assert full.threads[0].title == "<script>alert(1)</script>"
    assert full.accounts[0].author_id == "pseudo-busy-0001" and full.accounts[0].posts == 13


# -- access to the admin pages ---------------------------------------------------------------------

ADMIN_PAGES = ["/admin/logg", "/admin/anvandare", "/admin/installningar"]


@pytest.mark.parametrize("name", ["granskare", "sakerhet"])
def test_admin_pages_are_forbidden_to_other_roles(app: App, name: str) -> None:
    client = app.client(name)
    for page in ADMIN_PAGES:
        response = client.get(page)
        assert response.status_code == 403, page
        assert "Åtkomst nekad" in response.text
    token = csrf(client)
    response = client.post(
        "/admin/anvandare", data={"csrf": token, "name": "ny", "role": "admin", "password": PASSWORD}
    )
    assert response.status_code == 403
    response = client.post("/admin/anvandare/admin", data={"csrf": token, "action": "disable"})
    assert response.status_code == 403
    assert app.accounts.get_user("ny") is None
    user = app.accounts.get_user("admin")
    assert user is not None and not user.disabled


def test_admin_pages_open_for_admins(app: App) -> None:
    client = app.client("admin")
    for page in ADMIN_PAGES:
        assert client.get(page).status_code == 200, page


def test_admin_pages_need_a_login(app: App) -> None:
    client = app.client()
    for page in ADMIN_PAGES:
        assert client.get(page).headers["location"] == "/logga-in"
    assert client.post("/admin/anvandare", data={"name": "x"}).status_code == 401


# -- the audit log -----------------------------------------------------------------------------------


def test_audit_log_pages(app: App) -> None:
    for number in range(230):
        app.store.audit("granskare", "view", f"flashback:{number}", f"detalj {number}")
    client = app.client("admin")  # the login is the newest entry
    first = client.get("/admin/logg").text
    assert "Inloggning" in first and "detalj 229" in first and "detalj 131" in first and "detalj 130" not in first
    assert 'href="/inlagg/flashback%3A229"' in first
    assert 'href="/admin/logg?sida=2"' in first and "Nyare" not in first
    second = client.get("/admin/logg?sida=2").text
    assert "detalj 130" in second and "detalj 31" in second and "detalj 30<" not in second
    assert 'href="/admin/logg?sida=1"' in second and 'href="/admin/logg?sida=3"' in second
    third = client.get("/admin/logg?sida=3").text
    assert "detalj 30<" in third and "detalj 0<" in third and "sida=4" not in third
    assert "Inga poster" in client.get("/admin/logg?sida=9").text
    assert client.get("/admin/logg?sida=nej").status_code == 200


def test_audit_log_escapes_what_it_shows(app: App) -> None:
    app.store.audit("<b>actor</b>", "<i>action</i>", None, "<script>alert(1)</script>")
    html = app.client("admin").get("/admin/logg").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "<b>actor" not in html and "<i>action" not in html


# -- accounts ----------------------------------------------------------------------------------------


def test_add_user_and_sign_in(app: App) -> None:
    client = app.client("admin")
    token = csrf(client, "/admin/anvandare")
    response = client.post(
        "/admin/anvandare", data={"csrf": token, "name": " Ny.Granskare ", "role": "safety", "password": PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/anvandare?klart=tillagd"
    assert "Kontot har skapats." in client.get(response.headers["location"]).text
    user = app.accounts.get_user("ny.granskare")
    assert user is not None and user.role == "safety"
    assert "ny.granskare" in client.get("/admin/anvandare").text
    app.client("ny.granskare")  # the new account can sign in
    entry = next(e for e in app.store.audit_log(actor="admin") if e.action == "user_add")
    assert "ny.granskare" in entry.detail and "safety" in entry.detail and PASSWORD not in entry.detail


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "x", "role": "reviewer", "password": PASSWORD}, "Användarnamnet ska vara 2–40 tecken"),
        ({"name": "<script>", "role": "reviewer", "password": PASSWORD}, "Användarnamnet ska vara 2–40 tecken"),
        ({"name": "nisse", "role": "king", "password": PASSWORD}, "Okänd roll"),
        ({"name": "nisse", "role": "reviewer", "password": "kort"}, "Lösenordet måste ha minst 12 tecken"),
        ({"name": "granskare", "role": "reviewer", "password": PASSWORD}, "Det finns redan ett konto"),
    ],
)
def test_add_user_errors_in_swedish(app: App, form: dict[str, str], message: str) -> None:
    client = app.client("admin")
    response = client.post("/admin/anvandare", data={"csrf": csrf(client), **form})
    assert response.status_code == 400
    assert message in response.text
    assert "<script>" not in response.text.split("<main", 1)[1]
    assert [u.name for u in app.accounts.users()] == ["admin", "granskare", "sakerhet"]
    assert not [e for e in app.store.audit_log() if e.action == "user_add"]


def test_disable_ends_the_session_and_enable_restores_login(app: App) -> None:
    reviewer = app.client("granskare")
    assert reviewer.get("/konto").status_code == 200
    admin = app.client("admin")
    token = csrf(admin)
    response = admin.post("/admin/anvandare/granskare", data={"csrf": token, "action": "disable"})
    assert response.status_code == 303
    assert "Avstängt" in admin.get("/admin/anvandare").text
    assert reviewer.get("/konto").headers["location"] == "/logga-in"  # the session is gone
    assert reviewer.post("/logga-in", data={"name": "granskare", "password": PASSWORD}).status_code == 401
    assert admin.post("/admin/anvandare/granskare", data={"csrf": token, "action": "enable"}).status_code == 303
    login(reviewer, "granskare")
    actions = [e.action for e in app.store.audit_log(actor="admin")]
    assert "user_disable" in actions and "user_enable" in actions


def test_change_role(app: App) -> None:
    reviewer = app.client("granskare")
    assert reviewer.get("/admin/logg").status_code == 403
    admin = app.client("admin")
    response = admin.post("/admin/anvandare/granskare", data={"csrf": csrf(admin), "action": "role", "role": "admin"})
    assert response.status_code == 303
    assert reviewer.get("/admin/logg").status_code == 200  # the role is checked on every request
    entry = next(e for e in app.store.audit_log(actor="admin") if e.action == "user_role")
    assert entry.detail == "konto=granskare roll=reviewer->admin"
    bad = admin.post("/admin/anvandare/granskare", data={"csrf": csrf(admin), "action": "role", "role": "king"})
    assert bad.status_code == 400 and "Okänd roll" in bad.text


def test_change_password(app: App) -> None:
    reviewer = app.client("granskare")
    admin = app.client("admin")
    new = "ett helt nytt lösenord 456"
    token = csrf(admin)
    short = admin.post("/admin/anvandare/granskare", data={"csrf": token, "action": "password", "password": "kort"})
    assert short.status_code == 400 and "minst 12 tecken" in short.text
    response = admin.post("/admin/anvandare/granskare", data={"csrf": token, "action": "password", "password": new})
    assert response.status_code == 303
    assert reviewer.get("/konto").headers["location"] == "/logga-in"  # signed out everywhere
    assert reviewer.post("/logga-in", data={"name": "granskare", "password": PASSWORD}).status_code == 401
    login(reviewer, "granskare", new)
    entry = next(e for e in app.store.audit_log(actor="admin") if e.action == "user_password")
    assert entry.detail == "konto=granskare"
    assert all(new not in e.detail and PASSWORD not in e.detail for e in app.store.audit_log())


def test_own_new_password_ends_the_own_session(app: App) -> None:
    admin = app.client("admin")
    new = "mitt nya långa lösenord"
    response = admin.post("/admin/anvandare/admin", data={"csrf": csrf(admin), "action": "password", "password": new})
    assert response.headers["location"] == "/logga-in"
    assert admin.get("/admin/logg").headers["location"] == "/logga-in"
    login(admin, "admin", new)


def test_admins_cannot_lock_themselves_out(app: App) -> None:
    admin = app.client("admin")
    token = csrf(admin)
    for form in ({"action": "disable"}, {"action": "role", "role": "reviewer"}):
        response = admin.post("/admin/anvandare/admin", data={"csrf": token, **form})
        assert response.status_code == 400
        assert "ditt eget konto" in response.text
    user = app.accounts.get_user("admin")
    assert user is not None and user.role == "admin" and not user.disabled


def test_unknown_account_and_action(app: App) -> None:
    admin = app.client("admin")
    token = csrf(admin)
    missing = admin.post("/admin/anvandare/finns-inte", data={"csrf": token, "action": "disable"})
    assert missing.status_code == 404 and "Det finns inget konto" in missing.text
    odd = admin.post("/admin/anvandare/granskare", data={"csrf": token, "action": "delete"})
    assert odd.status_code == 400 and "Okänd ändring" in odd.text


def test_changes_need_the_csrf_token(app: App) -> None:
    admin = app.client("admin")
    for form in ({}, {"csrf": "fel"}):
        added = admin.post("/admin/anvandare", data={**form, "name": "nisse", "role": "admin", "password": PASSWORD})
        assert added.status_code == 403
        assert "CSRF" in added.text
        disabled = admin.post("/admin/anvandare/granskare", data={**form, "action": "disable"})
        assert disabled.status_code == 403
    assert app.accounts.get_user("nisse") is None
    user = app.accounts.get_user("granskare")
    assert user is not None and not user.disabled


# -- settings ----------------------------------------------------------------------------------------


def test_settings_page_never_shows_secrets(app: App) -> None:
    page = app.client("admin").get("/admin/installningar")
    assert page.status_code == 200
    html = page.text
    for secret in SECRETS.values():
        assert secret not in html
    assert "**********" not in html
    for key in ("pseudonym_key", "watchlist_key", "store.elasticsearch.api_key", "store.elasticsearch.password"):
        assert re.search(rf"<code>{re.escape(key)}</code></th><td><em>dold</em></td>", html), key
    assert "sqlite" in html and "Schemaversion" in html and f"<dd>{app.store.schema_version()}</dd>" in html
    assert "kan inte ändras i webbläsaren" in html
    assert "<form" not in html.split("<main", 1)[1]  # nothing to submit but the logout in the header


def test_settings_rows_hide_unset_secrets_and_credentials_in_urls(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        store=StoreSettings(
            elasticsearch=ElasticsearchSettings(hosts=["https://elastic:hunter2-secret@es.example:9200"])
        ),
    )
    rows = {row.key: row for group in settings_rows(settings).values() for row in group}
    assert rows["pseudonym_key"].value == "inte satt" and rows["pseudonym_key"].secret
    assert rows["watchlist_key"].value == "inte satt"
    assert "hunter2" not in rows["store.elasticsearch.hosts"].value
    assert rows["store.elasticsearch.hosts"].value == "https://dold@es.example:9200"
    assert rows["review.port"].value == "8000"
    assert rows["analysis.thresholds.threat"].value == "0.5"


def test_settings_rows_hide_any_value_holding_a_secret(tmp_path: Path) -> None:
    secret = "samma-hemlighet-123"
    settings = Settings(
        data_dir=tmp_path, pseudonym_key=SecretStr(secret), alerts=AlertSettings(review_url=f"https://{secret}")
    )
    rows = {row.key: row for group in settings_rows(settings).values() for row in group}
    assert rows["alerts.review_url"].value == "dold"
    assert all(secret not in row.value for row in rows.values())
