"""What ``vaktpost classify`` and ``vaktpost evaluate`` do, apart from argument parsing.

classify: JSON lines with ``id`` and ``text`` in, one JSON line out per input line, in input order. A bad
line (not JSON, no text, empty or huge text) gives ``{"id": ..., "error": "..."}`` and the rest go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from models.classifier.analyzer import TransformerAnalyzer
from models.classifier.dataset import DatasetError, read_jsonl
from models.classifier.metrics import evaluate_scores

MAX_TEXT_CHARS = 20_000
BATCH = 64


def _parse(line: str, number: int) -> tuple[Any, str | None, str | None]:
    """(id, text, error) for one input line."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as err:
        return None, None, f"line {number}: not JSON ({err.msg})"
    if not isinstance(raw, dict):
        return None, None, f"line {number}: expected a JSON object"
    item_id = raw.get("id")
    text = raw.get("text")
    if not isinstance(text, str):
        return item_id, None, f"line {number}: no 'text' string"
    if not text.strip():
        return item_id, None, f"line {number}: empty text"
    if len(text) > MAX_TEXT_CHARS:
        return item_id, None, f"line {number}: text is {len(text)} characters, over {MAX_TEXT_CHARS}"
    return item_id, text, None


def classify_lines(lines: Iterable[str], analyzer: TransformerAnalyzer) -> Iterator[dict[str, Any]]:
    tag = analyzer.classifier.tag
    pending: list[tuple[Any, str | None, str | None]] = []

    def flush() -> Iterator[dict[str, Any]]:
        good = [(str(i), (item_id, text)) for i, (item_id, text, error) in enumerate(pending) if error is None]
        verdicts = iter(analyzer.analyze_texts([(key, text or "") for key, (_, text) in good]))
        for item_id, _text, error in pending:
            if error is not None:
                yield {"id": item_id, "error": error}
                continue
            verdict = next(verdicts)
            yield {
                "id": item_id,
                "scores": {label: round(score, 4) for label, score in verdict.scores.items()},
                "flags": list(verdict.flags),
                "pii": [{"type": s.type, "text": s.text, "start": s.start, "end": s.end} for s in verdict.pii],
                "model": tag,
            }
        pending.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        pending.append(_parse(line, number))
        if len(pending) >= BATCH:
            yield from flush()
    yield from flush()


def evaluate_file(path: Path, analyzer: TransformerAnalyzer) -> dict[str, Any]:
    """Scores on a file of ``id``, ``text``, ``labels`` lines; a malformed line is an error naming it."""
    examples = read_jsonl(path, strict=False)
    if not examples:
        raise DatasetError(f"{path}: no examples")
    verdicts = analyzer.analyze_texts([(e.id, e.text) for e in examples])
    thresholds = analyzer.classifier.meta.thresholds
    result = evaluate_scores([e.labels for e in examples], [v.scores for v in verdicts], thresholds)
    result["model"] = analyzer.classifier.tag
    result["data"] = str(path)
    return result
