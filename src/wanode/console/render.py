"""Rendering console pages: Jinja2 templates from `console/templates/`, autoescaped, so that
everything user-supplied (bodies, names, template text) shows as text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

if TYPE_CHECKING:
    from wanode.console.session import ConsoleSession

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Every page of the console, in the nav's order: (path, label).
NAV: tuple[tuple[str, str], ...] = (
    ("/console", "Overview"),
    ("/console/messages", "Messages"),
    ("/console/compose", "Compose"),
    ("/console/templates", "Templates"),
    ("/console/contacts", "Contacts"),
    ("/console/flows", "Flows"),
    ("/console/apps", "Apps & keys"),
    ("/console/simulator", "Simulator"),
)

# Pages are never framed (clickjacking) and never sniffed into another type.
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
}


def _when(value: float | int | str | None) -> str:
    """An epoch time (seconds) as UTC `YYYY-MM-DD HH:MM:SS`; an ISO string as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "svg", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.globals["nav"] = NAV
    return env


ENV = _environment()


def page(
    request: Request,
    session: ConsoleSession | None,
    name: str,
    **context: Any,
) -> HTMLResponse:
    """`templates/<name>` rendered for `session` (None: signed out). Templates see `request`,
    `session`, `caller` (or None), `csrf` (the session's token, or ""), `path` (the current
    path, for the nav) and `context`; but `status_code` (200 by default) and `headers` (extra
    response headers), if given, are the response's."""
    status_code = int(context.pop("status_code", 200))
    headers: dict[str, str] = context.pop("headers", None) or {}
    values: dict[str, Any] = {
        "request": request,
        "session": session,
        "caller": session.caller if session is not None else None,
        "csrf": session.csrf if session is not None else "",
        "path": request.url.path,
    }
    values.update(context)
    html = ENV.get_template(name).render(values)
    return HTMLResponse(html, status_code=status_code, headers={**HEADERS, **headers})
