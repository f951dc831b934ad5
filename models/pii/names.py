"""Person names in Swedish posts: a first-name gazetteer and the role words people use about staff.

The trained NER finds most names in well-written text; posts are often lower-case, misspelt or terse
("handläggaren jessica h"), which is where these rules help. Genitive "-s" belongs to the span.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from models.pii.recognizers import LANGUAGE
from models.pii.vocabulary import CommonWords, is_stop_word
from models.text import fold

DATA = Path(__file__).with_name("data")

# Words people use for social services staff; a name right after one is a staff member's name.
ROLE_WORDS = (
    r"socialsekreterare|socialsekreteraren|socsekreteraren|handläggare|handläggaren|handläggarn|enhetschef|"
    r"enhetschefen|utredare|utredaren|biträdande enhetschef|avdelningschef|avdelningschefen|socialchef|"
    r"socialchefen|familjebehandlare|familjebehandlaren|kurator|kuratorn|socionom|socionomen|soc-?tanten|"
    r"soctanten|soc-?kärringen|soc-?kärring|soc-?tant|socialtanten|chefen|sekreteraren|tjänstemannen|"
    r"tjänstekvinnan|kontaktpersonen|familjehemssekreteraren|barnsekreteraren|jouren|"
    r"heter|hette|kallas|namn är|namnet är"
)
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['-])*\.?")  # letters of any script: "Petrović", "Kovač"
_ROLE_THEN_NAME = re.compile(
    rf"(?i:\b(?:{ROLE_WORDS}))[\s:,]+(?P<name>[A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?"
    r"(?:\s+(?:[A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?|[A-ZÅÄÖ]\.))?)"
)
# First names that are also everyday words: they count only next to a surname or a role word.
AMBIGUOUS = {
    "bo", "per", "liv", "saga", "love", "max", "kim", "ola", "rut", "iris", "signe", "vera", "nora", "kalle",
    "lotta", "ellen", "jan", "ek", "falk", "lund", "berg", "holm", "lind", "björk", "svea", "tove", "ali", "hans",
    "par", "mark", "dan", "tor", "are", "bror", "urban",
}  # fmt: skip


@cache
def known_names() -> frozenset[str]:
    """Every folded first name and whole surname of the gazetteers."""
    return first_names() | surname_parts()[0]


@cache
def first_names() -> frozenset[str]:
    return frozenset(fold(line.strip()) for line in _lines("sv_first_names.txt"))


@cache
def surname_parts() -> tuple[frozenset[str], tuple[str, ...]]:
    lines = _lines("sv_surname_parts.txt")
    whole = frozenset(fold(line) for line in lines if not line.startswith("-"))
    endings = tuple(fold(line[1:]) for line in lines if line.startswith("-"))
    return whole, endings


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=65536)
def _base(word: str) -> str:
    """The folded word without a genitive -s (Annikas -> annika), when that makes it a known name."""
    folded = fold(word.rstrip("."))
    if folded not in first_names() and folded.endswith("s") and folded[:-1] in first_names():
        return folded[:-1]
    parts = folded.removesuffix("s").split("-")
    if len(parts) == 2 and all(part in first_names() for part in parts):
        return parts[0]  # "Lars-Erik", "Sven-Eriks"
    return folded


def looks_like_surname(word: str) -> bool:
    if len(word) == 2 and word[0].isupper() and word.endswith("."):
        return True  # an initial: "Maria S."
    folded = fold(word.rstrip(".")).removesuffix("s") if len(word) > 4 else fold(word)
    whole, endings = surname_parts()
    if folded in whole or fold(word) in whole:
        return True
    return word[:1].isupper() and len(folded) >= 4 and folded.endswith(endings) and folded not in first_names()


class SwedishNameRecognizer(EntityRecognizer):
    """``person_name`` from a first name (with or without a surname after it) or a capitalised name after a
    role word ("handläggaren Jessica Holm")."""

    def __init__(self, common: CommonWords | None = None) -> None:
        super().__init__(supported_entities=["person_name"], supported_language=LANGUAGE, name="SwedishNameRecognizer")
        self.common = common or CommonWords(None)

    def load(self) -> None:
        first_names()
        surname_parts()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        words = list(_WORD.finditer(text))
        for index, word in enumerate(words):
            base = _base(word.group())
            if base not in first_names():
                continue
            ends_sentence = word.group().endswith(".") and len(word.group()) > 2  # "par. Beställ"
            follower = words[index + 1] if index + 1 < len(words) and not ends_sentence else None
            adjacent = follower is not None and text[word.end() : follower.start()].strip() in ("",)
            if follower is not None and adjacent and self._surname_after(base, follower.group()):
                initial = len(follower.group()) == 2  # "H." keeps its period; other words drop a full stop
                end = follower.end() - (0 if initial or not follower.group().endswith(".") else 1)
                if not _NAMED_AFTER.match(text[end : end + 15]):
                    results.append(self._result(word.start(), end, 0.85))
            elif base in AMBIGUOUS:
                continue
            elif word.group()[:1].isupper():
                results.append(self._result(word.start(), word.end(), 0.6))
        results += self._lone_surnames(text, words, nlp_artifacts)
        for match in _ROLE_THEN_NAME.finditer(text):
            name = match.group("name")
            if fold(name.split()[0]) in {"och", "som", "har", "var", "är", "på", "i", "hon", "han"}:
                continue
            results.append(self._result(match.start("name"), match.end("name"), 0.8))
        return results

    def _surname_after(self, first: str, word: str) -> bool:
        """A surname follows a first name: a known one; a capitalised word that is not a function word (Swedish
        capitalises names, not nouns: "Anna Hed", "Per Malm"); or, in lower-case text and not after an
        everyday-word first name, a word that is not an everyday word ("karin åberg", "mehmet yilmaz")."""
        if looks_like_surname(word):
            return True
        plain = word.rstrip(".")
        if len(plain) < 2 or not plain.replace("-", "").isalpha() or is_stop_word(plain):
            return False
        if plain[0].isupper() and (not plain.isupper() or len(plain) > 2):
            return fold(plain) not in first_names() or first in AMBIGUOUS
        if first in AMBIGUOUS:
            return False
        endings = tuple(e for e in surname_parts()[1] if len(e) >= 3)
        if fold(plain).removesuffix("s").endswith(endings) and fold(plain) not in first_names():
            return True  # "sofia bergman"
        return (
            len(plain) >= 3
            and plain not in self.common
            and plain.removesuffix("s") not in self.common
            and fold(plain) not in first_names()
        )

    def _lone_surnames(
        self, text: str, words: list[re.Match[str]], nlp_artifacts: NlpArtifacts | None
    ) -> list[RecognizerResult]:
        """A capitalised word with a typical surname ending inside a sentence ("Vem är Sandberg?"), unless it is
        an everyday word or the NER calls it a place or an organisation ("Göteborg", "Sandvikens AIK")."""
        places = set()
        if nlp_artifacts is not None:
            places = {e.start_char for e in nlp_artifacts.tokens.ents if e.label_ == "LOC"}
        found = []
        for index, word in enumerate(words):
            value = word.group().rstrip(".")
            if not value[:1].isupper() or value.isupper() or not _typical_surname(value) or word.start() in places:
                continue
            before = text[: word.start()].rstrip()
            if index == 0 or not before or before[-1] in '.!?:\n"' or value in self.common:
                continue
            found.append(self._result(word.start(), word.start() + len(value), 0.6))
        return found

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return RecognizerResult("person_name", start, end, score)


# Words after a name that make it part of a place, school or street name ("Olof Palmes gata").
_NAMED_AFTER = re.compile(
    r"^\s*(gata|gatan|väg|vägen|plats|torg|torget|park|parken|skola|skolan|förskola|gymnasium|gymnasiet|värld|"
    r"hus|huset|stiftelse|pris|priset|minne)\b",
    re.IGNORECASE,
)


class NerNameRecognizer(EntityRecognizer):
    """``person_name`` from the pipeline's PER entities, checked against what a name looks like.

    The NER was trained on news; on ads and posts it also tags "Säljes Trampolin" or "Hämtade Alice".
    Everyday words, emoji, numbers and all-caps codes are trimmed off; a single word is kept only when the
    gazetteers know it or a role word precedes it, and names inside street or school names are dropped.
    """

    def __init__(self, common: CommonWords) -> None:
        super().__init__(supported_entities=["person_name"], supported_language=LANGUAGE, name="NerNameRecognizer")
        self.common = common

    def load(self) -> None:
        known_names()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if nlp_artifacts is None:
            return []
        results: list[RecognizerResult] = []
        for entity in nlp_artifacts.entities:
            if entity.label_ not in ("PER", "person_name"):  # the engine maps PER to person_name
                continue
            end_char = entity.end_char
            while end_char < len(text) and text[end_char].isalpha():  # "Petrovi|ć": the tokenizer split the word
                end_char += 1
            chunks = list(re.finditer(r"\S+", text[entity.start_char : end_char]))
            words = [m.group() for m in chunks]
            starts = [entity.start_char + m.start() for m in chunks]
            first, last = 0, len(words)
            while first < last and not (self._shaped_like_name(words[first]) and self._namish(words[first])):
                first += 1
            while last > first and not self._shaped_like_name(words[last - 1]):
                last -= 1
            kept = words[first:last]
            if not kept or not all(self._shaped_like_name(w) and not is_stop_word(w) for w in kept):
                continue
            start, end = starts[first], starts[last - 1] + len(words[last - 1])
            if _NAMED_AFTER.match(text[end : end + 15]):
                continue
            known = any(_known(w) for w in kept)
            after_role = bool(_ROLE_BEFORE.search(text[max(0, start - 40) : start]))
            if len(kept) == 1 and not (after_role or (known and _base(kept[0]) not in AMBIGUOUS)):
                continue
            if not known and any(w in self.common for w in kept):
                continue  # "Skogsby Bil", "Pro Max"
            results.append(RecognizerResult("person_name", start, end, 0.75 if known or after_role else 0.6))
        return results

    def _namish(self, word: str) -> bool:
        """Known as a name, or not an everyday word."""
        return _known(word) or (word not in self.common and word.removesuffix("s") not in self.common)

    @staticmethod
    def _shaped_like_name(word: str) -> bool:
        """Capitalised letters (an initial "M." too); all-caps only for known names ("ÅSA LIND", not "AB")."""
        if len(word) == 2 and word[0].isupper() and word.endswith("."):
            return True
        if not word.replace("-", "").replace("'", "").isalpha() or not word[:1].isupper():
            return False
        return not (word.isupper() and len(word) > 1) or _known(word)


def _known(word: str) -> bool:
    return _base(word) in known_names() or _typical_surname(word)


# Endings that make a word a surname on their own ("-by", "-in" also end places and things: "Skogsby").
_TYPICAL_SURNAME_ENDINGS = (
    "sson", "son", "berg", "bergh", "borg", "strom", "strand", "qvist", "kvist", "gren", "holm", "dahl", "blad",
    "blom", "stedt", "backe", "lov",
)  # fmt: skip


def _typical_surname(word: str) -> bool:
    folded = fold(word).removesuffix("s") if len(word) > 4 else fold(word)
    return len(folded) >= 4 and folded.endswith(_TYPICAL_SURNAME_ENDINGS)


_ROLE_BEFORE = re.compile(rf"(?i:\b(?:{ROLE_WORDS}))[\s:,]*$")
