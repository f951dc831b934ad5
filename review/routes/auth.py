"""Signing in and out: argon2-checked passwords, throttled attempts, HttpOnly SameSite=Strict cookies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from review.accounts import Session
from review.web import ANY_ROLE, csrf_checked, current_session, render, services

router = APIRouter()


@router.get("/logga-in")
def login_page(request: Request) -> Response:
    if current_session(request) is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", {"error": None})


@router.post("/logga-in")
def login(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "") -> Response:
    app = services(request)
    name = name.strip().lower()
    address = request.client.host if request.client else "unknown"
    keys = [f"name:{name}", f"address:{address}"]
    review = app.settings.review
    from datetime import timedelta

    if app.accounts.throttled(keys, review.login_attempts, timedelta(minutes=review.login_window_minutes)):
        message = f"För många misslyckade inloggningar. Försök igen om {review.login_window_minutes} minuter."
        return render(request, "login.html", {"error": message}, 429)
    user = app.accounts.authenticate(name, password, keys)
    if user is None:
        return render(request, "login.html", {"error": "Fel användarnamn eller lösenord."}, 401)
    session = app.accounts.open_session(user)
    app.store.audit(user.name, "login")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        app.cookie_name,
        session.token,
        httponly=True,
        samesite="strict",
        secure=review.behind_tls,
        path="/",
        max_age=None,  # a session cookie: gone when the browser closes; the server ends it when idle
    )
    return response


@router.post("/logga-ut")
def logout(request: Request, session: Annotated[Session, Depends(csrf_checked("reviewer", "safety"))]) -> Response:
    app = services(request)
    app.accounts.close_session(session.token)
    app.store.audit(session.user.name, "logout")
    response = RedirectResponse("/logga-in", status_code=303)
    response.delete_cookie(app.cookie_name, path="/", secure=app.settings.review.behind_tls, httponly=True)
    return response


@router.get("/konto")
def account(request: Request, session: Annotated[Session, Depends(ANY_ROLE)]) -> Response:
    return render(request, "account.html", {})
