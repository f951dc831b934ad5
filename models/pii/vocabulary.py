"""Which words are everyday Swedish words: what tells "Säljes", "Ring" and "Hämtade" from a name.

The pipeline's lookup-lemma table knows inflected forms of ordinary Swedish (the table is keyed by hashes,
so forms are asked one by one) and its lemmas are a word list; names in the project's gazetteers are
never common words (the caller passes them), so "Karin" stays a name while "Hyra" does not.
"""

from __future__ import annotations

from spacy.lang.sv.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.lookups import Table

from models.text import fold

# Function words, and the words posts and ads open with, which the NER mistakes for names at a line start.
_STOP_WORDS = frozenset(fold(w) for w in STOP_WORDS) | {
    "grattis", "hej", "hejsan", "tjena", "tja", "tack", "saljes", "kopes", "bytes", "ring", "mvh", "halsningar",
    "obs", "ps", "vanligen", "ok", "okej", "lol", "omg", "typ", "asså", "assa",
}  # fmt: skip


def is_stop_word(word: str) -> bool:
    return fold(word) in _STOP_WORDS


class CommonWords:
    """``word in common`` for a word as written (any case)."""

    def __init__(self, table: Table | None, names: frozenset[str] = frozenset()) -> None:
        """``names`` (folded) are never common words."""
        self._table = table
        self._names = names
        # lower-case lemmas only: the table also lemmatises proper nouns ("Wallins" -> "Wallin")
        values = table.values() if table is not None else ()
        lemmas = frozenset(fold(str(v)) for v in values if str(v)[:1].islower())
        self._lemmas = lemmas - names

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        if self._table is None:
            return fold(word) in _STOP_WORDS
        folded = fold(word)
        if folded in _STOP_WORDS:
            return True
        if folded in self._names:
            return False
        return folded in self._lemmas or word.lower() in self._table

    @classmethod
    def of(cls, nlp: Language, names: frozenset[str] = frozenset()) -> CommonWords:
        """The common words of a pipeline's lookup lemmatizer (none when it has no lemmatizer)."""
        if "lemmatizer" not in nlp.pipe_names:
            return cls(None, names)
        lookups = nlp.get_pipe("lemmatizer").lookups  # type: ignore[attr-defined]
        return cls(lookups.get_table("lemma_lookup") if lookups.has_table("lemma_lookup") else None, names)
