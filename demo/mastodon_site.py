"""The demo corpus through the Mastodon REST API: hashtag and account timelines, as a real instance answers.

Implements ``limit`` (default 20, at most 40), ``max_id``, ``since_id`` and ``min_id`` with the ``Link``
header Mastodon sends, ``X-RateLimit-*`` headers, 404 for unknown tags and accounts.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from demo.corpus import Account, Corpus, Status
from demo.flashback_site import Page

ROBOTS = "User-agent: *\nDisallow: /media_proxy/\nDisallow: /interact/\n"
_TOKENS = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)|(?P<tag>(?<!\w)#[\w\u0600-\u06ff]+)|(?P<mention>(?<!\w)@\w+(?:@[\w.-]+\w)?)"
)


class MastodonSite:
    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.host = corpus.instance
        self._by_id = {status.id: status for status in corpus.statuses}
        self._replies = Counter(s.in_reply_to_id for s in corpus.statuses if s.in_reply_to_id)
        self._reblogs = Counter(s.reblog_of for s in corpus.statuses if s.reblog_of)
        self._statuses_of = Counter(s.account.id for s in corpus.statuses)

    def handle(self, path: str, query: str, host: str = "") -> Page:
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        if path == "/robots.txt":
            return Page(200, ROBOTS.encode(), "text/plain; charset=utf-8")
        if path.startswith("/api/v1/timelines/tag/"):
            tag = unquote(path.removeprefix("/api/v1/timelines/tag/")).lower()
            statuses = [s for s in self.corpus.visible_statuses() if tag in s.tags]
            if not any(tag in s.tags for s in self.corpus.statuses):
                return _error(404, "Record not found")
            return self._timeline(path, params, statuses, host)
        if path == "/api/v1/accounts/lookup":
            account = self._account_by_acct(params.get("acct", ""))
            return _json(200, self._account(account)) if account else _error(404, "Record not found")
        if match := re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path):
            account = self.corpus.accounts.get(match[1])
            if account is None:
                return _error(404, "Record not found")
            mine = [s for s in self.corpus.visible_statuses() if s.account.id == account.id]
            return self._timeline(path, params, mine, host)
        return _error(404, "Record not found")

    def _timeline(self, path: str, params: dict[str, str], statuses: list[Status], host: str) -> Page:
        try:
            limit = min(max(int(params.get("limit", 20)), 1), 40)
            max_id, since_id, min_id = (
                int(params[k]) if k in params else None for k in ("max_id", "since_id", "min_id")
            )
        except ValueError:
            return _error(422, "Validation failed")
        ordered = sorted(statuses, key=lambda s: int(s.id), reverse=True)
        if max_id is not None:
            ordered = [s for s in ordered if int(s.id) < max_id]
        if since_id is not None:
            ordered = [s for s in ordered if int(s.id) > since_id]
        if min_id is not None:
            page = sorted((s for s in ordered if int(s.id) > min_id), key=lambda s: int(s.id))[:limit]
            page.reverse()
        else:
            page = ordered[:limit]
        headers: list[tuple[str, str]] = [
            ("X-RateLimit-Limit", "300"),
            ("X-RateLimit-Remaining", "299"),
            ("X-RateLimit-Reset", "2099-01-01T00:00:00.000Z"),
        ]
        if page:
            base = f"http://{host or self.host}{path}"  # as asked for; the path arrives percent-encoded
            headers.append(
                (
                    "Link",
                    f'<{base}?max_id={page[-1].id}>; rel="next", <{base}?min_id={page[0].id}>; rel="prev"',
                )
            )
        return _json(200, [self._status(s) for s in page], tuple(headers))

    def _account_by_acct(self, acct: str) -> Account | None:
        wanted = acct.lstrip("@").lower().removesuffix(f"@{self.host}")
        return next((a for a in self.corpus.accounts.values() if a.acct.lower() == wanted), None)

    def _account(self, account: Account) -> dict[str, Any]:
        domain = account.acct.split("@", 1)[1] if "@" in account.acct else self.host
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.acct,
            "display_name": account.display_name,
            "locked": False,
            "bot": account.bot,
            "discoverable": True,
            "indexable": False,
            "group": False,
            "created_at": _iso(account.created_at),
            "note": f"<p>{escape(account.note)}</p>" if account.note else "",
            "url": f"https://{domain}/@{account.username}",
            "uri": f"https://{domain}/users/{account.username}",
            "avatar": f"https://{self.host}/avatars/original/missing.png",
            "followers_count": int(account.id[-3:]) * 3,
            "following_count": int(account.id[-2:]) * 2,
            "statuses_count": self._statuses_of[account.id],
            "emojis": [],
            "fields": [],
        }

    def _status(self, status: Status) -> dict[str, Any]:
        account = status.account
        domain = account.acct.split("@", 1)[1] if "@" in account.acct else self.host
        reblog = self._by_id.get(status.reblog_of) if status.reblog_of else None
        replied = self._by_id.get(status.in_reply_to_id) if status.in_reply_to_id else None
        return {
            "id": status.id,
            "created_at": _iso(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": replied.account.id if replied else None,
            "sensitive": bool(status.spoiler_text),
            "spoiler_text": status.spoiler_text,
            "visibility": "public",
            "language": status.language,
            "uri": f"https://{domain}/users/{account.username}/statuses/{status.id}",
            "url": f"https://{domain}/@{account.username}/{status.id}",
            "replies_count": self._replies[status.id],
            "reblogs_count": self._reblogs[status.id],
            "favourites_count": int(status.id[-2:]) % 17,
            "quotes_count": 0,
            "edited_at": _iso(status.created_at.replace(minute=(status.created_at.minute + 7) % 60))
            if status.edited
            else None,
            "content": "" if reblog else self._content(status.text),
            "reblog": self._status(reblog) if reblog else None,
            "quote": None,
            "account": self._account(account),
            "media_attachments": [],
            "mentions": [],
            "tags": [{"name": tag, "url": f"https://{self.host}/tags/{quote(tag)}"} for tag in status.tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _content(self, text: str) -> str:
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        return "".join(f"<p>{'<br>'.join(self._linkify(line) for line in p.split(chr(10)))}</p>" for p in paragraphs)

    def _linkify(self, line: str) -> str:
        out: list[str] = []
        last = 0
        for match in _TOKENS.finditer(line):
            out.append(escape(line[last : match.start()]))
            last = match.end()
            token = match.group()
            if match["url"]:
                scheme, _, rest = token.partition("://")
                out.append(
                    f'<a href="{escape(token)}" target="_blank" rel="nofollow noopener" translate="no">'
                    f'<span class="invisible">{scheme}://</span><span class="ellipsis">{escape(rest[:30])}</span>'
                    f'<span class="invisible">{escape(rest[30:])}</span></a>'
                )
            elif match["tag"]:
                name = token[1:]
                out.append(
                    f'<a href="https://{self.host}/tags/{quote(name.lower())}" class="mention hashtag" rel="tag">'
                    f"#<span>{escape(name)}</span></a>"
                )
            else:
                user, _, domain = token[1:].partition("@")
                out.append(
                    f'<span class="h-card" translate="no"><a href="https://{domain or self.host}/@{escape(user)}" '
                    f'class="u-url mention">@<span>{escape(user)}</span></a></span>'
                )
        out.append(escape(line[last:]))
        return "".join(out)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _json(status: int, value: Any, headers: tuple[tuple[str, str], ...] = ()) -> Page:
    return Page(
        status,
        json.dumps(value, ensure_ascii=False).encode("utf-8"),
        "application/json; charset=utf-8",
        headers,
    )


def _error(status: int, message: str) -> Page:
    return _json(status, {"error": message})
