"""Administration, for admins only: the audit log (/admin/logg), accounts (/admin/anvandare) and the settings
in use, read-only (/admin/installningar).

Every change to an account is audited (who changed whose account, and how; never a password). Settings are a
file the operator controls, so the browser only shows them, with every secret hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, get_args
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, SecretBytes, SecretStr

from review.accounts import MIN_PASSWORD, NAME_PATTERN, ROLES, AccountError, Session
from review.routes.posts import post_href
from review.web import audit, csrf_checked, render, require, services
from vaktpost.settings import Settings

router = APIRouter()

ADMIN = require("admin")
AUDIT_PAGE = 100
MAX_PAGE = 100_000
HIDDEN = "dold"
NOT_SET = "inte satt"

ROLE_NAMES = {"reviewer": "Granskare", "safety": "Säkerhetsansvarig", "admin": "Administratör"}
ACTION_NAMES = {
    "login": "Inloggning",
    "logout": "Utloggning",
    "overview_view": "Översikten visad",
    "user_add": "Konto skapat",
    "user_disable": "Konto avstängt",
    "user_enable": "Konto aktiverat",
    "user_role": "Roll ändrad",
    "user_password": "Lösenord bytt",
    "purge": "Gallring",
    "review": "Granskning",
    "view": "Inlägg visat",
    "evidence_download": "Bevis hämtat",
    "export": "Export",
}
NOTICES = {
    "tillagd": "Kontot har skapats.",
    "avstangd": "Kontot har stängts av; dess inloggningar har avslutats.",
    "aktiverad": "Kontot har aktiverats.",
    "roll": "Rollen har ändrats.",
    "losenord": "Lösenordet har bytts; kontots inloggningar har avslutats.",
}
USER_ACTIONS = ("disable", "enable", "role", "password")


# -- the audit log ---------------------------------------------------------------------------------


def _page(raw: str | None) -> int:
    try:
        page = int(raw or 1)
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


@router.get("/admin/logg")
def audit_log(request: Request, session: Annotated[Session, Depends(ADMIN)], sida: str | None = None) -> Response:
    page = _page(sida)
    found = services(request).store.audit_log(limit=AUDIT_PAGE + 1, offset=(page - 1) * AUDIT_PAGE)
    entries = [
        {
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "action_name": ACTION_NAMES.get(entry.action, entry.action),
            "post_id": entry.post_id,
            "post_url": post_href(entry.post_id) if entry.post_id else None,
            "detail": entry.detail,
        }
        for entry in found[:AUDIT_PAGE]
    ]
    context = {"entries": entries, "page": page, "older": len(found) > AUDIT_PAGE, "page_size": AUDIT_PAGE}
    return render(request, "admin_audit.html", context)


# -- accounts ----------------------------------------------------------------------------------------


def swedish(error: AccountError) -> str:
    """The Swedish message for an account error (the accounts module speaks English to the CLI)."""
    message = str(error)
    if "account name" in message and "must be" in message:
        return _NAME_RULE
    if "unknown role" in message:
        return "Okänd roll. Välj granskare, säkerhetsansvarig eller administratör."
    if "password must have" in message:
        return f"Lösenordet måste ha minst {MIN_PASSWORD} tecken."
    if "already exists" in message:
        return "Det finns redan ett konto med det namnet."
    if "no account named" in message:
        return "Det finns inget konto med det namnet."
    return "Ändringen kunde inte göras."


_NAME_RULE = (
    "Användarnamnet ska vara 2–40 tecken: små bokstäver a–z, siffror, punkt, understreck eller bindestreck, "
    "och börja med en bokstav eller siffra."
)


def _users_page(
    request: Request, error: str | None = None, form: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    notice = NOTICES.get(request.query_params.get("klart", ""))
    context = {
        "users": services(request).accounts.users(),
        "roles": ROLES,
        "role_names": ROLE_NAMES,
        "min_password": MIN_PASSWORD,
        "name_pattern": NAME_PATTERN.strip("^$"),
        "error": error,
        "notice": None if error else notice,
        "form": form or {"name": "", "role": "reviewer"},
    }
    return render(request, "admin_users.html", context, status_code)


def _done(notice: str) -> Response:
    return RedirectResponse(f"/admin/anvandare?klart={notice}", status_code=303)


@router.get("/admin/anvandare")
def users(request: Request, session: Annotated[Session, Depends(ADMIN)]) -> Response:
    return _users_page(request)


@router.post("/admin/anvandare")
def add_user(
    request: Request,
    session: Annotated[Session, Depends(csrf_checked("admin"))],
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    name = name.strip().lower()
    form = {"name": name, "role": role if role in ROLES else "reviewer"}
    problem = None
    if not re.match(NAME_PATTERN, name):
        problem = _NAME_RULE
    elif role not in ROLES:
        problem = "Okänd roll. Välj granskare, säkerhetsansvarig eller administratör."
    elif len(password) < MIN_PASSWORD:
        problem = f"Lösenordet måste ha minst {MIN_PASSWORD} tecken."
    if problem is None:
        try:
            services(request).accounts.add_user(name, role, password)
        except AccountError as error:
            problem = swedish(error)
    if problem is not None:
        return _users_page(request, problem, form, 400)
    audit(request, session, "user_add", detail=f"konto={name} roll={role}")
    return _done("tillagd")


@router.post("/admin/anvandare/{name}")
def change_user(
    request: Request,
    name: str,
    session: Annotated[Session, Depends(csrf_checked("admin"))],
    action: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    accounts = services(request).accounts
    user = accounts.get_user(name)
    problem = None
    if user is None:
        problem = "Det finns inget konto med det namnet."
    elif action not in USER_ACTIONS:
        problem = "Okänd ändring."
    elif name == session.user.name and action in ("disable", "role"):
        problem = "Du kan inte stänga av ditt eget konto eller ändra din egen roll; be en annan administratör."
    elif action == "role" and role not in ROLES:
        problem = "Okänd roll. Välj granskare, säkerhetsansvarig eller administratör."
    elif action == "password" and len(password) < MIN_PASSWORD:
        problem = f"Lösenordet måste ha minst {MIN_PASSWORD} tecken."
    if problem is not None or user is None:
        return _users_page(request, problem, status_code=404 if user is None else 400)
    try:
        if action == "disable":
            accounts.set_disabled(name, True)
            audit(request, session, "user_disable", detail=f"konto={name}")
            return _done("avstangd")
        if action == "enable":
            accounts.set_disabled(name, False)
            audit(request, session, "user_enable", detail=f"konto={name}")
            return _done("aktiverad")
        if action == "role":
            accounts.set_role(name, role)
            audit(request, session, "user_role", detail=f"konto={name} roll={user.role}->{role}")
            return _done("roll")
        accounts.set_password(name, password)
    except AccountError as error:
        return _users_page(request, swedish(error), status_code=400)
    audit(request, session, "user_password", detail=f"konto={name}")
    if name == session.user.name:
        return RedirectResponse("/logga-in", status_code=303)  # the new password ended this session too
    return _done("losenord")


# -- settings ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingRow:
    key: str
    value: str
    secret: bool = False


def _is_secret(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret(argument) for argument in get_args(annotation))


def _secrets(value: Any, path: str, paths: set[str], values: list[str]) -> None:
    """The dotted paths of every secret field, and every secret value set, anywhere in the settings."""
    if isinstance(value, SecretStr | SecretBytes):
        paths.add(path)
        secret = value.get_secret_value()
        text = secret.decode(errors="replace") if isinstance(secret, bytes) else secret
        if text:
            values.append(text)
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            child = f"{path}.{name}" if path else name
            if _is_secret(info.annotation):
                paths.add(child)
            _secrets(getattr(value, name), child, paths, values)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _secrets(item, f"{path}[{index}]", paths, values)
    elif isinstance(value, dict):
        for key, item in value.items():
            _secrets(item, f"{path}.{key}" if path else str(key), paths, values)


def _flatten(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value and any(isinstance(item, dict | list) for item in value):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def _without_credentials(text: str) -> str:
    """A URL's user and password replaced (https://user:pw@host -> https://dold@host)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{HIDDEN}@{host}"))
    return text


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, list):
        return ", ".join(_without_credentials(str(item)) for item in value) if value else "(tom lista)"
    if isinstance(value, dict):
        return "(inga)"
    return _without_credentials(str(value))


def settings_rows(settings: Settings) -> dict[str, list[SettingRow]]:
    """The settings as rows of (dotted key, shown value), grouped by section; secrets only say whether they
    are set. Any value that contains a secret's text is hidden as well, whatever its key."""
    paths: set[str] = set()
    values: list[str] = []
    _secrets(settings, "", paths, values)
    groups: dict[str, list[SettingRow]] = {}
    for key, value in _flatten(settings.model_dump(mode="json"), ""):
        section = key.split(".", 1)[0].split("[", 1)[0] if "." in key or "[" in key else ""
        if key in paths or any(key.startswith(path + ".") for path in paths):
            row = SettingRow(key, HIDDEN if value is not None else NOT_SET, secret=True)
        else:
            shown = _shown(value)
            if any(secret in shown for secret in values):
                row = SettingRow(key, HIDDEN, secret=True)
            else:
                row = SettingRow(key, shown)
        groups.setdefault(section, []).append(row)
    return groups


@router.get("/admin/installningar")
def settings_page(request: Request, session: Annotated[Session, Depends(ADMIN)]) -> Response:
    app = services(request)
    try:
        schema_version: int | str = app.store.schema_version()
    except Exception:  # a store that cannot answer should not hide the rest of the page
        schema_version = "okänd (lagringen svarar inte)"
    context = {
        "groups": settings_rows(app.settings),
        "backend": app.store.backend,
        "schema_version": schema_version,
        "data_dir": str(app.settings.data_dir),
    }
    return render(request, "admin_settings.html", context)
