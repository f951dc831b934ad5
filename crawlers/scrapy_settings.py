"""Scrapy settings for one source's crawl, derived from Vaktpost settings: politeness lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaktpost.datadir import DataDir
from vaktpost.settings import Settings, SourceConfig


def scrapy_settings(
    settings: Settings, source: SourceConfig, *, out: Path, warc: Path, pending_state: Path, key: bytes
) -> dict[str, Any]:
    crawl = settings.crawl
    delay = crawl.default_delay_s if source.delay_s is None else source.delay_s
    data = DataDir(settings.data_dir)
    return {
        "BOT_NAME": "vaktpost",
        "USER_AGENT": crawl.resolved_user_agent(),
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": delay,
        "DOWNLOAD_DELAY_JITTER": 0.5 if delay > 0 else 0.0,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": delay,
        "AUTOTHROTTLE_MAX_DELAY": max(60.0, delay * 4),
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout_s,
        "RETRY_ENABLED": crawl.retries > 0,
        "RETRY_TIMES": crawl.retries,
        "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
        "CLOSESPIDER_PAGECOUNT": crawl.max_pages,
        # Stop gracefully (state and evidence written) a little before the parent kills the process.
        "CLOSESPIDER_TIMEOUT": _graceful_stop(crawl.run_timeout_s),
        "HTTPCACHE_ENABLED": crawl.http_cache,
        "HTTPCACHE_DIR": str(data.http_cache / source.name),
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "DEBUG" if settings.log_level == "DEBUG" else "INFO",
        "LOG_FORMATTER": "crawlers.logformatter.PrivacyLogFormatter",
        "SPIDER_MIDDLEWARES": {"crawlers.middlewares.EvidenceMiddleware": 950},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawlers.middlewares.RetryAfterMiddleware": 550,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawlers.middlewares.SharedRobotsTxtMiddleware": 100,
        },
        "ITEM_PIPELINES": {"crawlers.pipelines.PostPipeline": 100},
        "FEEDS": {str(out): {"format": "jsonlines", "encoding": "utf8", "overwrite": True}},
        "FEED_EXPORT_ENCODING": "utf-8",
        "VAKTPOST_DATA_DIR": str(settings.data_dir),
        "VAKTPOST_WARC_PATH": str(warc),
        "VAKTPOST_PENDING_STATE": str(pending_state),
        "VAKTPOST_PSEUDONYM_KEY": key.decode("utf-8"),
        "VAKTPOST_RETRY_BACKOFF_S": crawl.retry_backoff_s,
        "VAKTPOST_SINCE_DAYS": source.since_days or crawl.since_days,
    }


def _graceful_stop(run_timeout_s: float) -> float:
    """When Scrapy stops on its own: 30 s (or a tenth, for short limits) before the parent kills it."""
    margin = 30.0 if run_timeout_s > 300 else run_timeout_s * 0.1
    return max(1.0, run_timeout_s - margin)
