"""A local replay web server: serves recorded-format sites by host name, directly or as an HTTP proxy.

As a proxy, crawlers fetch stable URLs such as ``http://social.vaktpost-demo.se/...`` exactly as they
would fetch the real site, and ids and links stay the same from run to run whatever port the server got.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from demo.flashback_site import Page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One request as a ``RequestSite`` sees it: what an API replay needs beyond the path (auth, POST bodies)."""

    method: str
    path: str
    query: str
    host: str
    """The host (and port) the client asked for."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-case names, so sites need not care how a client spelled them."""
    body: bytes = b""


class Site(Protocol):
    def handle(self, path: str, query: str, host: str) -> Page:
        """Answer one GET; ``host`` is the host (and port) the client asked for."""
        ...


@runtime_checkable
class RequestSite(Protocol):
    """A site that needs the method, headers or body (logins, tokens, conditional GET); preferred over ``handle``."""

    def respond(self, request: Request) -> Page: ...


class ReplayServer:
    """Serves ``sites`` by Host; requests for unknown hosts go to ``default`` when one is named."""

    def __init__(
        self,
        sites: Mapping[str, Site | RequestSite],
        default: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.sites = sites
        self.default = default
        self.requests: list[str] = []
        self.user_agents: list[str] = []
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer("GET")

            def do_HEAD(self) -> None:
                self._answer("HEAD")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                # Read the body even when unused, so the next request on a kept-alive connection starts clean.
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                target = urlsplit(self.path)
                host = (target.hostname or self.headers.get("Host", "").split(":")[0]).lower()
                site = server.sites.get(host) or (server.sites.get(server.default) if server.default else None)
                server.requests.append(f"{host}{target.path}{'?' + target.query if target.query else ''}")
                server.user_agents.append(self.headers.get("User-Agent", ""))
                if site is None:
                    page = Page(502, f"unknown host {host}".encode(), "text/plain; charset=utf-8")
                else:
                    try:
                        asked = target.netloc or self.headers.get("Host", "")
                        if isinstance(site, RequestSite):
                            headers = {name.lower(): value for name, value in self.headers.items()}
                            page = site.respond(Request(method, target.path or "/", target.query, asked, headers, body))
                        else:
                            page = site.handle(target.path or "/", target.query, asked)
                    except Exception:
                        log.exception("replay site failed on %s %s", method, self.path)
                        page = Page(500, b"internal error", "text/plain; charset=utf-8")
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                for name, value in page.headers:
                    self.send_header(name, value)
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(page.body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("replay: " + format, *args)

        return Handler
