"""The nightly job: crawl every source, analyse what is new, store it, alert, and report.

The flow orchestrates and computes nothing itself: each task calls one public function of a stage.
A failing source is reported and the others go on; watermarks advance only once posts are stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import crawlers
from alerts import send_alerts
from flows.guards import check_demo_separation, mark_data_dir
from flows.report import source_rows, to_markdown
from index import Store, open_store
from models import Analyzer, load_analyzer
from vaktpost.datadir import DataDir
from vaktpost.privacy import minimise
from vaktpost.schema import LABELS, AnalysedPost, Label, Post, RunReport, SourceReport
from vaktpost.settings import Settings, SourceConfig, load_settings


@dataclass
class StoredSource:
    report: SourceReport
    stored: list[AnalysedPost] = field(default_factory=list)


@flow(name="nightly", description="Crawl, analyse, index, alert and report, once.")
def nightly(config: str | None = None) -> RunReport:
    settings = load_settings(Path(config) if config else None)
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    data = DataDir(settings.data_dir).ensure()
    store = open_store(settings)
    try:
        with _sources(settings, store) as (sources, proxy, demo):
            logger.info("run %s: crawling %d source(s)%s", run_id, len(sources), " (demo)" if demo else "")
            work_dir = data.run_dir(run_id)
            futures = [
                crawl_source.with_options(tags=[f"crawl:{source.kind}"]).submit(
                    source, settings, work_dir, run_id, proxy
                )
                for source in sources
            ]
            results = [future.result() for future in futures]
        analyzer = load_analyzer(settings)
        stored = [store_source(result, settings, store, analyzer, run_id) for result in results]
        items = [item for s in stored for item in s.stored]
        dispatched = alert(items, store, settings)
        reports = [s.report for s in stored]
        failed_sources = [r for r in reports if not r.ok]
        outcome = "completed" if not failed_sources else "failed" if len(failed_sources) == len(reports) else "partial"
        flags: dict[Label, int] = {label: sum(label in i.verdict.flags for i in items) for label in LABELS}
        report = RunReport(
            run_id=run_id,
            started_at=started,
            finished_at=datetime.now(UTC),
            outcome=outcome,
            demo=demo,
            sources=reports,
            analysed=len(items),
            flags=flags,
            alerts_sent=len(dispatched[0]),
            alerts_failed=len(dispatched[1]),
            errors=[f"{r.name}: {r.error}" for r in failed_sources if r.error],
        )
        publish_report(report, store, work_dir)
        return report
    finally:
        store.close()


@contextmanager
def _sources(settings: Settings, store: Store) -> Iterator[tuple[Sequence[SourceConfig], str | None, bool]]:
    """The configured sources, or the bundled demo (served locally for the length of the run)."""
    demo = check_demo_separation(settings, store)
    mark_data_dir(store, demo)
    if not demo:
        yield settings.enabled_sources, None, False
        return
    from demo import serve_demo

    with serve_demo() as site:
        yield site.sources, site.proxy, True


@task(name="crawl", cache_policy=NO_CACHE)
def crawl_source(
    source: SourceConfig,
    settings: Settings,
    work_dir: Path,
    run_id: str,
    proxy: str | None,
) -> crawlers.CrawlResult:
    result = crawlers.crawl(source, settings, work_dir, run_id=run_id, proxy=proxy)
    logger = get_run_logger()
    if result.ok:
        logger.info(
            "%s: %d posts from %d pages, %d failures",
            source.name,
            result.fetched,
            result.pages,
            result.failed,
        )
    else:
        logger.error("%s: %s", source.name, result.error)
    return result


@task(name="analyse-and-store", cache_policy=NO_CACHE)
def store_source(
    result: crawlers.CrawlResult, settings: Settings, store: Store, analyzer: Analyzer, run_id: str
) -> StoredSource:
    """Analyse the posts a crawl found that the store does not have yet, store them, then advance state."""
    logger = get_run_logger()
    report = SourceReport(
        name=result.source,
        kind=result.kind,
        fetched=result.fetched,
        failed=result.failed,
        failures=result.failures,
        notes=result.notes,
        ok=result.ok,
        error=result.error,
        duration_s=round(result.duration_s, 2),
    )
    posts = list(crawlers.read_posts(result.posts_file))
    known = store.existing_ids([post.id for post in posts])
    fresh = [post for post in posts if post.id not in known]
    try:
        stored = analyse_and_upsert(fresh, settings, store, analyzer, run_id, result.source)
    except Exception as err:  # one source's failure must not stop the others
        logger.exception("%s: analysis or storage failed", result.source)
        return StoredSource(report.model_copy(update={"ok": False, "error": f"analysis/storage failed: {err}"}))
    crawlers.commit_state(result, settings)
    result.posts_file.unlink(missing_ok=True)  # the store has them; the raw copy holds names of unflagged authors
    return StoredSource(report.model_copy(update={"new": len(stored)}), stored)


def analyse_and_upsert(
    posts: Sequence[Post], settings: Settings, store: Store, analyzer: Analyzer, run_id: str, label: str
) -> list[AnalysedPost]:
    stored: list[AnalysedPost] = []
    size = settings.analysis.batch_size
    with Progress(
        TextColumn(f"analysing {label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        bar = progress.add_task(label, total=len(posts))
        for start in range(0, len(posts), size):
            batch = posts[start : start + size]
            verdicts = analyzer.analyze(batch)
            items = [minimise(AnalysedPost(post=p, verdict=v)) for p, v in zip(batch, verdicts, strict=True)]
            store.upsert(items, run_id=run_id)
            stored.extend(items)
            progress.advance(bar, len(batch))
    return stored


@task(name="alert", cache_policy=NO_CACHE)
def alert(items: Sequence[AnalysedPost], store: Store, settings: Settings) -> tuple[list[str], list[str]]:
    result = send_alerts(items, store, settings)
    get_run_logger().info(
        "alerts: %d sent, %d not delivered, %d already sent before",
        len(result.sent),
        len(result.failed),
        result.already_sent,
    )
    return result.sent, result.failed


@task(name="report", cache_policy=NO_CACHE)
def publish_report(report: RunReport, store: Store, work_dir: Path) -> None:
    markdown = to_markdown(report)
    store.record_run(report)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "report.md").write_text(markdown, encoding="utf-8")
    (work_dir / "report.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    create_markdown_artifact(markdown, key="nightly-report", description=f"Vaktpost run {report.run_id}")
    create_table_artifact(source_rows(report), key="nightly-sources", description="Posts per source")
