"""Personal-data detection: Presidio's analyzer engine with the Swedish pack and the project's spaCy pipeline.

The trained Swedish pipeline is Presidio's NLP engine: its named entities give person names, its tokens and
lemmas the context words. Contact details given as an organisation's public ones (a switchboard, a
visiting address, info@) are not personal data and are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.language import Language
from spacy.tokens import Doc

from models.pii.cues import DoxxingCueRecognizer
from models.pii.names import NerNameRecognizer, SwedishNameRecognizer, known_names
from models.pii.places import SchoolRecognizer, WorkplaceRecognizer
from models.pii.recognizers import LANGUAGE, swedish_recognizers
from models.pii.vocabulary import CommonWords
from models.text import fold
from vaktpost.schema import PiiSpan

VERSION = "sv-pii@0.2.0"
MIN_SCORE = 0.45
CORE_TYPES = (
    "personnummer",
    "phone",
    "email",
    "street_address",
    "postal_code",
    "license_plate",
    "person_name",
    "school",
)
"""The personal-data types every consumer can rely on (more types, such as doxxing cues, may appear)."""

# Public contact details of an organisation, not of a person. Strong cues settle it; weak cues (an
# organisation's words) count only when no person is named nearby ("ring handläggaren Eva på 070-...").
_STRONG_OFFICE_CUE = re.compile(
    r"\b(vaxel|vxl|vaxeln|besoksadress|besoksadressen|kundtjanst|kundservice|kundcenter|kontaktcenter|"
    r"telefontid|registrator|servicecenter|medborgarservice|upplysningen|organisationsnummer|org\.?\s?nr|"
    r"postadress|box\s+\d+|svarspost|fakturaadress|fakturaservice|oppettider|dygnet runt)\b"
)
_WEAK_OFFICE_CUE = re.compile(
    r"\b(ring oss|besok oss|hos oss|mejla oss|maila oss|kontakta oss|tipsa oss|redaktionen|"
    r"jouren|jour|stodlinjen|linjen|mottagningen|mottagning|reception|receptionen|vardagar|oppet|kansli|"
    r"kansliet|biljettkassan|bokning|ab|hb|byra|byran|pizzeria|butiken|butik|restaurang|salong|salongen|"
    r"foretaget|firma|kliniken|klinik|vardcentral|vardcentralen|apotek|myndigheten|myndighetens|forvaltningen|"
    r"forvaltningens|namnden|namndens|kommunen|kommunens|kommunhuset|regionen|polisen|kontoret|kontor|"
    r"socialkontoret|lokaler|lokalerna|ligger pa|finns pa|entre|institutionen|foreningen|klubben|kansli|"
    r"familjecentralen|medborgarkontoret|forskoleforvaltningen|expeditionen|stadshuset|kansli)\b"
)
_OFFICE_MAILBOX = re.compile(
    r"^(info|registrator|kontakt|kontaktcenter|kundtjanst|kundservice|socialtjansten|socialtjanst|socialnamnden|"
    r"kommun|kommunen|support|noreply|no-reply|reception|servicecenter|press|media|ekonomi|post|epost|mail|"
    r"bestallning|order|hr|tips|jobb|kansli|dataskyddsombud|dpo|forskola|skola|redaktion|nyheter|service|"
    r"bokning|booking|faktura|invoice|admin|webmaster|contact|hello|sales|butik|shop|forvaltning|namnd)[@._-]",
    re.IGNORECASE,
)
_CONTACT_TYPES = {"phone", "email", "street_address", "postal_code"}
_BEFORE = 80
_AFTER = 25


@Language.component("vaktpost_lower_lemma")
def _lower_lemma(doc: Doc) -> Doc:
    """Lemmas for tokens the lookup table does not know, so Presidio's context words still match."""
    for token in doc:
        if not token.lemma_:
            token.lemma_ = token.lower_
    return doc


def _swedish_nlp() -> Language:
    """The project's trained pipeline. Without it names would silently go unseen, so a missing or broken
    pipeline is an error that says how to rebuild it."""
    from models.spacy import PIPELINE_DIR, load_swedish_pipeline

    try:
        # sentence starts and morphology are not used here; leaving them out saves a tenth of the time
        nlp = load_swedish_pipeline(exclude=["senter", "morphologizer"])
    except (OSError, ValueError) as err:
        raise RuntimeError(
            f"the Swedish spaCy pipeline at {PIPELINE_DIR} could not be loaded ({err}); it ships with the "
            "repository: restore it with git, or rebuild it with `python -m models.spacy.train`"
        ) from err
    nlp.add_pipe("vaktpost_lower_lemma", last=True)
    return nlp


class _SwedishEngine(SpacyNlpEngine):
    def __init__(self, nlp: Language) -> None:
        mapping = NerModelConfiguration(
            model_to_presidio_entity_mapping={"PER": "person_name", "LOC": "location", "ORG": "organization"},
            labels_to_ignore=["MISC", "location", "organization"],
        )
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "vaktpost-sv"}], ner_model_configuration=mapping)
        self._pipeline = nlp

    def load(self) -> None:
        self.nlp = {LANGUAGE: self._pipeline}  # type: ignore[assignment]

    def process_batch(  # type: ignore[override]
        self, texts: Sequence[str], language: str, batch_size: int = 64, n_process: int = 1, as_tuples: bool = False
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        """Presidio's version rebuilds each text from its tokens (a sixth of the time); the texts are at hand."""
        docs = self._pipeline.pipe(texts, batch_size=batch_size)
        for text, doc in zip(texts, docs, strict=True):
            yield text, self._doc_to_nlp_artifact(doc, language)


class PiiDetector:
    """Finds personal data in Swedish text; the spans carry the exact text and character offsets."""

    def __init__(self) -> None:
        nlp = _swedish_nlp()
        self.has_ner = "ner" in nlp.pipe_names
        self.version = f"{VERSION}+{nlp.meta.get('name', 'blank')}@{nlp.meta.get('version', '0')}"
        common = CommonWords.of(nlp, known_names())
        registry = RecognizerRegistry(supported_languages=[LANGUAGE])
        for recognizer in [
            *swedish_recognizers(),
            SwedishNameRecognizer(common),
            SchoolRecognizer(),
            WorkplaceRecognizer(),
            DoxxingCueRecognizer(),
        ]:
            registry.add_recognizer(recognizer)
        if self.has_ner:
            registry.add_recognizer(NerNameRecognizer(common))
        engine = _SwedishEngine(nlp)
        engine.load()
        self._nlp_engine = engine
        self._engine = AnalyzerEngine(
            registry=registry,
            nlp_engine=engine,
            supported_languages=[LANGUAGE],
            context_aware_enhancer=LemmaContextAwareEnhancer(
                context_similarity_factor=0.3,
                min_score_with_context_similarity=0.6,
                context_prefix_count=6,
                context_suffix_count=2,
            ),
        )

    def detect(self, text: str) -> list[PiiSpan]:
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str], batch_size: int = 64) -> list[list[PiiSpan]]:
        """The spans of each text; the pipeline runs over the texts in batches (``nlp.pipe``)."""
        artifacts = self._nlp_engine.process_batch(texts, language=LANGUAGE, batch_size=batch_size)
        return [self._detect(text, nlp_artifacts) for text, nlp_artifacts in artifacts]

    def _detect(self, text: str, nlp_artifacts: NlpArtifacts) -> list[PiiSpan]:
        if not text.strip():
            return []
        found = self._engine.analyze(
            text=text, language=LANGUAGE, score_threshold=MIN_SCORE, nlp_artifacts=nlp_artifacts
        )
        results = _without_overlaps(_phone_or_personnummer(text, found))
        names = [r for r in results if r.entity_type == "person_name"]
        contacts = [r for r in results if r.entity_type in _CONTACT_TYPES]
        office: dict[int, bool] = {}
        for contact in sorted(contacts, key=lambda r: r.start):
            street = next(
                (o for o in contacts if o.entity_type == "street_address" and 0 <= contact.start - o.end <= 4), None
            )
            if contact.entity_type == "postal_code" and street is not None:
                office[id(contact)] = office[id(street)]  # "Storgatan 1, 123 45 Skogsby" is one address
            else:
                office[id(contact)] = _public_office(text, contact, names, contacts)
        kept = [r for r in results if not office.get(id(r), False)]
        return [
            PiiSpan(type=r.entity_type, text=text[r.start : r.end], start=r.start, end=r.end, score=round(r.score, 3))
            for r in kept
        ]


def _public_office(
    text: str, result: RecognizerResult, names: list[RecognizerResult], contacts: list[RecognizerResult]
) -> bool:
    """True for an organisation's own contact details: a cue just before it in the same sentence (or right
    after it: "(växel)"), and for weak cues no person named in between."""
    if result.entity_type not in _CONTACT_TYPES:
        return False
    if result.entity_type == "email" and _OFFICE_MAILBOX.match(text[result.start : result.end]):
        return True
    start = max(0, result.start - _BEFORE)
    start += max((m.end() for m in re.finditer(r"[.!?\n]\s", text[start : result.start])), default=0)
    # a cue belongs to the nearest contact detail: start after the previous one in the sentence
    start = max([start, *(r.end for r in contacts if r.end <= result.start)])
    before = fold(text[start : result.start])
    after = fold(re.split(r"[,.;!?\n]", text[result.end : result.end + _AFTER], maxsplit=1)[0])  # "(växel)"
    if _STRONG_OFFICE_CUE.search(before) or _STRONG_OFFICE_CUE.search(after):
        return True
    cues = [start + m.start() for m in _WEAK_OFFICE_CUE.finditer(before)]
    if _WEAK_OFFICE_CUE.search(after):
        cues.append(result.end)
    if not cues:
        return False
    # a person named after the organisation's words owns the detail: "föreningens kontakt är Kjell Ström, 070-"
    return not any(start <= n.start and n.end <= result.start and n.start > max(cues) for n in names) or any(
        c >= result.end for c in cues
    )


_PHONE_CUE = re.compile(r"\b(ring|ringa|ringer|tel|tfn|telefon|mobil|mobilnummer|nummer|nr|sms|sms:a|swish|nas pa)\W*$")
_PNR_CUE = re.compile(r"\b(personnummer|personnr|pnr|samordningsnummer|fodd|f\.)\W*$")


def _phone_or_personnummer(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Ten digits can be both a phone number and a valid personnummer: the words before them decide, and a
    bare 07-number is a mobile. The losing reading is dropped."""
    numbers = {(r.start, r.end): r for r in results if r.entity_type == "personnummer"}
    drop: set[int] = set()
    for phone in (r for r in results if r.entity_type == "phone"):
        twin = numbers.get((phone.start, phone.end))
        if twin is None:
            continue
        before = fold(text[max(0, phone.start - 25) : phone.start])
        digits = re.sub(r"\D", "", text[phone.start : phone.end])
        prefer_phone = bool(_PHONE_CUE.search(before)) or (digits.startswith("07") and not _PNR_CUE.search(before))
        drop.add(id(twin) if prefer_phone else id(phone))
    return [r for r in results if id(r) not in drop]


def _without_overlaps(results: Iterable[RecognizerResult]) -> list[RecognizerResult]:
    """One reading per stretch of text: numbers and addresses over names, then the more confident, the longer.

    Doxxing cues (family, photo, routine, workplace) describe the context, so they are resolved only
    against each other and never hide a personal-data span.
    """
    core = [r for r in results if r.entity_type in CORE_TYPES]
    cues = [r for r in results if r.entity_type not in CORE_TYPES]
    return sorted(_resolve(core) + _resolve(cues), key=lambda r: r.start)


def _resolve(results: list[RecognizerResult]) -> list[RecognizerResult]:
    rank = {t: i for i, t in enumerate(CORE_TYPES)}
    specific = rank["person_name"]
    ordered = sorted(
        results, key=lambda r: (rank.get(r.entity_type, 99) >= specific, -r.score, -(r.end - r.start), r.start)
    )
    kept: list[RecognizerResult] = []
    for result in ordered:
        if all(result.end <= other.start or result.start >= other.end for other in kept):
            kept.append(result)
    return kept
