"""The project's trained Swedish spaCy pipeline, ``sv_vaktpost`` (Presidio's NLP engine for Swedish).

Components: tokenizer, tok2vec, senter, morphologizer (UPOS + features), ner (PER, LOC, ORG) and a lookup
lemmatizer. It is committed under ``models/spacy/sv_vaktpost/``; ``python -m models.spacy.train`` rebuilds
it (see ``models/spacy/MODEL_CARD.md``). Importing this package loads nothing: call
``load_swedish_pipeline()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

PIPELINE_DIR = Path(__file__).resolve().parent / "sv_vaktpost"
"""The committed pipeline directory (``nlp.to_disk`` layout, with ``meta.json``)."""


def load_swedish_pipeline(*, exclude: Iterable[str] = ()) -> Language:
    """Load the committed pipeline by path; ``exclude`` drops components that are not needed."""
    import spacy

    return spacy.load(PIPELINE_DIR, exclude=list(exclude))


__all__ = ["PIPELINE_DIR", "load_swedish_pipeline"]
