"""The overview's SVG charts: well-formed, numbers present, hostile names escaped, empty data handled."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from review import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ["<script>alert(1)</script>", '"onload="alert(2)', "x' onmouseover='alert(3)", "a & b", "\x00\x1bbell"]


SVG_ATTRIBUTES = {
    "xmlns", "class", "role", "viewbox", "width", "height", "font-family", "font-size", "aria-labelledby", "id",
    "x", "y", "x1", "x2", "y1", "y2", "fill", "stroke", "stroke-width", "text-anchor",
}  # fmt: skip


class Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.names.update(name for name, _ in attrs)


def html_attributes(markup: str) -> set[str]:
    parser = Attributes()
    parser.feed(markup)
    assert parser.tags <= {"svg", "g", "title", "desc", "rect", "text", "line"}, parser.tags
    return parser.names


def parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))  # raises on anything that is not well-formed XML


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter() if element.tag in (f"{SVG}text", f"{SVG}title")]


def test_stacked_columns_show_every_number_in_titles_and_axes() -> None:
    series = [
        charts.Series("threat", "Hot", [3, 0, 7]),
        charts.Series("doxxing", "Doxning", [1, 2, 0]),
    ]
    svg = charts.stacked_columns(
        ["2026-12-01", "2026-12-02", "2026-12-03"], series, ident="per-dag", title="Per dag", description="Staplat"
    )
    assert isinstance(svg, Markup)
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "per-dag-title per-dag-desc"
    shown = texts(root)
    assert shown[0] == "Per dag"
    assert "2026-12-01, Hot: 3" in shown
    assert "2026-12-03, Hot: 7" in shown
    assert "2026-12-02, Doxning: 2" in shown
    assert "2026-12-01: Hot 3, Doxning 1" in shown
    rects = [r for r in root.iter(f"{SVG}rect") if "bar" in (r.get("class") or "")]
    assert len(rects) == 4  # zero values draw nothing
    assert {r.get("fill") for r in rects} == {charts.COLOURS["threat"], charts.COLOURS["doxxing"]}
    assert "style" not in str(svg)  # the CSP blocks style attributes


def test_taller_columns_for_bigger_numbers() -> None:
    svg = charts.stacked_columns(["a", "b"], [charts.Series("threat", "Hot", [2, 8])], ident="x", title="t")
    heights = [float(r.get("height", 0)) for r in parse(svg).iter(f"{SVG}rect") if r.get("class")]
    assert heights[1] == pytest.approx(4 * heights[0])


def test_horizontal_bars_show_names_and_numbers() -> None:
    svg = charts.horizontal_bars([("flashback", 12_345), ("reddit", 4)], ident="per-kalla", title="Per källa")
    shown = texts(parse(svg))
    assert "flashback" in shown
    assert "12\u00a0345" in shown
    assert "reddit: 4" in shown


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_are_escaped_everywhere(hostile: str) -> None:
    columns = charts.stacked_columns(
        [hostile, "ok"],
        [charts.Series(hostile, hostile, [1, 2])],
        ident=hostile,
        title=hostile,
        description=hostile,
        tick_labels=[hostile, hostile],
    )
    bars = charts.horizontal_bars([(hostile, 3)], ident=hostile, title=hostile, description=hostile, keys=[hostile])
    for svg in (columns, bars):
        markup = str(svg)
        root = parse(svg)  # still well-formed
        assert "<script" not in markup
        assert html_attributes(markup) <= SVG_ATTRIBUTES  # as a browser's HTML parser reads inline SVG
        for element in root.iter():
            assert all(not name.startswith("on") for name in element.attrib), element.attrib
            assert element.tag.startswith(SVG), element.tag
        title = root.find(f"{SVG}title")
        assert title is not None
        assert title.text == hostile.replace("\x00", "\ufffd").replace("\x1b", "\ufffd")  # shown as plain text


def test_escaping_helpers() -> None:
    assert charts.text("<b>&") == "&lt;b&gt;&amp;"
    assert charts.attribute("a\"b'c<") == '"a&quot;b&#x27;c&lt;"'
    assert charts.text("\x00") == "\ufffd"


@pytest.mark.parametrize(
    "svg",
    [
        charts.stacked_columns([], [], ident="e", title="Tomt"),
        charts.stacked_columns(["2026-12-01"], [charts.Series("threat", "Hot", [0])], ident="e", title="Tomt"),
        charts.horizontal_bars([], ident="e", title="Tomt"),
        charts.horizontal_bars([("flashback", 0)], ident="e", title="Tomt"),
    ],
)
def test_empty_data_says_so(svg: Markup) -> None:
    root = parse(svg)
    assert charts.EMPTY_MESSAGE in texts(root)
    assert not [r for r in root.iter(f"{SVG}rect")]


def test_series_must_match_the_categories() -> None:
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        charts.stacked_columns(["a", "b", "c"], [charts.Series("threat", "Hot", [1, 2])], ident="x", title="t")


@pytest.mark.parametrize(
    ("maximum", "expected"), [(0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (95, [0, 50, 100])]
)
def test_ticks_are_round(maximum: int, expected: list[int]) -> None:
    assert charts.ticks(maximum) == expected


def test_many_days_get_at_most_a_dozen_axis_labels() -> None:
    days = [f"2026-09-{i:02d}" for i in range(1, 31)] * 3
    svg = charts.stacked_columns(days, [charts.Series("threat", "Hot", [1] * 90)], ident="d", title="t")
    axis = [t for t in parse(svg).iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert 5 <= len(axis) <= 12
