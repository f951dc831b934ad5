"""Span-level evaluation of the personal-data pack on an annotated set.

    python -m models.pii.evaluate [--data FILE.jsonl] [--json OUT.json]

Each line: {"id", "text", "spans": [{"type", "start", "end", "text"}]}. A predicted span counts as correct
when type, start and end are exactly those annotated ("strict"), and also reported with any overlap of the
same type ("partial"). Only the core types are scored; doxxing cues are not annotated.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from models.pii.detector import CORE_TYPES
from vaktpost.schema import PiiSpan

DEFAULT_DATA = Path(__file__).with_name("eval") / "sv_pii_eval.jsonl"
Key = tuple[str, int, int]


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(items: Iterable[dict[str, Any]], detect: Callable[[str], list[PiiSpan]]) -> dict[str, Any]:
    strict: dict[str, Counter[str]] = {t: Counter() for t in CORE_TYPES}
    partial: dict[str, Counter[str]] = {t: Counter() for t in CORE_TYPES}
    errors: list[dict[str, Any]] = []
    for item in items:
        gold = {(s["type"], s["start"], s["end"]) for s in item["spans"] if s["type"] in CORE_TYPES}
        found = {(s.type, s.start, s.end) for s in detect(item["text"]) if s.type in CORE_TYPES}
        for kind in CORE_TYPES:
            g = {k for k in gold if k[0] == kind}
            f = {k for k in found if k[0] == kind}
            strict[kind].update(tp=len(g & f), fp=len(f - g), fn=len(g - f))
            partial[kind].update(
                tp=sum(1 for k in g if any(_overlap(k, x) for x in f)),
                fp=sum(1 for x in f if not any(_overlap(k, x) for k in g)),
                fn=sum(1 for k in g if not any(_overlap(k, x) for x in f)),
            )
        if gold != found:
            text = item["text"]
            errors.append(
                {
                    "id": item.get("id"),
                    "missed": [(k[0], text[k[1] : k[2]]) for k in sorted(gold - found)],
                    "extra": [(k[0], text[k[1] : k[2]]) for k in sorted(found - gold)],
                }
            )
    return {"strict": _scores(strict), "partial": _scores(partial), "errors": errors}


def _overlap(a: Key, b: Key) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def _scores(counts: dict[str, Counter[str]]) -> dict[str, dict[str, float]]:
    total: Counter[str] = Counter()
    out: dict[str, dict[str, float]] = {}
    for kind, c in counts.items():
        total.update(c)
        out[kind] = _prf(c)
    out["overall"] = _prf(total)
    return out


def _prf(c: Counter[str]) -> dict[str, float]:
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": float(c["tp"] + c["fn"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="also write the scores and errors here")
    args = parser.parse_args()
    from models import detect_pii

    result = evaluate(load(args.data), detect_pii)
    for mode in ("strict", "partial"):
        table = Table(title=f"Personal data, span level ({mode}) - {args.data.name}")
        for column in ("type", "precision", "recall", "F1", "support"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for kind, s in result[mode].items():
            table.add_row(kind, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", f"{s['support']:.0f}")
        Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
