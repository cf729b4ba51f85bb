"""Named queries: the template registry (WhatsApp's message templates as wanode last saw them).

A template belongs to a WABA. Its row names one app (`app_id`, the app whose credentials
manage it); every app of the same WABA finds it, so queries take a WABA id and reach the rows
through their app. Rows are written from three sources: a sync (the Graph list), a status
webhook, and a create through wanode. A sync started before a row last changed does not
overwrite that row (`since`), so a slow sync never undoes a fresher webhook.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store.tables import apps, templates

DELETED = "DELETED"
Outcome = Literal["created", "updated", "unchanged", "skipped"]

_CHUNK = 500


def _of_waba(waba_id: str) -> sa.ColumnElement[bool]:
    return templates.c.app_id.in_(sa.select(apps.c.id).where(apps.c.waba_id == waba_id))


async def get(
    conn: AsyncConnection, template_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """The template's row; with `lock`, locked until the transaction ends (PostgreSQL; SQLite
    runs one writer at a time anyway)."""
    query = sa.select(templates).where(templates.c.id == template_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def get_for_waba(
    conn: AsyncConnection, waba_id: str, template_id: str
) -> dict[str, Any] | None:
    """The template `template_id` if it belongs to `waba_id`."""
    query = sa.select(templates).where(templates.c.id == template_id, _of_waba(waba_id))
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_templates(
    conn: AsyncConnection,
    *,
    waba_id: str | None = None,
    statuses: Collection[str] | None = None,
    name: str | None = None,
    language: str | None = None,
    category: str | None = None,
) -> list[dict[str, Any]]:
    """Templates by name then language, narrowed by whatever is given."""
    query = sa.select(templates)
    if waba_id is not None:
        query = query.where(_of_waba(waba_id))
    if statuses:
        query = query.where(templates.c.status.in_(list(statuses)))
    for column, value in (("name", name), ("language", language), ("category", category)):
        if value is not None:
            query = query.where(templates.c[column] == value)
    query = query.order_by(templates.c.name, templates.c.language, templates.c.id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def upsert(
    conn: AsyncConnection,
    *,
    app_id: str,
    waba_id: str,
    template_id: str,
    values: dict[str, Any],
    graph: dict[str, Any],
    now: float,
    since: float | None = None,
    keep_status: bool = False,
) -> Outcome:
    """Write a template as Meta shows it: `values` are its columns (name, language, category,
    parameter_format, status, rejected_reason, quality), `graph` the Graph object.

    A row changed at or after `since` is left alone ("skipped"); with `keep_status` a known
    row keeps its status and reason (a webhook's, fresher than the caller's). A known template
    keeps the app that manages it. Another row of the WABA with the same name and language is
    a template Meta no longer has (deleted, then created again), so it is removed.
    """
    # Locked from the check to the write: a status webhook committed between the two would be
    # overwritten by what a sync listed before it (PostgreSQL runs them side by side).
    current = await get(conn, template_id, lock=True)
    if current is None:
        await _drop_replaced(conn, waba_id, values["name"], values["language"], template_id)
        row = {
            "id": template_id,
            "app_id": app_id,
            "definition": graph,
            "updated_at": now,
            "synced_at": now,
            **values,
        }
        if await _insert(conn, row):
            return "created"
        # Written meanwhile by a concurrent sync, webhook or create: update that row instead.
        current = await get(conn, template_id, lock=True)
        if current is None:
            return "skipped"
    if since is not None and current["updated_at"] >= since:
        return "skipped"
    if keep_status:
        values = {
            **values,
            "status": current["status"],
            "rejected_reason": current["rejected_reason"],
        }
    await _drop_replaced(conn, waba_id, values["name"], values["language"], template_id)
    same = current["definition"] == graph and all(current[k] == v for k, v in values.items())
    await conn.execute(
        templates.update()
        .where(templates.c.id == template_id)
        .values(
            definition=graph,
            synced_at=now,
            **({} if same else {"updated_at": now}),
            **values,
        )
    )
    return "unchanged" if same and current["synced_at"] is not None else "updated"


async def _insert(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """Insert unless the template (or its name and language) is there already."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    result = await conn.execute(dialect.insert(templates).values(**row).on_conflict_do_nothing())
    return bool(result.rowcount)


async def _drop_replaced(
    conn: AsyncConnection, waba_id: str, name: str, language: str, template_id: str
) -> None:
    """Meta has one template per name and language in a WABA: another row with the same
    name and language is one Meta deleted (the name was then used again)."""
    await conn.execute(
        templates.delete().where(
            _of_waba(waba_id),
            templates.c.name == name,
            templates.c.language == language,
            templates.c.id != template_id,
        )
    )


async def add_stub(
    conn: AsyncConnection,
    *,
    app_id: str,
    waba_id: str,
    template_id: str,
    name: str,
    language: str,
    category: str | None,
    status: str,
    reason: str | None,
    now: float,
) -> bool:
    """A template known only from a status webhook; a sync fetches its definition. False when
    the template was written meanwhile (then set its status)."""
    graph: dict[str, Any] = {
        "id": template_id,
        "name": name,
        "language": language,
        "status": status,
        "category": category or "UNKNOWN",
    }
    await _drop_replaced(conn, waba_id, name, language, template_id)
    return await _insert(
        conn,
        {
            "id": template_id,
            "app_id": app_id,
            "name": name,
            "language": language,
            "category": (category or "UNKNOWN").upper(),
            "parameter_format": "POSITIONAL",
            "status": status,
            "rejected_reason": reason,
            "quality": None,
            "definition": graph,
            "updated_at": now,
            "synced_at": None,
        },
    )


async def set_status(
    conn: AsyncConnection, template_id: str, *, status: str, reason: str | None, now: float
) -> bool:
    """Record a status change; False when the template is not in the registry."""
    result = await conn.execute(
        templates.update()
        .where(templates.c.id == template_id)
        .values(status=status, rejected_reason=reason, updated_at=now)
    )
    return bool(result.rowcount)


async def mark_gone(
    conn: AsyncConnection, waba_id: str, present: Iterable[str], *, before: float, now: float
) -> int:
    """Mark DELETED the WABA's templates Meta no longer lists, among those unchanged since
    `before` (a row changed later was seen after the listing began). Returns how many."""
    keep = set(present)
    query = sa.select(templates.c.id).where(
        _of_waba(waba_id),
        templates.c.status != DELETED,
        templates.c.updated_at < before,
    )
    gone = [tid for tid in (await conn.execute(query)).scalars() if tid not in keep]
    for start in range(0, len(gone), _CHUNK):
        await conn.execute(
            templates.update()
            .where(templates.c.id.in_(gone[start : start + _CHUNK]))
            .values(status=DELETED, updated_at=now)
        )
    return len(gone)


async def stubs(conn: AsyncConnection, *, limit: int = 50) -> list[dict[str, Any]]:
    """Templates known from a webhook only, whose definition is still to be fetched."""
    query = (
        sa.select(templates)
        .where(templates.c.synced_at.is_(None), templates.c.status != DELETED)
        .order_by(templates.c.updated_at)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
