"""Named queries: what wanode learns about WhatsApp users, and the customer profiles callers
link to them.

A contact row is one WhatsApp number (`wa_id`). A customer profile is a row that also carries a
`customer_id`, the caller's own key for the customer: a customer id names exactly one number and
a number belongs to at most one customer id. What WhatsApp tells us (profile name, identity hash,
last inbound time) and the consent record describe the number; `customer_id` and `attributes`
describe the customer, so they are what moves when a customer changes number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store._sql import insert_ignore, insert_ignore_many
from wanode.store.tables import contacts, inbound_messages


async def observe(
    conn: AsyncConnection,
    wa_id: str,
    *,
    at: float,
    profile_name: str | None = None,
    identity_key_hash: str | None = None,
    inbound_at: float | None = None,
) -> None:
    """Record what a webhook told us about `wa_id`; absent facts leave the stored ones alone."""
    await insert_ignore(
        conn,
        contacts,
        {"wa_id": wa_id, "created_at": at, "updated_at": at},
        index=["wa_id"],
    )
    values: dict[str, Any] = {"updated_at": at}
    if profile_name is not None:
        values["profile_name"] = profile_name
    if identity_key_hash is not None:
        values["identity_key_hash"] = identity_key_hash
    where = [contacts.c.wa_id == wa_id]
    if inbound_at is not None:
        values["last_inbound_at"] = sa.case(
            (
                sa.or_(
                    contacts.c.last_inbound_at.is_(None), contacts.c.last_inbound_at < inbound_at
                ),
                inbound_at,
            ),
            else_=contacts.c.last_inbound_at,
        )
    await conn.execute(contacts.update().where(*where).values(**values))


async def observe_hashes(conn: AsyncConnection, hashes: dict[str, str], *, at: float) -> None:
    """`observe` of an identity key hash for many contacts (wa_id to hash), in two statements,
    in wa_id order (processes that lock contacts in one order never wait in a cycle)."""
    if not hashes:
        return
    wa_ids = sorted(hashes)
    await insert_ignore_many(
        conn,
        contacts,
        [{"wa_id": wa_id, "created_at": at, "updated_at": at} for wa_id in wa_ids],
        index=["wa_id"],
    )
    await conn.execute(
        contacts.update()
        .where(contacts.c.wa_id == sa.bindparam("b_wa_id"))
        .values(identity_key_hash=sa.bindparam("b_hash"), updated_at=at),
        [{"b_wa_id": wa_id, "b_hash": hashes[wa_id]} for wa_id in wa_ids],
    )


async def get(conn: AsyncConnection, wa_id: str) -> dict[str, Any] | None:
    row = (
        (await conn.execute(sa.select(contacts).where(contacts.c.wa_id == wa_id)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def store_inbound(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Keep an inbound message once; WhatsApp may deliver the same webhook twice."""
    return await insert_ignore(conn, inbound_messages, values, index=["wamid"])


async def get_inbound(conn: AsyncConnection, wamid: str) -> dict[str, Any] | None:
    query = sa.select(inbound_messages).where(inbound_messages.c.wamid == wamid)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_inbound(
    conn: AsyncConnection, *, wa_id: str | None = None, app_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest inbound messages first, of one WhatsApp user or of all, to one app or all."""
    query = sa.select(inbound_messages).order_by(inbound_messages.c.occurred_at.desc())
    if wa_id is not None:
        query = query.where(inbound_messages.c.wa_id == wa_id)
    if app_id is not None:
        query = query.where(inbound_messages.c.app_id == app_id)
    rows = (await conn.execute(query.limit(limit))).mappings().all()
    return [dict(row) for row in rows]


class OptInStatement(Protocol):
    """A consent statement: `opted_in` or `opted_out`, where it came from, and when (Unix
    seconds; None: as of recording). `wanode.contacts.OptInChange` is one."""

    @property
    def status(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    @property
    def at(self) -> float | None: ...


class ProfileStatement(Protocol):
    """What a caller states about a customer; None leaves the stored value alone, and
    `attributes`, when given, replace the stored ones. `wanode.contacts.Profile` is one."""

    @property
    def customer_id(self) -> str: ...
    @property
    def wa_id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def opt_in(self) -> OptInStatement | None: ...
    @property
    def attributes(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class _Statement:
    customer_id: str
    wa_id: str
    name: str | None
    opt_in: OptInStatement | None
    attributes: Mapping[str, Any] | None


class Outcome(StrEnum):
    CREATED = "created"  # the customer id was new (its number may have been known already)
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class WaIdTaken(Exception):
    """The number already belongs to another customer id; that profile must go or move first."""

    def __init__(self, wa_id: str, customer_id: str) -> None:
        super().__init__(f"WA ID {wa_id} belongs to customer id {customer_id!r}")
        self.wa_id = wa_id
        self.customer_id = customer_id


class ProfileOfAnotherApp(Exception):
    """The customer id (`field` "customerid") or the number ("waid") is a profile of another
    app, or of none (written with an admin key): an app's statements may not touch it."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value} is another app's customer profile")
        self.field = field
        self.value = value


_AT_COLUMN = {"opted_in": "opted_in_at", "opted_out": "opted_out_at"}
# The columns a profile statement may set, as a number nobody has stored yet has them.
_NEW_ROW: dict[str, Any] = {
    "customer_id": None,
    "app_id": None,
    "profile_name": None,
    "attributes": None,
    "opt_in_status": "unknown",
    "opt_in_source": None,
    "opted_in_at": None,
    "opted_out_at": None,
}


async def upsert_profile(
    conn: AsyncConnection,
    *,
    customer_id: str,
    wa_id: str,
    profile_name: str | None = None,
    opt_in: OptInStatement | None = None,
    attributes: Mapping[str, Any] | None = None,
    now: float,
    app_id: str | None = None,
) -> Outcome:
    """Create or update one profile (see `upsert_profiles`); raises `WaIdTaken` and
    `ProfileOfAnotherApp`."""
    statement = _Statement(customer_id, wa_id, profile_name, opt_in, attributes)
    [result] = await upsert_profiles(conn, [statement], now=now, app_id=app_id)
    if isinstance(result, WaIdTaken | ProfileOfAnotherApp):
        raise result
    return result


async def upsert_profiles(
    conn: AsyncConnection,
    statements: Sequence[ProfileStatement],
    *,
    now: float,
    app_id: str | None = None,
) -> list[Outcome | WaIdTaken | ProfileOfAnotherApp]:
    """Create or update profiles, in order, reading and writing a whole batch at once.

    Each statement's result is its `Outcome`, or `WaIdTaken` when its number belongs to another
    customer id (nothing of that statement is written; the others are).

    With `app_id` (an app's API key, or an import for one app), new profiles are that app's,
    and a statement naming a customer id or a number that is a profile of another app (or of
    none) is `ProfileOfAnotherApp`. Without it (an admin), new profiles belong to no app and
    every profile may be changed; a profile keeps its app, also when it moves to a new number.

    - A customer id on another number moves there: its attributes go along unless new ones
      are given. Both numbers keep their WhatsApp facts and consent, since consent is given by
      whoever holds a number, not by the customer record.
    - `opt_in` goes through the rules of `set_opt_in`.
    - A row is written only when it changes, so re-stating a profile is `UNCHANGED` and leaves
      `updated_at` alone.

    Keep batches to a few thousand statements: each adds two parameters to one query.
    """
    if not statements:
        return []
    query = sa.select(contacts).where(
        contacts.c.customer_id.in_({s.customer_id for s in statements})
        | contacts.c.wa_id.in_({s.wa_id for s in statements})
    )
    stored = {row["wa_id"]: dict(row) for row in (await conn.execute(query)).mappings()}
    rows = {wa_id: dict(row) for wa_id, row in stored.items()}  # the state as statements apply
    owners = {row["customer_id"]: wa_id for wa_id, row in rows.items() if row["customer_id"]}
    results: list[Outcome | WaIdTaken | ProfileOfAnotherApp] = []
    for statement in statements:
        refused = _foreign(statement, rows, owners, app_id) if app_id is not None else None
        results.append(refused or _apply(statement, rows, owners, now, app_id))
    await _write(conn, stored, rows, now)
    return results


def _foreign(
    statement: ProfileStatement,
    rows: dict[str, dict[str, Any]],
    owners: dict[str, str],
    app_id: str,
) -> ProfileOfAnotherApp | None:
    """Why `app_id`'s statement may not be applied, if it may not: it names another app's
    profile, by its customer id or by its number."""
    current = owners.get(statement.customer_id)
    if current is not None and rows[current]["app_id"] != app_id:
        return ProfileOfAnotherApp("customerid", statement.customer_id)
    target = rows.get(statement.wa_id)
    if (
        target is not None
        and target["customer_id"] not in (None, statement.customer_id)
        and target["app_id"] != app_id
    ):
        return ProfileOfAnotherApp("waid", statement.wa_id)
    return None


def _apply(
    statement: ProfileStatement,
    rows: dict[str, dict[str, Any]],
    owners: dict[str, str],
    now: float,
    app_id: str | None = None,
) -> Outcome | WaIdTaken:
    customer_id, wa_id = statement.customer_id, statement.wa_id
    target = rows.get(wa_id)
    if target is not None and target["customer_id"] not in (None, customer_id):
        return WaIdTaken(wa_id, target["customer_id"])
    if target is None:
        target = rows[wa_id] = dict(_NEW_ROW)
    before = dict(target)
    previous = owners.get(customer_id)
    if previous is not None and previous != wa_id:  # the customer moves to this number
        old = rows[previous]
        target["attributes"] = old["attributes"]
        target["app_id"] = old["app_id"]
        old.update(customer_id=None, attributes=None, app_id=None)
    elif previous is None:
        target["app_id"] = app_id
    owners[customer_id] = wa_id
    target["customer_id"] = customer_id
    if statement.name is not None:
        target["profile_name"] = statement.name
    if statement.attributes is not None:
        target["attributes"] = dict(statement.attributes)
    if statement.opt_in is not None:
        opt_in = statement.opt_in
        target.update(_opt_in_changes(target, opt_in.status, opt_in.source, opt_in.at, now))
    if previous is None:
        return Outcome.CREATED
    return Outcome.UPDATED if previous != wa_id or target != before else Outcome.UNCHANGED


async def _write(
    conn: AsyncConnection,
    stored: dict[str, dict[str, Any]],
    rows: dict[str, dict[str, Any]],
    now: float,
) -> None:
    changed = {
        wa_id: {name: value for name, value in row.items() if stored[wa_id][name] != value}
        for wa_id, row in rows.items()
        if wa_id in stored and row != stored[wa_id]
    }
    # The unique index on customer_id is checked statement by statement, so a customer id that
    # moves must leave its old row before it lands on the new one.
    relinked = [
        wa_id
        for wa_id, changes in changed.items()
        if "customer_id" in changes and stored[wa_id]["customer_id"] is not None
    ]
    if relinked:
        await conn.execute(
            contacts.update().where(contacts.c.wa_id.in_(relinked)).values(customer_id=None)
        )
    for wa_id, changes in changed.items():
        values = {name: sa.null() if value is None else value for name, value in changes.items()}
        await conn.execute(
            contacts.update().where(contacts.c.wa_id == wa_id).values(updated_at=now, **values)
        )
    # Rows inserted together must name the same columns; leaving out the unset ones keeps
    # them SQL NULL (or the column default) rather than JSON null.
    inserts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for wa_id, row in rows.items():
        if wa_id not in stored:
            values = {name: value for name, value in row.items() if value is not None}
            values.update(wa_id=wa_id, created_at=now, updated_at=now)
            inserts.setdefault(tuple(sorted(values)), []).append(values)
    for batch in inserts.values():
        await conn.execute(contacts.insert(), batch)


async def set_opt_in(
    conn: AsyncConnection, wa_id: str, status: str, source: str | None, at: float
) -> bool:
    """Record that `wa_id` opted in or out at `at` (also the row's write time); True if it changed.

    The latest statement wins by its own time, not by arrival: a statement older than the
    decision on record changes nothing, so re-importing an old file cannot undo a later opt-out.
    Re-stating the current status keeps its time unless a later one is given.
    """
    _at_column(status)  # refused before anything is written
    await insert_ignore(
        conn, contacts, {"wa_id": wa_id, "created_at": at, "updated_at": at}, index=["wa_id"]
    )
    row = await get(conn, wa_id)
    assert row is not None  # inserted above when missing
    changes = {
        name: value
        for name, value in _opt_in_changes(row, status, source, at, at).items()
        if row[name] != value
    }
    if changes:
        await conn.execute(
            contacts.update().where(contacts.c.wa_id == wa_id).values(updated_at=at, **changes)
        )
    return bool(changes)


def _opt_in_changes(
    row: dict[str, Any], status: str, source: str | None, at: float | None, now: float
) -> dict[str, Any]:
    """The columns a consent statement sets on `row` (some may equal what is stored)."""
    column = _at_column(status)
    same = row["opt_in_status"] == status
    if at is None:
        if same:
            return {} if source is None else {"opt_in_source": source}
        at = now
    recorded = [t for t in (row["opted_in_at"], row["opted_out_at"]) if t is not None]
    if recorded and at < max(recorded):
        return {}
    changes: dict[str, Any] = {"opt_in_status": status, column: at}
    # A new decision drops the old one's source; a repeated one keeps it unless given anew.
    if source is not None or not same:
        changes["opt_in_source"] = source
    return changes


def _at_column(status: str) -> str:
    if status not in _AT_COLUMN:
        raise ValueError(f"an opt-in status is opted_in or opted_out, not {status!r}")
    return _AT_COLUMN[status]


async def get_by_customer_id(conn: AsyncConnection, customer_id: str) -> dict[str, Any] | None:
    query = sa.select(contacts).where(contacts.c.customer_id == customer_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def resolve_customer_ids(
    conn: AsyncConnection, customer_ids: list[str], *, app_id: str | None = None
) -> dict[str, str]:
    """Customer id -> WA ID for those of `customer_ids` that have a profile, in one query;
    with `app_id`, only profiles of that app or of none (written with an admin key)."""
    wanted = set(customer_ids)
    if not wanted:
        return {}
    query = sa.select(contacts.c.customer_id, contacts.c.wa_id).where(
        contacts.c.customer_id.in_(wanted)
    )
    if app_id is not None:
        query = query.where((contacts.c.app_id == app_id) | contacts.c.app_id.is_(None))
    return {row.customer_id: row.wa_id for row in await conn.execute(query)}


async def list_profiles(
    conn: AsyncConnection,
    *,
    limit: int,
    after: str | None = None,
    app_id: str | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    """Profiles in customer id order, those after `after` (keyset paging); with `app_id`,
    that app's only; with `search`, those whose customer id, name or number holds it (any
    case; a number searched with or without its `+`, spaces and dashes)."""
    query = sa.select(contacts).where(contacts.c.customer_id.is_not(None))
    if app_id is not None:
        query = query.where(contacts.c.app_id == app_id)
    if search and search.strip():
        query = query.where(_matching(search.strip()))
    if after is not None:
        query = query.where(contacts.c.customer_id > after)
    query = query.order_by(contacts.c.customer_id).limit(limit)
    return [dict(row) for row in (await conn.execute(query)).mappings().all()]


def _matching(search: str) -> sa.ColumnElement[bool]:
    def holds(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
        # The term's own % and _ are literal: escaped for LIKE.
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return sa.func.lower(column).like(f"%{escaped}%", escape="\\")

    found = holds(contacts.c.customer_id, search) | holds(contacts.c.profile_name, search)
    digits = "".join(ch for ch in search if ch not in "+ -()")
    if digits.isdigit():
        found = found | holds(contacts.c.wa_id, digits)
    return found


async def delete_by_customer_id(conn: AsyncConnection, customer_id: str, *, now: float) -> bool:
    """Remove a profile; False when there is none.

    The row goes only if it holds nothing but the profile. A number that wrote to us or stated
    its consent keeps those facts, unlinked from the customer id: the window and opt-in
    policies still need them, and an opt-out must outlive the profile that recorded it.
    """
    bare = (
        (contacts.c.customer_id == customer_id)
        & contacts.c.last_inbound_at.is_(None)
        & contacts.c.identity_key_hash.is_(None)
        & (contacts.c.opt_in_status == "unknown")
    )
    if (await conn.execute(contacts.delete().where(bare))).rowcount:
        return True
    unlinked = await conn.execute(
        contacts.update()
        .where(contacts.c.customer_id == customer_id)
        .values(customer_id=None, attributes=sa.null(), app_id=None, updated_at=now)
    )
    return bool(unlinked.rowcount)


async def policy_states(conn: AsyncConnection, wa_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What the send policies need of each recipient (window and consent), in one query."""
    if not wa_ids:
        return {}
    query = sa.select(
        contacts.c.wa_id,
        contacts.c.last_inbound_at,
        contacts.c.opt_in_status,
        contacts.c.opt_in_source,
        contacts.c.opted_in_at,
        contacts.c.opted_out_at,
        contacts.c.identity_key_hash,
    ).where(contacts.c.wa_id.in_(sorted(set(wa_ids))))
    return {row["wa_id"]: dict(row) for row in (await conn.execute(query)).mappings()}
