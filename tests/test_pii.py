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
    assert found(detector, "skriv till tips@example.org") == [("email", "tips@example.org")]


def test_things_that_only_look_like_personal_data(detector: PiiDetector) -> None:
    assert found(detector, "Matchen slutade 0-2 den 2026-11-20, kl 19.00 på arena 3") == []
    assert found(detector, "och 123 45 är fel") == []
    assert found(detector, "ABC 123 är bara bokstäver") == []  # a plate-like string without car context
