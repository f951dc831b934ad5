"""Entry point of one crawl subprocess: ``python -m crawlers.run JOB.json``.

Scrapy's Twisted reactor cannot be restarted within a process, so every crawl runs in its own process;
the parent (crawlers.crawl) reads the posts, the stats and the pending state this process leaves behind.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from scrapy.crawler import CrawlerProcess

from crawlers.scrapy_settings import scrapy_settings
from crawlers.spiders import spider_for
from crawlers.state import load_state
from vaktpost.privacy import pseudonym_key
from vaktpost.settings import Settings, SourceConfig, format_errors

FAILED_PREFIX = "vaktpost/failed/"
NOTE_PREFIX = "vaktpost/note/"


def main(job_file: Path) -> int:
    job = json.loads(job_file.read_text(encoding="utf-8"))
    try:  # the parent's settings as it validated them; secrets come from the environment, never the file
        settings = Settings.model_validate(job["settings"])
    except ValidationError as err:
        print(format_errors(err, Path("crawl job")), file=sys.stderr)
        return 2
    source: Any = TypeAdapter(SourceConfig).validate_python(job["source"])
    state = load_state(Path(job["state"]))
    process = CrawlerProcess(
        scrapy_settings(
            settings,
            source,
            out=Path(job["out"]),
            warc=Path(job["warc"]),
            pending_state=Path(job["pending_state"]),
            key=pseudonym_key(settings),
        ),
    )
    crawler = process.create_crawler(spider_for(source.kind))
    process.crawl(crawler, source=source, state=state)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    summary = {
        "fetched": int(stats.get("item_scraped_count", 0)),
        "pages": int(stats.get("response_received_count", 0)),
        "finish_reason": stats.get("finish_reason"),
        "failures": _failures(stats),
        "notes": {k.removeprefix(NOTE_PREFIX): int(v) for k, v in stats.items() if k.startswith(NOTE_PREFIX)},
        "fatal": stats.get("vaktpost/fatal"),
    }
    Path(job["stats"]).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return 0


def _failures(stats: dict[str, Any]) -> dict[str, int]:
    failures = {
        key.removeprefix(FAILED_PREFIX): int(value) for key, value in stats.items() if key.startswith(FAILED_PREFIX)
    }
    if stats.get("spider_exceptions/count"):
        failures["parser_error"] = int(stats["spider_exceptions/count"])
    return failures


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
