"""Where alerts are delivered: the outbox file, e-mail over SMTP, and webhooks (Vaktpost JSON, Teams, Slack or
Mattermost). Every channel sends a privacy-safe Alert, rendered for its audience, and either returns
(delivered) or raises DeliveryError (retried) or PermanentDeliveryError (not retried within the run).
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from alerts import render
from vaktpost import __version__
from vaktpost.datadir import DataDir
from vaktpost.schema import Alert
from vaktpost.settings import (
    AnyChannel,
    Audience,
    EmailChannelSettings,
    OutboxChannelSettings,
    WebhookChannelSettings,
)


class DeliveryError(RuntimeError):
    """A channel could not deliver; the alert stays pending and is retried (now, with backoff, and next run)."""


class PermanentDeliveryError(DeliveryError):
    """The receiver refused this alert (bad request, authentication): trying again at once will not help."""


class Channel(Protocol):
    name: str
    audience: Audience

    def send(self, alert: Alert) -> None:
        """Deliver or raise DeliveryError."""
        ...


class OutboxChannel:
    """Appends alerts as JSON lines to a file in the data dir (fsync'd): the channel that always works."""

    def __init__(self, path: Path, name: str = "outbox", audience: Audience = "operators") -> None:
        self.path = path
        self.name = name
        self.audience: Audience = audience

    def send(self, alert: Alert) -> None:
        record = alert.model_dump(mode="json", exclude_none=True)
        if not alert.post_id:
            del record["post_id"]
        if self.audience != "safety":
            record.pop("staff", None)
        record["title"] = render.message(alert, self.audience).title
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise DeliveryError(f"cannot write {self.path}: {err}") from err


class EmailChannel:
    """One e-mail per alert over SMTP: implicit TLS (``ssl``), STARTTLS, or plain (local relays only)."""

    def __init__(self, config: EmailChannelSettings) -> None:
        self.config = config
        self.name = config.name
        self.audience: Audience = config.audience

    def send(self, alert: Alert) -> None:
        config = self.config
        mail = render.email(alert, self.audience, config.sender, config.to)
        where = f"{config.host}:{config.resolved_port}"
        try:
            with self._connect() as smtp:
                if config.username:
                    password = config.password.get_secret_value() if config.password else ""
                    smtp.login(config.username, password)
                smtp.send_message(mail)  # recipients refused while others took it: delivered, never resent
        except smtplib.SMTPAuthenticationError as err:
            raise PermanentDeliveryError(f"{where} refused the login ({err.smtp_code})") from err
        except smtplib.SMTPRecipientsRefused as err:
            raise PermanentDeliveryError(f"{where} refused every recipient") from err
        except smtplib.SMTPResponseException as err:
            kind = PermanentDeliveryError if 500 <= err.smtp_code < 600 else DeliveryError
            raise kind(f"{where} answered {err.smtp_code}: {_short(err.smtp_error)}") from err
        except (smtplib.SMTPException, OSError) as err:  # connection refused, TLS, timeouts
            raise DeliveryError(f"{where}: {type(err).__name__}: {_short(err)}") from err

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        port = config.resolved_port
        if config.tls == "ssl":
            return smtplib.SMTP_SSL(config.host, port, timeout=config.timeout_s, context=self._tls())
        smtp = smtplib.SMTP(config.host, port, timeout=config.timeout_s)
        try:
            smtp.ehlo()
            if config.tls == "starttls":
                smtp.starttls(context=self._tls())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.config.ca_file) if self.config.ca_file else None)


class WebhookChannel:
    """An HTTP POST of JSON; the body's shape follows the channel kind (webhook, teams, slack)."""

    def __init__(self, config: WebhookChannelSettings) -> None:
        self.config = config
        self.name = config.name
        self.audience: Audience = config.audience
        proxy = config.proxy.get_secret_value() if config.proxy else None
        proxies = {"http": proxy, "https": proxy} if proxy else {}
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))

    def payload(self, alert: Alert) -> dict[str, Any]:
        if self.config.kind == "teams":
            return render.teams(alert, self.audience, self.config.card)
        if self.config.kind == "slack":
            return render.slack(alert, self.audience)
        return render.webhook(alert, self.audience)

    def send(self, alert: Alert) -> None:
        config = self.config
        assert config.url is not None  # settings fill it from the environment or refuse
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"Vaktpost/{__version__}",
            "Idempotency-Key": alert.id,  # for receivers that deduplicate
        }
        if config.token is not None:
            headers["Authorization"] = f"Bearer {config.token.get_secret_value()}"
        body = json.dumps(self.payload(alert), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - settings only accept http(s) URLs
            config.url.get_secret_value(), data=body, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=config.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as err:  # the URL holds credentials: never in messages
            transient = err.code >= 500 or err.code in (408, 425, 429)
            kind = DeliveryError if transient else PermanentDeliveryError
            raise kind(f"{config.kind} webhook {self.name!r} answered HTTP {err.code}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
            raise DeliveryError(f"{config.kind} webhook {self.name!r} unreachable: {_short(reason)}") from None


def build_channel(config: AnyChannel, data_dir: Path) -> Channel:
    if isinstance(config, EmailChannelSettings):
        return EmailChannel(config)
    if isinstance(config, WebhookChannelSettings):
        return WebhookChannel(config)
    assert isinstance(config, OutboxChannelSettings)
    return OutboxChannel(config.path or DataDir(data_dir).alerts / "outbox.jsonl", config.name, config.audience)


def _short(value: object, limit: int = 200) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
