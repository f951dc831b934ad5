"""The nightly job: deliver the spool, crawl every source, analyse what is new, store it, alert, purge
what is past retention, and report.

The flow orchestrates and computes nothing itself: each task calls one public function of a stage.
A failing source is reported and the others go on; watermarks advance only once posts are stored or
spooled. When the store is down or fails mid-run, analysed posts go to the durable spool in the data dir
and are delivered (and alerted on) first thing in the next run: nothing collected is lost.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import task_run as current_task_run
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import crawlers
from alerts import channels_for, send_alerts
from alerts.dispatch import dispatch
from flows.guards import check_demo_separation, mark_data_dir
from flows.locking import RunLockedError, run_lock
from flows.logs import json_logs
from flows.report import problems_summary, source_rows, to_markdown
from flows.runner import analysis_window, task_runner
from index import Spool, SpoolingWriter, Store, StoreError, open_store, retention_policy
from models import Analyzer, load_analyzer
from vaktpost.datadir import DataDir
from vaktpost.privacy import minimise
from vaktpost.schema import LABELS, Alert, AnalysedPost, Label, Post, RunReport, Severity, SourceReport
from vaktpost.settings import Settings, SourceConfig, load_settings

LOCKED_EXIT = 4
"""The exit status of a ``vaktpost run`` that found another run holding the data dir's lock."""


@flow(name="nightly", description="Crawl, analyse, index, alert and report, once.")
def nightly(config: str | None = None) -> RunReport:
    """Take the data dir's run lock, then run the job as a subflow with the configured task runner and the
    run's time limit (``run.task_runner``, ``run.run_timeout_s``). A second run while one holds the lock exits
    with status 4 and names the holder; it never does the work twice."""
    settings = load_settings(Path(config) if config else None)
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    data = DataDir(settings.data_dir).ensure()
    try:
        with run_lock(settings.data_dir, run_id), json_logs(data.run_dir(run_id) / "log.jsonl", settings.run.json_logs):
            job = run_job.with_options(task_runner=task_runner(settings), timeout_seconds=settings.run.run_timeout_s)
            try:
                return job(config=config, run_id=run_id, started=started)
            except Exception as err:
                logger.error("run %s failed: %s: %s", run_id, type(err).__name__, err)
                notify_operators_of_failure(settings, run_id, f"{type(err).__name__}: {err}")
                raise
    except RunLockedError as err:
        logger.error("%s", err)
        sys.stderr.write(f"error: {err}\n")
        raise SystemExit(LOCKED_EXIT) from None


@flow(name="nightly-job", description="The nightly job itself, under the run lock.")
def run_job(config: str | None, run_id: str, started: datetime) -> RunReport:
    settings = load_settings(Path(config) if config else None)
    logger = get_run_logger()
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
            ensure_crawl_limits({source.kind for source in sources})
            crawl = crawl_source.with_options(
                retries=settings.run.source_retries,
                retry_delay_seconds=backoff(settings),
                timeout_seconds=crawl_task_timeout(settings),
            )
            futures = [
                (
                    source,
                    crawl.with_options(tags=[f"crawl:{source.kind}"]).submit(source, settings, work_dir, run_id, proxy),
                )
                for source in sources
            ]
            results = [_crawl_result(source, future, settings, work_dir) for source, future in futures]
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
        if report.outcome != "completed":
            notify_operators(report, writer, settings)
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
    tries = int(current_task_run.run_count or 1)
    if not result.ok and not _timed_out(result) and tries <= settings.run.source_retries:
        # Raising makes Prefect retry the crawl (with backoff); the last try's result is reported as it is.
        raise CrawlFailedError(f"{source.name}: {result.error} (try {tries})")
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


def store_source(
    result: crawlers.CrawlResult, settings: Settings, writer: SpoolingWriter, analyzer: Analyzer
) -> StoredSource:
    """Analyse the posts a crawl found that the store does not have yet, store (or spool) them, then advance
    the source's state. Runs in the flow (not a task of its own): it holds the store connection, and the
    analysis batches it submits must not carry that to Dask workers in their task context."""
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
    """Analyse in batches, each an ``analyse-batch`` task on the run's task runner (a few in flight at once on
    Dask), and write each batch here, in order: the store connection stays in the flow's process. Returns
    (stored in the store, all analysed)."""
    stored: list[AnalysedPost] = []
    analysed: list[AnalysedPost] = []
    size = settings.analysis.batch_size
    local = settings.run.task_runner == "threads"
    window = analysis_window(settings)
    batches = [list(posts[start : start + size]) for start in range(0, len(posts), size)]
    with Progress(
        TextColumn(f"analysing {label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        bar = progress.add_task(label, total=len(posts))
        in_flight: list[PrefectFuture[list[AnalysedPost]]] = []
        queue = iter(batches)
        while True:
            while len(in_flight) < window and (batch := next(queue, None)) is not None:
                in_flight.append(analyse_batch.submit(batch, settings, analyzer if local else None))
            if not in_flight:
                break
            items = in_flight.pop(0).result()
            if writer.write(items):
                stored.extend(items)
            analysed.extend(items)
            progress.advance(bar, len(items))
    return stored, analysed


_ANALYZERS: dict[str, Analyzer] = {}


@task(name="analyse-batch", cache_policy=NO_CACHE)
def analyse_batch(batch: list[Post], settings: Settings, analyzer: Analyzer | None = None) -> list[AnalysedPost]:
    """Verdicts for one batch, minimised. Without an analyzer (on a Dask worker) the worker loads its own, once."""
    if analyzer is None:
        key = settings.model_dump_json()
        analyzer = _ANALYZERS.get(key)
        if analyzer is None:
            analyzer = _ANALYZERS[key] = load_analyzer(settings)
    verdicts = analyzer.analyze(batch)
    return [minimise(AnalysedPost(post=p, verdict=v)) for p, v in zip(batch, verdicts, strict=True)]


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


class CrawlFailedError(RuntimeError):
    """A crawl that failed (not one cut off by its time limit): raised so that Prefect retries the task."""


def backoff(settings: Settings) -> list[float]:
    """Exponential retry delays: ``retry_delay_s``, twice that, four times, ... one per retry."""
    return [settings.run.retry_delay_s * 2**n for n in range(max(settings.run.source_retries, 1))]


def crawl_task_timeout(settings: Settings) -> float:
    """The crawl task's limit: a bit above the crawl subprocess's own (``crawl.run_timeout_s``), so that the
    subprocess is stopped first and keeps what it collected; the task limit catches a task stuck elsewhere."""
    return settings.crawl.run_timeout_s + max(30.0, settings.crawl.run_timeout_s * 0.1)


def _timed_out(result: crawlers.CrawlResult) -> bool:
    return bool(result.error and "run_timeout_s" in result.error)


def _crawl_result(
    source: SourceConfig, future: PrefectFuture[crawlers.CrawlResult], settings: Settings, work_dir: Path
) -> crawlers.CrawlResult:
    """The crawl's result, or a failed one that says why the task itself failed (its time limit, its retries)."""
    try:
        return future.result()
    except Exception as err:
        if isinstance(err, TimeoutError) or "timed out" in str(err).lower() or "timeout" in type(err).__name__.lower():
            error = f"crawl task timed out after {crawl_task_timeout(settings):.0f} s (crawl.run_timeout_s)"
        else:
            error = f"crawl failed after {settings.run.source_retries + 1} tries: {type(err).__name__}: {err}"
        get_run_logger().error("%s: %s", source.name, error)
        return crawlers.CrawlResult(
            source=source.name,
            kind=source.kind,
            posts_file=work_dir / f"{source.name}.jsonl",
            pending_state=work_dir / f"{source.name}.state.json",
            log_file=work_dir / f"{source.name}.log",
            ok=False,
            error=error,
        )


def ensure_crawl_limits(kinds: set[str]) -> None:
    """A Prefect tag concurrency limit of 1 on ``crawl:<kind>``, so that no platform is crawled by two runs at
    once, across data dirs, wherever the runs share a Prefect server. Created once, left as it is when it exists
    (an operator may have changed it); without a reachable server the data dir's run lock is the guard."""
    from prefect.client.orchestration import get_client

    logger = get_run_logger()
    try:
        with get_client(sync_client=True) as client:
            existing = {limit.tag for limit in client.read_concurrency_limits(limit=200, offset=0)}
            for kind in sorted(kinds):
                tag = f"crawl:{kind}"
                if tag not in existing:
                    client.create_concurrency_limit(tag=tag, concurrency_limit=1)
    except Exception as err:  # never fail a run over it
        logger.warning("could not ensure the crawl concurrency limits: %s", err)


def _run_alert(run_id: str, outcome: str, problems: str) -> Alert:
    return Alert(
        id=f"run:{run_id}",
        rule="run",
        severity=Severity.high if outcome == "failed" else Severity.medium,
        facts={"run_id": run_id, "outcome": outcome, "problems": problems},
    )


def _send_to_operators(alert_: Alert, store: Store, settings: Settings) -> int:
    channels = [channel for channel in channels_for(settings) if channel.audience == "operators"]
    result = dispatch([alert_], store, channels)
    return len(result.sent)


@task(name="notify-operators", cache_policy=NO_CACHE)
def notify_operators(report: RunReport, writer: SpoolingWriter, settings: Settings) -> None:
    """One ``run`` alert to the operators' channels for a failed or partly failed run: the outcome and the
    problems (source names, errors; never post text). Claimed in the store, so sent once per run."""
    logger = get_run_logger()
    if writer.store is None or not writer.store_ok:
        logger.error(
            "run %s %s; the store is down, so no operator alert (see the report)", report.run_id, report.outcome
        )
        return
    try:
        sent = _send_to_operators(
            _run_alert(report.run_id, report.outcome, problems_summary(report)), writer.store, settings
        )
    except Exception as err:
        logger.error("the operator alert for run %s could not be sent: %s", report.run_id, err)
        return
    logger.info("operators notified of the %s run (%d channel(s))", report.outcome, sent)


def notify_operators_of_failure(settings: Settings, run_id: str, problem: str) -> None:
    """The operator alert for a run that did not get to its report (its time limit, a crash)."""
    try:
        store = open_store(settings)
    except Exception:
        return
    try:
        _send_to_operators(_run_alert(run_id, "failed", problem[:500]), store, settings)
    except Exception as err:
        get_run_logger().error("the operator alert for run %s could not be sent: %s", run_id, err)
    finally:
        store.close()
