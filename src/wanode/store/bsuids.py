"""Named queries: which business-scoped user id (BSUID) names which WhatsApp number, per app.

WhatsApp tells us the pair in webhooks (`contacts[].wa_id` and `user_id`, on inbound messages
and on statuses). A BSUID is scoped to a business and changes when its user changes number, so
a link is kept per app, one BSUID per number and one number per BSUID: a newer pair replaces
whichever older ones it contradicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.store import _raw
from wanode.store._sql import insert_ignore_many
from wanode.store.tables import contact_bsuids


@dataclass(frozen=True, order=True)
class Link:
    app_id: str
    wa_id: str
    bsuid: str


async def link(conn: AsyncConnection, links: Iterable[Link], *, at: float) -> int:
    """Record the pairs WhatsApp reported; returns how many were new or changed.

    One read for the whole batch, and writes only for what changed: a campaign's statuses
    repeat the same pairs, and they then lock no rows that other processors would wait for.
    Rows are written in (app, wa_id) order so processes never wait on each other in a cycle.
    """
    # Within the batch too, a later pair wins over an earlier one it contradicts.
    by_bsuid = {(x.app_id, x.bsuid): x for x in links}
    wanted = {(x.app_id, x.wa_id): x for x in by_bsuid.values()}
    if not wanted:
        return 0
    # The rows of the batch's numbers, and of its BSUIDs (which may name other numbers).
    found = await _matching(conn, list(wanted.values()))
    known = {(app_id, wa_id): bsuid for app_id, rows in found.items() for wa_id, bsuid in rows}
    changed = sorted(x for key, x in wanted.items() if key not in known or known[key] != x.bsuid)
    if not changed:
        return 0
    # A number's old BSUID, and a BSUID once given to another number, make way for the new pair
    # (new numbers with new BSUIDs, a campaign's usual, have nothing to delete).
    by_app: dict[str, list[Link]] = {}
    for x in changed:
        by_app.setdefault(x.app_id, []).append(x)
    as_list = _raw.kind(conn) == _raw.ASYNCPG
    for app_id, pairs in by_app.items():
        wa_ids = {x.wa_id for x in pairs}
        bsuids = {x.bsuid for x in pairs}
        doomed = sorted(
            wa_id for wa_id, bsuid in found.get(app_id, ()) if wa_id in wa_ids or bsuid in bsuids
        )
        if doomed:
            param = doomed if as_list else _raw.json_list(doomed)
            await _raw.execute(conn, _DELETE, [app_id, param])
    await insert_ignore_many(
        conn,
        contact_bsuids,
        [
            {
                "app_id": x.app_id,
                "wa_id": x.wa_id,
                "bsuid": x.bsuid,
                "created_at": at,
                "updated_at": at,
            }
            for x in changed
        ],
        index=["app_id", "wa_id"],
    )
    return len(changed)


_MATCHING = _raw.Sql(
    # A UNION: with an OR, SQLite scanned every row of the app.
    "SELECT wa_id, bsuid FROM contact_bsuids WHERE app_id = ?1"
    " AND wa_id IN (SELECT value FROM json_each(?2))"
    " UNION SELECT wa_id, bsuid FROM contact_bsuids WHERE app_id = ?1"
    " AND bsuid IN (SELECT value FROM json_each(?3))",
    "SELECT wa_id, bsuid FROM contact_bsuids WHERE app_id = $1"
    " AND (wa_id = ANY($2::varchar[]) OR bsuid = ANY($3::varchar[]))",
)
_DELETE = _raw.Sql(
    "DELETE FROM contact_bsuids WHERE app_id = ? AND wa_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM contact_bsuids WHERE app_id = $1 AND wa_id = ANY($2::varchar[])",
)


async def _matching(conn: AsyncConnection, links: Sequence[Link]) -> dict[str, list[Any]]:
    """Per app, the stored (wa_id, bsuid) rows that share a number or a BSUID with `links`."""
    by_app: dict[str, list[Link]] = {}
    for x in links:
        by_app.setdefault(x.app_id, []).append(x)
    as_list = _raw.kind(conn) == _raw.ASYNCPG
    found: dict[str, list[Any]] = {}
    for app_id, pairs in by_app.items():
        wa_ids = [x.wa_id for x in pairs]
        bsuids = [x.bsuid for x in pairs]
        params: list[Any] = [app_id, wa_ids, bsuids]
        if not as_list:
            params = [app_id, _raw.json_list(wa_ids), _raw.json_list(bsuids)]
        found[app_id] = list(await _raw.fetch(conn, _MATCHING, params))
    return found


async def numbers_of(
    conn: AsyncConnection, bsuids: Sequence[str], *, app_id: str
) -> dict[str, str]:
    """The WhatsApp number each of `bsuids` names for `app_id` (unknown ones are left out)."""
    if not bsuids:
        return {}
    rows = await conn.execute(
        sa.select(contact_bsuids.c.bsuid, contact_bsuids.c.wa_id).where(
            contact_bsuids.c.app_id == app_id, contact_bsuids.c.bsuid.in_(sorted(set(bsuids)))
        )
    )
    return {bsuid: wa_id for bsuid, wa_id in rows}


async def of_number(conn: AsyncConnection, wa_id: str, *, app_id: str) -> str | None:
    """The BSUID `app_id`'s webhooks last gave for `wa_id`, if any."""
    query = sa.select(contact_bsuids.c.bsuid).where(
        contact_bsuids.c.app_id == app_id, contact_bsuids.c.wa_id == wa_id
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def of_contacts(
    conn: AsyncConnection, contacts: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The BSUID of each (app id, wa_id) pair that has one, keyed by the pair."""
    by_app: dict[str, set[str]] = {}
    for app_id, wa_id in contacts:
        by_app.setdefault(app_id, set()).add(wa_id)
    found: dict[tuple[str, str], str] = {}
    for app_id, wa_ids in by_app.items():
        rows = await conn.execute(
            sa.select(contact_bsuids.c.wa_id, contact_bsuids.c.bsuid).where(
                contact_bsuids.c.app_id == app_id, contact_bsuids.c.wa_id.in_(sorted(wa_ids))
            )
        )
        found.update({(app_id, wa_id): bsuid for wa_id, bsuid in rows})
    return found
