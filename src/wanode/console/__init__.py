"""The web console (issue 15): server-rendered pages under `/console` on the API's port, signed
in with an API key, reading through the same engine and store functions the API uses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from wanode.api.context import Context
from wanode.console import (
    admin,
    compose,
    contacts_page,
    flows_page,
    messages,
    overview,
    session,
    simulator,
    templates_page,
)
from wanode.console.render import STATIC
from wanode.console.session import CsrfRefused, SignInRequired, sign_in_url

__all__ = ["mount"]


def mount(app: FastAPI, ctx: Context) -> None:
    """Serve the console on `app` under `/console`."""
    del ctx  # pages read it from `app.state.ctx`, as the API's routes do
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (
        session,
        overview,
        messages,
        compose,
        admin,
        simulator,
        templates_page,
        flows_page,
        contacts_page,
    ):
        app.include_router(module.router)


async def _sign_in_required(request: Request, _exc: Exception) -> Response:
    target = sign_in_url(request)
    if request.headers.get("hx-request") == "true":
        # htmx would swap a redirect's page into a fragment: tell it to leave the page instead.
        return PlainTextResponse("sign in again", status_code=401, headers={"HX-Redirect": target})
    if request.method != "GET":
        return PlainTextResponse("sign in first", status_code=401)
    return RedirectResponse(target, status_code=303)


async def _csrf_refused(_request: Request, _exc: Exception) -> Response:
    return PlainTextResponse(
        "refused: this form's CSRF token is missing or does not match your session "
        "(reload the page and try again)",
        status_code=403,
    )
