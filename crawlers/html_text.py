"""HTML fragments to readable plain text: line breaks kept, markup, images and scripts dropped."""

from __future__ import annotations

import re

from lxml import html as lxml_html

_BLOCKS = {
    "p",
    "div",
    "blockquote",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "table",
    "tr",
}
_SKIP = {"script", "style", "noscript", "template"}


def html_to_text(fragment: str | lxml_html.HtmlElement) -> str:
    """Text of an HTML fragment with <br> as newlines and blocks as paragraphs."""
    if isinstance(fragment, str):
        if not fragment.strip():
            return ""
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    else:
        root = fragment
    parts: list[str] = []
    _walk(root, parts)
    if root.tail:
        parts.pop()  # the root's tail is text after the fragment, not part of it
    return _tidy("".join(parts))


def drop_keeping_tail(element: lxml_html.HtmlElement) -> None:
    """Remove an element (a quote, a smiley) but keep the text after it: those words belong to the message."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _walk(element: lxml_html.HtmlElement, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _SKIP:
        _tail(element, parts)
        return
    if tag == "br":
        parts.append("\n")
    elif tag in _BLOCKS:
        parts.append("\n\n")
    if element.text and tag not in _SKIP:
        parts.append(_flat(element.text))
    for child in element:
        _walk(child, parts)
    if tag in _BLOCKS:
        parts.append("\n\n")
    _tail(element, parts)


def _tail(element: lxml_html.HtmlElement, parts: list[str]) -> None:
    if element.tail:
        parts.append(_flat(element.tail))


def _flat(text: str) -> str:
    """Newlines in HTML source are just whitespace; only <br> and blocks break lines."""
    return text.replace("\r", " ").replace("\n", " ")


_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_BLANKS = re.compile(r"\n\s*\n+")


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
