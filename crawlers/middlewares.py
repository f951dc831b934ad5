"""Scrapy middlewares: evidence capture for every response that yields a post; polite retries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawlers.evidence import CapturedResponse, WarcEvidenceWriter

EVIDENCE_FIELD = "evidence"
RETRY_AFTER_MAX_S = 600.0
log = logging.getLogger(__name__)


class EvidenceMiddleware:
    """Writes a response to WARC the first time one of its items passes, and points the items at it."""

    def __init__(self, data_dir: Path, warc_path: Path) -> None:
        self._writer: WarcEvidenceWriter | None = None
        self._data_dir = data_dir
        self._warc_path = warc_path
        self._by_response: dict[int, Any] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EvidenceMiddleware:
        middleware = cls(Path(crawler.settings["VAKTPOST_DATA_DIR"]), Path(crawler.settings["VAKTPOST_WARC_PATH"]))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        async for item in result:
            yield self._attach(response, item)

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterable[Any]:
        for item in result:
            yield self._attach(response, item)

    def _attach(self, response: Response, item: Any) -> Any:
        if not isinstance(item, dict):
            return item  # a request
        key = id(response)
        if key not in self._by_response:
            self._by_response = {key: self._capture(response)}  # one response at a time is enough to remember
        item[EVIDENCE_FIELD] = self._by_response[key].model_dump(mode="json")
        return item

    def _capture(self, response: Response) -> Any:
        if self._writer is None:
            self._writer = WarcEvidenceWriter(self._data_dir, self._warc_path)
        fetched_at = response.meta.get("fetched_at") or datetime.now(UTC)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in response.headers.items()
            for value in values
        ]
        reason = _REASONS.get(response.status, "")
        return self._writer.write(
            CapturedResponse(response.url, response.status, reason, headers, response.body, fetched_at)
        )

    def spider_closed(self, spider: Spider | None = None) -> None:
        if self._writer is not None:
            self._writer.close()


_REASONS = {200: "OK", 203: "Non-Authoritative Information", 206: "Partial Content"}


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries with backoff: a 429 or 503 waits as long as ``Retry-After`` asks; other retryable
    answers and network errors wait ``VAKTPOST_RETRY_BACKOFF_S``, doubled on every attempt.

    A wait longer than ``VAKTPOST_RETRY_AFTER_MAX_S`` is not sat out: the request fails and is reported,
    and the next run tries again.
    """

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        retryable = response.status in self.retry_http_codes and not request.meta.get("dont_retry", False)
        if retryable and request.meta.get("retry_times", 0) < self.max_retry_times:
            wait = self._wait(request, response)
            limit = self.crawler.settings.getfloat("VAKTPOST_RETRY_AFTER_MAX_S", RETRY_AFTER_MAX_S)
            if wait > limit:
                log.warning("%s asks to wait %.0f s (over %.0f s): giving up for this run", request.url, wait, limit)
                return response
            if wait > 0:
                log.info("%s answered %d: retrying in %.1f s", request.url, response.status, wait)
                await _sleep(wait)
        result: Request | Response = super().process_response(request, response)
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        retryable = isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry", False)
        if retryable and request.meta.get("retry_times", 0) < self.max_retry_times:
            wait = self._wait(request, None)
            log.info("%s failed (%s): retrying in %.1f s", request.url, type(exception).__name__, wait)
            await _sleep(wait)
        result: Request | Response | None = super().process_exception(request, exception)
        return result

    def _wait(self, request: Request, response: Response | None) -> float:
        if response is not None:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"), datetime.now(UTC))
            if asked is not None:
                return asked
        backoff = self.crawler.settings.getfloat("VAKTPOST_RETRY_BACKOFF_S", 1.0)
        return float(backoff * 2 ** int(request.meta.get("retry_times", 0)))


async def _sleep(seconds: float) -> None:
    """Wait without blocking the crawl (the reactor is imported here: importing it early installs the wrong one)."""
    from twisted.internet import reactor, task

    await maybe_deferred_to_future(task.deferLater(reactor, seconds, lambda: None))


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, fixed for requests that wait for the rules together.

    In Scrapy 2.19 every waiter chains onto one Deferred and only the first receives the parsed rules; the
    others get None and go through unchecked. Here every waiter gets its own Deferred with the same rules.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            mine: Deferred[RobotParser | None] = Deferred()

            def share(rules: RobotParser | None) -> RobotParser | None:
                mine.callback(rules)
                return rules  # hand the rules on to the next waiter unchanged

            pending.addCallback(share)
            parser: RobotParser | None = await maybe_deferred_to_future(mine)
            return parser
        result: RobotParser | None = await super().robot_parser(request)
        return result


def retry_after_seconds(header: bytes | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not header:
        return None
    value = header.decode("latin-1").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
