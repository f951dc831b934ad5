"""A rich table of an evaluation result, for the terminal."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from vaktpost.schema import LABELS


def evaluation_table(result: dict[str, Any]) -> Table:
    table = Table(
        title=f"{result.get('model', 'model')} on {result.get('data', 'test split')} ({result['examples']} texts)"
    )
    for column in ("label", "P", "R", "F1", "PR-AUC", "thr", "n", *LABELS):
        table.add_column(column if column not in LABELS else f"→{column[:4]}", justify="right")
    for label in LABELS:
        s = result["labels"][label]
        confusion = result["confusion"][label]
        table.add_row(
            label,
            f"{s['precision']:.3f}",
            f"{s['recall']:.3f}",
            f"{s['f1']:.3f}",
            f"{s['pr_auc']:.3f}",
            f"{s['threshold']:.3f}",
            str(s["support"]),
            *("-" if other == label else str(confusion[other]) for other in LABELS),
        )
    table.caption = (
        f"macro-F1 {result['macro_f1']:.3f} · macro PR-AUC {result['macro_pr_auc']:.3f} · "
        f"false flags on {result['unlabelled']} unlabelled texts: {result['false_flags_on_unlabelled']} · "
        "→X: texts with this label wrongly flagged X"
    )
    return table
