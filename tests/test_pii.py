"""The Swedish personal-data recognizers: right values found, look-alikes rejected."""

from __future__ import annotations

import pytest

from models.pii import PiiDetector


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def found(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [(span.type, span.text) for span in detector.detect(text)]


@pytest.mark.parametrize(
    "value", ["850312-4466", "19850312-4466", "8503124466", "198503124466", "19780423-2382", "850372-4463"]
)
def test_valid_personnummer_and_samordningsnummer(detector: PiiDetector, value: str) -> None:
    assert found(detector, f"hennes personnummer är {value} typ") == [("personnummer", value)]


@pytest.mark.parametrize(
    "value",
    [
        "850312-4467",  # wrong check digit
        "851312-4466",  # month 13
        "850230-4462",  # 30 February
        "850332-4465",  # day 32
    ],
)
def test_invalid_personnummer_is_not_reported(detector: PiiDetector, value: str) -> None:
    assert ("personnummer", value) not in found(detector, f"ordernummer {value}")


def test_spans_point_into_the_text(detector: PiiDetector) -> None:
    text = "Ring 070-174 06 12 eller mejla annika.lovgren@exempel-kommun.se"
    for span in detector.detect(text):
        assert text[span.start : span.end] == span.text


@pytest.mark.parametrize("value", ["070-174 06 12", "0701740612", "+46 70 174 06 12", "031-390 06 58", "08-465 004 00"])
def test_phone_numbers(detector: PiiDetector, value: str) -> None:
    assert found(detector, f"ring {value} ikväll") == [("phone", value)]


def test_mobile_number_is_not_read_as_personnummer(detector: PiiDetector) -> None:
    assert found(detector, "0701740612") == [("phone", "0701740612")]


def test_addresses_postal_codes_email_and_plates(detector: PiiDetector) -> None:
    text = "Hon bor på Björkvägen 14B, 123 45 Skogsby. Bilen är en röd Volvo med regnummer ABC 123."
    assert found(detector, text) == [
        ("street_address", "Björkvägen 14B"),
        ("postal_code", "123 45 Skogsby"),
        ("license_plate", "ABC 123"),
    ]
    assert found(detector, "sjöliden 3, lgh 1102") == [("street_address", "sjöliden 3, lgh 1102")]
    assert found(detector, "skriv till kalle.k@example.org") == [("email", "kalle.k@example.org")]
    assert found(detector, "skriv till tips@example.org") == []  # a newsroom's mailbox is no one's personal data


def test_things_that_only_look_like_personal_data(detector: PiiDetector) -> None:
    assert found(detector, "Matchen slutade 0-2 den 2026-11-20, kl 19.00 på arena 3") == []
    assert found(detector, "och 123 45 är fel") == []
    assert found(detector, "ABC 123 är bara bokstäver") == []  # a plate-like string without car context


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Socialsekreteraren Annika Lövgren bor här", ["Annika Lövgren"]),
        ("annika lövgren på soc igen", ["annika lövgren"]),
        ("Det var Annikas beslut", ["Annikas"]),
        ("handläggaren Jessica H. ringde", ["Jessica H."]),
        ("utredaren Peter Wikström skrev", ["Peter Wikström"]),
        ("Bo i Stockholm är dyrt, per person 500 kr", []),
        ("Vi ses på lördag, Love", []),
        # names the gazetteers do not know, found by the trained NER
        ("Pappa söker kontakt med Alva Wallin, har inte fått träffa henne", ["Alva Wallin"]),
        ("Enligt Dragana Petrović på enheten var beslutet klart", ["Dragana Petrović"]),
        ("ja jenny hallberg heter hon, hennes man heter Patrik och de bor i villa", ["jenny hallberg", "Patrik"]),
        ("Vem är Sandberg? Hon som skrev utredningen.", ["Sandberg"]),
        ("HON HETER ÅSA LIND OCH JOBBAR PÅ SOC", ["ÅSA LIND"]),
        ("Lars-Erik Bohman var där", ["Lars-Erik Bohman"]),
    ],
)
def test_person_names(detector: PiiDetector, text: str, names: list[str]) -> None:
    assert [t for kind, t in found(detector, text) if kind == "person_name"] == names


@pytest.mark.parametrize(
    ("text", "schools"),
    [
        ("barnen går på Solrosens förskola", ["Solrosens förskola"]),
        ("hennes son går på Ektorpsskolan", ["Ektorpsskolan"]),
        ("dottern är på förskolan Myran", ["förskolan Myran"]),
        ("grundskolan och högskolan och förskolan i stan", []),
    ],
)
def test_schools(detector: PiiDetector, text: str, schools: list[str]) -> None:
    assert [t for kind, t in found(detector, text) if kind == "school"] == schools


def test_doxxing_cues(detector: PiiDetector) -> None:
    text = "Hon jobbar på familjeenheten i Skogsby. Bild på henne här. Hon hämtar barnen varje dag kl 16.30."
    kinds = {kind for kind, _ in found(detector, text)}
    assert {"workplace", "photo", "routine"} <= kinds
    assert ("family", "hennes barn") in found(detector, "Vi vet vilka hennes barn är")


def test_an_offices_public_contact_details_are_not_personal_data(detector: PiiDetector) -> None:
    assert found(detector, "Växel: 08-465 004 00. Besöksadress: Storgatan 1, 123 45 Skogsby.") == []
    assert found(detector, "Mejla registrator@exempel-kommun.se eller info@exempel-kommun.se") == []
    assert found(detector, "Ring hennes mobil 070-174 06 12") == [("phone", "070-174 06 12")]


@pytest.mark.parametrize(
    "text",
    [
        "Säljes Trampolin, hämtas i Skogsby.",  # the NER's "Säljes Trampolin" is an ad opener and a thing
        "Hemstickade vantar, 150 kr/par. Beställ via formuläret",  # "par" folds to Pär
        "Hon kör en Mercedes CLA 200",  # a car model, not a plate
        "Grattis! Kalas på lördag 🥳",
        "Vi promenerade längs Olof Palmes gata",
        "Skogsby Bil AB har öppet idag",
    ],
)
def test_words_the_ner_mistakes_for_names_are_not_names(detector: PiiDetector, text: str) -> None:
    assert [t for kind, t in found(detector, text) if kind in ("person_name", "license_plate")] == []


def test_one_call_gives_the_spans() -> None:
    from models import detect_pii

    spans = detect_pii("Maria Sandén, 850312-4466")
    assert [(s.type, s.text) for s in spans] == [("person_name", "Maria Sandén"), ("personnummer", "850312-4466")]


@pytest.mark.parametrize(
    "text",
    [
        "koden är 070-12 34",  # too short for a Swedish number
        "ring 0001 23 45 67",  # no area code starts with 00 after the trunk zero
        "mejla a@b.zz",  # no such top-level domain
        "Storgatan är lång",  # a street without a number is not an address
        "postnummer 12345",  # a postal code without a town
        "Matchen slutade 3-1 efter förlängning",
    ],
)
def test_invalid_values_are_rejected(detector: PiiDetector, text: str) -> None:
    assert found(detector, text) == []
