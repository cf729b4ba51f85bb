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

from wanode.store import _raw
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


# The run's columns a step rewrites, in the order of `_SAVE_RUN`'s placeholders (the run's id
# last). A step's save is prepared SQL (`wanode.store._raw`): SQLAlchemy's own work per
# statement was most of what a save cost on PostgreSQL's side of the process.
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
_SAVED_JSON = frozenset({"state", "result"})
_SAVE_RUN = _raw.Sql(
    "UPDATE flow_runs SET " + ", ".join(f"{name} = ?" for name in _SAVED) + " WHERE id = ?",
    "UPDATE flow_runs SET "
    + ", ".join(f"{name} = ${n}" for n, name in enumerate(_SAVED, 1))
    + f" WHERE id = ${len(_SAVED) + 1}",
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
    # JSON columns as SQLAlchemy's JSON type writes them (None too: the JSON null).
    dump = _raw.dump_json
    params = [dump(values[name]) if name in _SAVED_JSON else values[name] for name in _SAVED]
    params.append(run_id)
    await _raw.execute(conn, _SAVE_RUN, params)


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


_RUN_COLUMNS = tuple(column.name for column in flow_runs.c)
# The runs waiting in a Receive node for a contact's next event (`ix_flow_runs_wait_contact`),
# locked on PostgreSQL: waiting, not skipping, for a worker that holds one (it may be timing it
# out).
_WAITING_FOR_INBOUND_WHERE = (
    " FROM flow_runs WHERE app_id = {0} AND wait_contact = {1} AND wait_kind = 'inbound'"
    f" AND status = '{WAITING}' ORDER BY created_at"
)
_WAITING_FOR_INBOUND = _raw.Sql(
    f"SELECT {', '.join(_RUN_COLUMNS)}" + _WAITING_FOR_INBOUND_WHERE.format("?", "?"),
    f"SELECT {', '.join(_RUN_COLUMNS)}"
    + _WAITING_FOR_INBOUND_WHERE.format("$1", "$2")
    + " FOR UPDATE",
)


async def waiting_for_inbound(
    conn: AsyncConnection, app_id: str, wa_id: str
) -> list[dict[str, Any]]:
    """Runs waiting in a Receive node for `wa_id`'s next event, locked (waiting, not skipping,
    for a worker that holds one: it may be timing it out)."""
    rows = await _raw.fetch(conn, _WAITING_FOR_INBOUND, [app_id, wa_id])
    return _raw.decode_rows(conn, flow_runs, _RUN_COLUMNS, rows) if rows else []


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


# Whether each of `FlowRunner._wakes`'s claims would find anything, and whether any run waits
# on a message's status: one statement, read in the inbox claim's transaction, so that a pass
# with nothing else to do costs no claim (each a round trip on PostgreSQL) and no second
# transaction. Each search is the one its claim makes, through the same index, without locks:
# a row another worker holds counts, and the claim then skips it as before.
_PENDING = (
    "SELECT"
    " EXISTS (SELECT 1 FROM flow_runs r JOIN messages m ON m.transid = r.wait_transid"
    f" WHERE r.wait_kind = 'message' AND r.status = '{WAITING}' AND m.status <> r.wait_status),"
    " EXISTS (SELECT 1 FROM flow_runs WHERE wait_kind IN ('message', 'inbound', 'timer')"
    f" AND deadline <= {{0}} AND status = '{WAITING}'),"
    f" EXISTS (SELECT 1 FROM flow_runs WHERE wait_kind = 'http' AND status = '{WAITING}'"
    " AND (lease_until IS NULL OR lease_until < {0})),"
    f" EXISTS (SELECT 1 FROM flow_runs WHERE wait_kind = 'message' AND status = '{WAITING}')"
)
_PENDING_SQL = _raw.Sql(_PENDING.format("?1"), _PENDING.format("$1::double precision"))


async def pending_wakes(conn: AsyncConnection, *, now: float) -> tuple[bool, bool]:
    """Whether a run's awaited message moved, a deadline passed or an HTTP request is to be
    made (what `claim_message_changes`, `claim_due` and `claim_http` would find), and whether
    any run waits on a message's status (`any_waiting_on_message`)."""
    [row] = await _raw.fetch(conn, _PENDING_SQL, [now])
    changed, due, http, watching = (bool(value) for value in row)
    return changed or due or http, watching


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
        rows = [{"run_id": run_id, **e} for e in entries]
        if not await _raw.insert_many(conn, flow_history, rows):
            await conn.execute(_ADD_HISTORY, rows)


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


_EVENT_COLUMNS = tuple(column.name for column in flow_inbox.c)
# The oldest events no other worker holds. PostgreSQL deletes them as it claims them (one
# statement; the rollback of a failed batch puts them back); SQLite, where one transaction
# writes at a time, reads them and deletes those it found (none: no write, no write lock).
_TAKE_EVENTS = _raw.Sql(
    f"SELECT {', '.join(_EVENT_COLUMNS)} FROM flow_inbox ORDER BY id LIMIT ?",
    "DELETE FROM flow_inbox WHERE id IN"
    " (SELECT id FROM flow_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
    f" RETURNING {', '.join(_EVENT_COLUMNS)}",
)
_DROP_EVENTS = _raw.Sql(
    "DELETE FROM flow_inbox WHERE id IN (SELECT value FROM json_each(?))",
    "DELETE FROM flow_inbox WHERE id = ANY($1::bigint[])",
)
_RECORD_SEND = _raw.Sql(
    "INSERT INTO flow_sends (transid, run_id, node) VALUES (?, ?, ?)",
    "INSERT INTO flow_sends (transid, run_id, node) VALUES ($1, $2, $3)",
)


async def take_events(conn: AsyncConnection, *, limit: int) -> list[dict[str, Any]]:
    """The oldest inbox events no other worker holds, in order, deleted in the caller's
    transaction: handled if it commits, back in the inbox if it rolls back."""
    rows = await _raw.fetch(conn, _TAKE_EVENTS, [limit])
    if not rows:
        return []
    events = _raw.decode_rows(conn, flow_inbox, _EVENT_COLUMNS, rows)
    if _raw.kind(conn) == _raw.ASYNCPG:
        events.sort(key=lambda event: event["id"])  # RETURNING keeps no order
        return events
    await drop_events(conn, [event["id"] for event in events])
    return events


async def drop_events(conn: AsyncConnection, event_ids: Sequence[int]) -> None:
    if event_ids:
        ids = list(event_ids)
        param = ids if _raw.kind(conn) == _raw.ASYNCPG else _raw.json_list(ids)
        await _raw.execute(conn, _DROP_EVENTS, [param])


async def record_send(conn: AsyncConnection, *, transid: str, run_id: str, node: str) -> None:
    await _raw.execute(conn, _RECORD_SEND, [transid, run_id, node])


async def send_of_wamid(conn: AsyncConnection, wamid: str) -> dict[str, Any] | None:
    """The run and node that sent the message `wamid`, if a flow sent it."""
    query = (
        sa.select(flow_sends.c.run_id, flow_sends.c.node)
        .join(messages, messages.c.transid == flow_sends.c.transid)
        .where(messages.c.wamid == wamid)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None
