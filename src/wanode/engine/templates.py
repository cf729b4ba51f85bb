"""Templates: the registry kept in step with WhatsApp, and templates created or deleted through it.

The registry (store/templates.py) is what sends are checked against. It is written by:

- a sync: `GET /{waba-id}/message_templates` through an app's gateway, every template upserted
  and the ones Meta no longer lists marked DELETED (`TemplateSync.sync`, periodic in
  `run_once` every `template_sync_interval` seconds, first at start);
- a status webhook (`apply_status`, from the webhook ingest): the status and reason at once;
  a template the registry does not know yet is kept as a stub, and `run_once` fetches its
  definition (`GET /{template-id}`) on its next pass;
- `create` and `delete`, which go through the gateway first and record what Meta answered.

A template belongs to a WABA: one sync per WABA (through the first of its apps that has a
gateway here), and any app of the WABA may send it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.config import Settings
from wanode.engine.gateways import Gateways, credentials
from wanode.events import TemplateStatusUpdate
from wanode.gateway import GatewayError, TemplateRejected
from wanode.messages import InvalidMessage, TemplateDefinition
from wanode.messages.templates import TemplateStatus, parameter_names
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import templates as registry
from wanode.store.templates import DELETED

log = structlog.get_logger(__name__)

# A stub whose definition could not be fetched is tried again this many seconds later.
STUB_RETRY_SECONDS = 60.0
# Webhook-only words (cloud-api.md §3.3): REINSTATED is a return to APPROVED; FLAGGED (at risk
# of a pause) and LOCKED (no more edits) leave the template sendable as it is.
_EVENT_STATUS = {"REINSTATED": TemplateStatus.APPROVED.value}
_NO_STATUS_CHANGE = frozenset({"FLAGGED", "LOCKED"})


@dataclass(frozen=True)
class SyncReport:
    """One WABA's sync: through which app, how many templates Meta listed, and what changed."""

    waba_id: str
    app_id: str | None
    listed: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    error: str | None = None

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted

    def as_json(self) -> dict[str, Any]:
        return {
            "waba_id": self.waba_id,
            "appid": self.app_id,
            "listed": self.listed,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "error": self.error,
        }


def row_values(graph: dict[str, Any]) -> dict[str, Any]:
    """The registry columns of a Graph template object, read leniently as Meta sends it.

    Raises `InvalidMessage` for an object without a name or language.
    """
    definition = TemplateDefinition.from_graph(graph)
    return {
        "name": definition.name,
        "language": definition.language,
        "category": definition.category.value,
        "parameter_format": definition.parameter_format.value,
        "status": definition.status.value,
        "rejected_reason": definition.rejected_reason,
        "quality": None if definition.quality.value == "UNKNOWN" else definition.quality.value,
    }


def definition_of(row: dict[str, Any]) -> TemplateDefinition:
    """A registry row as a domain definition. The row's status and reason win over the stored
    Graph object's: a status webhook changes the columns only."""
    return TemplateDefinition.from_graph(
        {
            **row["definition"],
            "id": row["id"],
            "status": row["status"],
            "rejected_reason": row["rejected_reason"],
        }
    )


def send_parameters(row: dict[str, Any]) -> list[str] | None:
    """The `message.parameters` names a Messaging API send of the template takes; None when
    that cannot be told (a stub, or a template wanode cannot send)."""
    if row["synced_at"] is None:
        return None
    try:
        return list(parameter_names(definition_of(row)))
    except InvalidMessage:
        return None


async def find_by_id(db: Database, app: dict[str, Any], template_id: str) -> dict[str, Any] | None:
    """The registry row of `template_id` if it belongs to the app's WABA and its definition is
    known (a stub from a webhook is not, until the sync fetches it)."""
    async with db.begin() as conn:
        row = await registry.get_for_waba(conn, app["waba_id"], template_id)
    return row if row is not None and row["synced_at"] is not None else None


async def find_by_name(db: Database, app: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """The app's WABA's templates called `name` whose definition is known, by language."""
    async with db.begin() as conn:
        rows = await registry.list_templates(conn, waba_id=app["waba_id"], name=name)
    return {
        row["language"]: row
        for row in rows
        if row["synced_at"] is not None and row["status"] != DELETED
    }


async def create(
    db: Database,
    gateways: Gateways,
    app: dict[str, Any],
    definition: TemplateDefinition,
    *,
    now: float,
) -> dict[str, Any]:
    """Submit `definition` (checked by `parse_create`) to WhatsApp and record it.

    Raises `TemplateRejected`, `GatewayError` or `LookupError` (no gateway for the app here).
    A status webhook (or a sync) may record the template before the create's answer is: the
    status it recorded is kept, being the fresher one.
    """
    body = definition.to_graph()
    answer = await gateways.for_app(app).create_template(credentials(app), body)
    template_id = str(answer["id"])
    status = TemplateStatus.of(answer.get("status")).value
    async with db.begin() as conn:
        graph = {**body, "id": template_id, "status": status}
        if isinstance(answer.get("category"), str):
            # Meta may file the template under another category than the one asked for.
            graph["category"] = answer["category"]
        await registry.upsert(
            conn,
            app_id=app["id"],
            waba_id=app["waba_id"],
            template_id=template_id,
            values=row_values(graph),
            graph=graph,
            now=now,
            keep_status=True,
        )
        row = await registry.get(conn, template_id)
    assert row is not None
    log.info("template_created", template_id=template_id, app_id=app["id"], status=status)
    return row


async def delete(
    db: Database, gateways: Gateways, app: dict[str, Any], row: dict[str, Any], *, now: float
) -> None:
    """Delete one template (this language only) at WhatsApp, then mark it DELETED.

    Raises `TemplateRejected` (Meta refuses to delete a DISABLED template), `GatewayError`,
    `LookupError`.
    """
    await gateways.for_app(app).delete_template(
        credentials(app), row["name"], template_id=row["id"]
    )
    async with db.begin() as conn:
        await registry.set_status(conn, row["id"], status=DELETED, reason=None, now=now)
    log.info("template_deleted", template_id=row["id"], app_id=app["id"])


async def apply_status(
    conn: AsyncConnection, event: TemplateStatusUpdate, *, app: dict[str, Any], now: float
) -> bool:
    """Apply a status webhook to the registry, in the ingest's transaction; `app` is one of
    the event's WABA's apps. False when the event changes nothing wanode keeps."""
    word = event.event
    if word in _NO_STATUS_CHANGE:
        log.info("template_status_noted", template_id=event.template_id, word=word)
        return False
    status = _EVENT_STATUS.get(word) or TemplateStatus.of(word).value
    if status == TemplateStatus.UNKNOWN.value:
        log.warning("template_status_unknown", template_id=event.template_id, word=word)
        return False
    reason = event.reason if status == TemplateStatus.REJECTED.value else None
    if await registry.set_status(conn, event.template_id, status=status, reason=reason, now=now):
        log.info("template_status", template_id=event.template_id, status=status)
        return True
    if status == DELETED:
        return False
    added = await registry.add_stub(
        conn,
        app_id=app["id"],
        waba_id=app["waba_id"],
        template_id=event.template_id,
        name=event.name,
        language=event.language,
        category=event.category,
        status=status,
        reason=reason,
        now=now,
    )
    if not added:
        # Created meanwhile (the create's answer raced its first webhook).
        return await registry.set_status(
            conn, event.template_id, status=status, reason=reason, now=now
        )
    log.info("template_status_unknown_template", template_id=event.template_id, status=status)
    return True


class TemplateSync:
    """The registry's loop: fetch stubs at once, sync every WABA every interval."""

    def __init__(
        self,
        db: Database,
        gateways: Gateways,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._gateways = gateways
        self._settings = settings
        self._clock = clock
        self._next_sync = float("-inf")
        self._stub_retry: dict[str, float] = {}

    async def run_once(self) -> int:
        """Fetch the stubs due, then sync every WABA if the interval has run out; returns how
        many registry rows changed."""
        done = await self.fetch_stubs()
        interval = self._settings.template_sync_interval
        now = self._clock()
        if interval > 0 and now >= self._next_sync:
            self._next_sync = now + interval
            done += sum(report.changed for report in await self.sync())
        return done

    async def sync(self, app_id: str | None = None) -> list[SyncReport]:
        """Sync every WABA, or only `app_id`'s (through that app). Raises `LookupError` for
        an unknown `app_id`; a WABA that cannot be synced is reported, not raised."""
        async with self._db.begin() as conn:
            apps = await app_queries.list_apps(conn)
        if app_id is not None:
            apps = [app for app in apps if app["id"] == app_id]
            if not apps:
                raise LookupError(app_id)
        by_waba: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for app in apps:
            by_waba[app["waba_id"]].append(app)
        return [await self._sync_waba(waba_id, group) for waba_id, group in by_waba.items()]

    async def fetch_stubs(self) -> int:
        now = self._clock()
        async with self._db.begin() as conn:
            stubs = await registry.stubs(conn)
        done = 0
        for stub in stubs:
            if self._stub_retry.get(stub["id"], 0.0) > now:
                continue
            if await self._fetch(stub):
                self._stub_retry.pop(stub["id"], None)
                done += 1
            else:
                self._stub_retry[stub["id"]] = now + STUB_RETRY_SECONDS
        return done

    async def _sync_waba(self, waba_id: str, apps: list[dict[str, Any]]) -> SyncReport:
        error = "no app of this WABA has a gateway here"
        for app in apps:
            started = self._clock()
            try:
                listed = await self._gateways.for_app(app).list_templates(credentials(app))
            except LookupError as exc:
                error = str(exc)
                continue
            except TemplateRejected as exc:
                rejected = exc.rejected
                error = f"({rejected.code}) {rejected.title}: {rejected.details}"
            except GatewayError as exc:
                error = str(exc)
            else:
                report = await self._store(waba_id, app, listed, started)
                log.info("templates_synced", **report.as_json())
                return report
            log.warning("templates_sync_failed", waba_id=waba_id, app_id=app["id"], error=error)
            return SyncReport(waba_id, app["id"], error=error)
        log.info("templates_sync_skipped", waba_id=waba_id, reason=error)
        return SyncReport(waba_id, None, error=error)

    async def _store(
        self, waba_id: str, app: dict[str, Any], listed: list[dict[str, Any]], started: float
    ) -> SyncReport:
        counts = {"created": 0, "updated": 0}
        present: list[str] = []
        now = self._clock()
        async with self._db.begin() as conn:
            for graph in listed:
                if not isinstance(graph.get("id"), str | int):
                    continue
                template_id = str(graph["id"])
                try:
                    values = row_values(graph)
                except InvalidMessage as exc:
                    log.warning("template_unreadable", template_id=template_id, reason=str(exc))
                    continue
                present.append(template_id)
                outcome = await registry.upsert(
                    conn,
                    app_id=app["id"],
                    waba_id=waba_id,
                    template_id=template_id,
                    values=values,
                    graph=graph,
                    now=now,
                    since=started,
                )
                if outcome in counts:
                    counts[outcome] += 1
            deleted = await registry.mark_gone(conn, waba_id, present, before=started, now=now)
        return SyncReport(
            waba_id,
            app["id"],
            len(listed),
            created=counts["created"],
            updated=counts["updated"],
            deleted=deleted,
        )

    async def _fetch(self, stub: dict[str, Any]) -> bool:
        """Fetch a stub's definition; False when it should be tried again later."""
        async with self._db.begin() as conn:
            app = await app_queries.get_app(conn, stub["app_id"])
        if app is None:
            return False
        started = self._clock()
        try:
            graph = await self._gateways.for_app(app).get_template(credentials(app), stub["id"])
            values = row_values({**graph, "id": stub["id"]})
        except TemplateRejected as exc:
            if exc.rejected.code != 100:
                log.warning("template_fetch_failed", template_id=stub["id"], code=exc.rejected.code)
                return False
            # Graph answers 100 for an id it does not have: the template is gone.
            async with self._db.begin() as conn:
                await registry.set_status(
                    conn, stub["id"], status=DELETED, reason=None, now=self._clock()
                )
            return True
        except (GatewayError, LookupError, InvalidMessage) as exc:
            log.warning("template_fetch_failed", template_id=stub["id"], error=str(exc))
            return False
        async with self._db.begin() as conn:
            await registry.upsert(
                conn,
                app_id=app["id"],
                waba_id=app["waba_id"],
                template_id=stub["id"],
                values=values,
                graph={**graph, "id": stub["id"]},
                now=self._clock(),
                since=started,
            )
        log.info("template_fetched", template_id=stub["id"])
        return True
