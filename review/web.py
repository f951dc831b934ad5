"""What every route uses: the app's services, the signed-in session, role checks, CSRF checks, rendering,
and the audit trail. Roles are checked on the server for every route through ``require``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from index import Store
from review.accounts import Accounts, Role, Session, check_csrf
from vaktpost.settings import Settings

SESSION_COOKIE = "vaktpost_session"
SECURE_SESSION_COOKIE = "__Host-vaktpost_session"  # the __Host- prefix pins it to this host, path /, Secure


class LoginRequiredError(Exception):
    """No live session: HTML routes send the browser to the login page."""


@dataclass
class Services:
    settings: Settings
    store: Store
    accounts: Accounts
    templates: Jinja2Templates

    @property
    def cookie_name(self) -> str:
        return SECURE_SESSION_COOKIE if self.settings.review.behind_tls else SESSION_COOKIE


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def current_session(request: Request) -> Session | None:
    app = services(request)
    return app.accounts.session(request.cookies.get(app.cookie_name))


def require(*roles: Role) -> Callable[[Request], Session]:
    """A dependency: the session of a signed-in user with one of ``roles`` (admins pass every check).
    No session: LoginRequiredError (a redirect to the login page); wrong role: 403."""

    def dependency(request: Request) -> Session:
        session = current_session(request)
        if session is None:
            raise LoginRequiredError
        if roles and not session.user.can(*roles):
            raise HTTPException(status_code=403, detail="Din roll ger inte tillgång till den här sidan.")
        request.state.session = session
        return session

    return dependency


ANY_ROLE = require("reviewer", "safety")


def csrf_checked(
    *roles: Role,
) -> Callable[[Request, Session], Coroutine[Any, Any, Session]]:
    """A dependency for changes (POST): the role check plus the session's CSRF token in the form."""
    role_check = require(*roles)

    async def dependency(request: Request, session: Session = Depends(role_check)) -> Session:  # noqa: B008
        form = await request.form()
        submitted = form.get("csrf")
        if not check_csrf(session, submitted if isinstance(submitted, str) else None):
            message = "Ogiltig eller saknad CSRF-token. Ladda om sidan och försök igen."
            raise HTTPException(status_code=403, detail=message)
        return session

    return dependency


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A page from ``review/templates``: Jinja autoescaping is on for every template, so post text, author
    names and anything else from outside is always shown as text, never as HTML."""
    app = services(request)
    session: Session | None = getattr(request.state, "session", None)
    base = {"request": request, "session": session, "user": session.user if session else None}
    return app.templates.TemplateResponse(request, template, base | context, status_code=status_code)


def audit(request: Request, session: Session, action: str, post_id: str | None = None, detail: str = "") -> None:
    """Append to the store's audit log: who did what to which post. ``detail`` must hold no personal data."""
    services(request).store.audit(session.user.name, action, post_id, detail)
