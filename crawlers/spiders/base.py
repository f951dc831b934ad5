"""What every source spider shares: its source settings, its state, honest failure counting."""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawlers.state import State, save_state
from vaktpost.settings import SourceConfig

log = logging.getLogger(__name__)

FAILED_STAT = "vaktpost/failed/"
NOTE_STAT = "vaktpost/note/"
FATAL_STAT = "vaktpost/fatal"

# Pages that stand between a guest and the content: never parsed as posts, always reported.
_WALLS = {
    "login_wall": re.compile(r"du måste vara inloggad|logga in för att|you must be logged in|please log in", re.I),
    "challenge_page": re.compile(r"just a moment\.\.\.|cf-challenge|checking your browser|captcha", re.I),
    "access_denied": re.compile(r"access denied|your request has been blocked|blocked by network security", re.I),
}


class SourceSpider(scrapy.Spider):
    """Base class: subclasses define ``kind`` and parse their source's pages into Post dicts."""

    kind: ClassVar[str]
    handle_httpstatus_list: ClassVar[list[int]] = [401, 403, 404, 410]

    def __init__(self, source: SourceConfig, state: State, **kwargs: Any) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.state = state
        self.next_state: State = copy.deepcopy(state)
        self.started_at = datetime.now(UTC)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._save_pending_state, signal=signals.spider_closed)
        return spider

    @property
    def horizon(self) -> datetime:
        """How far back a first crawl reaches."""
        return self.started_at - timedelta(days=int(self.settings.getint("VAKTPOST_SINCE_DAYS", 30)))

    def url(self, path: str) -> str:
        return f"{self.source.base_url}{path}"

    def fail(self, reason: str, response_or_url: Response | str, detail: str = "") -> None:
        """Count a failure under ``reason`` and log where it happened (never what a post said)."""
        url = response_or_url if isinstance(response_or_url, str) else response_or_url.url
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(FAILED_STAT + reason)
        self.logger.warning("%s at %s%s", reason, url, f": {detail}" if detail else "")

    def blocked(self, response: Response) -> str | None:
        """The kind of wall this response is, if it is one (status codes first, then the page text)."""
        if response.status in (401, 403):
            return "access_denied"
        if not isinstance(response, TextResponse):
            return None
        head = response.text[:20000]
        for reason, pattern in _WALLS.items():
            if pattern.search(head):
                return reason
        return None

    def give_up(self, reason: str, response_or_url: Response | str, detail: str = "") -> None:
        """A failure that ends this source's crawl (no credentials, a refused token): the run reports it."""
        self.fail(reason, response_or_url, detail)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(FATAL_STAT, reason)

    def note(self, kind: str, count: int = 1) -> None:
        """Count something worth reporting that is not a failure: items skipped on purpose, undated entries."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(NOTE_STAT + kind, count)

    def on_error(self, failure: Failure) -> None:
        """Errback for every request: a download that finally failed is counted by kind, with its URL."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        error = failure.value
        if isinstance(error, HttpError):
            reason = f"http_{error.response.status}"
        elif isinstance(error, TimeoutError | TCPTimedOutError | DownloadTimeoutError):
            reason = "timeout"
        elif isinstance(error, DNSLookupError | CannotResolveHostError):
            reason = "dns_error"
        elif isinstance(error, ConnectionRefusedError | DownloadConnectionRefusedError):
            reason = "connection_refused"
        elif isinstance(error, ResponseDataLossError):
            reason = "truncated_response"
        elif isinstance(error, IgnoreRequest):
            reason = "robots_disallowed"  # robots.txt forbids it: configured scope the site asks us to leave
        else:
            reason = "download_error"
        self.fail(reason, url, failure.getErrorMessage()[:200])

    def json_body(self, response: Response) -> Any | None:
        """The parsed JSON of a response, or None after counting it as ``malformed_json``."""
        try:
            return json.loads(response.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            self.fail("malformed_json", response, str(err)[:120])
            return None

    def post(self, **fields: Any) -> dict[str, Any]:
        """A raw post dict; the pipeline pseudonymises and validates it."""
        fields.setdefault("source", self.kind)
        fields.setdefault("collected_at", datetime.now(UTC).isoformat())
        return fields

    def _save_pending_state(self, spider: scrapy.Spider, reason: str) -> None:
        path = self.settings.get("VAKTPOST_PENDING_STATE")
        if path:
            self.next_state["_last_crawl"] = {"finished": datetime.now(UTC).isoformat(), "reason": reason}
            save_state(Path(path), self.next_state)
