"""The run report as the operator sees it: a console table and a markdown document."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich import box
from rich.table import Table

from vaktpost.schema import LABELS, RunReport

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_OUTCOME = {"completed": "completed", "partial": "PARTLY FAILED", "failed": "FAILED"}


def source_rows(report: RunReport) -> list[dict[str, str | int | float]]:
    return [
        {
            "source": s.name,
            "kind": s.kind,
            "fetched": s.fetched,
            "new": s.new,
            "failed": s.failed,
            "status": "ok" if s.ok else f"failed: {s.error}",
            "failures": ", ".join(f"{k} {v}" for k, v in sorted(s.failures.items())) or "-",
            "notes": ", ".join(f"{k} {v}" for k, v in sorted(s.notes.items())) or "-",
            "duration_s": round(s.duration_s, 1),
        }
        for s in report.sources
    ]


def to_table(report: RunReport) -> Table:
    started = report.started_at.astimezone(STOCKHOLM)
    table = Table(
        title=f"Vaktpost run {report.run_id} — {_OUTCOME[report.outcome]}",
        caption=(
            f"started {started:%Y-%m-%d %H:%M} Europe/Stockholm · {report.duration_s:.1f} s · "
            f"analysed {report.analysed} · flags: "
            + ", ".join(f"{label} {report.flags.get(label, 0)}" for label in LABELS)
            + f" · alerts sent {report.alerts_sent}"
            + (f", failed {report.alerts_failed}" if report.alerts_failed else "")
            + (" · demo data" if report.demo else "")
        ),
        box=box.SIMPLE_HEAVY,
    )
    for column, justify in (
        ("source", "left"),
        ("fetched", "right"),
        ("new", "right"),
        ("failed", "right"),
        ("failures", "left"),
        ("notes", "left"),
        ("s", "right"),
        ("status", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in source_rows(report):
        table.add_row(
            str(row["source"]),
            str(row["fetched"]),
            str(row["new"]),
            str(row["failed"]),
            str(row["failures"]),
            str(row["notes"]),
            str(row["duration_s"]),
            str(row["status"]),
        )
    table.add_row(
        "total",
        str(report.fetched),
        str(report.new),
        str(sum(s.failed for s in report.sources)),
        "",
        "",
        f"{report.duration_s:.1f}",
        "",
        style="bold",
    )
    return table


def to_markdown(report: RunReport) -> str:
    started = report.started_at.astimezone(STOCKHOLM)
    lines = [
        f"# Vaktpost run {report.run_id}: {_OUTCOME[report.outcome]}",
        "",
        f"Started {started:%Y-%m-%d %H:%M:%S} (Europe/Stockholm), took {report.duration_s:.1f} s."
        + (" Ran on the bundled fictional demo." if report.demo else ""),
        "",
        "| source | fetched | new | failed | failures | notes | duration (s) | status |",
        "|---|---:|---:|---:|---|---|---:|---|",
    ]
    for row in source_rows(report):
        lines.append(
            f"| {row['source']} | {row['fetched']} | {row['new']} | {row['failed']} | {row['failures']} "
            f"| {row['notes']} | {row['duration_s']} | {row['status']} |"
        )
    lines += [
        f"| **total** | **{report.fetched}** | **{report.new}** | | | | {report.duration_s:.1f} | |",
        "",
        "| label | new posts flagged |",
        "|---|---:|",
        *[f"| {label} | {report.flags.get(label, 0)} |" for label in LABELS],
        "",
        f"Posts analysed: {report.analysed}. Alerts sent: {report.alerts_sent}"
        + (f", not delivered: {report.alerts_failed}." if report.alerts_failed else "."),
        f"Delivered from the spool: {report.delivered_from_spool}. Spooled for the next run: {report.spooled}. "
        f"Deleted by retention: {report.purged}.",
    ]
    if report.errors:
        lines += ["", "## Problems", "", *[f"- {error}" for error in report.errors]]
    return "\n".join(lines) + "\n"


def problems_summary(report: RunReport, limit: int = 1500) -> str:
    """The run's problems on one line, for the operators' alert (source names and errors, no post text)."""
    text = "; ".join(report.errors) or "no details"
    return text if len(text) <= limit else text[: limit - 1] + "…"
