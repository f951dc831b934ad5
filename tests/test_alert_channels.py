"""Alert channels against real receivers: a local SMTP server (aiosmtpd; plain, login, STARTTLS and implicit TLS
with a self-signed certificate) and a local HTTP server for webhooks (Vaktpost JSON, Teams, Slack). Delivery is
exactly once per alert and channel, also when a receiver fails and recovers, and no body carries exposed values,
post text or display names; the protected staff member's id reaches safety officers only."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alerts import DeliveryError, PermanentDeliveryError, send_alerts
from alerts.channels import EmailChannel, WebhookChannel
from alerts.rules import immediate_alerts
from index.sqlite import SQLiteStore
from tests.factories import analysed
from vaktpost.schema import Alert, AnalysedPost, Exposure, PiiSpan
from vaktpost.settings import AlertSettings, EmailChannelSettings, Settings, WebhookChannelSettings, load_settings

DOXX_TEXT = "Hon bor på Björkvägen 14B, personnummer 850312-4466, ring 070-174 06 12"
SPANS = (
    PiiSpan(type="street_address", text="Björkvägen 14B", start=11, end=25),
    PiiSpan(type="personnummer", text="850312-4466", start=40, end=51),
    PiiSpan(type="phone", text="070-174 06 12", start=58, end=71),
)
EXPOSED = ["Björkvägen", "850312-4466", "070-174", "Hon bor", "Karin Svensson", "Nick Namnsson"]
STAFF_ID = "ws-0042"


def doxxing_post(number: int = 1) -> AnalysedPost:
    """A post that exposes a protected staff member's address, personnummer and phone; its author has a name."""
    item = analysed(number, text=DOXX_TEXT, flags=("doxxing",), score=0.9, pii=SPANS, author_name="Nick Namnsson")
    exposure = Exposure(
        person=f"watchlist:{STAFF_ID}",
        name=PiiSpan(type="person_name", text="Karin Svensson", start=0, end=3),
        exposed=["personnummer", "phone", "street_address"],
        spans=list(SPANS),
        severity="critical",
        score=0.95,
    )
    return AnalysedPost(post=item.post, verdict=item.verdict.model_copy(update={"exposures": [exposure]}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- a local SMTP server ---------------------------------------------------------------------------------


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str], bool]] = field(default_factory=list)  # from, to, over TLS
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(content, policy=email.policy.default))
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos), session.ssl is not None))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        ok = (login, password) == ("vaktpost", "ratt-losen-7")
        return AuthResult(success=ok, handled=ok)  # refused: the server answers 535


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made with cryptography."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """Plain SMTP on 127.0.0.1, with AUTH offered without TLS (a local relay)."""
    mailbox = Mailbox(free_port())
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=mailbox.port, authenticator=mailbox.authenticate, auth_require_tls=False
    )
    controller.start()
    yield mailbox
    controller.stop()


def email_channel(port: int, **extra: Any) -> EmailChannel:
    config = {
        "kind": "email",
        "name": "sakerhet",
        "audience": "safety",
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "vaktpost@kommun.example",
        "to": ["sakerhet@kommun.example", "chef@kommun.example"],
        "timeout_s": 5,
    }
    return EmailChannel(EmailChannelSettings.model_validate(config | extra))


def the_alert(audience: str = "safety") -> Alert:
    [alert] = immediate_alerts([doxxing_post()], AlertSettings(review_url="https://granskning.kommun.example"))
    staff = alert.staff if audience == "safety" else []
    return alert.model_copy(update={"id": alert.id + "@sakerhet", "channel": "sakerhet", "staff": staff})


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def test_an_email_in_swedish_text_and_html(smtp_server: Mailbox) -> None:
    email_channel(smtp_server.port).send(the_alert())
    [message] = smtp_server.messages
    assert smtp_server.envelopes == [
        ("vaktpost@kommun.example", ["sakerhet@kommun.example", "chef@kommun.example"], False)
    ]
    assert message["Subject"] == "[Vaktpost] Kritisk: Skyddad medarbetare exponerad på flashback"
    assert (
        message["From"] == "vaktpost@kommun.example" and message["X-Vaktpost-Alert"] == "immediate:flashback:1@sakerhet"
    )
    assert message.get_content_type() == "multipart/alternative"
    text, html = bodies(message)
    for body in (text, html):
        assert "Doxning" in body and "Adress" in body and "Personnummer" in body and "Telefonnummer" in body
        assert STAFF_ID in body  # the safety officers are told who
        assert "https://granskning.kommun.example/inlagg/flashback%3A1" in body
        assert "(svensk tid)" in body and "flashback" in body
    assert "2026-11-20 14:00 (svensk tid)" in text  # posted 13:00 UTC, shown in Stockholm time
    assert "<table>" in html and '<a href="https://granskning.kommun.example/inlagg/flashback%3A1">' in html
    again = the_alert()
    email_channel(smtp_server.port).send(again)
    assert smtp_server.messages[1]["Message-ID"] == message["Message-ID"]  # a resend is recognisably the same


def test_login_with_the_password_from_the_environment(smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAKTPOST_ALERT_SAKERHET_PASSWORD", "ratt-losen-7")
    config = EmailChannelSettings.model_validate(
        {
            "kind": "email",
            "name": "sakerhet",
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "tls": "none",
            "username": "vaktpost",
            "from": "vaktpost@kommun.example",
            "to": ["sakerhet@kommun.example"],
        }
    )
    assert config.password is not None and "ratt-losen-7" not in repr(config)
    EmailChannel(config).send(the_alert())
    assert smtp_server.logins == [("vaktpost", "ratt-losen-7")] and len(smtp_server.messages) == 1
    wrong = config.model_copy(update={"password": config.password.__class__("fel")})
    with pytest.raises(PermanentDeliveryError, match="refused the login"):
        EmailChannel(wrong).send(the_alert())
    assert len(smtp_server.messages) == 1


def test_starttls_and_implicit_tls_with_a_self_signed_certificate(certificate: tuple[Path, Path]) -> None:
    starttls, implicit = Mailbox(free_port()), Mailbox(free_port())
    controllers = [
        Controller(
            starttls,
            hostname="127.0.0.1",
            port=starttls.port,
            tls_context=server_tls(certificate),
            require_starttls=True,
            authenticator=starttls.authenticate,
        ),
        Controller(implicit, hostname="127.0.0.1", port=implicit.port, ssl_context=server_tls(certificate)),
    ]
    for controller in controllers:
        controller.start()
    try:
        secret = {"username": "vaktpost", "password": "ratt-losen-7", "ca_file": str(certificate[0])}
        email_channel(starttls.port, tls="starttls", **secret).send(the_alert())
        email_channel(implicit.port, tls="ssl", ca_file=str(certificate[0])).send(the_alert())
        assert starttls.logins == [("vaktpost", "ratt-losen-7")]
        assert [e[2] for e in starttls.envelopes] == [True] and len(implicit.messages) == 1
        with pytest.raises(DeliveryError, match="SSLCertVerificationError"):  # the certificate is not trusted
            email_channel(implicit.port, tls="ssl").send(the_alert())
    finally:
        for controller in controllers:
            controller.stop()


def test_an_unreachable_mail_server_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as raised:
        email_channel(free_port()).send(the_alert())
    assert not isinstance(raised.value, PermanentDeliveryError)


# -- a local HTTP receiver -------------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    failures: int = 0  # answer this many requests with `status` first
    status: int = 500
    attempts: int = 0

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        return [body for where, _, body in self.requests if path is None or where == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server: ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.attempts += 1
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            if state.failures:
                state.failures -= 1
                self.send_response(state.status)
                self.end_headers()
                return
            state.requests.append((self.path, dict(self.headers.items()), json.loads(raw)))
            self.send_response(202 if self.path.startswith("/teams") else 200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


def webhook(kind: str, url: str, name: str = "hook", **extra: Any) -> WebhookChannel:
    return WebhookChannel(WebhookChannelSettings.model_validate({"kind": kind, "name": name, "url": url} | extra))


def test_webhook_payload_shapes(receiver: Receiver) -> None:
    alert = the_alert(audience="communications")
    webhook("webhook", receiver.url + "/json", token="hemlig-token").send(alert)
    webhook("teams", receiver.url + "/teams").send(alert)
    webhook("teams", receiver.url + "/teams-legacy", card="messagecard").send(alert)
    webhook("slack", receiver.url + "/slack").send(alert)
    (_, headers, plain), teams, legacy, slack = receiver.requests
    assert headers["Content-Type"].startswith("application/json") and headers["Idempotency-Key"] == alert.id
    assert headers["Authorization"] == "Bearer hemlig-token"
    assert plain["rule"] == "immediate" and plain["severity"] == "critical" and plain["labels"] == ["doxxing"]
    assert plain["exposure_kinds"] == ["personnummer", "phone", "street_address"]
    assert plain["link"] == "https://granskning.kommun.example/inlagg/flashback%3A1" and plain["source"] == "flashback"
    assert "protected_staff" not in plain and plain["facts"]["protected_staff"] == 1
    card = teams[2]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and card["content"]["actions"][0]["type"] == "Action.OpenUrl"
    facts = {fact["title"]: fact["value"] for fact in card["content"]["body"][2]["facts"]}
    assert facts["Typ"] == "Doxning" and facts["Skyddad medarbetare"].startswith("Ja")
    assert legacy[2]["@type"] == "MessageCard" and legacy[2]["potentialAction"][0]["@type"] == "OpenUri"
    assert slack[2]["text"].startswith("*[Vaktpost] Kritisk:") and slack[2]["blocks"][0]["type"] == "header"
    assert all(len(block.get("fields", [])) <= 10 for block in slack[2]["blocks"])


def test_http_errors_are_retried_or_not(receiver: Receiver) -> None:
    receiver.failures, receiver.status = 1, 400
    with pytest.raises(PermanentDeliveryError, match="HTTP 400"):
        webhook("webhook", receiver.url).send(the_alert())
    receiver.failures, receiver.status = 1, 503
    with pytest.raises(DeliveryError, match="HTTP 503") as raised:
        webhook("webhook", receiver.url + "/secret-token-path").send(the_alert())
    assert not isinstance(raised.value, PermanentDeliveryError)
    assert "secret-token-path" not in str(raised.value)  # webhook URLs hold credentials


# -- through the settings, the rules and the store -------------------------------------------------------


def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver, smtp_port: int) -> Settings:
    """Settings as an operator writes them: channels of every kind, URLs and passwords in the environment."""
    monkeypatch.setenv("VAKTPOST_ALERT_KOMMUNIKATION_URL", receiver.url + "/teams")
    monkeypatch.setenv("VAKTPOST_ALERT_DRIFT_URL", receiver.url + "/slack")
    monkeypatch.setenv("VAKTPOST_ALERT_SIEM_URL", receiver.url + "/json")
    config = tmp_path / "vaktpost.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "var"}"
[alerts]
review_url = "https://granskning.kommun.example"
attempts = 2
retry_backoff_s = 0
[[alerts.channels]]
name = "sakerhet"
kind = "email"
audience = "safety"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "vaktpost@kommun.example"
to = ["sakerhet@kommun.example"]
[[alerts.channels]]
name = "kommunikation"
kind = "teams"
audience = "communications"
[[alerts.channels]]
name = "drift"
kind = "slack"
[[alerts.channels]]
name = "siem"
kind = "webhook"
audience = "safety"
[alerts.digest]
enabled = true
""",
        encoding="utf-8",
    )
    return load_settings(config)


def test_no_exposed_values_and_staff_ids_only_to_safety_officers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver, smtp_server: Mailbox
) -> None:
    settings = configured(tmp_path, monkeypatch, receiver, smtp_server.port)
    store = SQLiteStore(tmp_path / "store.db")
    posts = [doxxing_post(1), analysed(2, text="Vi vet var du bor, 850312-4466", flags=("threat",), pii=SPANS[1:2])]
    try:
        result = send_alerts(posts, store, settings, run_id="r1")
    finally:
        store.close()
    assert len(result.sent) == 15 and not result.failed  # (2 posts + 1 digest) x 5 channels
    outbox = (tmp_path / "var" / "alerts" / "outbox.jsonl").read_text(encoding="utf-8")
    by_channel = {
        "sakerhet": [f"{m['Subject']}\n{m.as_string()}\n{''.join(bodies(m))}" for m in smtp_server.messages],
        "kommunikation": [json.dumps(b, ensure_ascii=False) for b in receiver.bodies("/teams")],
        "drift": [json.dumps(b, ensure_ascii=False) for b in receiver.bodies("/slack")],
        "siem": [json.dumps(b, ensure_ascii=False) for b in receiver.bodies("/json")],
        "outbox": outbox.splitlines(),
    }
    assert {name: len(sent) for name, sent in by_channel.items()} == dict.fromkeys(by_channel, 3)
    for name, sent in by_channel.items():
        text = "\n".join(sent)
        assert not [value for value in EXPOSED if value in text], name
        assert (STAFF_ID in text) == (name in {"sakerhet", "siem"}), name
    digest = receiver.bodies("/json")[-1]
    assert digest["rule"] == "digest" and digest["counts"] == {
        "label": {"doxxing": 1, "threat": 1},
        "source": {"flashback": 2},
    }


def test_a_receiver_that_fails_then_recovers_gets_each_alert_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver, smtp_server: Mailbox
) -> None:
    settings = configured(tmp_path, monkeypatch, receiver, smtp_server.port)
    posts = [analysed(n, flags=("threat",)) for n in (1, 2, 3)]
    store = SQLiteStore(tmp_path / "store.db")
    try:
        receiver.failures = 1000  # the webhooks are down (HTTP 500); mail and the outbox are up
        first = send_alerts(posts, store, settings)
        assert receiver.attempts == 3 * 2  # each webhook channel: 2 tries on its first alert, then left for later
        assert len(first.sent) == 3 * 2 and len(first.failed) == 3 * 3
        receiver.failures = 0  # the next run, over the same posts: the receiver is back
        second = send_alerts(posts, store, settings)
        third = send_alerts(posts, store, settings)
        summary = store.summary()
    finally:
        store.close()
    assert len(second.sent) == 3 * 3 and not second.failed and second.already_sent == 15
    assert third.sent == [] and third.already_sent == 15
    for path in ("/teams", "/slack", "/json"):
        assert sorted(body_post(body) for body in receiver.bodies(path)) == ["1", "2", "3"], path
    assert len(smtp_server.messages) == 3
    outbox = (tmp_path / "var" / "alerts" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["post_id"] for line in outbox) == ["flashback:1", "flashback:2", "flashback:3"]
    assert summary["alerts"] == {"total": 15, "delivered": 15}


def body_post(body: dict[str, Any]) -> str:
    """Which demo post a webhook body is about, whatever its shape (the link ends in flashback%3A<n>)."""
    return json.dumps(body).split("flashback%3A")[1][0]
