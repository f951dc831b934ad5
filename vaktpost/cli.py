"""The ``vaktpost`` command line: parses arguments and calls the same functions the flows call."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from vaktpost import __version__
from vaktpost.settings import SOURCE_KINDS, Settings, SettingsError, load_settings

app = typer.Typer(
    name="vaktpost",
    help="Early warning of organised online harm against social services staff.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one line per problem: greppable, paths never broken

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="settings file (default: $VAKTPOST_CONFIG or ./vaktpost.toml)"),
]


def _settings(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except SettingsError as err:
        errors.print(f"[red]error:[/red] {err}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    _configure_logging(settings.log_level)
    return settings


OWN_LOGGERS = ("vaktpost", "crawlers", "models", "index", "alerts", "flows", "demo")


def _configure_logging(level: str) -> None:
    """Our own modules at the configured level; libraries only when they warn (Prefect logs on its own)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


def _version(value: bool) -> None:
    if value:
        console.print(f"vaktpost {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Early warning of organised online harm against social services staff."""


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run the nightly job once: crawl, analyse, index, alert, report."""
    from flows.environment import prepare_prefect
    from flows.guards import DataDirMismatchError, check_demo_separation
    from index import StoreError, open_store

    settings = _settings(config)
    try:  # fail fast, before Prefect starts, on what would fail the run anyway
        store = open_store(settings)
        try:
            check_demo_separation(settings, store)
        finally:
            store.close()
    except DataDirMismatchError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None
    except StoreError as err:  # crawl anyway: what is analysed waits in the spool for the next run
        errors.print(f"warning: {err}; analysed posts will be spooled in the data dir", highlight=False)
    prepare_prefect(settings)
    from flows.nightly import nightly
    from flows.report import to_table

    try:
        report = nightly(config=str(config) if config else None)
    except Exception as err:  # Prefect has logged the traceback; the operator needs the one-line cause
        errors.print(f"error: the run failed: {type(err).__name__}: {err}", highlight=False)
        raise typer.Exit(1) from None
    console.print(to_table(report))
    if report.errors:
        for problem in report.errors:
            errors.print(f"problem: {problem}", highlight=False)
    raise typer.Exit({"completed": 0, "partial": 3, "failed": 1}[report.outcome])


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
    config: ConfigOption = None,
) -> None:
    """Show what the store holds and how the last runs went."""
    from index import StoreError, open_store

    settings = _settings(config)
    try:
        store = open_store(settings)
    except StoreError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(1) from None
    try:
        summary = store.summary()
        summary["runs_recent"] = [
            {
                "run_id": run.run_id,
                "finished_at": run.finished_at.isoformat(),
                "outcome": run.outcome,
                "new_posts": run.new,
                "problems": len(run.errors),
            }
            for run in store.last_runs(5)
        ]
    finally:
        store.close()
    from index import Spool
    from vaktpost.datadir import DataDir

    summary["spooled"] = Spool(DataDir(settings.data_dir).spool).pending()
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        return
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title="Vaktpost status", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("store", f"{summary['store']} (schema {summary.get('schema_version', '?')})")
    if summary.get("spooled"):
        table.add_row("spooled", f"{summary['spooled']} posts wait for the next run")
    table.add_row("posts", str(summary["posts"]))
    for source, count in summary["by_source"].items():
        table.add_row(f"  {source}", str(count))
    table.add_row("flagged posts", str(summary["flagged_posts"]))
    for label, count in summary["flags"].items():
        table.add_row(f"  {label}", str(count))
    table.add_row("alerts", ", ".join(f"{k} {v}" for k, v in summary["alerts"].items()))
    runs = summary.get("runs_recent") or []
    table.add_row(
        "last runs",
        "\n".join(
            f"{r['finished_at'][:16]} {r['outcome']} · {r['new_posts']} new · {r['problems']} problems ({r['run_id']})"
            for r in runs
        )
        or "never",
    )
    table.add_row("recent flagged", "\n".join(summary["recent_flagged"]) or "-")
    console.print(table)


@app.command()
def crawl(
    source: Annotated[str, typer.Argument(help=f"one of: {', '.join(SOURCE_KINDS)}")],
    base_url: Annotated[
        str | None, typer.Option(help="crawl another host: a mirror, a replay server, an instance")
    ] = None,
    start: Annotated[
        list[str] | None,
        typer.Option(help="where to start: /f123 or /t456 (flashback), a tag or account timeline"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="write JSON lines here instead of standard output")] = None,
    config: ConfigOption = None,
) -> None:
    """Crawl one source and write one Post JSON object per line."""
    import tempfile

    import crawlers
    from vaktpost.crawl_targets import source_for_cli

    settings = _settings(config)
    try:
        source_config = source_for_cli(settings, source, base_url, start or [])
    except ValueError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None
    with tempfile.TemporaryDirectory(prefix="vaktpost-crawl-") as work:
        with errors.status(f"crawling {source_config.name} at {source_config.base_url} ..."):
            result = crawlers.crawl(source_config, settings, Path(work))
        posts = list(crawlers.read_posts(result.posts_file))
        lines = (post.model_dump_json() + "\n" for post in posts)
        if out is None:
            sys.stdout.writelines(lines)
        else:
            with out.open("w", encoding="utf-8") as handle:
                handle.writelines(lines)
        failures = ", ".join(f"{k} {v}" for k, v in sorted(result.failures.items())) or "none"
        errors.print(f"{len(posts)} posts from {result.pages} pages; failures: {failures}", highlight=False)
        if not result.ok:
            errors.print(f"error: {result.error}", highlight=False)
            errors.print(Path(result.log_file).read_text(encoding="utf-8")[-3000:], highlight=False, markup=False)
            raise typer.Exit(1)
        crawlers.commit_state(result, settings)


@app.command(name="demo")
def demo_serve(
    port: Annotated[int, typer.Option(help="Flashback replay on PORT, Mastodon on PORT+1")] = 8471,
) -> None:
    """Serve the fictional demo sites locally, to crawl by hand."""
    import time

    from demo.corpus import Corpus
    from demo.flashback_site import FlashbackSite
    from demo.mastodon_site import MastodonSite
    from demo.replay import ReplayServer

    corpus = Corpus.load()
    with (
        ReplayServer({"flashback": FlashbackSite(corpus)}, default="flashback", port=port) as forum,
        ReplayServer({"mastodon": MastodonSite(corpus)}, default="mastodon", port=port + 1) as social,
    ):
        console.print(f"Flashback demo: {forum.url}/f350   Mastodon demo: {social.url}/api/v1/timelines/tag/lvu")
        console.print(f"try: vaktpost crawl flashback --base-url {forum.url} --start /f350   (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


watchlist_app = typer.Typer(help="The protected-staff watch-list (encrypted; key in $VAKTPOST_WATCHLIST_KEY).")
app.add_typer(watchlist_app, name="watchlist")


def _watchlist(config: Path | None) -> tuple[Any, Path, str | None]:
    from models.analyzer import watchlist_path
    from models.watchlist import WatchList, WatchListError

    settings = _settings(config)
    path = Path(watchlist_path(settings))
    key = settings.watchlist_key.get_secret_value() if settings.watchlist_key else None
    try:
        return WatchList.load(path, key), path, key
    except WatchListError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None


@watchlist_app.command("keygen")
def watchlist_keygen() -> None:
    """Print a new key for the watch-list; keep it in the environment, never in a file in the repository."""
    from models.watchlist import new_key

    sys.stdout.write(new_key() + "\n")


@watchlist_app.command("add")
def watchlist_add(
    name: Annotated[str, typer.Argument(help="the person's full name")],
    variant: Annotated[list[str] | None, typer.Option(help="another spelling (repeatable)")] = None,
    nickname: Annotated[list[str] | None, typer.Option(help="what posts call them (repeatable)")] = None,
    workplace: Annotated[str | None, typer.Option(help="e.g. 'familjeenheten i Skogsby'")] = None,
    role: Annotated[str | None, typer.Option(help="e.g. socialsekreterare")] = None,
    config: ConfigOption = None,
) -> None:
    """Register a staff member who asked for protection; prints their id."""
    from models.watchlist import ProtectedPerson, WatchListError

    watchlist, path, key = _watchlist(config)
    person = watchlist.add(
        ProtectedPerson(name=name, variants=variant or [], nicknames=nickname or [], workplace=workplace, role=role)
    )
    try:
        watchlist.save(path, key)
    except WatchListError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None
    console.print(person.id)


@watchlist_app.command("list")
def watchlist_list(config: ConfigOption = None) -> None:
    """Show the registered people (on this terminal only; never logged)."""
    watchlist, _, _ = _watchlist(config)
    table = Table(title=f"Protected staff ({len(watchlist.people)})")
    for column in ("id", "name", "variants", "nicknames", "workplace", "role"):
        table.add_column(column)
    for p in watchlist.people:
        table.add_row(p.id, p.name, ", ".join(p.variants), ", ".join(p.nicknames), p.workplace or "", p.role or "")
    console.print(table)


@watchlist_app.command("remove")
def watchlist_remove(
    person_id: Annotated[str, typer.Argument(help="the id shown by `watchlist list`")], config: ConfigOption = None
) -> None:
    """Remove a person from the watch-list."""
    watchlist, path, key = _watchlist(config)
    if not watchlist.remove(person_id):
        errors.print(f"error: no person with id {person_id}", highlight=False)
        raise typer.Exit(1)
    watchlist.save(path, key)


ModelOption = Annotated[
    Path | None, typer.Option("--model", help="a model directory (default: the committed Swedish model)")
]


def _transformer_analyzer(model: Path | None, config: Path | None) -> Any:
    from models.analyzer import load_analyzer
    from models.classifier.model_dir import ModelDirError

    settings = _settings(config)
    try:
        return load_analyzer(settings, analyzer="transformer", model=model)
    except ModelDirError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def classify(
    source: Annotated[str, typer.Argument(help="JSON lines with id and text; - for standard input")] = "-",
    model: ModelOption = None,
    config: ConfigOption = None,
) -> None:
    """Score texts: one JSON line out per line in (scores, flags, personal-data spans, model)."""
    from models.classifier.jobs import classify_lines

    analyzer = _transformer_analyzer(model, config)
    try:
        handle = sys.stdin if source == "-" else Path(source).open(encoding="utf-8")  # noqa: SIM115
    except OSError as err:
        errors.print(f"error: cannot read {source}: {err.strerror}", highlight=False)
        raise typer.Exit(2) from None
    with handle:
        for result in classify_lines(handle, analyzer):
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            sys.stdout.flush()


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="JSON lines with id, text and labels")],
    out: Annotated[Path | None, typer.Option("--out", help="write the scores as JSON here")] = None,
    model: ModelOption = None,
    config: ConfigOption = None,
) -> None:
    """Per-label precision, recall, F1, PR-AUC and confusion, and macro-F1, on a labelled file."""
    from models.classifier.dataset import DatasetError
    from models.classifier.jobs import evaluate_file
    from models.classifier.report import evaluation_table

    analyzer = _transformer_analyzer(model, config)
    try:
        result = evaluate_file(data, analyzer)
    except (DatasetError, OSError) as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None
    console.print(evaluation_table(result))
    target = out or Path(f"evaluation-{data.stem}.json")
    target.write_text(json.dumps(result, indent=1), encoding="utf-8")
    errors.print(f"scores written to {target}", highlight=False)


@app.command()
def train(
    base: Annotated[Path, typer.Option("--base", help="a local Hugging Face checkpoint (model + tokenizer)")],
    out: Annotated[Path, typer.Option("--out", help="the new model directory")] = Path("build/classifier/model"),
    epochs: Annotated[int, typer.Option(help="passes over the training split")] = 12,
    learning_rate: Annotated[float, typer.Option(help="peak learning rate (3e-4 small models, 3e-5 BERT-base)")] = 3e-4,
    data: Annotated[
        Path | None, typer.Option(help="a directory with train/dev/test.jsonl (default: the project's dataset)")
    ] = None,
    head_only: Annotated[
        bool,
        typer.Option(
            "--head-only", help="--base is a Vaktpost model: keep its encoder, refit n-gram head and calibration"
        ),
    ] = False,
) -> None:
    """Fine-tune a checkpoint on the project's dataset, with the same calibration, thresholds and evaluation."""
    from models.classifier.dataset import SPLITS_DIR, DatasetError
    from models.classifier.finetune import finetune, refit_head
    from models.classifier.report import evaluation_table

    if not (base / "config.json").exists():
        errors.print(f"error: {base} is not a Hugging Face checkpoint (no config.json)", highlight=False)
        raise typer.Exit(2)
    splits = data or SPLITS_DIR
    missing = [name for name in ("train", "dev", "test") if not (splits / f"{name}.jsonl").exists()]
    if missing:
        errors.print(f"error: {splits} has no {', '.join(m + '.jsonl' for m in missing)}", highlight=False)
        raise typer.Exit(2)
    if head_only and not (base / "vaktpost.json").exists():
        errors.print(f"error: --head-only needs a Vaktpost model; {base} has no vaktpost.json", highlight=False)
        raise typer.Exit(2)
    try:
        if head_only:
            report = refit_head(base, out, splits=splits)
        else:
            report = finetune(base, out, epochs=epochs, learning_rate=learning_rate, splits=splits)
    except DatasetError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None
    console.print(evaluation_table(report["test"]))
    console.print(f"model written to {out}")


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only print the retention periods and cut-offs")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete posts and audit entries past the retention periods in settings ([retention])."""
    from datetime import UTC, datetime, timedelta

    from index import StoreError, open_store, retention_policy

    settings = _settings(config)
    policy = retention_policy(settings)
    if dry_run:
        now = datetime.now(UTC)
        for kind in ("unflagged", "flagged", "dismissed", "audit"):
            days = getattr(policy, f"{kind}_days")
            console.print(
                f"{kind}: kept {days} days, deleted if before {(now - timedelta(days=days)):%Y-%m-%d %H:%M} UTC"
            )
        return
    try:
        store = open_store(settings)
        try:
            report = store.purge(policy)
        finally:
            store.close()
    except StoreError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"deleted {report.unflagged} unflagged, {report.flagged} flagged and {report.dismissed} dismissed posts, "
        f"{report.audit_entries} audit entries"
    )


index_app = typer.Typer(help="The search index behind the store.")
app.add_typer(index_app, name="index")


@index_app.command("reindex")
def index_reindex(config: ConfigOption = None) -> None:
    """Rebuild the index without downtime (Elasticsearch: a new versioned index, then an alias swap)."""
    from index import StoreError, open_store

    settings = _settings(config)
    try:
        store = open_store(settings)
        try:
            console.print(store.reindex())
        finally:
            store.close()
    except StoreError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Start the review app (host and port from [review]; loopback by default)."""
    import uvicorn

    from index import StoreError
    from review import create_app

    settings = _settings(config)
    try:
        application = create_app(settings)
    except StoreError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(1) from None
    errors.print(f"review app on http://{settings.review.host}:{settings.review.port}", highlight=False)
    # access_log off: request lines would put post ids and query strings into the operator's logs
    uvicorn.run(application, host=settings.review.host, port=settings.review.port, access_log=False)


user_app = typer.Typer(help="Accounts of the review app.")
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="account name: lowercase letters, digits, '.', '_' or '-'")],
    role: Annotated[str, typer.Option("--role", help="reviewer, safety or admin")] = "reviewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
    config: ConfigOption = None,
) -> None:
    """Add an account; the password is prompted for (or read from standard input), stored as an argon2 hash."""
    from review.accounts import AccountError, Accounts
    from vaktpost.datadir import DataDir

    settings = _settings(config)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    accounts = Accounts(DataDir(settings.data_dir).accounts)
    try:
        user = accounts.add_user(name, role, password)
    except AccountError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        accounts.close()
    console.print(f"added {user.name} ({user.role})")


@user_app.command("list")
def user_list(config: ConfigOption = None) -> None:
    """List the accounts and their roles."""
    from review.accounts import Accounts
    from vaktpost.datadir import DataDir

    accounts = Accounts(DataDir(_settings(config).data_dir).accounts)
    try:
        for user in accounts.users():
            state = " (disabled)" if user.disabled else ""
            console.print(f"{user.name}\t{user.role}{state}")
    finally:
        accounts.close()


@user_app.command("disable")
def user_disable(name: str, config: ConfigOption = None) -> None:
    """Disable an account and end its sessions."""
    from review.accounts import AccountError, Accounts
    from vaktpost.datadir import DataDir

    accounts = Accounts(DataDir(_settings(config).data_dir).accounts)
    try:
        accounts.set_disabled(name, True)
    except AccountError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        accounts.close()
    console.print(f"disabled {name}")


class _EvidenceGroup(TyperGroup):
    """``vaktpost evidence POST_ID ...`` is short for ``vaktpost evidence export POST_ID ...``."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["export", *args]
        return super().resolve_command(ctx, args)


evidence_app = typer.Typer(
    cls=_EvidenceGroup,
    no_args_is_help=True,
    help="Evidence packages for the police: `evidence export POST_ID` (or `evidence POST_ID`), `evidence verify ZIP`.",
)
app.add_typer(evidence_app, name="evidence")


@evidence_app.command("export")
def evidence_export(
    post_id: Annotated[str, typer.Argument(help="the post's id, e.g. flashback:123456")],
    out: Annotated[Path, typer.Option("--out", help="the directory to write the ZIP to")],
    reason: Annotated[str, typer.Option("--reason", help="why it is exported (goes into the package)")],
    by: Annotated[str | None, typer.Option("--by", help="who exports it (default: the OS user)")] = None,
    config: ConfigOption = None,
) -> None:
    """Write a post's evidence package (ZIP) to --out and print its path; the export is audited."""
    from evidence import EvidenceError, build_package, default_exporter
    from index import StoreError, open_store

    settings = _settings(config)
    try:
        store = open_store(settings)
        try:
            path = build_package(
                store, settings.data_dir, post_id, exported_by=by or default_exporter(), reason=reason, out_dir=out
            )
        finally:
            store.close()
    except EvidenceError as err:
        errors.print(f"error: {err}", highlight=False, markup=False)
        raise typer.Exit(2 if err.code == "bad_request" else 1) from None
    except (StoreError, OSError) as err:
        errors.print(f"error: {err}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    sys.stdout.write(f"{path}\n")


@evidence_app.command("verify")
def evidence_verify(zip_path: Annotated[Path, typer.Argument(metavar="ZIP", help="an evidence package")]) -> None:
    """Recompute every digest in a package; exit 0 if intact, 1 if anything changed, 2 if it cannot be read."""
    from evidence import EvidenceError, Status, verify_package

    try:
        report = verify_package(zip_path)
    except EvidenceError as err:
        errors.print(f"error: {err}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    table = Table(title=escape(f"{zip_path.name} ({report.post_id or 'unknown post'})"))
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("sha256", overflow="fold")
    table.add_column("note", overflow="fold")
    for check in report.files:
        style = "green" if check.status is Status.OK else "red"
        note = check.note
        if check.status is Status.CHANGED and check.expected_sha256 and check.expected_sha256 != check.actual_sha256:
            note = f"{note}; expected {check.expected_sha256}".lstrip("; ")
        digest = check.actual_sha256 or check.expected_sha256 or ""
        table.add_row(escape(check.name), f"[{style}]{check.status}[/{style}]", digest, escape(note))
    payload = report.payload
    table.add_row(
        "(WARC payload)",
        "[green]OK[/green]" if payload.ok else "[red]CHANGED[/red]",
        payload.actual_sha256 or "",
        escape(payload.note or "matches the digest recorded at capture"),
    )
    console.print(table)
    if report.intact:
        console.print("intact: every digest matches")
        return
    console.print("NOT intact: see the rows above", style="red", highlight=False)
    raise typer.Exit(1)


alerts_app = typer.Typer(help="Alerts to safety officers, communications and operators.")
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("send")
def alerts_send(config: ConfigOption = None) -> None:
    """Deliver the alerts that wait: held through quiet hours or not taken by a receiver (run it in the morning)."""
    from alerts import deliver_pending
    from index import StoreError, open_store

    settings = _settings(config)
    try:
        store = open_store(settings)
        try:
            result = deliver_pending(store, settings)
        finally:
            store.close()
    except StoreError as err:
        errors.print(f"error: {err}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"sent {len(result.sent)}, not delivered {len(result.failed)}")
    raise typer.Exit(1 if result.failed else 0)


@app.command()
def config(config: ConfigOption = None) -> None:
    """Validate the settings and print them as used (secrets hidden)."""
    settings = _settings(config)
    console.print_json(settings.model_dump_json(indent=1))


@app.command()
def schedule(config: ConfigOption = None) -> None:
    """Serve the nightly and purge deployments to a Prefect server, on the schedule settings' crons, until stopped."""
    import contextlib
    import warnings

    from flows.deployments import DEPLOYMENT_NAME, NoPrefectServerError, api_url, check_api, use_api
    from flows.environment import prepare_prefect
    from vaktpost.settings import config_path

    settings = _settings(config)
    try:
        url = check_api(api_url(settings))
    except NoPrefectServerError as err:
        errors.print(f"error: {err}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    use_api(url)
    prepare_prefect(settings)
    path = config_path(config)
    from prefect import serve

    from flows.deployments import deployments

    served = deployments(settings, str(path.resolve()) if path else None)

    zone = settings.schedule.timezone
    errors.print(
        f"serving nightly/{DEPLOYMENT_NAME} ({settings.schedule.nightly_cron}) and purge/{DEPLOYMENT_NAME} "
        f"({settings.schedule.purge_cron}), {zone}, to {url}; SIGTERM or Ctrl-C stops",
        highlight=False,
    )
    # Prefect's runner handles SIGTERM itself (stop, then exit 0); its stop() leaves a coroutine unawaited.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            serve(*served, pause_on_shutdown=False, print_starting_message=False)
    finally:
        errors.print("stopped", highlight=False)


if __name__ == "__main__":
    app()
