"""The review app in a real headless Chromium (Playwright): signing in and out, the queue's filters, the post
view's highlights, verdicts, CSRF, XSS payloads in every outside field, and triaging a real demo run.

The app runs with uvicorn in a background thread (tests/review_harness.py). Screenshots of the main pages are
saved under build/test-artifacts/screenshots/ for a human to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Response, sync_playwright

from tests.review_harness import (
    DISINFORMATION_ID,
    DOXX_ADDRESS,
    DOXX_ID,
    DOXX_NAME,
    HARASSMENT_ID,
    PASSWORD,
    SCREENSHOTS,
    SCRIPT_URLS,
    SEARCH_WORD,
    THREAT_ID,
    THREAT_REASON,
    USERS,
    LiveApp,
    running_app,
    seeded_posts,
    xss_payloads,
    xss_post_id,
)

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} for Playwright to drive")

# Markers for anything a payload manages to run: every call lands in window.__fired, every CSP violation in
# window.__csp. Installed before any of the page's own scripts, in every frame.
MARKERS = """
(() => {
  const record = (kind) => (value) => {
    window.__fired = (window.__fired || []).concat([kind + ":" + String(value)]);
  };
  window.__xss = record("xss");
  window.alert = record("alert");
  window.confirm = record("confirm");
  window.prompt = record("prompt");
  document.addEventListener("securitypolicyviolation", (event) => {
    window.__csp = (window.__csp || []).concat([event.violatedDirective + " " + event.blockedURI]);
  });
})();
"""

# What must never be in a page of the app, whatever the posts say: event-handler attributes, script URLs,
# frames, scripts but the app's own, refreshes, base URLs, and the elements the payloads try to plant.
DOM_CHECK = """
() => {
  const bad = [];
  const urlAttributes = ["href", "src", "action", "formaction", "data", "xlink:href", "background", "poster"];
  for (const element of document.querySelectorAll("*")) {
    const tag = element.tagName.toLowerCase();
    for (const attribute of element.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\\u0000-\\u0020]/g, "").toLowerCase();
      if (name.startsWith("on")) bad.push(`${tag}[${name}]`);
      if (name === "srcdoc") bad.push(`${tag}[srcdoc]`);
      if (urlAttributes.includes(name) && /^(javascript|vbscript|data:text\\/html)/.test(value)) {
        bad.push(`${tag}[${name}=${attribute.value.slice(0, 40)}]`);
      }
    }
    if (["iframe", "frame", "frameset", "object", "embed", "base", "img", "video", "audio", "source", "math",
         "marquee", "x", "noscript", "animate", "set", "foreignobject"].includes(tag)) bad.push(tag);
    if (tag === "svg" && !element.closest("figure.chart")) bad.push("svg outside a chart");
    if (tag === "meta" && element.hasAttribute("http-equiv")) bad.push("meta[http-equiv]");
    if (tag === "script" && element.getAttribute("src") !== "/static/app.js") bad.push("script");
    if (tag === "style") bad.push("style");
    if (tag === "link" && element.getAttribute("href") !== "/static/app.css") bad.push("link");
    if (tag === "input" && element.hasAttribute("autofocus") && element.id !== "name") bad.push("input[autofocus]");
  }
  return bad;
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with running_app(tmp_path_factory.mktemp("browser") / "var", page_size=10) as app:
        yield app


@dataclass
class Tab:
    """A page in its own browser context (its own cookies), with what it saw."""

    page: Page
    url: str
    dialogs: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # stylesheets, scripts, fonts, images that failed to load

    def go(self, path: str) -> Response:
        response = self.page.goto(self.url + path, wait_until="load")
        assert response is not None, path
        return response

    def login(self, name: str, password: str = PASSWORD) -> None:
        self.go("/logga-in")
        self.page.fill("#name", name)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("button:has-text('Logga in')")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def fired(self) -> list[str]:
        found: list[str] = []
        for frame in self.page.frames:
            try:
                found += frame.evaluate("window.__fired || []")
            except Exception as error:  # a cross-origin frame: it should not exist at all (DOM_CHECK)
                found.append(f"unreadable frame {frame.url[:60]}: {type(error).__name__}")
        return found


@contextmanager
def tab(browser: Browser, live: LiveApp, user: str | None = None, *, bypass_csp: bool = False) -> Iterator[Tab]:
    context = browser.new_context(bypass_csp=bypass_csp, viewport={"width": 1280, "height": 900}, locale="sv-SE")
    context.add_init_script(MARKERS)
    context.set_default_timeout(10_000)
    page = context.new_page()
    opened = Tab(page, live.url)

    def on_dialog(dialog: Dialog) -> None:
        opened.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_response(response: Response) -> None:
        kind = response.request.resource_type
        if response.status >= 400 and kind != "document" and not response.url.endswith("/favicon.ico"):
            opened.broken.append(f"{kind} {response.url} {response.status}")

    page.on("dialog", on_dialog)
    page.on("response", on_response)
    try:
        if user is not None:
            opened.login(user)
            assert page.url == live.url + "/", f"{user} did not land on the queue: {page.url}"
        yield opened
    finally:
        context.close()


def open_filters(page: Page) -> None:
    page.locator("details.queue-filters").evaluate("details => { details.open = true; }")


def post_path(post_id: str) -> str:
    return "/inlagg/" + post_id.replace(":", "%3A")


def queue_ids(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("a[data-post-link]").all_text_contents()]


def row_for(page: Page, post_id: str) -> Callable[[int], str]:
    row = page.locator("table.queue tbody tr").filter(has=page.locator(f"a[data-post-link]:text-is('{post_id}')"))

    def cell(index: int) -> str:
        return row.locator("td").nth(index).inner_text().strip()

    return cell


STATUS_COLUMN = 7
ASSIGNEE_COLUMN = 8


# -- signing in and out -----------------------------------------------------------------------------------


def test_login_with_a_wrong_password_then_the_right_one_then_logout(browser: Browser, live: LiveApp) -> None:
    with tab(browser, live) as t:
        t.go("/")
        assert t.page.url == live.url + "/logga-in", "an anonymous visitor is not sent to the login page"
        t.page.fill("#name", USERS["reviewer"])
        t.page.fill("#password", "fel-losenord-123")
        with t.page.expect_response(lambda r: r.url.endswith("/logga-in") and r.request.method == "POST") as answer:
            t.page.click("button:has-text('Logga in')")
        assert answer.value.status == 401
        error = t.page.locator("p.error[role=alert]")
        assert error.is_visible() and error.inner_text() == "Fel användarnamn eller lösenord."
        t.shot("01-logga-in-fel-losenord")
        t.page.fill("#name", USERS["reviewer"])
        t.page.fill("#password", PASSWORD)
        with t.page.expect_navigation():
            t.page.click("button:has-text('Logga in')")
        assert t.page.url == live.url + "/"
        assert t.page.locator("h1").inner_text() == "Granskningskön"
        assert USERS["reviewer"] in t.page.locator(".who").inner_text()
        cookies = t.page.context.cookies()
        session = next(c for c in cookies if c["name"] == "vaktpost_session")
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert t.page.evaluate("document.cookie") == "", "the session cookie is readable from scripts"
        with t.page.expect_navigation():
            t.page.click("button:has-text('Logga ut')")
        assert t.page.url == live.url + "/logga-in"
        t.go("/")
        assert t.page.url == live.url + "/logga-in", "still signed in after logging out"
        assert not t.broken, t.broken


# -- the queue ----------------------------------------------------------------------------------------------


def test_filtering_the_queue_keeps_the_search_out_of_urls(browser: Browser, live: LiveApp) -> None:
    threat_ids = {item.post.id for item in seeded_posts() if "threat" in item.verdict.flags}
    with tab(browser, live, USERS["reviewer"]) as t:
        urls: list[str] = []
        t.page.on("request", lambda request: urls.append(request.url))
        total = int(t.page.locator(".queue-total").inner_text())
        assert total > 10 and len(queue_ids(t.page)) == 10  # page_size=10: more than one page
        open_filters(t.page)
        t.page.fill("#filter-q", SEARCH_WORD)
        with t.page.expect_navigation():
            t.page.click("button:has-text('Använd filtren')")
        assert queue_ids(t.page) == [HARASSMENT_ID]
        assert t.page.locator(".queue-total").inner_text() == "1"
        t.shot("03-ko-sokning")
        # The search is kept in the session, not the URL: it survives a reload and the next visit.
        t.go("/")
        assert queue_ids(t.page) == [HARASSMENT_ID]
        assert t.page.locator("#filter-q").input_value() == SEARCH_WORD
        # Reset, then filter on a label.
        open_filters(t.page)
        with t.page.expect_navigation():
            t.page.click("button:has-text('Rensa filtren')")
        assert int(t.page.locator(".queue-total").inner_text()) == total
        open_filters(t.page)
        t.page.check("input[name=label][value=threat]")
        with t.page.expect_navigation():
            t.page.click("button:has-text('Använd filtren')")
        assert set(queue_ids(t.page)) == threat_ids
        labels = t.page.locator("table.queue tbody tr td:nth-child(7)").all_inner_texts()
        assert labels and all("Hot" in cell for cell in labels), labels
        assert t.page.locator("input[name=label][value=threat]").is_checked()
        assert urls and not [url for url in urls if SEARCH_WORD in url], "the search text appeared in a URL"


def test_bulk_assign_from_the_queue(browser: Browser, live: LiveApp) -> None:
    """The row checkboxes sit outside the bulk form (``form="bulk"``): only a browser shows they are sent."""
    with tab(browser, live, USERS["reviewer"]) as t:
        t.page.check("#select-all")
        boxes = t.page.locator("input[name=post_id]")
        assert boxes.count() == 10 and all(boxes.nth(i).is_checked() for i in range(10))
        t.page.uncheck("#select-all")
        for post_id in (HARASSMENT_ID, DOXX_ID):
            t.page.check(f"input[name=post_id][value='{post_id}']")
        t.page.select_option("#bulk-action", "assign")
        with t.page.expect_navigation():
            t.page.click("#bulk button[type=submit]")
        assert t.page.locator("p.notice[role=status]").inner_text() == "2 inlägg uppdaterade."
        for post_id in (HARASSMENT_ID, DOXX_ID):
            assert row_for(t.page, post_id)(ASSIGNEE_COLUMN) == USERS["reviewer"]
    assigned = {p: s.assignee for p in (HARASSMENT_ID, DOXX_ID, THREAT_ID) if (s := live.harness.store.get(p))}
    assert assigned == {HARASSMENT_ID: USERS["reviewer"], DOXX_ID: USERS["reviewer"], THREAT_ID: None}


# -- a post --------------------------------------------------------------------------------------------------


def test_post_view_highlights_and_who_sees_personal_data(browser: Browser, live: LiveApp) -> None:
    with tab(browser, live, USERS["reviewer"]) as t:
        t.go(post_path(THREAT_ID))
        threat = t.page.locator(".post-text mark.label-threat")
        assert threat.count() == 1 and threat.is_visible()
        assert threat.get_attribute("title") == f"Hot: {THREAT_REASON}"
        assert threat.inner_text() == "Jag ska se till att du får betala"
        t.go(post_path(DOXX_ID))
        address = t.page.locator(".post-text mark.pii-street_address")
        assert address.is_visible() and address.inner_text() == "[ADRESS]"
        assert "Adress" in (address.get_attribute("title") or "")
        assert t.page.locator(".post-text mark.pii-person_name").inner_text() == "[NAMN]"
        html = t.page.content()
        assert DOXX_ADDRESS not in html and DOXX_NAME not in html, "a reviewer sees the exposed personal data"
        assert t.page.locator(".post-text mark.label-doxxing").count() >= 1
        assert "Adress" in t.page.locator("table.post-exposures").inner_text()
        t.shot("04-inlagg-granskare")
    with tab(browser, live, USERS["safety"]) as t:
        t.go(post_path(DOXX_ID))
        address = t.page.locator(".post-text mark.pii-street_address")
        assert address.is_visible() and address.inner_text() == DOXX_ADDRESS
        assert "Adress" in (address.get_attribute("title") or "")
        assert DOXX_NAME in t.page.locator(".post-text").inner_text()
        assert "[ADRESS]" not in t.page.locator(".post-text").inner_text()
        t.shot("05-inlagg-sakerhetsansvarig")


def test_confirm_then_escalate_changes_the_status_and_the_history(browser: Browser, live: LiveApp) -> None:
    with tab(browser, live, USERS["reviewer"]) as t:
        t.go(post_path(THREAT_ID))
        status = t.page.locator(".post-meta strong")
        assert status.inner_text() == "Ny"
        with t.page.expect_navigation():
            t.page.click("button[name=action][value=confirm]")
        assert t.page.url == live.url + post_path(THREAT_ID)
        assert status.inner_text() == "Bekräftad"
        history = t.page.locator("table.post-log tbody")
        assert "granskade" in history.inner_text() and "confirmed" in history.inner_text()
        t.page.fill("#status-note", "Polisanmält, se ärende 123.")
        with t.page.expect_navigation():
            t.page.click("button[name=action][value=escalate]")
        assert status.inner_text() == "Eskalerad"
        assert "escalated" in history.locator("tr").first.inner_text(), "the newest entry is not first"
        assert USERS["reviewer"] in history.locator("tr").first.inner_text()
        assert "Polisanmält, se ärende 123." in t.page.locator(".post-notes").inner_text()
        t.shot("06-inlagg-eskalerat")
        t.go("/")
        cell = row_for(t.page, THREAT_ID)
        assert cell(STATUS_COLUMN) == "Eskalerad"
    stored = live.harness.store.get(THREAT_ID)
    assert stored is not None and stored.review_status == "escalated" and stored.reviewed_by == USERS["reviewer"]


# -- CSRF ----------------------------------------------------------------------------------------------------


def test_a_tampered_csrf_token_is_refused_and_changes_nothing(browser: Browser, live: LiveApp) -> None:
    with tab(browser, live, USERS["reviewer"]) as t:
        t.go(post_path(DISINFORMATION_ID))
        t.page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(i => { i.value = 'forfalskad'; })")
        with t.page.expect_response(lambda r: "/granska" in r.url and r.request.method == "POST") as answer:
            t.page.click("button[name=action][value=confirm]")
        assert answer.value.status == 403
        t.page.wait_for_load_state()
        assert t.page.locator("h1").inner_text() == "Åtkomst nekad"
        assert "CSRF" in t.page.locator("p[role=alert]").inner_text()
        t.shot("07-csrf-nekad")
        # The same session's cookie, but no token: what a request from elsewhere could send at best.
        forged = t.page.request.post(
            live.url + post_path(DISINFORMATION_ID) + "/granska", form={"action": "dismiss"}, max_redirects=0
        )
        assert forged.status == 403
        t.go(post_path(DISINFORMATION_ID))
        assert t.page.locator(".post-meta strong").inner_text() == "Ny"
        assert "Ingen har granskat inlägget än." in t.page.locator(".post-history").inner_text()
    stored = live.harness.store.get(DISINFORMATION_ID)
    assert stored is not None and stored.review_status == "new" and stored.reviewed_by is None


def test_a_form_on_another_site_cannot_act_for_a_signed_in_user(browser: Browser, live: LiveApp) -> None:
    attacker = "http://angripare.example/"
    target = live.url + post_path(DISINFORMATION_ID) + "/granska"
    form = (
        f'<form id="f" method="post" action="{target}"><input name="action" value="dismiss">'
        '<input name="csrf" value="gissad"></form><script>document.getElementById("f").submit()</script>'
    )
    with tab(browser, live, USERS["reviewer"]) as t:
        t.page.route(attacker, lambda route: route.fulfill(status=200, content_type="text/html", body=form))
        with t.page.expect_response(lambda r: r.url == target) as answer:
            t.page.goto(attacker)
        assert answer.value.status in (401, 403), answer.value.status  # SameSite=Strict: no session cookie sent
        t.go(post_path(DISINFORMATION_ID))
        assert t.page.locator(".post-meta strong").inner_text() == "Ny", "the cross-site form changed the post"


# -- XSS -----------------------------------------------------------------------------------------------------


def check_clean(t: Tab, where: str, *, csp: bool) -> None:
    t.page.wait_for_timeout(30)  # let error, toggle and animation handlers run, if any made it in
    assert not t.fired(), f"{where}: a payload ran: {t.fired()}"
    assert not t.dialogs, f"{where}: a dialog opened: {t.dialogs}"
    planted = t.page.evaluate(DOM_CHECK)
    assert not planted, f"{where}: the page holds active content from the posts: {planted}"
    if csp:
        violations = t.page.evaluate("window.__csp || []")
        assert not violations, f"{where}: Content-Security-Policy violations: {violations}"


def check_csp_header(response: Response, where: str) -> None:
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, f"{where}: CSP is {policy!r}"


@pytest.mark.parametrize(
    ("user", "bypass_csp"),
    [(USERS["reviewer"], False), (USERS["safety"], True)],
    ids=["reviewer-with-csp", "safety-without-csp"],
)
def test_no_payload_runs_anywhere(browser: Browser, live: LiveApp, user: str, bypass_csp: bool) -> None:
    """Every payload in the text, title, author name, quote, forwarding channel, URL, thread and a note of a
    post. The safety officer's run switches the browser's CSP enforcement off: escaping alone must hold."""
    payloads = xss_payloads()
    assert len(payloads) >= 30
    for number, payload in payloads:
        assert str(number) in payload, f"payload {number} does not call its own number: {payload}"
    show_personal_data = user != USERS["reviewer"]
    with tab(browser, live, user, bypass_csp=bypass_csp) as t:

        def check(where: str) -> None:
            check_clean(t, where, csp=not bypass_csp)

        response = t.go("/")
        check_csp_header(response, "/")
        pages = int(re.findall(r"av (\d+)", t.page.locator(".pagination span").inner_text())[0])
        assert pages >= 5
        for number in range(1, pages + 1):
            check_csp_header(t.go(f"/?sida={number}"), f"queue page {number}")
            check(f"queue page {number}")
        for number, payload in payloads:
            where = f"post with payload {number}"
            check_csp_header(t.go(post_path(xss_post_id(number))), where)
            marks = t.page.locator(".post-text mark")
            if marks.count():
                marks.first.hover()
            check(where)
            assert t.page.locator("h1#post-title").text_content() == payload, where
            second = payload if show_personal_data else "[NAMN]"
            expected = f"XSS {number}: {payload} | igen: {second} | slut"
            assert t.page.locator(".post-text").text_content() == expected, where
            assert t.page.locator(".note-text").text_content() == payload, where
            assert t.page.locator(".post-quote").text_content() == payload, where
        for path in ("/oversikt", "/oversikt?dagar=7", "/rapport", "/konto"):
            check_csp_header(t.go(path), path)
            check(path)
        # A payload typed into the search field comes back in the form (and the filter summary).
        t.go("/")
        open_filters(t.page)
        t.page.fill("#filter-q", payloads[1][1])
        with t.page.expect_navigation():
            t.page.click("button:has-text('Använd filtren')")
        check("queue searched for a payload")
        assert t.page.locator("#filter-q").input_value() == payloads[1][1]
        t.go("/rapport")
        check("report of a search for a payload")


def test_the_checks_catch_payloads_that_are_not_escaped(browser: Browser, live: LiveApp) -> None:
    """The detectors above are not blind: the same payloads, unescaped on a page without CSP, are caught."""
    control = "http://kontroll.example/"
    body = "<!doctype html><title>x</title><body>" + "\n".join(p for _, p in xss_payloads()) + "</body>"
    with tab(browser, live) as t:
        t.page.route(control, lambda route: route.fulfill(status=200, content_type="text/html", body=body))
        t.page.goto(control)
        t.page.wait_for_timeout(300)
        fired = {re.sub(r"^\w+:", "", call) for call in t.fired()}
        assert len(fired) >= 10, fired
        planted = t.page.evaluate(DOM_CHECK)
        assert {"script", "img", "iframe", "svg outside a chart", "meta[http-equiv]", "base"} <= set(planted)
        assert any(item.startswith("a[href=javascript") for item in planted), planted


def test_no_payload_runs_in_the_admin_pages(browser: Browser, live: LiveApp) -> None:
    with tab(browser, live, USERS["admin"], bypass_csp=True) as t:
        for path in ("/admin/logg", "/admin/anvandare", "/admin/installningar", "/oversikt?dagar=90"):
            check_csp_header(t.go(path), path)
            check_clean(t, path, csp=False)


def test_a_script_url_of_a_post_is_not_a_live_link(browser: Browser, live: LiveApp) -> None:
    """A feed decides the URL of its items: ``javascript:`` must not become a link a reviewer can click."""
    with tab(browser, live, USERS["safety"], bypass_csp=True) as t:
        for number in SCRIPT_URLS:
            where = f"post rss:{number}"
            t.go(post_path(f"rss:{number}"))
            check_clean(t, where, csp=False)


# -- screenshots ---------------------------------------------------------------------------------------------


def test_screenshots_of_the_main_pages(browser: Browser, live: LiveApp) -> None:
    with tab(browser, live) as t:
        t.go("/logga-in")
        t.shot("00-logga-in")
    with tab(browser, live, USERS["admin"]) as t:
        pages = {
            "02-ko": "/",
            "08-inlagg-admin": post_path(DOXX_ID),
            "09-oversikt": "/oversikt",
            "10-rapport": "/rapport",
            "11-konto": "/konto",
            "12-admin-logg": "/admin/logg",
            "13-admin-anvandare": "/admin/anvandare",
            "14-admin-installningar": "/admin/installningar",
            "15-hittades-inte": "/inlagg/finns%3Ainte",
        }
        for name, path in pages.items():
            response = t.go(path)
            assert response.status == (404 if name == "15-hittades-inte" else 200), (path, response.status)
            t.shot(name)
        assert not t.broken, t.broken
    with tab(browser, live, USERS["reviewer"]) as t:
        response = t.go("/admin/anvandare")
        assert response.status == 403
        t.shot("16-atkomst-nekad")
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 16


# -- a real demo run -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, prefect_home: Path) -> Iterator[LiveApp]:
    data_dir = tmp_path_factory.mktemp("demo-run") / "var"
    with running_app(data_dir, demo_store=True, prefect_home=prefect_home) as app:
        yield app


DEMO_EXPOSED = ["850312-4466", "19780423-2382", "Björkvägen"]  # from tests/test_nightly.py


@pytest.mark.e2e
def test_triage_a_real_demo_run(browser: Browser, demo: LiveApp) -> None:
    with tab(browser, demo, USERS["reviewer"]) as t:
        total = int(t.page.locator(".queue-total").inner_text())
        assert total > 0
        t.shot("20-demo-ko")
        first = t.page.locator("a[data-post-link]").first
        post_id = first.inner_text().strip()
        assert row_for(t.page, post_id)(STATUS_COLUMN) == "Ny"
        with t.page.expect_navigation():
            first.click()
        assert t.page.locator(".post-meta strong").inner_text() == "Ny"
        assert t.page.locator(".post-text").inner_text().strip()
        t.shot("21-demo-inlagg")
        with t.page.expect_navigation():
            t.page.click("button[name=action][value=confirm]")
        assert t.page.locator(".post-meta strong").inner_text() == "Bekräftad"
        with t.page.expect_navigation():
            t.page.click("a:has-text('Tillbaka till kön')")
        assert t.page.url == demo.url + "/"
        assert row_for(t.page, post_id)(STATUS_COLUMN) == "Bekräftad"
        assert int(t.page.locator(".queue-total").inner_text()) == total
        t.shot("22-demo-ko-bekraftad")
        # The demo's doxxing post: a reviewer sees its kinds of personal data, never the values.
        t.go(post_path("flashback:89813577"))
        text = t.page.content()
        assert not [value for value in DEMO_EXPOSED if value in text]
        assert "[PERSONNUMMER]" in t.page.locator(".post-text").inner_text()
        assert not t.broken, t.broken
    stored = demo.harness.store.get(post_id)
    assert stored is not None and stored.review_status == "confirmed"
