"""Named queries for flows: definitions and versions, runs and their history, the flow inbox.

A waiting run is a row whose `wait_*` columns say what wakes it. Every query that hands a run
to a step locks the row (FOR UPDATE on PostgreSQL, SKIP LOCKED where another worker may take
it instead), so a step never runs twice on one state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._sql import for_claim
from wanode.store.tables import (
    flow_history,
    flow_inbox,
    flow_runs,
    flow_sends,
    flow_versions,
    flows,
    messages,
)

WAITING = "waiting"


async def deploy(
    conn: AsyncConnection,
    *,
    flow_id: str,
    app_id: str | None,
    name: str,
    definition: dict[str, Any],
    whatsapp_trigger: bool,
    now: float,
) -> int:
    """Store `definition` as the flow's next version and make it current; returns the version.
    Runs already started keep the version they started with."""
    query = sa.select(flows.c.version).where(flows.c.id == flow_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    current = (await conn.execute(query)).scalar()
    version = (current or 0) + 1
    await conn.execute(
        flow_versions.insert().values(
            flow_id=flow_id, version=version, definition=definition, created_at=now
        )
    )
    values = {
        "app_id": app_id,
        "name": name,
        "version": version,
        "definition": definition,
        "whatsapp_trigger": whatsapp_trigger,
        "enabled": True,
        "updated_at": now,
    }
    if current is None:
        await conn.execute(flows.insert().values(id=flow_id, created_at=now, **values))
    else:
        await conn.execute(flows.update().where(flows.c.id == flow_id).values(**values))
    return version


async def get_flow(conn: AsyncConnection, flow_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(flows).where(flows.c.id == flow_id))).mappings().first()
    return dict(row) if row else None


async def list_flows(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(flows).order_by(flows.c.id))
    return [dict(r) for r in rows.mappings()]


async def set_enabled(conn: AsyncConnection, flow_id: str, enabled: bool, *, now: float) -> bool:
    result = await conn.execute(
        flows.update().where(flows.c.id == flow_id).values(enabled=enabled, updated_at=now)
    )
    return bool(result.rowcount)


async def get_version(conn: AsyncConnection, flow_id: str, version: int) -> dict[str, Any] | None:
    query = sa.select(flow_versions.c.definition).where(
        flow_versions.c.flow_id == flow_id, flow_versions.c.version == version
    )
    definition = (await conn.execute(query)).scalar()
    return definition if isinstance(definition, dict) else None


async def list_versions(conn: AsyncConnection, flow_id: str) -> list[dict[str, Any]]:
    """Every version of the flow, newest first: version and created_at (no definitions)."""
    query = (
        sa.select(flow_versions.c.version, flow_versions.c.created_at)
        .where(flow_versions.c.flow_id == flow_id)
        .order_by(flow_versions.c.version.desc())
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def triggered_by_whatsapp(conn: AsyncConnection, app_id: str) -> list[dict[str, Any]]:
    """Enabled flows with a WhatsApp trigger for `app_id` (or for every app)."""
    query = sa.select(flows).where(
        flows.c.enabled.is_(True),
        flows.c.whatsapp_trigger.is_(True),
        sa.or_(flows.c.app_id == app_id, flows.c.app_id.is_(None)),
    )
    return [dict(r) for r in (await conn.execute(query.order_by(flows.c.id))).mappings()]


# Runs.


def _wait_columns(state: dict[str, Any]) -> dict[str, Any]:
    wait = state.get("wait") if state["status"] == WAITING else None
    return {
        "status": state["status"],
        "node": state["node"],
        "contact": state.get("contact"),
        "wait_kind": wait["kind"] if wait else None,
        "wait_transid": wait.get("transid") if wait else None,
        "wait_contact": wait.get("contact") if wait else None,
        "wait_status": "queued" if wait and wait["kind"] == "message" else None,
        "deadline": wait.get("deadline") if wait else None,
        "lease_until": None,
        "state": state,
        "result": state.get("result"),
    }


async def insert_run(
    conn: AsyncConnection,
    *,
    run_id: str,
    flow_id: str,
    version: int,
    app_id: str,
    state: dict[str, Any],
    now: float,
) -> None:
    await conn.execute(
        flow_runs.insert().values(
            id=run_id,
            flow_id=flow_id,
            version=version,
            app_id=app_id,
            created_at=now,
            updated_at=now,
            **_wait_columns(state),
        )
    )


async def insert_runs(
    conn: AsyncConnection,
    *,
    flow_id: str,
    version: int,
    app_id: str,
    runs: Sequence[tuple[str, dict[str, Any]]],
    now: float,
) -> None:
    """Many runs of one flow version at once, each `(run_id, state)`: one executemany."""
    if runs:
        await conn.execute(
            flow_runs.insert(),
            [
                {
                    "id": run_id,
                    "flow_id": flow_id,
                    "version": version,
                    "app_id": app_id,
                    "created_at": now,
                    "updated_at": now,
                    **_wait_columns(state),
                }
                for run_id, state in runs
            ],
        )


# The run's columns a step rewrites, each bound by name: one statement object for every save,
# so that SQLAlchemy finds it compiled instead of building an UPDATE per step.
_SAVED = (
    "status",
    "node",
    "contact",
    "wait_kind",
    "wait_transid",
    "wait_contact",
    "wait_status",
    "deadline",
    "lease_until",
    "state",
    "result",
    "updated_at",
)
_SAVE_RUN = (
    flow_runs.update()
    .where(flow_runs.c.id == sa.bindparam("run_id", type_=flow_runs.c.id.type))
    .values({name: sa.bindparam(f"new_{name}", type_=flow_runs.c[name].type) for name in _SAVED})
)


async def save_run(
    conn: AsyncConnection,
    run_id: str,
    state: dict[str, Any],
    *,
    now: float,
    wait_status: str | None = None,
) -> None:
    values = _wait_columns(state)
    if wait_status is not None and values["wait_kind"] == "message":
        values["wait_status"] = wait_status
    values["updated_at"] = now
    params = {f"new_{name}": values[name] for name in _SAVED}
    params["run_id"] = run_id
    await conn.execute(_SAVE_RUN, params)


async def get_run(
    conn: AsyncConnection, run_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    query = sa.select(flow_runs).where(flow_runs.c.id == run_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_runs(
    conn: AsyncConnection,
    flow_id: str,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The flow's runs, newest first; `offset` skips that many (the console's pages)."""
    query = sa.select(flow_runs).where(flow_runs.c.flow_id == flow_id)
    if status is not None:
        query = query.where(flow_runs.c.status == status)
    query = query.order_by(flow_runs.c.created_at.desc(), flow_runs.c.id).limit(limit)
    if offset:
        query = query.offset(offset)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def count_runs(conn: AsyncConnection, flow_id: str) -> dict[str, int]:
    query = (
        sa.select(flow_runs.c.status, sa.func.count())
        .where(flow_runs.c.flow_id == flow_id)
        .group_by(flow_runs.c.status)
    )
    return {status: count for status, count in (await conn.execute(query)).all()}


async def has_waiting_run(conn: AsyncConnection, flow_id: str, contact: str) -> bool:
    query = sa.select(flow_runs.c.id).where(
        flow_runs.c.flow_id == flow_id,
        flow_runs.c.contact == contact,
        flow_runs.c.status == WAITING,
    )
    return (await conn.execute(query.limit(1))).first() is not None


_WAITING_FOR_INBOUND = (
    sa.select(flow_runs)
    .where(
        flow_runs.c.app_id == sa.bindparam("app_id", type_=flow_runs.c.app_id.type),
        flow_runs.c.wait_contact == sa.bindparam("wa_id", type_=flow_runs.c.wait_contact.type),
        flow_runs.c.wait_kind == "inbound",
        flow_runs.c.status == WAITING,
    )
    .order_by(flow_runs.c.created_at)
)
_WAITING_FOR_INBOUND_LOCKED = _WAITING_FOR_INBOUND.with_for_update()


async def waiting_for_inbound(
    conn: AsyncConnection, app_id: str, wa_id: str
) -> list[dict[str, Any]]:
    """Runs waiting in a Receive node for `wa_id`'s next event, locked (waiting, not skipping,
    for a worker that holds one: it may be timing it out)."""
    query = (
        _WAITING_FOR_INBOUND_LOCKED if conn.dialect.name == "postgresql" else _WAITING_FOR_INBOUND
    )
    rows = await conn.execute(query, {"app_id": app_id, "wa_id": wa_id})
    return [dict(r) for r in rows.mappings()]


async def claim_due(conn: AsyncConnection, *, now: float, limit: int) -> list[dict[str, Any]]:
    """Waiting runs whose deadline has passed (timers, and waits that time out)."""
    query = (
        sa.select(flow_runs)
        .where(
            flow_runs.c.wait_kind.in_(("message", "inbound", "timer")),
            flow_runs.c.deadline <= now,
            flow_runs.c.status == WAITING,
        )
        .order_by(flow_runs.c.deadline)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(for_claim(query, conn))).mappings()]


async def any_waiting_on_message(conn: AsyncConnection) -> bool:
    """Whether any run waits on a message's status (found through `ix_flow_runs_due`)."""
    query = (
        sa.select(sa.literal(1))
        .where(flow_runs.c.wait_kind == "message", flow_runs.c.status == WAITING)
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def claim_message_changes(conn: AsyncConnection, *, limit: int) -> list[dict[str, Any]]:
    """Runs waiting on a message whose status moved since the run last looked, each with the
    message's `message_status`, error and submission."""
    query = (
        sa.select(
            flow_runs,
            messages.c.status.label("message_status"),
            messages.c.status_at.label("message_status_at"),
            messages.c.error_code.label("message_error_code"),
            messages.c.error_title.label("message_error_title"),
            messages.c.error_details.label("message_error_details"),
            messages.c.submitted_at.label("message_submitted_at"),
        )
        .join(messages, messages.c.transid == flow_runs.c.wait_transid)
        .where(
            flow_runs.c.wait_kind == "message",
            flow_runs.c.status == WAITING,
            messages.c.status != flow_runs.c.wait_status,
        )
        .limit(limit)
    )
    rows = await conn.execute(for_claim(query, conn, of=[flow_runs]))
    return [dict(r) for r in rows.mappings()]


async def claim_http(
    conn: AsyncConnection, *, now: float, lease: float, limit: int
) -> list[dict[str, Any]]:
    """Runs waiting for an HTTP request to be made, leased to this worker."""
    query = (
        sa.select(flow_runs)
        .where(
            flow_runs.c.wait_kind == "http",
            flow_runs.c.status == WAITING,
            sa.or_(flow_runs.c.lease_until.is_(None), flow_runs.c.lease_until < now),
        )
        .limit(limit)
    )
    rows = [dict(r) for r in (await conn.execute(for_claim(query, conn))).mappings()]
    if rows:
        await conn.execute(
            flow_runs.update()
            .where(flow_runs.c.id.in_([r["id"] for r in rows]))
            .values(lease_until=now + lease)
        )
    return rows


# History.


_ADD_HISTORY = flow_history.insert()


async def add_history(
    conn: AsyncConnection, run_id: str, entries: Sequence[dict[str, Any]]
) -> None:
    if entries:
        await conn.execute(_ADD_HISTORY, [{"run_id": run_id, **e} for e in entries])


async def history(conn: AsyncConnection, run_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(flow_history.c.node, flow_history.c.outcome, flow_history.c.variables)
        .add_columns(flow_history.c.at)
        .where(flow_history.c.run_id == run_id)
        .order_by(flow_history.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


# The flow inbox and flow sends.


async def add_event(
    conn: AsyncConnection,
    *,
    app_id: str,
    wa_id: str,
    wamid: str,
    event: dict[str, Any],
    now: float,
) -> None:
    await conn.execute(
        flow_inbox.insert().values(
            app_id=app_id, wa_id=wa_id, wamid=wamid, event=event, received_at=now
        )
    )


_CLAIM_EVENTS = (
    sa.select(flow_inbox).order_by(flow_inbox.c.id).limit(sa.bindparam("limit", type_=sa.Integer))
)
_CLAIM_EVENTS_LOCKED = _CLAIM_EVENTS.with_for_update(skip_locked=True)
_DROP_EVENTS = flow_inbox.delete().where(
    flow_inbox.c.id.in_(sa.bindparam("ids", expanding=True, type_=flow_inbox.c.id.type))
)
_RECORD_SEND = flow_sends.insert()


async def claim_events(conn: AsyncConnection, *, limit: int) -> list[dict[str, Any]]:
    """The oldest inbox events no other worker holds, in order; deleted with `drop_events` in
    the same transaction once handled."""
    query = _CLAIM_EVENTS_LOCKED if conn.dialect.name == "postgresql" else _CLAIM_EVENTS
    return [dict(r) for r in (await conn.execute(query, {"limit": limit})).mappings()]


async def drop_events(conn: AsyncConnection, event_ids: Sequence[int]) -> None:
    if event_ids:
        await conn.execute(_DROP_EVENTS, {"ids": list(event_ids)})


async def record_send(conn: AsyncConnection, *, transid: str, run_id: str, node: str) -> None:
    await conn.execute(_RECORD_SEND, {"transid": transid, "run_id": run_id, "node": node})


async def send_of_wamid(conn: AsyncConnection, wamid: str) -> dict[str, Any] | None:
    """The run and node that sent the message `wamid`, if a flow sent it."""
    query = (
        sa.select(flow_sends.c.run_id, flow_sends.c.node)
        .join(messages, messages.c.transid == flow_sends.c.transid)
        .where(messages.c.wamid == wamid)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None
