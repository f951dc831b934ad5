"""The review app: FastAPI with server-rendered Jinja templates in Swedish, started by `vaktpost serve`.

``create_app`` wires the services (store, accounts, templates) and the routes; each route module under
``review/routes`` serves one part of the interface.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jinja2
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from index import Store, open_store
from review import presentation
from review.accounts import Accounts
from review.routes import ROUTERS
from review.security import HEADERS, security_headers
from review.web import LoginRequiredError, Services, render
from vaktpost.datadir import DataDir
from vaktpost.settings import Settings

HERE = Path(__file__).parent


def templates() -> Jinja2Templates:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its name: outside text is always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    presentation.register(environment)
    return Jinja2Templates(env=environment)


def create_app(settings: Settings, *, store: Store | None = None, accounts: Accounts | None = None) -> FastAPI:
    app = FastAPI(title="Vaktpost", docs_url=None, redoc_url=None, openapi_url=None)
    idle = timedelta(minutes=settings.review.session_idle_minutes)
    app.state.services = Services(
        settings=settings,
        store=store or open_store(settings),
        accounts=accounts or Accounts(DataDir(settings.data_dir).accounts, idle=idle),
        templates=templates(),
    )
    app.middleware("http")(security_headers)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(LoginRequiredError)
    async def to_login(request: Request, _: LoginRequiredError) -> Response:
        if request.method == "GET":
            return RedirectResponse("/logga-in", status_code=303)
        return render(request, "error.html", {"title": "Inte inloggad", "message": "Logga in igen."}, 401)

    @app.exception_handler(HTTPException)
    async def error_page(request: Request, error: HTTPException) -> Response:
        titles = {403: "Åtkomst nekad", 404: "Hittades inte", 405: "Metoden stöds inte"}
        title = titles.get(error.status_code, "Något gick fel")
        message = error.detail if isinstance(error.detail, str) else title
        return render(request, "error.html", {"title": title, "message": message}, error.status_code)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> Response:
        # Starlette answers unexpected errors outside the middleware stack, so this page carries the security
        # headers itself; plain HTML, no template: the templates may be what failed. No details are shown.
        page = (
            '<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Något gick fel – Vaktpost</title>'
            '<link rel="stylesheet" href="/static/app.css"></head><body><main><h1>Något gick fel</h1>'
            '<p role="alert">Ett oväntat fel inträffade. Försök igen; kvarstår felet, kontakta driften.</p>'
            '<p><a href="/">Till granskningen</a></p></main></body></html>'
        )
        return HTMLResponse(page, status_code=500, headers={**HEADERS, "Cache-Control": "no-store"})

    return app
