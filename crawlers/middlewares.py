"""Scrapy middlewares: evidence capture for every response that yields a post."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawlers.evidence import CapturedResponse, WarcEvidenceWriter

EVIDENCE_FIELD = "evidence"


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
