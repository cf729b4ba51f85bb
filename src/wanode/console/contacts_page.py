"""The Contacts page: customer profiles searched by customer id, name or number, each with its
opt-in state, window, identity hash and business-scoped user id (BSUID), as `GET /v1/contacts`
shows them; and a CSV import with a progress bar and the per-row report, through the import the
API and the CLI use.

An import runs as a task of this process while the page polls it: its progress and report live
in this process's memory (`Imports`) for an hour, for the key that started it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Final

import structlog
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from wanode.api.auth import scope
from wanode.api.contacts import bsuids_of, contacts_csv, public
from wanode.api.context import Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.console.render import page
from wanode.console.session import ConsoleSession, csrf_checked, require_session
from wanode.contacts import ContactsCsv
from wanode.engine.contacts_import import ImportReport, import_contacts
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/console", include_in_schema=False)

PER_PAGE: Final = 50
KEPT_SECONDS: Final = 3600.0
MAX_KEPT: Final = 50


@dataclass
class Import:
    """One CSV import in this process: who started it, how far it is, its report when done."""

    key_id: str
    total: int
    started: float
    done: int = 0
    report: ImportReport | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.report is not None or self.error is not None


class Imports:
    """The imports of this process, by id; finished ones are kept for an hour."""

    def __init__(self) -> None:
        self._imports: dict[str, Import] = {}

    def add(self, job: Import) -> str:
        now = time.time()
        for job_id, old in list(self._imports.items()):
            if old.finished and (now - old.started > KEPT_SECONDS or len(self._imports) > MAX_KEPT):
                del self._imports[job_id]
        job_id = secrets.token_urlsafe(12)
        self._imports[job_id] = job
        return job_id

    def get(self, job_id: str, key_id: str) -> Import | None:
        job = self._imports.get(job_id)
        return job if job is not None and job.key_id == key_id else None


def _imports(request: Request) -> Imports:
    state = request.app.state
    if not hasattr(state, "console_imports"):
        state.console_imports = Imports()
    imports: Imports = state.console_imports
    return imports


@router.get("/contacts")
async def contacts_page(
    request: Request,
    q: str = Query("", max_length=200),
    after: str | None = Query(None),
    session: ConsoleSession = Depends(require_session),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    caller = session.caller
    owner = scope(caller, None)
    async with ctx.db.begin() as conn:
        rows = await contact_queries.list_profiles(
            conn,
            limit=PER_PAGE + 1,
            after=after,
            app_id=owner,
            search=q or None,
        )
        bsuids = await bsuids_of(conn, rows[:PER_PAGE], owner)
        apps = [a for a in await app_queries.list_apps(conn) if caller.may_act_on(a["id"])]
    now = ctx.engine.clock()
    shown = rows[:PER_PAGE]
    return page(
        request,
        session,
        "contacts.html",
        contacts=[public(row, now, bsuid=bsuids.get(row["customer_id"])) for row in shown],
        q=q,
        after=after,
        next=shown[-1]["customer_id"] if len(rows) > PER_PAGE else None,
        apps=apps,
    )


@router.post("/contacts/import")
async def start_import(
    request: Request,
    file: UploadFile = File(...),
    app: str = Form(""),
    dry_run: bool = Form(False),
    session: ConsoleSession = Depends(csrf_checked),
    ctx: Context = Depends(context),
) -> HTMLResponse:
    """Start importing the uploaded CSV; answers the progress fragment, which polls."""
    caller = session.caller
    try:
        owner = scope(caller, app or None, "app")
        require_e164 = False
        if owner is not None:
            async with ctx.db.begin() as conn:
                row = await app_queries.get_app(conn, owner)
            if row is None:
                raise ApiError(SYNC.INVALID_APP_ID, f"no app {owner}", field="app")
            require_e164 = bool(row["require_e164"])
        sheet = contacts_csv(await file.read())  # as the API reads it
    except ApiError as exc:
        return page(request, session, "contacts_import.html", job=None, error=exc.description)
    job = Import(key_id=caller.key_id, total=len(sheet), started=time.time())
    job_id = _imports(request).add(job)
    job.task = asyncio.create_task(
        _run(ctx, job, sheet, require_e164=require_e164, dry_run=dry_run, app_id=owner)
    )
    return page(request, session, "contacts_import.html", job=job, job_id=job_id, error=None)


@router.get("/contacts/import/{job_id}")
async def import_progress(
    request: Request,
    job_id: str,
    session: ConsoleSession = Depends(require_session),
) -> HTMLResponse:
    job = _imports(request).get(job_id, session.caller.key_id)
    if job is None:
        reason = "this import is unknown here (it may have run in another process, or expired)"
        return page(request, session, "contacts_import.html", job=None, error=reason)
    return page(request, session, "contacts_import.html", job=job, job_id=job_id, error=None)


async def _run(
    ctx: Context,
    job: Import,
    sheet: ContactsCsv,
    *,
    require_e164: bool,
    dry_run: bool,
    app_id: str | None,
) -> None:
    def done(rows: int) -> None:
        job.done = rows

    try:
        job.report = await import_contacts(
            ctx.db,
            sheet,
            now=ctx.engine.clock(),
            require_e164=require_e164,
            dry_run=dry_run,
            app_id=app_id,
            done=done,
        )
    except Exception as exc:  # shown on the page: the task has no one else to tell
        log.exception("console_import_failed")
        job.error = f"the import stopped: {type(exc).__name__}"
