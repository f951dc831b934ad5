"""The model card written into every fine-tuned model directory, from its evaluation report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.classifier.model_dir import ModelMeta
from vaktpost.schema import LABELS


def _table(result: dict[str, Any]) -> str:
    rows = ["| label | precision | recall | F1 | PR-AUC | threshold | support |", "|---|---|---|---|---|---|---|"]
    for label in LABELS:
        s = result["labels"][label]
        rows.append(
            f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['pr_auc']:.3f} "
            f"| {s['threshold']:.3f} | {s['support']} |"
        )
    rows.append(f"| **macro** | | | **{result['macro_f1']:.3f}** | {result['macro_pr_auc']:.3f} | | |")
    return "\n".join(rows)


def write_model_card(directory: Path, meta: ModelMeta, report: dict[str, Any]) -> None:
    pretraining = directory / "pretraining.json"
    pretrained = json.loads(pretraining.read_text(encoding="utf-8")) if pretraining.exists() else None
    sections = [
        f"# Model card: `{meta.tag}`",
        "Vaktpost's Swedish harm classifier. It gives multi-label, calibrated scores for `disinformation`, "
        "`doxxing`, `threat` and `harassment` aimed at social services staff (see `models/data/GUIDELINES.md`).",
        "## How it was made",
        f"- Base checkpoint: `{meta.base}`.",
        (
            f"- Pretraining: {pretrained['steps']} steps of masked-language modelling ({pretrained['size']} "
            f"size), final MLM loss {pretrained['final_loss']:.2f}."
            if pretrained
            else "- Pretraining: see the base checkpoint."
        ),
        f"- Fine-tuned on {report['train_examples']} examples of the project's dataset "
        f"(`models/data`, see its DATASET_CARD). Half the training texts were given typos, lost diacritics, "
        f"case changes or no punctuation. The best of {len(report['history'])} epochs on dev was epoch "
        f"{report['best_epoch']}.",
        *(
            [
                "- An n-gram head sits beside the transformer: hashed character 2-5-grams and word 1-2-grams, "
                "TF-IDF, and a logistic regression per label (`ngram.npz`). The calibration weighs the two parts "
                "per label."
                + (
                    f" The transformer alone reached test macro-F1 {report['transformer_only']['test']['macro_f1']:.3f}"
                    + (
                        f" and challenge {report['transformer_only']['challenge']['macro_f1']:.3f}."
                        if "challenge" in report["transformer_only"]
                        else "."
                    )
                    if "transformer_only" in report
                    else ""
                )
            ]
            if (directory / "ngram.npz").exists()
            else []
        ),
        "- Calibration: per-label Platt scaling on dev logits. Thresholds: the best dev F1 per label on "
        "calibrated scores.",
        "- Doxxing: "
        + (
            "the score is the maximum of the model's score and the personal-data pack's exposure score "
            "(`models/doxxing.py`)."
            if meta.pii_doxxing
            else "the model's score alone."
        ),
        "## Scores on the held-out test split",
        _table(report["test"]),
    ]
    if "challenge" in report:
        sections += [
            "## Scores on the independent challenge set",
            "The challenge set was written separately from the training data, in other wording. Expect "
            "numbers like these on new text.",
            _table(report["challenge"]),
        ]
    sections += [
        "## Data and licences",
        "The texts were written by the project (MIT licence). The official-text negatives come from Riksdag "
        "open data and government documents (URL 1 kap. 9 §). The tokenizer and the pretraining used the "
        "shared Swedish corpora: Riksdag, regeringen.se, Almedalen and ABSAbank-Imm (see DATASET_CARD).",
        "## Limits",
        "The model is small, and its pretraining ran within a CPU budget. It has seen only the kinds of "
        "texts described in the dataset card. Scores are evidence for a human reviewer, never a decision "
        "about a person.",
    ]
    (directory / "MODEL_CARD.md").write_text("\n\n".join(sections) + "\n", encoding="utf-8")
