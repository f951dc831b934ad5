"""The nightly job: deliver the spool, crawl every source, analyse what is new, store it, alert, purge
what is past retention, and report.

The flow orchestrates and computes nothing itself: each task calls one public function of a stage.
A failing source is reported and the others go on; watermarks advance only once posts are stored or
spooled. When the store is down or fails mid-run, analysed posts go to the durable spool in the data dir
and are delivered (and alerted on) first thing in the next run: nothing collected is lost.
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
from index import Spool, SpoolingWriter, Store, StoreError, open_store, retention_policy
from models import Analyzer, load_analyzer
from vaktpost.datadir import DataDir
from vaktpost.privacy import minimise
from vaktpost.schema import LABELS, AnalysedPost, Label, Post, RunReport, SourceReport
from vaktpost.settings import Settings, SourceConfig, load_settings


@flow(name="nightly", description="Crawl, analyse, index, alert and report, once.")
def nightly(config: str | None = None) -> RunReport:
    settings = load_settings(Path(config) if config else None)
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    data = DataDir(settings.data_dir).ensure()
    try:
        store: Store | None = open_store(settings)
    except StoreError as err:
        logger.error("the store is unreachable, analysed posts will be spooled: %s", err)
        store = None
    writer = SpoolingWriter(store, Spool(data.spool), run_id)
    try:
        delivered = deliver_spool(writer)
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
        stored = [store_source(result, settings, writer, analyzer) for result in results]
        items = [item for s in stored for item in s.stored]
        reports = [s.report for s in stored]
        dispatched, alert_error = alert([*delivered, *items], writer, settings, reports, run_id)
        purged, purge_error = purge(writer, settings)
        failed_sources = [r for r in reports if not r.ok]
        store_errors = [e for e in (writer.failure, alert_error, purge_error) if e]
        if writer.spooled:
            store_errors.insert(0, f"store: {writer.spooled} analysed post(s) spooled for the next run")
        outcome = (
            "failed"
            if reports and len(failed_sources) == len(reports)
            else "partial"
            if failed_sources or store_errors
            else "completed"
        )
        flags: dict[Label, int] = {label: sum(label in i.verdict.flags for i in items) for label in LABELS}
        report = RunReport(
            run_id=run_id,
            started_at=started,
            finished_at=datetime.now(UTC),
            outcome=outcome,
            demo=demo,
            sources=reports,
            analysed=sum(len(s.analysed) for s in stored),
            flags=flags,
            alerts_sent=len(dispatched[0]),
            alerts_failed=len(dispatched[1]),
            spooled=writer.spooled,
            delivered_from_spool=len(delivered),
            purged=purged,
            errors=[f"{r.name}: {r.error}" for r in failed_sources if r.error] + store_errors,
        )
        publish_report(report, writer, work_dir)
        return report
    finally:
        if store is not None:
            store.close()


@task(name="deliver-spool", cache_policy=NO_CACHE)
def deliver_spool(writer: SpoolingWriter) -> list[AnalysedPost]:
    """Store what earlier runs spooled, before anything else; returns the posts, to alert on them now."""
    logger = get_run_logger()
    segments = writer.spool.segments()
    if not segments or writer.store is None:
        if segments:
            logger.warning("%d spooled segment(s) wait for the store", len(segments))
        return []
    items = [item for segment in segments for _, item in _readable(writer.spool, segment)]
    try:
        delivery = writer.spool.deliver(writer.store)
    except StoreError as err:
        writer.failure = str(err)
        logger.error("delivering the spool failed, it is kept for the next run: %s", err)
        return []
    for problem in delivery.errors:
        logger.error("spool: %s", problem)
    logger.info("spool: %d post(s) from %d segment(s) delivered", delivery.posts, delivery.segments)
    return items


def _readable(spool: Spool, segment: Path) -> list[tuple[str, AnalysedPost]]:
    from index import SpoolError

    try:
        return spool.read(segment)
    except SpoolError:
        return []


@contextmanager
def _sources(settings: Settings, store: Store | None) -> Iterator[tuple[Sequence[SourceConfig], str | None, bool]]:
    """The configured sources, or the bundled demo (served locally for the length of the run)."""
    if store is None:
        demo = not settings.sources
    else:
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


@dataclass
class StoredSource:
    report: SourceReport
    stored: list[AnalysedPost] = field(default_factory=list)
    analysed: list[AnalysedPost] = field(default_factory=list)


@task(name="analyse-and-store", cache_policy=NO_CACHE)
def store_source(
    result: crawlers.CrawlResult, settings: Settings, writer: SpoolingWriter, analyzer: Analyzer
) -> StoredSource:
    """Analyse the posts a crawl found that the store does not have yet, store (or spool) them, then advance
    the source's state."""
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
    known: set[str] = set()
    if writer.store_ok and writer.store is not None:
        try:
            known = writer.store.existing_ids([post.id for post in posts])
        except StoreError as err:  # analyse them all: upserts by id cannot duplicate
            writer.failure = str(err)
    fresh = [post for post in posts if post.id not in known]
    try:
        stored, analysed = analyse_and_upsert(fresh, settings, writer, analyzer, result.source)
    except Exception as err:  # one source's failure must not stop the others
        logger.exception("%s: analysis or storage failed", result.source)
        return StoredSource(report.model_copy(update={"ok": False, "error": f"analysis/storage failed: {err}"}))
    crawlers.commit_state(result, settings)
    result.posts_file.unlink(missing_ok=True)  # stored or spooled; the raw copy holds names of unflagged authors
    return StoredSource(report.model_copy(update={"new": len(analysed)}), stored, analysed)


def analyse_and_upsert(
    posts: Sequence[Post], settings: Settings, writer: SpoolingWriter, analyzer: Analyzer, label: str
) -> tuple[list[AnalysedPost], list[AnalysedPost]]:
    """Analyse in batches and write each batch; returns (stored in the store, all analysed)."""
    stored: list[AnalysedPost] = []
    analysed: list[AnalysedPost] = []
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
            if writer.write(items):
                stored.extend(items)
            analysed.extend(items)
            progress.advance(bar, len(batch))
    return stored, analysed


@task(name="alert", cache_policy=NO_CACHE)
def alert(
    items: Sequence[AnalysedPost],
    writer: SpoolingWriter,
    settings: Settings,
    reports: Sequence[SourceReport] = (),
    run_id: str | None = None,
) -> tuple[tuple[list[str], list[str]], str | None]:
    """Alerts on what was stored (immediate), on the store's history (spike), on the sources' runs
    (flatline, from this run's reports and the stored ones) and a digest of the run; delivers what earlier
    runs left pending too. When the store (which keeps alerts from repeating) is down, the posts are spooled
    again so that the next run, delivering them, alerts on them then."""
    if writer.store_ok and writer.store is not None:
        try:
            result = send_alerts(items, writer.store, settings, reports=reports, run_id=run_id)
        except StoreError as err:
            writer.failure = str(err)
        else:
            get_run_logger().info(
                "alerts: %d sent, %d not delivered, %d held for quiet hours, %d already sent before",
                len(result.sent),
                len(result.failed),
                len(result.held),
                result.already_sent,
            )
            return (result.sent, result.failed), None
    if not items:
        return ([], []), None
    writer.spool.append(items, writer.run_id)
    return ([], []), f"alerts: {len(items)} post(s) wait for the store to alert on them"


@task(name="purge", cache_policy=NO_CACHE)
def purge(writer: SpoolingWriter, settings: Settings) -> tuple[int, str | None]:
    """Apply the retention periods (settings.retention) to the store."""
    if not writer.store_ok or writer.store is None:
        return 0, None
    try:
        result = writer.store.purge(retention_policy(settings))
    except StoreError as err:
        return 0, f"purge: {err}"
    get_run_logger().info(
        "purge: %d unflagged, %d flagged and %d dismissed post(s), %d audit entries past retention",
        result.unflagged,
        result.flagged,
        result.dismissed,
        result.audit_entries,
    )
    return result.posts, None


@task(name="report", cache_policy=NO_CACHE)
def publish_report(report: RunReport, writer: SpoolingWriter, work_dir: Path) -> None:
    markdown = to_markdown(report)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "report.md").write_text(markdown, encoding="utf-8")
    (work_dir / "report.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    if writer.store is not None:
        try:
            writer.store.record_run(report)
        except StoreError as err:
            get_run_logger().error("the run report is only in %s: %s", work_dir, err)
    create_markdown_artifact(markdown, key="nightly-report", description=f"Vaktpost run {report.run_id}")
    create_table_artifact(source_rows(report), key="nightly-sources", description="Posts per source")
