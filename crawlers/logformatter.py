"""Scrapy log lines without post content: items hold personal data and must never reach a log."""

from __future__ import annotations

from typing import Any

from scrapy import logformatter
from scrapy.http import Response
from twisted.python.failure import Failure


class PrivacyLogFormatter(logformatter.LogFormatter):
    def scraped(self, item: Any, response: Response | Failure | None, spider: Any) -> Any:
        entry = super().scraped(item, response, spider)
        entry["msg"] = "Scraped post %(id)s from %(src)s"
        entry["args"] = {"id": _post_id(item), "src": getattr(response, "url", response)}
        return entry

    def dropped(self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Any) -> Any:
        entry = super().dropped(item, exception, response, spider)
        entry["msg"] = "Dropped post %(id)s: %(exception)s"
        entry["args"] = {"id": _post_id(item), "exception": exception}
        return entry

    def item_error(self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Any) -> Any:
        entry = super().item_error(item, exception, response, spider)
        entry["msg"] = "Error processing post %(id)s"
        entry["args"] = {"id": _post_id(item)}
        return entry


def _post_id(item: Any) -> str:
    return str(item.get("id", "?")) if isinstance(item, dict) else "?"
