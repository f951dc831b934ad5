"""The retention purge on its own schedule: delete what is past the periods in ``[retention]``, and leave a
markdown artifact saying what went. The nightly run purges too; this flow keeps retention applied on the
nights a run fails before it gets there."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from index import PurgeReport, open_store, retention_policy
from vaktpost.settings import load_settings


@flow(name="purge", description="Delete posts and audit entries past the retention periods.")
def purge(config: str | None = None) -> PurgeReport:
    settings = load_settings(Path(config) if config else None)
    policy = retention_policy(settings)
    store = open_store(settings)  # a StoreError fails the run: Prefect shows it, the next one tries again
    try:
        report = store.purge(policy)
    finally:
        store.close()
    get_run_logger().info(
        "purge: %d unflagged, %d flagged and %d dismissed post(s), %d audit entries past retention",
        report.unflagged,
        report.flagged,
        report.dismissed,
        report.audit_entries,
    )
    create_markdown_artifact(to_markdown(report), key="purge-report", description="Vaktpost retention purge")
    return report


def to_markdown(report: PurgeReport) -> str:
    lines = [
        "# Vaktpost retention purge",
        "",
        "| kind | deleted | cut-off (UTC) |",
        "| --- | ---: | --- |",
    ]
    for kind, count in (
        ("unflagged", report.unflagged),
        ("flagged", report.flagged),
        ("dismissed", report.dismissed),
        ("audit", report.audit_entries),
    ):
        lines.append(f"| {kind} | {count} | {report.cutoffs.get(kind, '-')} |")
    return "\n".join(lines) + "\n"
