"""Build the Swedish pipeline end to end: ``python -m models.spacy.train``.

1. prepare: convert the shared corpora into DocBins under ``build/spacy/`` (``models.spacy.prepare``);
2. train: ``spacy train models/spacy/config.cfg`` in a subprocess, one thread, output ``build/spacy/training/``;
3. evaluate ``model-best`` on the held-out splits: NER on klintan's test file (P/R/F per PER, LOC, ORG),
   UPOS / morphology / sentence segmentation / lookup lemmas on UD Swedish-PUD;
4. benchmark speed on one thread (OMP/MKL/OPENBLAS = 1): words per second with ``nlp.pipe`` (batch 64) and
   the time for 200 typical 50-word posts, with and without Presidio around the pipeline;
5. export: ``nlp.to_disk("models/spacy/sv_vaktpost")`` with the scores in ``meta.json`` (size-checked), and
   the scores in ``OUTPUT/evaluation.json`` (default ``build/spacy/training/``).

``--skip-prepare`` / ``--skip-train`` reuse what is already built; ``--set training.max_steps=2000`` (any
config override) and the prepare options (``--no-suc``, ``--misc``, ``--no-ud-legacy``) are for experiments.
``--no-export`` evaluates without touching the committed pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.spacy import PIPELINE_DIR
from models.spacy.prepare import (
    ENTITY_LABELS,
    REPO_ROOT,
    add_arguments,
    prepare,
    shared_data_dir,
)

CONFIG = Path(__file__).with_name("config.cfg")
PREPARE_CODE = Path(__file__).with_name("prepare.py")
MAX_PIPELINE_BYTES = 30 * 1024 * 1024
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
POSTS = 200
WORDS_PER_POST = 50
BATCH_SIZE = 64
PRESIDIO_LABELS = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION"}

META = {
    "name": "vaktpost",
    "version": "0.1.0",
    "description": (
        "Vaktpost's Swedish CPU pipeline for Presidio: tokenizer, tok2vec (hash embeddings + CNN), senter, "
        "morphologizer (UPOS + features), ner (PER, LOC, ORG), lookup lemmatizer. See models/spacy/MODEL_CARD.md."
    ),
    "author": "The Vaktpost developers",
    "license": "CC BY-SA 4.0",
    "sources": [
        {
            "name": "UD Swedish-Talbanken (v2 dev/test; v1.0 train converted to v2)",
            "url": "https://github.com/UniversalDependencies/UD_Swedish-Talbanken",
            "license": "CC BY-SA 4.0",
        },
        {
            "name": "UD Swedish-PUD (evaluation only)",
            "url": "https://github.com/UniversalDependencies/UD_Swedish-PUD",
            "license": "CC BY-SA 4.0",
        },
        {
            "name": "Swedish NER corpus (Webbnyheter 2012), klintan",
            "url": "https://github.com/klintan/swedish-ner-corpus",
            "license": "CC BY 4.0",
        },
        {
            "name": "SUC 3.0 name tags via kb-labb/sucx3_ner",
            "url": "https://github.com/kb-labb/sucx3_ner",
            "license": "CC BY 4.0",
        },
        {
            "name": "spacy-lookups-data 1.0.5 sv_lemma_lookup",
            "url": "https://github.com/explosion/spacy-lookups-data",
            "license": "MIT",
        },
    ],
}


# --------------------------------------------------------------------------------------------------
# Training


def train(build_dir: Path, output: Path, overrides: Sequence[str]) -> Path:
    """Run ``spacy train`` in a one-thread subprocess; returns the ``model-best`` directory."""
    command = [
        sys.executable,
        "-m",
        "spacy",
        "train",
        str(CONFIG),
        "--output",
        str(output),
        "--code",
        str(PREPARE_CODE),
        "--paths.train",
        str(build_dir / "train"),
        "--paths.dev",
        str(build_dir / "dev"),
        "--paths.lemma_lookup",
        str(build_dir / "sv_lemma_lookup.json"),
    ]
    for override in overrides:
        key, _, value = override.partition("=")
        command += [f"--{key.removeprefix('--')}", value]
    subprocess.run(command, check=True, cwd=REPO_ROOT, env={**os.environ, **ONE_THREAD})
    return output / "model-best"


# --------------------------------------------------------------------------------------------------
# Evaluation


def evaluate(model: Path, build_dir: Path) -> dict[str, Any]:
    """Scores of ``model`` on the held-out test splits.

    NER counts only PER, LOC and ORG: other predicted labels (MISC, if a model was trained with it) are
    dropped first, as Presidio is told to ignore them; klintan's MISC spans are "not an entity" in the gold.
    """
    import spacy
    from spacy.scorer import get_ner_prf
    from spacy.tokens import Doc, DocBin
    from spacy.training import Example

    nlp = spacy.load(model)

    def gold(name: str) -> list[Doc]:
        return list(DocBin().from_disk(build_dir / "test" / name).get_docs(nlp.vocab))

    ner_gold = gold("ner_klintan.spacy")
    ner_examples = [
        Example(predicted, reference)
        for predicted, reference in zip(
            nlp.pipe((d.text for d in ner_gold), batch_size=BATCH_SIZE), ner_gold, strict=True
        )
    ]
    for eg in ner_examples:
        eg.predicted.ents = [e for e in eg.predicted.ents if e.label_ in ENTITY_LABELS]
    ner = get_ner_prf(ner_examples)
    ud_scores = nlp.evaluate([Example(nlp.make_doc(d.text), d) for d in gold("ud_pud.spacy")], batch_size=BATCH_SIZE)
    per_type = ner.get("ents_per_type") or {}
    return {
        "ner_klintan_test": {
            "ents_p": ner["ents_p"],
            "ents_r": ner["ents_r"],
            "ents_f": ner["ents_f"],
            "per_type": {label: per_type[label] for label in sorted(per_type)},
        },
        "ud_pud_test": {
            "pos_acc": ud_scores["pos_acc"],
            "morph_acc": ud_scores["morph_acc"],
            "sents_p": ud_scores["sents_p"],
            "sents_r": ud_scores["sents_r"],
            "sents_f": ud_scores["sents_f"],
            "lemma_acc": ud_scores["lemma_acc"],
        },
    }


# --------------------------------------------------------------------------------------------------
# Speed (run in a fresh one-thread process: ``python -m models.spacy.train --benchmark MODEL``)


def benchmark_posts(data: Path | None = None) -> list[str]:
    """200 posts of 50 words cut from ABSAbank-Imm's test paragraphs (op-eds and Flashback posts)."""
    path = (data or shared_data_dir()) / "absabank_imm" / "absabank-imm_test.jsonl"
    words: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            words.extend(json.loads(line)["text"].split())
    posts = [" ".join(words[i : i + WORDS_PER_POST]) for i in range(0, len(words), WORDS_PER_POST)]
    posts = [post for post in posts if len(post.split()) == WORDS_PER_POST][:POSTS]
    if len(posts) < POSTS:
        raise ValueError(f"only {len(posts)} benchmark posts")
    return posts


def _best_of(runs: int, func: Any) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times) if runs < 3 else statistics.median(times)


def benchmark(model: Path) -> dict[str, Any]:
    import spacy

    start = time.perf_counter()
    nlp = spacy.load(model)
    load_s = time.perf_counter() - start
    posts = benchmark_posts()
    n_tokens = sum(len(doc) for doc in nlp.pipe(posts, batch_size=BATCH_SIZE))  # also warms up
    pipe_s = _best_of(5, lambda: list(nlp.pipe(posts, batch_size=BATCH_SIZE)))
    call_s = _best_of(3, lambda: [nlp(post) for post in posts])
    result: dict[str, Any] = {
        "threads": {key: os.environ.get(key) for key in ONE_THREAD},
        "load_s": round(load_s, 3),
        "posts": len(posts),
        "words_per_post": WORDS_PER_POST,
        "spacy_tokens": n_tokens,
        "pipe_batch64_s": round(pipe_s, 4),
        "pipe_posts_per_s": round(len(posts) / pipe_s, 1),
        "pipe_words_per_s": round(len(posts) * WORDS_PER_POST / pipe_s),
        "pipe_tokens_per_s": round(n_tokens / pipe_s),
        "nlp_call_s": round(call_s, 4),
        "nlp_call_posts_per_s": round(len(posts) / call_s, 1),
    }
    result.update(_benchmark_presidio(model, posts))
    return result


def _benchmark_presidio(model: Path, posts: list[str]) -> dict[str, Any]:
    """The same posts through Presidio with the project's Swedish recognizers and this pipeline."""
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    from models.pii.recognizers import LANGUAGE, swedish_recognizers

    engine = SpacyNlpEngine(
        models=[{"lang_code": LANGUAGE, "model_name": str(model)}],
        ner_model_configuration=NerModelConfiguration(model_to_presidio_entity_mapping=PRESIDIO_LABELS),
    )
    engine.load()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in swedish_recognizers():
        registry.add_recognizer(recognizer)
    registry.add_recognizer(
        SpacyRecognizer(supported_language=LANGUAGE, supported_entities=sorted(PRESIDIO_LABELS.values()))
    )
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=engine,
        supported_languages=[LANGUAGE],
        context_aware_enhancer=LemmaContextAwareEnhancer(
            context_similarity_factor=0.3, min_score_with_context_similarity=0.6
        ),
    )
    batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
    found = sum(len(analyzer.analyze(text=post, language=LANGUAGE)) for post in posts)  # warm-up
    analyze_s = _best_of(3, lambda: [analyzer.analyze(text=post, language=LANGUAGE) for post in posts])
    batch_s = _best_of(3, lambda: list(batch.analyze_iterator(posts, language=LANGUAGE, batch_size=BATCH_SIZE)))
    return {
        "presidio_results_on_posts": found,
        "presidio_analyze_s": round(analyze_s, 4),
        "presidio_analyze_posts_per_s": round(len(posts) / analyze_s, 1),
        "presidio_batch64_s": round(batch_s, 4),
        "presidio_batch64_posts_per_s": round(len(posts) / batch_s, 1),
    }


def run_benchmark(model: Path) -> dict[str, Any]:
    """``benchmark`` in a fresh interpreter with one BLAS/OpenMP thread."""
    completed = subprocess.run(
        [sys.executable, "-m", "models.spacy.train", "--benchmark", str(model)],
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, **ONE_THREAD},
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------------------------------
# Export


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def export(model: Path, scores: dict[str, Any], manifest: dict[str, Any] | None) -> int:
    import spacy

    nlp = spacy.load(model)
    dev_performance = dict(nlp.meta.get("performance", {}))
    nlp.meta.update(META)
    nlp.meta["performance"] = {
        "dev": {k: v for k, v in dev_performance.items() if not isinstance(v, dict)},
        **scores,
    }
    if manifest:
        nlp.meta["training_data"] = manifest.get("counts", {})
        nlp.meta["training_options"] = manifest.get("options", {})
    if PIPELINE_DIR.exists():
        shutil.rmtree(PIPELINE_DIR)
    nlp.to_disk(PIPELINE_DIR)
    size = directory_bytes(PIPELINE_DIR)
    if size > MAX_PIPELINE_BYTES:
        raise RuntimeError(f"{PIPELINE_DIR} is {size / 1e6:.1f} MB, over the 30 MiB budget")
    return size


# --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Prepare, train, evaluate and export the Swedish pipeline.")
    add_arguments(parser)
    parser.add_argument("--output", type=Path, help="training output (default: BUILD_DIR/training)")
    parser.add_argument("--skip-prepare", action="store_true", help="reuse the DocBins in the build dir")
    parser.add_argument("--skip-train", action="store_true", help="evaluate/export OUTPUT/model-best as is")
    parser.add_argument("--no-export", action="store_true", help="do not write models/spacy/sv_vaktpost")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--benchmark", type=Path, metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.benchmark:
        print(json.dumps(benchmark(args.benchmark)))
        return

    build_dir: Path = args.build_dir
    output: Path = args.output or build_dir / "training"
    manifest: dict[str, Any] | None = None
    if args.skip_prepare:
        manifest_path = build_dir / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
    else:
        manifest = prepare(
            build_dir, suc=args.suc, misc=args.misc, ud_legacy=args.ud_legacy, lemma_table=args.lemma_table
        )
    model = output / "model-best" if args.skip_train else train(build_dir, output, args.set)

    scores = evaluate(model, build_dir)
    scores["speed"] = run_benchmark(model)
    if not args.no_export:
        scores["size_bytes"] = export(model, scores, manifest)
    (output / "evaluation.json").write_text(json.dumps(scores, indent=2), encoding="utf-8")
    print(json.dumps(scores, indent=2))


if __name__ == "__main__":
    main()
