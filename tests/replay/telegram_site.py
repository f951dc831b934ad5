"""Fictional Telegram channels served as the t.me/s web preview, in the markup t.me really sends.

Markup, paging and quirks follow docs/source-formats section 4 (RSSHub's long-maintained parser and field
notes): ``/s/<channel>`` is the newest page, ``?before=<id>`` holds ids strictly less, ``?after=<id>`` the
oldest ids greater; about 20 *messages* a page where every album photo counts; blocks oldest first;
``rel="prev"``/``rel="next"`` in the head while older/newer messages exist; "No posts found" before the
first message; 302 for an unknown channel and a redirect to ``https://t.me/<channel>`` where the preview is
disabled; ``?q=`` searches a channel. Quirks: ``&`` doubled in ``a[onclick]`` hrefs, numeric entities,
emoji markup, album captions nested twice, the "edited" marker, rounded view counts.

Fault modes, switched per site: ``faults`` answers a request target ("/s/x?before=9") with the listed
statuses first; ``slow`` delays targets; ``walls`` makes a channel (by name) or one page (by target) a login
wall, challenge page, 403 block page, garbage body, a page without message history, an empty history that
does not say "No posts found", or a page that ignores ``before`` ("stuck"); ``disallow`` goes into
robots.txt; ``hide_days`` hides the newest messages (the site as it was that many days ago).
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from demo.flashback_site import Page

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "channels.json"
PAGE_SIZE = 20
WALL_MODES = ("login", "challenge", "denied", "garbage", "no_history", "empty_history", "stuck")

_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]+\ufe0f?")
_TOKENS = re.compile(r"(?P<url>https?://[^\s<>\"]+)|(?P<tag>(?<!\w)#\w+)|(?P<mention>(?<!\w)@\w{4,})")
_EXTERNAL_LINK = re.compile(r'<a href="(?P<href>https?://[^"]*)">')
_ONCLICK = "return confirm('Open this link?\\n\\n'+this.href);"


@dataclass(frozen=True)
class Message:
    """One fixture message; ``text`` is what a correct parser extracts from the rendered block."""

    id: int
    created_at: datetime
    text: str
    html: str | None = None
    service: str | None = None
    views: str | None = None
    edited: bool = False
    photos: int = 0
    unsupported: bool = False
    forwarded: dict[str, str] | None = None
    reply: dict[str, Any] | None = None
    preview: dict[str, str] | None = None

    @property
    def size(self) -> int:
        """How many messages the block counts as towards a page: each album photo is one."""
        return max(1, self.photos)

    @property
    def last_id(self) -> int:
        return self.id + self.size - 1


@dataclass
class Channel:
    username: str
    title: str
    description: str
    subscribers: str
    channel_id: int
    preview: bool
    messages: list[Message] = field(default_factory=list)


def load_channels(now: datetime, fixture: Path = FIXTURE) -> dict[str, Channel]:
    """The fixture's channels by lower-cased username, dates counted back from ``now``."""
    raw = json.loads(fixture.read_text(encoding="utf-8"))["channels"]
    channels = {}
    for username, spec in raw.items():
        messages = [
            Message(
                id=int(m["id"]),
                created_at=now - timedelta(seconds=round(float(m["days_ago"]) * 86400)),  # t.me shows seconds
                text=m.get("text", ""),
                html=m.get("html"),
                service=m.get("service"),
                views=m.get("views"),
                edited=bool(m.get("edited")),
                photos=int(m.get("photos", 0)),
                unsupported=bool(m.get("unsupported")),
                forwarded=m.get("forwarded"),
                reply=m.get("reply"),
                preview=m.get("preview"),
            )
            for m in spec["messages"]
        ]
        channels[username.lower()] = Channel(
            username=username,
            title=spec["title"],
            description=spec["description"],
            subscribers=spec["subscribers"],
            channel_id=int(spec["channel_id"]),
            preview=bool(spec.get("preview", True)),
            messages=sorted(messages, key=lambda m: m.id),
        )
    return channels


def matches(message: Message, term: str) -> bool:
    """What the site's search (``?q=``) finds: the term anywhere in the message's text."""
    return message.service is None and term.lower() in message.text.lower()


class TelegramSite:
    """The t.me web preview of the fixture channels, with switchable faults."""

    def __init__(
        self,
        *,
        hide_days: float = 0.0,
        page_size: int = PAGE_SIZE,
        now: datetime | None = None,
        faults: dict[str, list[tuple[int, dict[str, str]]]] | None = None,
        slow: frozenset[str] = frozenset(),
        slow_s: float = 3.0,
        walls: dict[str, str] | None = None,
        disallow: tuple[str, ...] = (),
        fixture: Path = FIXTURE,
    ) -> None:
        # Whole hours, so that two sites built moments apart in one test show the same dates.
        self.now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.channels = load_channels(self.now, fixture)
        self.hide_until = self.now - timedelta(days=hide_days)
        self.page_size = page_size
        self.faults = {target: list(answers) for target, answers in (faults or {}).items()}
        self.slow = slow
        self.slow_s = slow_s
        self.walls = {name.lower(): mode for name, mode in (walls or {}).items()}
        self.disallow = disallow
        self.seen: list[tuple[str, float]] = []

    def visible(self, channel: str) -> list[Message]:
        """The messages the site shows now (oldest first)."""
        return [m for m in self.channels[channel.lower()].messages if m.created_at <= self.hide_until]

    # -- requests ----------------------------------------------------------------------------------

    def handle(self, path: str, query: str, host: str = "") -> Page:
        target = f"{path}?{query}" if query else path
        self.seen.append((target, time.monotonic()))
        if target in self.slow:
            time.sleep(self.slow_s)
        if self.faults.get(target):
            status, headers = self.faults[target].pop(0)
            return Page(
                status, b"Too many requests" if status == 429 else b"error", "text/plain", tuple(headers.items())
            )
        if path == "/robots.txt":
            rules = "".join(f"Disallow: {rule}\n" for rule in self.disallow)
            return Page(200, f"User-agent: *\n{rules}".encode(), "text/plain; charset=utf-8")
        match = re.fullmatch(r"/s/(?P<name>[A-Za-z0-9_]+)/?", path)
        if not match:
            return Page(404, b"", "text/html; charset=utf-8")
        name = match["name"].lower()
        wall = self.walls.get(target) or self.walls.get(name)
        channel = self.channels.get(name)
        if wall == "stuck" and channel is not None:
            return self._page(channel, {})
        if wall == "empty_history" and channel is not None:
            document = self._document(channel, [], None, older=False, newer=False, marker=False)
            return Page(200, document.encode(), "text/html; charset=utf-8")
        if wall:
            return _wall(wall, match["name"])
        if channel is None:
            return Page(302, b"", "text/html; charset=utf-8", (("Location", f"https://t.me/{match['name']}"),))
        if not channel.preview:
            return Page(302, b"", "text/html; charset=utf-8", (("Location", f"https://t.me/{channel.username}"),))
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        return self._page(channel, params)

    def _page(self, channel: Channel, params: dict[str, str]) -> Page:
        messages = self.visible(channel.username)
        term = params.get("q")
        if term:
            messages = [m for m in messages if matches(m, term)]
        before, after = _int(params.get("before")), _int(params.get("after"))
        if after is not None:
            shown = _take(sorted((m for m in messages if m.id > after), key=lambda m: m.id), self.page_size)
        else:
            older = [m for m in messages if before is None or m.id < before]
            shown = _take(sorted(older, key=lambda m: -m.id), self.page_size)
        shown.sort(key=lambda m: m.id)
        has_older = bool(shown) and any(m.id < shown[0].id for m in messages)
        has_newer = bool(shown) and any(m.id > shown[-1].last_id for m in messages)
        return Page(
            200, self._document(channel, shown, term, has_older, has_newer).encode(), "text/html; charset=utf-8"
        )

    # -- markup ------------------------------------------------------------------------------------

    def _document(
        self, channel: Channel, shown: list[Message], term: str | None, older: bool, newer: bool, marker: bool = True
    ) -> str:
        name = channel.username
        search = f"q={quote(term)}&" if term else ""
        head_links = ""
        if older:
            head_links += f'<link rel="prev" href="/s/{name}?{search}before={shown[0].id}">\n'
        if newer:
            head_links += f'<link rel="next" href="/s/{name}?{search}after={shown[-1].last_id}">\n'
        if shown:
            history = "".join(self._block(channel, m) for m in shown)
            if older:
                history = (
                    '<div class="tgme_widget_message_centered js-messages_more_wrap">'
                    f'<a href="/s/{name}?{search}before={shown[0].id}" class="tme_messages_more js-messages_more" '
                    f'data-before="{shown[0].id}"></a></div>' + history
                )
            if newer:
                history += (
                    '<div class="tgme_widget_message_centered js-messages_more_wrap">'
                    f'<a href="/s/{name}?{search}after={shown[-1].last_id}" class="tme_messages_more '
                    f'js-messages_more" data-after="{shown[-1].last_id}"></a></div>'
                )
        else:
            history = '<div class="tme_no_messages_found">No posts found</div>' if marker else ""
        title = escape(channel.title)
        return f"""<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>{title} – Telegram</title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0, minimum-scale=1.0">
    <meta property="og:title" content="{title}">
    <meta property="og:image" content="https://cdn4.telesco.pe/file/{channel.channel_id}_avatar.jpg">
    <meta property="og:site_name" content="Telegram">
    <meta property="og:description" content="{escape(channel.description)}">
    <meta name="robots" content="noindex, nofollow">
    <link rel="canonical" href="https://t.me/s/{name}">
    {head_links}<link href="//telegram.org/css/font-roboto.css?1" rel="stylesheet" type="text/css">
    <link href="//telegram.org/css/widget-frame.css?71" rel="stylesheet" media="screen">
    <script>TBaseUrl='/';</script>
  </head>
  <body class="widget_frame_base tgme_webpreview emoji_image no_transitions">
    <header class="tgme_header search_collapsed">
      <div class="tgme_header_search">
        <form class="tgme_header_search_form" action="/s/{name}" method="get">
          <input class="tgme_header_search_form_input js-header_search" name="q" value="{escape(term or "")}"
                 placeholder="Search" autocomplete="off">
        </form>
      </div>
      <div class="tgme_header_right_column"><a class="tgme_header_link" href="https://t.me/{name}">Context</a></div>
    </header>
    <main class="tgme_main" data-url="/{name}">
      <div class="tgme_container">
        <div class="tgme_channel_info">
          <div class="tgme_channel_info_header">
            <i class="tgme_page_photo_image bgcolor1" data-content="{escape(channel.title[:1])}">
              <img src="https://cdn4.telesco.pe/file/{channel.channel_id}_avatar.jpg"></i>
            <div class="tgme_channel_info_header_title"><span dir="auto">{_emoji(title)}</span></div>
            <div class="tgme_channel_info_header_username"><a href="https://t.me/{name}">@{name}</a></div>
          </div>
          <div class="tgme_channel_info_counters">
            <div class="tgme_channel_info_counter"><span class="counter_value">{channel.subscribers}</span>
              <span class="counter_type">subscribers</span></div>
          </div>
          <div class="tgme_channel_info_description">{escape(channel.description)}</div>
        </div>
        <section class="tgme_channel_history js-message_history">
          {history}
        </section>
      </div>
    </main>
    <script src="//telegram.org/js/widget-frame.js?66"></script>
  </body>
</html>
"""

    def _block(self, channel: Channel, message: Message) -> str:
        name = channel.username
        post = f"{name}/{message.id}"
        view = base64.urlsafe_b64encode(
            json.dumps(
                {"c": channel.channel_id, "p": message.id, "t": int(self.now.timestamp()), "h": "8c1e5f"}
            ).encode()
        ).decode()
        footer = self._footer(name, message)
        if message.service is not None:
            return (
                '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
                '<div class="tgme_widget_message text_not_supported_wrap js-widget_message service_message" '
                f'data-post="{post}" data-view="{view}"><div class="tgme_widget_message_bubble">'
                f'<div class="tgme_widget_message_text js-message_text" dir="auto">{_emoji(escape(message.service))}'
                f"</div>{footer}</div></div></div>"
            )
        parts = [
            '<i class="tgme_widget_message_bubble_tail"><svg class="bubble_icon" width="9px" height="20px"></svg></i>',
            '<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
            f'href="https://t.me/{name}"><span dir="auto">{_emoji(escape(channel.title))}</span></a></div>',
        ]
        if message.forwarded is not None:
            source = _emoji(escape(message.forwarded["name"]))
            href = message.forwarded.get("href")
            named = (
                f'<a class="tgme_widget_message_forwarded_from_name" href="{href}"><span dir="auto">{source}</span></a>'
                if href
                else f'<span class="tgme_widget_message_forwarded_from_name">{source}</span>'
            )
            parts.append(f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from {named}</div>')
        if message.reply is not None:
            parts.append(self._reply(channel, message.reply))
        if message.photos > 1:
            parts.append(self._album(name, message))
        elif message.photos == 1:
            parts.append(
                f'<a class="tgme_widget_message_photo_wrap 5283{message.id} blured" href="https://t.me/{post}" '
                f"style=\"width:800px;background-image:url('https://cdn4.telesco.pe/file/{message.id}a.jpg')\">"
                '<div class="tgme_widget_message_photo" style="padding-top:75%"></div></a>'
            )
        if message.unsupported:
            parts.append(
                '<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">'
                '<div class="message_media_not_supported_label">Please open Telegram to view this post</div>'
                f'<a href="https://t.me/{post}?single" class="message_media_view_in_telegram">VIEW IN TELEGRAM</a>'
                "</div></div>"
            )
        if message.text or message.html:
            inner = _links(message.html if message.html is not None else _linkify(message.text))
            text = f'<div class="tgme_widget_message_text js-message_text" dir="auto">{inner}</div>'
            if message.photos > 1:  # album captions come nested twice
                text = f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
            parts.append(text)
        if message.preview is not None:
            preview = message.preview
            parts.append(
                f'<a class="tgme_widget_message_link_preview" href="{escape(preview["url"])}">'
                f'<div class="link_preview_site_name accent_color" dir="auto">{escape(preview["site"])}</div>'
                f'<div class="link_preview_title" dir="auto">{escape(preview["title"])}</div>'
                f'<div class="link_preview_description" dir="auto">{escape(preview["description"])}</div></a>'
            )
        parts.append(footer)
        return (
            '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            '<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
            f'data-post="{post}" data-view="{view}">'
            f'<div class="tgme_widget_message_user"><a href="https://t.me/{name}">'
            f'<i class="tgme_widget_message_user_photo bgcolor1" style="background-color:#c03d33" data-content="V">'
            f'<img src="https://cdn4.telesco.pe/file/{channel.channel_id}_avatar.jpg"></i></a></div>'
            f'<div class="tgme_widget_message_bubble">{"".join(parts)}</div></div></div>'
        )

    def _footer(self, name: str, message: Message) -> str:
        stamp = message.created_at.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        views = (
            f'<span class="tgme_widget_message_views">{message.views}</span><span class="copyonly"> views</span>'
            if message.views
            else ""
        )
        edited = "edited &nbsp;" if message.edited else ""
        return (
            '<div class="tgme_widget_message_footer compact js-message_footer">'
            f'<div class="tgme_widget_message_info short js-message_info">{views}'
            f'<span class="tgme_widget_message_meta">{edited}<a class="tgme_widget_message_date" '
            f'href="https://t.me/{name}/{message.id}"><time datetime="{stamp}" class="time">'
            f"{message.created_at:%H:%M}</time></a></span></div></div>"
        )

    def _reply(self, channel: Channel, reply: dict[str, Any]) -> str:
        target = self.channels[str(reply.get("channel", channel.username)).lower()]
        replied = next(m for m in target.messages if m.id == int(reply["id"]))
        snippet = replied.text[:60] + ("…" if len(replied.text) > 60 else "")
        return (
            f'<a class="tgme_widget_message_reply" href="https://t.me/{target.username}/{replied.id}">'
            '<div class="tgme_widget_message_author accent_color">'
            f'<span class="tgme_widget_message_author_name" dir="auto">{_emoji(escape(target.title))}</span></div>'
            f'<div class="tgme_widget_message_metatext js-message_reply_text" dir="auto">{escape(snippet)}</div></a>'
        )

    def _album(self, name: str, message: Message) -> str:
        photos = "".join(
            f'<a class="tgme_widget_message_photo_wrap grouped_media_wrap blured js-message_photo" '
            f'style="left:{i * 150}px;top:0px;width:148px;height:200px;margin-right:2px;'
            f'background-image:url(\'https://cdn4.telesco.pe/file/{photo}b.jpg\')" data-ratio="0.74" '
            f'href="https://t.me/{name}/{photo}?single"><div class="grouped_media_helper" '
            'style="left:-2px;top:-2px;width:152px;height:204px;"></div></a>'
            for i, photo in enumerate(range(message.id, message.last_id + 1))
        )
        return (
            '<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2" '
            'data-margin-h="2" style="width:453px;"><div class="tgme_widget_message_grouped js-message_grouped" '
            'style="padding-top:44.150%"><div class="tgme_widget_message_grouped_layer js-message_grouped_layer" '
            f'style="width:453px;height:200px">{photos}</div></div></div>'
        )


def _take(ordered: list[Message], page_size: int) -> list[Message]:
    """Whole blocks, in the given order, while their messages fit a page (always at least one)."""
    shown: list[Message] = []
    used = 0
    for message in ordered:
        if shown and used + message.size > page_size:
            break
        shown.append(message)
        used += message.size
    return shown


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _linkify(text: str) -> str:
    """Plain fixture text as t.me renders it: URLs, hashtags and mentions become links; ``$`` an entity."""
    out: list[str] = []
    last = 0
    for match in _TOKENS.finditer(text):
        out.append(_escape_text(text[last : match.start()]))
        last = match.end()
        token = match.group()
        if match["url"]:
            out.append(f'<a href="{escape(token)}">{escape(token)}</a>')
        elif match["tag"]:
            out.append(f'<a href="?q={quote(token)}">{escape(token)}</a>')
        else:
            out.append(f'<a href="https://t.me/{token[1:]}">{escape(token)}</a>')
    out.append(_escape_text(text[last:]))
    return "".join(out)


def _escape_text(text: str) -> str:
    return _emoji(escape(text, quote=False).replace("$", "&#036;").replace("\n", "<br/>"))


def _links(html: str) -> str:
    """External links get t.me's confirm() onclick, and since 2024 a doubled ``&amp;`` in their href."""

    def external(match: re.Match[str]) -> str:
        href = match["href"].replace("&amp;", "&amp;amp;")
        return f'<a href="{href}" target="_blank" rel="noopener" onclick="{_ONCLICK}">'

    return _EXTERNAL_LINK.sub(external, html)


def _emoji(html: str) -> str:
    def image(match: re.Match[str]) -> str:
        code = match.group().encode("utf-8").hex().upper()
        return (
            f'<i class="emoji" style="background-image:url(\'//telegram.org/img/emoji/40/{code}.png\')">'
            f"<b>{match.group()}</b></i>"
        )

    return _EMOJI.sub(image, html)


def _wall(mode: str, name: str) -> Page:
    """What stands in front of a channel instead of its preview."""
    if mode == "login":
        body = (
            '<!DOCTYPE html><html><head><title>Telegram: Log in</title></head><body class="tgme_page">'
            '<div class="tgme_page_title">Please log in to view this channel</div>'
            '<a class="tgme_action_button_new" href="https://web.telegram.org/">Log in</a></body></html>'
        )
        return Page(200, body.encode(), "text/html; charset=utf-8")
    if mode == "challenge":
        body = (
            "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
            '<div id="cf-challenge-running">Checking your browser before accessing t.me.</div></body></html>'
        )
        return Page(200, body.encode(), "text/html; charset=utf-8")
    if mode == "denied":
        body = "<html><head><title>Access denied</title></head><body><h1>Access denied</h1></body></html>"
        return Page(403, body.encode(), "text/html; charset=utf-8")
    if mode == "garbage":
        return Page(200, b"\x1f\x8b\x08\x00\xff\xfe<<<div class=tgme_widget_mess\x00\x00", "text/html; charset=utf-8")
    if mode == "no_history":  # a channel page of t.me without the preview's message history
        body = (
            f'<!DOCTYPE html><html><head><title>Telegram: Contact @{name}</title></head><body class="tgme_page">'
            f'<div class="tgme_page_title"><span dir="auto">{escape(name)}</span></div>'
            '<div class="tgme_page_extra">1 024 subscribers</div></body></html>'
        )
        return Page(200, body.encode(), "text/html; charset=utf-8")
    raise ValueError(f"unknown wall mode {mode!r}; expected one of {WALL_MODES}")
