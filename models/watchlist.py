"""The protected-staff watch-list: staff who asked for protection, matched in posts, encrypted at rest.

The list is the most sensitive data Vaktpost holds: it is stored only as a Fernet-encrypted file in the data
dir (key from the environment), never indexed, never logged. A match links a post to a person by an opaque id.
Matching tolerates the genitive "-s", missing diacritics, nicknames and small misspellings.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

from models.text import fold

KEY_ENV = "VAKTPOST_WATCHLIST_KEY"
FULL_NAME_SCORE = 88.0
SINGLE_NAME_SCORE = 92.0
_WORD = re.compile(r"[A-Za-zÅÄÖåäöÉéÜüØøÆæ][A-Za-zÅÄÖåäöÉéÜüØøÆæ'.-]*")


class WatchListError(Exception):
    """The watch-list cannot be read or written; the message says why, never what it holds."""


class ProtectedPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: "p" + secrets.token_hex(6))
    name: str = Field(min_length=2)
    variants: list[str] = Field(default_factory=list, description="other spellings: 'A. Lövgren', 'Annika L'")
    nicknames: list[str] = Field(default_factory=list, description="what posts call them: 'soc-Annika'")
    workplace: str | None = Field(default=None, description="e.g. 'familjeenheten i Skogsby'")
    role: str | None = None

    def __repr__(self) -> str:  # never let a name reach a log through repr()
        return f"ProtectedPerson(id={self.id!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class WatchHit:
    """Where a protected person is mentioned in a text, and how sure the match is."""

    person_id: str
    start: int
    end: int
    text: str
    how: str
    score: float


class WatchList:
    def __init__(self, people: list[ProtectedPerson] | None = None) -> None:
        self.people = list(people or [])
        self._index()

    # -- storage -----------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path, key: str | None = None) -> WatchList:
        if not path.exists():
            return cls()
        fernet = _fernet(key)
        try:
            data = json.loads(fernet.decrypt(path.read_bytes()))
        except InvalidToken:
            raise WatchListError(
                f"{path} cannot be decrypted with {KEY_ENV}: wrong key, or the file was altered"
            ) from None
        return cls([ProtectedPerson.model_validate(item) for item in data])

    def save(self, path: Path, key: str | None = None) -> None:
        """Encrypt and write atomically; the plaintext never touches the disk."""
        token = _fernet(key).encrypt(json.dumps([p.model_dump() for p in self.people], ensure_ascii=False).encode())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".watchlist", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(token)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(0o600)
        Path(tmp).replace(path)

    def add(self, person: ProtectedPerson) -> ProtectedPerson:
        self.people.append(person)
        self._index()
        return person

    def remove(self, person_id: str) -> bool:
        before = len(self.people)
        self.people = [p for p in self.people if p.id != person_id]
        self._index()
        return len(self.people) < before

    # -- matching ----------------------------------------------------------------------------------

    def _index(self) -> None:
        self._full: list[tuple[str, str]] = []  # (folded name, person id) for names of two or more words
        self._single: dict[str, list[tuple[str, str]]] = {"nickname": [], "surname": [], "first": []}
        self._workplaces: list[tuple[str, str]] = []
        for person in self.people:
            for name in [person.name, *person.variants]:
                folded = _norm(name)
                if " " in folded:
                    self._full.append((folded, person.id))
                    parts = folded.split()
                    self._single["surname"].append((parts[-1], person.id))
                    self._single["first"].append((parts[0], person.id))
            for nickname in person.nicknames:
                self._single["nickname"].append((_norm(nickname), person.id))
            if person.workplace:
                self._workplaces.append((_norm(person.workplace), person.id))

    def match(self, text: str) -> list[WatchHit]:
        """Mentions of protected people in ``text``. A surname or first name alone counts only when the post
        also names that person's workplace (or a nickname is used)."""
        if not self.people:
            return []
        folded_text = fold(text)
        words = [(m.start(), m.end(), _norm(m.group())) for m in _WORD.finditer(text)]
        at_work = {pid for place, pid in self._workplaces if _mentions(folded_text, place)}
        hits: dict[tuple[str, int], WatchHit] = {}
        full_names = [name for name, _ in self._full]
        for i in range(len(words)):
            best: tuple[float, int, int] | None = None  # (score, width, index of the name)
            for width in (2, 3):
                if i + width > len(words):
                    continue
                window = " ".join(w[2] for w in words[i : i + width])
                found = process.extractOne(window, full_names, scorer=fuzz.ratio, score_cutoff=FULL_NAME_SCORE)
                if found and (best is None or found[1] > best[0]):
                    best = (found[1], width, found[2])
            if best is not None:
                score, width, which = best
                start, end = words[i][0], words[i + width - 1][1]
                self._keep(hits, WatchHit(self._full[which][1], start, end, text[start:end], "name", score / 100))
            start, end, word = words[i]
            for how, entries in self._single.items():
                for name, pid in entries:
                    if how != "nickname" and pid not in at_work:
                        continue
                    if fuzz.ratio(word, name) >= (SINGLE_NAME_SCORE if len(name) > 4 else 100):
                        hit = WatchHit(pid, start, end, text[start:end], how, 0.9 if how == "nickname" else 0.75)
                        self._keep(hits, hit)
        kept: list[WatchHit] = []
        for hit in sorted(hits.values(), key=lambda h: (-h.score, h.start)):
            if not any(k.person_id == hit.person_id and hit.start < k.end and k.start < hit.end for k in kept):
                kept.append(hit)
        return sorted(kept, key=lambda h: h.start)

    @staticmethod
    def _keep(hits: dict[tuple[str, int], WatchHit], hit: WatchHit) -> None:
        key = (hit.person_id, hit.start)
        if key not in hits or hits[key].score < hit.score:
            hits[key] = hit


def _norm(name: str) -> str:
    """Folded, with the genitive -s and punctuation dropped from each word: "Lövgrens" -> "lovgren"."""
    words = []
    for word in fold(name).replace("-", " ").split():
        word = word.strip(".,:;!?'\"()")
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if word:
            words.append(word)
    return " ".join(words)


def _mentions(folded_text: str, place: str) -> bool:
    return fuzz.partial_ratio(place, folded_text) >= 90 if place else False


def _fernet(key: str | None) -> Fernet:
    key = key or os.environ.get(KEY_ENV)
    if not key:
        raise WatchListError(f"set {KEY_ENV} to the watch-list key (generate one with `vaktpost watchlist keygen`)")
    try:
        return Fernet(key.encode())
    except ValueError:
        raise WatchListError(f"{KEY_ENV} is not a valid key (32 url-safe base64-encoded bytes)") from None


def new_key() -> str:
    return Fernet.generate_key().decode()
