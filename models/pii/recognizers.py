"""Swedish personal-data recognizers for Presidio: one small class per kind, patterns plus validation.

Span type names are the ones the rest of Vaktpost uses: personnummer, phone, email, street_address,
postal_code, license_plate.
"""

from __future__ import annotations

import re
from datetime import date
from typing import ClassVar

import tldextract
from presidio_analyzer import Pattern, PatternRecognizer

LANGUAGE = "sv"
CASE_SENSITIVE = re.DOTALL | re.MULTILINE  # Presidio matches case-insensitively unless told otherwise

# Offline: the bundled public-suffix snapshot, never a download at run time.
_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class PersonnummerRecognizer(PatternRecognizer):
    """Personnummer and samordningsnummer, 10 or 12 digits, with or without separator.

    Valid only with a real calendar date (samordningsnummer: day + 60) and a correct Luhn check digit; a
    ten-digit run without separator that starts with 0 is read as a phone number, not a personnummer.
    """

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("personnummer with separator", r"(?<![\d-])(?:19|20)?\d{6}[-+ ]\d{4}(?![\d-])", 0.7),
        Pattern("personnummer digits only", r"(?<![\d-])(?:19|20)?\d{10}(?![\d-])", 0.5),
    ]
    CONTEXT: ClassVar[list[str]] = ["personnummer", "personnr", "pnr", "samordningsnummer", "född", "fodd"]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="personnummer",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            name="SwedishPersonnummerRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool:
        digits = re.sub(r"\D", "", pattern_text)
        century = digits[:2] if len(digits) == 12 else None
        core = digits[-10:]
        year = int((century or "19") + core[:2])
        month, day = int(core[2:4]), int(core[4:6])
        if day > 60:
            day -= 60  # samordningsnummer
        try:
            date(year if century else 2000 + int(core[:2]), month, day)
        except ValueError:
            if century is not None or not _valid_in_1900s(int(core[:2]), month, day):
                return False
        return luhn_ok(core)


def _valid_in_1900s(yy: int, month: int, day: int) -> bool:
    try:
        date(1900 + yy, month, day)
    except ValueError:
        return False
    return True


class PhoneRecognizer(PatternRecognizer):
    """Swedish numbers: +46/0046/0, mobiles 07x and area codes, with the spacing people use."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "swedish phone",
            r"(?<![\d+])(?:\+46|0046)[\s-]?\(?0?\)?\d{1,3}(?:[\s-]?\d){5,8}(?!\d)"
            r"|(?<![\d+])0\d{1,3}[\s/-]?\d{2,3}(?:[\s-]?\d{2,3}){1,3}(?![\d-])",
            0.5,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "tel",
        "telefon",
        "mobil",
        "nummer",
        "ring",
        "sms",
        "nr",
        "mobilnummer",
        "telefonnummer",
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="phone",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            name="SwedishPhoneRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool:
        digits = re.sub(r"\D", "", pattern_text)
        if pattern_text.lstrip().startswith("+46"):
            digits = "0" + digits[2:]
        elif digits.startswith("0046"):
            digits = "0" + digits[4:]
        if digits.startswith("00"):
            digits = digits[1:]  # "+46 (0)70 ..." written with the trunk zero
        if not 8 <= len(digits) <= 10:
            return False
        if digits.startswith("07"):
            return len(digits) == 10
        return digits[1] != "0"


class EmailRecognizer(PatternRecognizer):
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("email", r"\b[\w.+-]+@(?:[\w-]+\.)+[a-zA-Z]{2,}\b", 0.6),
        Pattern("email, spelt out", r"\b[\w.+-]+\s?(?:\(at\)|\[at\]|\(snabel-a\))\s?(?:[\w-]+\.)+[a-zA-Z]{2,}\b", 0.6),
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="email",
            patterns=self.PATTERNS,
            context=["mejl", "mail", "e-post", "epost", "maila", "mejla"],
            supported_language=LANGUAGE,
            name="EmailRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool:
        domain = re.split(r"@|\(at\)|\[at\]|\(snabel-a\)", pattern_text)[-1].strip()
        return bool(_TLD(domain).suffix)


_STREET_SUFFIX = (
    r"(?:gatan|gata|vägen|vagen|väg|vag|stigen|gränd|gränden|grand|granden|backe|backen|torg|torget|allé|allén|"
    r"alle|allen|plan|leden|liden|slingan|gången|gangen|platsen|höjden|hojden|ringen|stråket|straket|kroken|"
    r"udden|berget|hagen|lund|lunden|ängen|angen|parken|strand|stranden|kajen|esplanaden|bron|trappan|viken|"
    r"sluttningen|bryggan|vändan|vandan|gärdet|gardet|tået|taet|fältet|faltet|dalen|vången|vangen|åsen|asen)"
)
# "Olof Palmes gata 12", "Gröna gången 3": the street word stands on its own after a name.
_STREET_WORD = (
    r"(?:gata|gatan|väg|vägen|gränd|gränden|torg|torget|allé|allén|stig|stigen|backe|backen|gången|plan|platsen|"
    r"park|parken|hage|hagen|stråket)"
)


class StreetAddressRecognizer(PatternRecognizer):
    """Street name with a Swedish suffix, a number, an optional letter and "lgh NNNN"."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "street with number",
            rf"(?i)\b(?:(?:stora|lilla|norra|södra|östra|västra|gamla|nya|övre|nedre|sankt|s:t)\s+)?"
            rf"[a-zåäöé][a-zåäöé-]*{_STREET_SUFFIX}\s+\d{{1,4}}(?:\s?[a-h](?![a-zåäö]))?"
            r"(?:,?\s*(?:lgh|lägenhet)\.?\s*\d{4})?",
            0.6,
        ),
        Pattern(
            "named street with number",
            rf"\b(?:[A-ZÅÄÖ][a-zåäöé]+\s){{1,2}}{_STREET_WORD}\s+\d{{1,4}}(?:\s?[A-Ha-h](?![a-zåäö]))?"
            r"(?:,?\s*(?:lgh|lägenhet)\.?\s*\d{4})?",
            0.6,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["bor", "adress", "adressen", "bostad", "hemma", "lgh", "portkod", "våning"]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="street_address",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            name="SwedishStreetAddressRecognizer",
        )


class PostalCodeRecognizer(PatternRecognizer):
    """ "NNN NN" followed by a town name, as in a postal address."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "postal code with town",
            r"(?<!\d)(?:S-)?[1-9]\d{2}[ \xa0]?\d{2}[ \t\xa0]+"
            r"(?:[A-ZÅÄÖ][a-zåäöé]+(?:[ \xa0][A-ZÅÄÖ][a-zåäö]+)?|[A-ZÅÄÖ]{2,}(?:[ \xa0][A-ZÅÄÖ]{2,})?)\b",
            0.5,
        )
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="postal_code",
            patterns=self.PATTERNS,
            context=["postnummer", "adress", "bor"],
            supported_language=LANGUAGE,
            name="SwedishPostalCodeRecognizer",
            global_regex_flags=CASE_SENSITIVE,
        )


class LicensePlateRecognizer(PatternRecognizer):
    """Swedish plates "ABC 123" / "ABC 12A"; weak on their own, strong next to words about cars."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("swedish plate", r"\b[A-HJ-PR-UW-Z]{3}\s?\d{2}[A-HJ-NPR-UW-Z0-9]\b", 0.35),
        # people type plates in lower case too; those need words about cars nearby to count
        Pattern("swedish plate, lower case", r"\b[a-hj-pr-uw-z]{3}\s?\d{2}[a-hj-npr-uw-z0-9]\b", 0.2),
    ]
    CONTEXT: ClassVar[list[str]] = [
        "regnummer",
        "reg.nr",
        "regnr",
        "registreringsnummer",
        "skylt",
        "reg",
        "registrerad",
        "bil",
        "bilen",
        "bilar",
        "fordon",
        "fordonet",
        "äger",
        "äga",
        "kör",
        "köra",
        "parkerad",
        "parkerade",
        "parkering",
        "parkera",
        "husvagn",
        "husbil",
        "mc",
        "volvo",
        "saab",
        "tesla",
        "toyota",
        "kia",
        "audi",
        "bmw",
        "mercedes",
        "golf",
        "passat",
        "yaris",
        "skoda",
        "ford",
        "renault",
        "peugeot",
    ]

    # Three letters and three digits that name a car model, not a plate ("Mercedes CLA 200").
    MODEL_CODES: ClassVar[frozenset[str]] = frozenset(
        [
            "CLA",
            "GLA",
            "GLB",
            "GLC",
            "GLE",
            "GLS",
            "CLS",
            "CLK",
            "SLK",
            "SLC",
            "SLS",
            "AMG",
            "EQA",
            "EQB",
            "EQC",
            "EQE",
            "EQS",
        ]
    )

    def invalidate_result(self, pattern_text: str) -> bool:
        return pattern_text[:3].upper() in self.MODEL_CODES

    def __init__(self) -> None:
        super().__init__(
            supported_entity="license_plate",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            name="SwedishLicensePlateRecognizer",
            global_regex_flags=CASE_SENSITIVE,
        )


def swedish_recognizers() -> list[PatternRecognizer]:
    return [
        PersonnummerRecognizer(),
        PhoneRecognizer(),
        EmailRecognizer(),
        StreetAddressRecognizer(),
        PostalCodeRecognizer(),
        LicensePlateRecognizer(),
    ]
