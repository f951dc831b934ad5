"""Mastodon: public hashtag and account timelines of one instance, without login.

Incremental per timeline: the first crawl walks back (``rel="next"``, older) to the horizon; later crawls
start at ``min_id=<newest stored>`` and walk forward (``rel="prev"``, newer) until an empty page, so nothing
in between is skipped. Ids are compared as integers (18-digit strings, never floats).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response, TextResponse

from crawlers.html_text import html_to_text
from crawlers.pipelines import AUTHOR_FIELD
from crawlers.spiders.base import SourceSpider
from vaktpost.settings import MastodonSource

_PUBLIC = {"public", "unlisted"}


class MastodonSpider(SourceSpider):
    kind = "mastodon"
    source: MastodonSource

    @property
    def host(self) -> str:
        return urlsplit(self.source.base_url).netloc

    async def start(self) -> AsyncIterator[Any]:
        for tag in self.source.hashtags:
            yield self._timeline_request(f"/api/v1/timelines/tag/{quote(tag)}", f"tag:{tag}")
        for handle in self.source.accounts:
            yield scrapy.Request(
                self.url(f"/api/v1/accounts/lookup?acct={quote(handle.lstrip('@'))}"),
                callback=self.parse_account,
                errback=self.on_error,
                cb_kwargs={"handle": handle},
            )

    def _timeline_request(self, path: str, key: str) -> scrapy.Request:
        since = self.state.get("timelines", {}).get(key)
        params = {"limit": str(self.source.page_size)}
        if since:
            params["min_id"] = since
        return scrapy.Request(
            self.url(f"{path}?{urlencode(params)}"),
            callback=self.parse_timeline,
            errback=self.on_error,
            cb_kwargs={"key": key, "forward": bool(since)},
        )

    def parse_account(self, response: Response, handle: str) -> Iterator[Any]:
        account = self._json(response)
        if not isinstance(account, dict) or "id" not in account:
            if account is not None:
                self.fail("unexpected_json", response, "account lookup without an id")
            return
        yield self._timeline_request(f"/api/v1/accounts/{account['id']}/statuses", f"account:{handle}")

    def parse_timeline(self, response: Response, key: str, forward: bool) -> Iterator[Any]:
        statuses = self._json(response)
        if statuses is None:
            return
        if not isinstance(statuses, list):
            self.fail("unexpected_json", response, "a timeline must be a JSON array")
            return
        if not statuses and not forward and key not in self.state.get("timelines", {}):
            # Instances that switched off public timelines may answer with an empty array instead of 401.
            self.logger.info("empty timeline %s at %s (public preview may be disabled)", key, response.url)
        timelines = self.next_state.setdefault("timelines", {})
        newest = int(timelines.get(key) or 0)
        oldest_seen: datetime | None = None
        for status in statuses:
            if not isinstance(status, dict) or "id" not in status:
                self.fail("unexpected_json", response, "status without an id")
                continue
            newest = max(newest, int(status["id"]))
            item = self._post(status, response)
            if item is not None:
                created = datetime.fromisoformat(item["created_at"])
                oldest_seen = created if oldest_seen is None else min(oldest_seen, created)
                yield item
        if newest:
            timelines[key] = str(newest)
        if not statuses:
            return
        if forward:
            yield self._follow(response, "prev", "min_id", int(statuses[0]["id"]), key, True)
        elif oldest_seen is None or oldest_seen >= self.horizon:
            yield self._follow(response, "next", "max_id", int(statuses[-1]["id"]), key, False)

    def _follow(self, response: Response, rel: str, param: str, cursor: int, key: str, forward: bool) -> scrapy.Request:
        """The Link header's page when the server sends one, else the same URL with the cursor moved."""
        url = _link(response, rel)
        if url is None:
            parts = urlsplit(response.url)
            query = {k: v for k, v in parse_qsl(parts.query) if k not in ("min_id", "max_id", "since_id")}
            query[param] = str(cursor)
            url = urlunsplit(parts._replace(query=urlencode(query)))
        return scrapy.Request(
            url,
            callback=self.parse_timeline,
            errback=self.on_error,
            cb_kwargs={"key": key, "forward": forward},
        )

    def _json(self, response: Response) -> Any:
        if (wall := self.blocked(response)) or response.status >= 400:
            detail = ""
            if isinstance(response, TextResponse):
                detail = response.text[:120].replace("\n", " ")
            reason = "timeline_refused" if response.status in (401, 403) else wall or f"http_{response.status}"
            self.fail(reason, response, detail)
            return None
        return self.json_body(response)

    def _post(self, status: dict[str, Any], response: Response) -> dict[str, Any] | None:
        original = status.get("reblog") or status  # a boost carries someone else's words: attribute to them
        if original.get("visibility", "public") not in _PUBLIC:
            return None
        try:
            account = original["account"]
            acct = str(account["acct"])
            content = html_to_text(original.get("content") or "")
            created_at = str(original["created_at"])
        except (KeyError, TypeError) as err:
            self.fail("unexpected_json", response, f"status {original.get('id')}: missing {err}")
            return None
        warning = (original.get("spoiler_text") or "").strip()
        text = f"{warning}\n\n{content}".strip() if warning else content
        reply_to = original.get("in_reply_to_id")
        return self.post(
            id=f"mastodon:{self.host}/{original['id']}",
            url=original.get("url") or original.get("uri") or response.url,
            author_name=account.get("display_name") or account.get("username"),
            text=text,
            lang=original.get("language"),
            created_at=created_at.replace("Z", "+00:00"),
            reply_to=f"mastodon:{self.host}/{reply_to}" if reply_to else None,
            **{AUTHOR_FIELD: acct if "@" in acct else f"{acct}@{self.host}"},
        )


def _link(response: Response, rel: str) -> str | None:
    header = response.headers.get(b"Link")
    if not header:
        return None
    for part in header.decode("latin-1").split(","):
        url, _, params = part.partition(";")
        if f'rel="{rel}"' in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None
