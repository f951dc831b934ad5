"""The harm classifier through its real entry points: `vaktpost classify`, `evaluate` and `train`, the model
directory contract, metrics and augmentation. The committed default model is used throughout."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from models.classifier.augment import noisy
from models.classifier.dataset import SPLITS_DIR, read_jsonl, write_jsonl
from models.classifier.metrics import best_thresholds, evaluate_scores
from models.classifier.model_dir import DEFAULT_MODEL_DIR, META_FILE, ModelDirError, ModelMeta
from models.classifier.predict import HarmClassifier
from vaktpost.schema import LABELS

VAKTPOST = [sys.executable, "-m", "vaktpost.cli"]
THREAT = "Vi vet var du bor, Annika Lövgren på Björkvägen 14B. Vänta bara tills du går till bilen ikväll."
SUPPORT = "Stort tack till alla socialsekreterare som gör ett viktigt jobb för barnen varje dag ❤️"


def _run(args: list[str], stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAKTPOST_DATA_DIR": str(cwd or Path.cwd())}
    return subprocess.run([*VAKTPOST, *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def classifier() -> HarmClassifier:
    return HarmClassifier()


def test_the_committed_model_is_complete() -> None:
    meta = ModelMeta.load(DEFAULT_MODEL_DIR)
    assert meta.labels == list(LABELS)
    assert all(0.0 < meta.thresholds[label] < 1.0 for label in LABELS)
    assert (DEFAULT_MODEL_DIR / "MODEL_CARD.md").exists()
    size = sum(f.stat().st_size for f in DEFAULT_MODEL_DIR.rglob("*") if f.is_file())
    assert size <= 60 * 1024 * 1024


def test_scores_are_calibrated_probabilities_in_input_order(classifier: HarmClassifier) -> None:
    texts = [SUPPORT, THREAT, SUPPORT]
    scores = classifier.scores(texts)
    assert scores[0] == pytest.approx(scores[2], abs=1e-4)
    assert all(0.0 <= s[label] <= 1.0 for s in scores for label in LABELS)
    assert scores[1]["threat"] > scores[0]["threat"]
    assert classifier.scores([]) == []


def test_classify_cli_keeps_order_and_reports_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": THREAT}, ensure_ascii=False),
        "this is not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "text": "   "}),
        json.dumps({"id": "d", "text": "x" * 30_000}),
        json.dumps({"id": 5, "text": SUPPORT}, ensure_ascii=False),
    ]
    done = _run(["classify", "-"], stdin="\n".join(lines) + "\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", None, "b", "c", "d", 5]
    assert [("error" in o) for o in out] == [False, True, True, True, True, False]
    assert "line 2" in out[1]["error"] and "not JSON" in out[1]["error"]
    assert "over" in out[4]["error"]
    first = out[0]
    assert set(first) == {"id", "scores", "flags", "pii", "model"}
    assert set(first["scores"]) == set(LABELS)
    assert "threat" in first["flags"]
    start = THREAT.index("Björkvägen")
    assert {"type": "street_address", "text": "Björkvägen 14B", "start": start, "end": start + 14} in first["pii"]
    assert first["model"] == ModelMeta.load(DEFAULT_MODEL_DIR).tag
    assert out[5]["flags"] == []


def test_classify_reads_a_file_and_rejects_a_missing_model(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "text": SUPPORT}, ensure_ascii=False) + "\n", encoding="utf-8")
    done = _run(["classify", str(source)], cwd=tmp_path)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 1
    done = _run(["classify", "--model", str(tmp_path / "nowhere"), str(source)], cwd=tmp_path)
    assert done.returncode == 2 and "no model directory" in done.stderr


def test_a_directory_without_vaktpost_meta_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelDirError, match=META_FILE):
        HarmClassifier(tmp_path)


def test_evaluate_cli_prints_and_writes_the_scores(tmp_path: Path) -> None:
    data = tmp_path / "eval.jsonl"
    write_jsonl(data, read_jsonl(SPLITS_DIR / "test.jsonl")[:120])
    out = tmp_path / "scores.json"
    done = _run(["evaluate", "--data", str(data), "--out", str(out)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "macro-F1" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result["labels"]) == set(LABELS)
    for label in LABELS:
        assert {"precision", "recall", "f1", "pr_auc", "threshold", "support"} <= set(result["labels"][label])
        assert set(result["confusion"][label]) == set(LABELS) - {label}
    assert 0.0 <= result["macro_f1"] <= 1.0


def test_evaluate_cli_names_a_bad_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"id": 1, "text": "hej", "labels": []}\n{"id": 2, "text": "hej", "labels": ["x"]}\n')
    done = _run(["evaluate", "--data", str(data)], cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.jsonl:2" in done.stderr


def test_quality_on_the_test_split_stays_above_a_floor(classifier: HarmClassifier) -> None:
    from models.classifier.analyzer import TransformerAnalyzer
    from models.lexicon import Lexicon

    test = read_jsonl(SPLITS_DIR / "test.jsonl")
    analyzer = TransformerAnalyzer(classifier, Lexicon())
    verdicts = analyzer.analyze_texts([(e.id, e.text) for e in test])
    result = evaluate_scores([e.labels for e in test], [v.scores for v in verdicts], classifier.meta.thresholds)
    floor = json.loads((DEFAULT_MODEL_DIR / "evaluation.json").read_text(encoding="utf-8"))["test"]["macro_f1"]
    assert result["macro_f1"] >= floor - 0.02


def test_train_fine_tunes_a_local_checkpoint(tmp_path: Path) -> None:
    """Bring your own checkpoint: any local BERT-style directory with a tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    base = tmp_path / "base"
    tokenizer = AutoTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    BertForMaskedLM(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    data = tmp_path / "splits"
    for name, count in (("train", 60), ("dev", 30), ("test", 30)):
        write_jsonl(data / f"{name}.jsonl", read_jsonl(SPLITS_DIR / f"{name}.jsonl")[:count])
    out = tmp_path / "model"
    done = _run(["train", "--base", str(base), "--out", str(out), "--epochs", "1", "--data", str(data)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    meta = ModelMeta.load(out)
    assert meta.base == str(base)
    assert (out / "evaluation.json").exists() and (out / "config.json").exists()
    assert len(HarmClassifier(out).scores([SUPPORT])) == 1
    # new examples or reviewers' corrections: keep the encoder, refit the head and calibration in seconds
    refit = tmp_path / "refit"
    done = _run(["train", "--base", str(out), "--out", str(refit), "--head-only", "--data", str(data)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (refit / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()
    assert json.loads((refit / "evaluation.json").read_text(encoding="utf-8"))["best_epoch"] == 1
    assert len(HarmClassifier(refit).scores([SUPPORT])) == 1
    done = _run(["train", "--base", str(base), "--head-only"], cwd=tmp_path)
    assert done.returncode == 2 and "has no vaktpost.json" in " ".join(done.stderr.split())
    done = _run(["train", "--base", str(tmp_path / "nothing")], cwd=tmp_path)
    assert done.returncode == 2 and "not a Hugging Face checkpoint" in done.stderr


def test_thresholds_and_confusion() -> None:
    gold = [["threat"], ["threat", "harassment"], [], ["harassment"]]
    scores = [
        {"disinformation": 0.1, "doxxing": 0.1, "threat": 0.9, "harassment": 0.6},
        {"disinformation": 0.1, "doxxing": 0.1, "threat": 0.8, "harassment": 0.7},
        {"disinformation": 0.1, "doxxing": 0.1, "threat": 0.2, "harassment": 0.1},
        {"disinformation": 0.1, "doxxing": 0.1, "threat": 0.3, "harassment": 0.9},
    ]
    thresholds = best_thresholds(gold, scores)
    assert 0.3 < thresholds["threat"] <= 0.8
    result = evaluate_scores(gold, scores, thresholds)
    assert result["labels"]["threat"]["f1"] == 1.0
    assert result["confusion"]["threat"]["harassment"] == (1 if thresholds["harassment"] <= 0.6 else 0)
    assert result["false_flags_on_unlabelled"] == 0


def test_augmentation_changes_the_surface_only() -> None:
    rng = random.Random(1)
    text = "Socialtjänsten i Skogsby tar barnen, det vet alla."
    variants = {noisy(text, rng) for _ in range(30)}
    assert len(variants) > 5
    assert any("a" in v and "ä" not in v and "Socialtjansten" in v for v in variants)
    assert all(abs(len(v) - len(text)) < 15 for v in variants)
