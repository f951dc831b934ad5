"""What an alert says, in Swedish, and the shapes it is sent in: e-mail (text and HTML), Vaktpost's own JSON,
a Microsoft Teams card, a Slack/Mattermost message.

Everything here is built from the ``Alert`` alone, which holds no post text, no author and no exposed values:
the kinds of harm and of exposed data (as names), counts, the source, times (Stockholm) and review-app links.
Which protected staff member is exposed (the watch-list id) is shown to the ``safety`` audience only.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from vaktpost.schema import Alert, Severity
from vaktpost.settings import ALERT_TIMEZONE, Audience
from vaktpost.swedish import LABEL_NAMES, PII_NAMES, SEVERITY_NAMES

STOCKHOLM = ZoneInfo(ALERT_TIMEZONE)

RULE_NAMES = {
    "immediate": "Direktlarm",
    "spike": "Ovanlig ökning",
    "flatline": "Tyst källa",
    "digest": "Sammanfattning",
}
SEVERITY_COLOURS = {"critical": "C50F1F", "high": "E8590C", "medium": "F2C037", "low": "5B8DEF"}
STAFF_HIDDEN = "Ja (vem visas bara för säkerhetsansvariga)"


@dataclass(frozen=True)
class Message:
    """An alert in words: a title, one summary sentence, facts as (name, value), links as (text, url)."""

    alert_id: str
    severity: Severity
    title: str
    summary: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return f"[Vaktpost] {SEVERITY_NAMES[self.severity]}: {self.title}"

    def text(self) -> str:
        lines = [self.title, "", self.summary, ""]
        width = max((len(name) for name, _ in self.facts), default=0)
        lines += [f"{name + ':':<{width + 1}} {value}" for name, value in self.facts]
        if self.links:
            lines.append("")
            lines += [f"{text}: {url}" for text, url in self.links]
        lines += ["", FOOTER]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        esc = html.escape
        colour = SEVERITY_COLOURS[self.severity]
        rows = "".join(
            f'<tr><th style="text-align:left;padding:2px 12px 2px 0">{esc(name)}</th><td>{esc(value)}</td></tr>'
            for name, value in self.facts
        )
        links = "".join(f'<li><a href="{esc(url)}">{esc(text)}</a></li>' for text, url in self.links)
        return (
            '<!DOCTYPE html><html lang="sv"><head><meta charset="utf-8"></head>'
            '<body style="font-family:sans-serif">'
            f'<h2 style="border-left:6px solid #{colour};padding-left:8px">{esc(self.title)}</h2>'
            f"<p>{esc(self.summary)}</p><table>{rows}</table>"
            + (f"<ul>{links}</ul>" if links else "")
            + f'<p style="color:#666;font-size:small">{esc(FOOTER)}</p></body></html>'
        )


FOOTER = (
    "Vaktpost skickar aldrig inläggens text eller de uppgifter som exponerats. "
    "Logga in i granskningsappen för att se inlägget."
)


def message(alert: Alert, audience: Audience) -> Message:
    """The words for this alert and audience."""
    build = {"immediate": _immediate, "spike": _spike, "flatline": _flatline, "digest": _digest}.get(alert.rule)
    return (build or _other)(alert, audience)


def _immediate(alert: Alert, audience: Audience) -> Message:
    labels = _names(alert.labels, LABEL_NAMES)
    protected = int(alert.facts.get("protected_staff", 0) or 0) or len(alert.staff)
    source = alert.source or "okänd källa"
    if protected:
        title = f"Skyddad medarbetare exponerad på {source}"
    else:
        title = f"{' och '.join(labels) or 'Flaggat inlägg'} på {source}"
    what = " och ".join(label.lower() for label in labels) or "en skada"
    summary = f"Ett inlägg på {source} har flaggats för {what}."
    if protected:
        summary += " Inlägget exponerar en medarbetare på skyddslistan."
    facts = [("Allvarlighetsgrad", SEVERITY_NAMES[alert.severity]), ("Typ", ", ".join(labels) or "–")]
    if alert.pii_types:
        facts.append(("Exponerade uppgifter", ", ".join(_names(alert.pii_types, PII_NAMES))))
    if protected:
        shown = ", ".join(alert.staff) if audience == "safety" and alert.staff else STAFF_HIDDEN
        facts.append(("Skyddad medarbetare", shown))
    if "score" in alert.facts:
        facts.append(("Poäng", _number(alert.facts["score"])))
    facts.append(("Källa", source))
    if alert.post_created_at is not None:
        facts.append(("Publicerat", stockholm(alert.post_created_at)))
    facts += [("Upptäckt", stockholm(alert.created_at)), ("Inlägg", alert.post_id or "–")]
    links = [("Öppna inlägget i granskningsappen", alert.link)] if alert.link else []
    return Message(alert.id, alert.severity, title, summary, facts, links)


def _spike(alert: Alert, audience: Audience) -> Message:
    label = _names(alert.labels, LABEL_NAMES)[0] if alert.labels else "flaggade inlägg"
    day = str(alert.facts.get("day", ""))
    count = alert.facts.get("count", 0)
    days = alert.facts.get("baseline_days", "")
    title = f"Ovanligt många inlägg om {label.lower()} {day}"
    summary = (
        f"{count} inlägg flaggades för {label.lower()} {day}, mot i snitt {_number(alert.facts.get('mean', 0))} "
        f"per dag de {days} dagarna före."
    )
    facts = [
        ("Allvarlighetsgrad", SEVERITY_NAMES[alert.severity]),
        ("Typ", label),
        ("Dag (UTC)", day),
        ("Flaggade inlägg", str(count)),
        (f"Snitt per dag, {days} dagar före", _number(alert.facts.get("mean", 0))),
        ("Standardavvikelse", _number(alert.facts.get("sd", 0))),
        ("Avvikelse (z)", _number(alert.facts.get("z", 0))),
        ("Upptäckt", stockholm(alert.created_at)),
    ]
    links = [("Översikten i granskningsappen", alert.link)] if alert.link else []
    return Message(alert.id, alert.severity, title, summary, facts, links)


def _flatline(alert: Alert, audience: Audience) -> Message:
    source = alert.source or "okänd källa"
    runs = alert.facts.get("runs", 0)
    title = f"Källan {source} har inte levererat på {runs} körningar"
    failed, empty = alert.facts.get("failed", 0), alert.facts.get("empty", 0)
    summary = (
        f"{source} har misslyckats eller inte hämtat något i {runs} körningar i rad ({failed} fel, {empty} tomma)."
    )
    facts = [
        ("Allvarlighetsgrad", SEVERITY_NAMES[alert.severity]),
        ("Källa", source),
        ("Körningar i rad", str(runs)),
        ("Misslyckade", str(failed)),
        ("Utan resultat", str(empty)),
    ]
    if "since" in alert.facts:
        facts.append(("Sedan", stockholm(datetime.fromisoformat(str(alert.facts["since"])))))
    if alert.facts.get("error"):
        facts.append(("Senaste fel", str(alert.facts["error"])))
    facts.append(("Upptäckt", stockholm(alert.created_at)))
    links = [("Översikten i granskningsappen", alert.link)] if alert.link else []
    return Message(alert.id, alert.severity, title, summary, facts, links)


def _digest(alert: Alert, audience: Audience) -> Message:
    total = int(alert.facts.get("flagged", 0))
    run = str(alert.facts.get("run_id", ""))
    title = f"Sammanfattning: {total} flaggade inlägg i körningen {run}"
    by_label = alert.counts.get("label", {})
    by_source = alert.counts.get("source", {})
    summary = f"Körningen {run} flaggade {total} inlägg." if total else f"Körningen {run} flaggade inga inlägg."
    facts = [("Allvarlighetsgrad", SEVERITY_NAMES[alert.severity])]
    facts += [(LABEL_NAMES.get(label, label), str(count)) for label, count in by_label.items()]
    facts += [(f"Källa {source}", str(count)) for source, count in by_source.items()]
    if int(alert.facts.get("protected_staff", 0)):
        facts.append(("Inlägg som exponerar skyddad medarbetare", str(alert.facts["protected_staff"])))
    facts.append(("Upptäckt", stockholm(alert.created_at)))
    links = [(f"Inlägg {index}", url) for index, url in enumerate(alert.links, 1)]
    if total > len(alert.links):
        summary += f" Länkarna gäller de {len(alert.links)} allvarligaste."
    if alert.link:
        links.append(("Granskningskön", alert.link))
    return Message(alert.id, alert.severity, title, summary, facts, links)


def _other(alert: Alert, audience: Audience) -> Message:
    title = f"{RULE_NAMES.get(alert.rule, alert.rule)}: {', '.join(_names(alert.labels, LABEL_NAMES)) or 'larm'}"
    facts = [("Allvarlighetsgrad", SEVERITY_NAMES[alert.severity]), ("Upptäckt", stockholm(alert.created_at))]
    return Message(alert.id, alert.severity, title, title + ".", facts, [("Länk", alert.link)] if alert.link else [])


def stockholm(moment: datetime) -> str:
    return f"{moment.astimezone(STOCKHOLM):%Y-%m-%d %H:%M} (svensk tid)"


def _names(keys: Sequence[str], names: dict[str, str]) -> list[str]:
    return [names.get(key, key.replace("_", " ")) for key in keys]


def _number(value: int | float | str) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",") or "0"
    return str(value)


# -- the shapes it is sent in -----------------------------------------------------------------------------


def email(alert: Alert, audience: Audience, sender: str, to: list[str]) -> EmailMessage:
    """A multipart (text and HTML) e-mail. Its Message-ID derives from the alert's id: a mail client shows a
    copy that was sent again (after a crash between sending and recording) as the same message."""
    words = message(alert, audience)
    mail = EmailMessage()
    mail["Subject"] = words.subject
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = format_datetime(datetime.now(STOCKHOLM))  # when sent: a copy held through quiet hours is new
    mail["Message-ID"] = f"<{hashlib.sha256(alert.id.encode()).hexdigest()[:32]}@vaktpost.alert>"
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Vaktpost-Alert"] = alert.id
    mail["Content-Language"] = "sv"
    mail.set_content(words.text())
    mail.add_alternative(words.html(), subtype="html")
    return mail


def webhook(alert: Alert, audience: Audience) -> dict[str, Any]:
    """Vaktpost's own JSON: the alert's fields and its words (staff ids only for the safety audience)."""
    words = message(alert, audience)
    body: dict[str, Any] = {
        "id": alert.id,
        "alert": alert.base_id,
        "rule": alert.rule,
        "severity": str(alert.severity),
        "title": words.title,
        "summary": words.summary,
        "text": words.text(),
        "labels": list(alert.labels),
        "exposure_kinds": list(alert.pii_types),
        "source": alert.source,
        "post_id": alert.post_id or None,
        "post_created_at": alert.post_created_at.isoformat() if alert.post_created_at else None,
        "link": alert.link,
        "links": list(alert.links),
        "facts": dict(alert.facts),
        "counts": {key: dict(value) for key, value in alert.counts.items()},
        "created_at": alert.created_at.isoformat(),
    }
    if audience == "safety" and alert.staff:
        body["protected_staff"] = list(alert.staff)
    return body


def teams(alert: Alert, audience: Audience, card: Literal["adaptive", "messagecard"] = "adaptive") -> dict[str, Any]:
    """A Teams message: an Adaptive Card (Workflows webhooks) or a legacy connector MessageCard."""
    words = message(alert, audience)
    if card == "messagecard":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": words.subject,
            "themeColor": SEVERITY_COLOURS[alert.severity],
            "title": words.title,
            "text": words.summary,
            "sections": [{"facts": [{"name": name, "value": value} for name, value in words.facts]}],
            "potentialAction": [
                {"@type": "OpenUri", "name": text, "targets": [{"os": "default", "uri": url}]}
                for text, url in words.links
            ],
        }
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": words.title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
                "color": "Attention" if alert.severity == Severity.critical else "Default",
            },
            {"type": "TextBlock", "text": words.summary, "wrap": True},
            {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in words.facts]},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": text, "url": url} for text, url in words.links],
    }
    return {
        "type": "message",
        "summary": words.subject,
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
        ],
    }


def slack(alert: Alert, audience: Audience) -> dict[str, Any]:
    """A Slack message (``text`` plus ``blocks``); Mattermost shows the ``text``."""
    words = message(alert, audience)
    link_lines = [f"<{url}|{_mrkdwn(text)}>" for text, url in words.links]
    fallback = f"*{_mrkdwn(words.subject)}*\n{_mrkdwn(words.summary)}"
    if words.links:
        fallback += "\n" + "\n".join(link_lines)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": words.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(words.summary)}},
    ]
    for start in range(0, len(words.facts), 10):  # at most 10 fields a section
        fields = [
            {"type": "mrkdwn", "text": f"*{_mrkdwn(name)}*\n{_mrkdwn(value)}"}
            for name, value in words.facts[start : start + 10]
        ]
        blocks.append({"type": "section", "fields": fields})
    if link_lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(link_lines)[:3000]}})
    return {"text": fallback, "blocks": blocks}


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
