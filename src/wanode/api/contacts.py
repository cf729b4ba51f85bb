"""`/v1/contacts`: customer profiles, keyed by the caller's customer id (destination type
`customerid`), each linked to one WhatsApp number with its consent and attributes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.api._request import json_object, load_app
from wanode.api._time import iso
from wanode.api.auth import require_key, scope
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.contacts import BadFile, ContactsCsv, check_customer_id, parse_profile
from wanode.engine.contacts_import import import_contacts
from wanode.messages import InvalidMessage
from wanode.policy import WINDOW_SECONDS, window_open
from wanode.store import bsuids as bsuid_queries
from wanode.store import contacts as contact_queries

router = APIRouter(dependencies=[Depends(require_key)])

# A profile belongs to the app whose API key wrote it (or to `appid`, written with an admin
# key), and to no app when an admin key wrote it without one: an app's key sees and changes
# its own app's profiles only, and sends to those and to the profiles of no app.
_APPID = Query(
    default=None, description="The app whose profiles these are (an app's API key: its own)"
)

# `:path` so that a customer id with a slash (sent as %2F) is still one customer id.
_ONE = "/v1/contacts/{customerid:path}"

_PUT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["waid"],
                    "additionalProperties": False,
                    "properties": {
                        "waid": {
                            "type": "string",
                            "description": "WhatsApp number with country code; spaces, dashes "
                            "and a missing + are tolerated",
                        },
                        "name": {"type": "string", "maxLength": 256},
                        "optIn": {
                            "type": "object",
                            "required": ["status"],
                            "additionalProperties": False,
                            "properties": {
                                "status": {"enum": ["opted_in", "opted_out"]},
                                "source": {"type": "string", "maxLength": 200},
                                "at": {
                                    "type": "string",
                                    "format": "date-time",
                                    "description": "when the customer said so (default: now); "
                                    "a statement older than the recorded one changes nothing",
                                },
                            },
                        },
                        "attributes": {
                            "type": "object",
                            "description": "flat values; replaces the stored attributes",
                            "additionalProperties": {
                                "type": ["string", "number", "boolean", "null"]
                            },
                        },
                    },
                },
                "example": {
                    "waid": "+4915112345678",
                    "name": "Ada Lovelace",
                    "optIn": {"status": "opted_in", "source": "web form"},
                    "attributes": {"tier": "gold"},
                },
            }
        },
    }
}


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "Columns customerid and waid, and optionally name, opt_in, "
        "opt_in_source, opt_in_at; any other column is an attribute (see the README's "
        "Customer profiles).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.put(
    _ONE,
    openapi_extra=_PUT_BODY,
    responses={
        409: {"description": "The number or profile is another customer's, or changed meanwhile"}
    },
)
async def put_contact(
    customerid: str,
    request: Request,
    response: Response,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
    appid: str | None = _APPID,
) -> dict[str, Any]:
    """Create (201) or update (200) a profile. Another `waid` moves the customer to that number;
    a number that belongs to another customer id, or a customer id or number of another app's
    profile, is refused with 409."""
    owner = scope(caller, appid)
    if owner is not None:
        await load_app(ctx, owner)  # 7104 for an app that does not exist
    body = json_object(await request.body())
    now = ctx.engine.clock()
    try:
        profile = parse_profile(customerid, body, now=now)
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, "") from exc
    try:
        async with ctx.db.begin() as conn:
            outcome = await contact_queries.upsert_profile(
                conn,
                customer_id=profile.customer_id,
                wa_id=profile.wa_id,
                profile_name=profile.name,
                opt_in=profile.opt_in,
                attributes=None if profile.attributes is None else dict(profile.attributes),
                now=now,
                app_id=owner,
            )
            row = await contact_queries.get_by_customer_id(conn, profile.customer_id)
            bsuids = await bsuids_of(conn, [row] if row else [], owner)
    except contact_queries.ProfileOfAnotherApp as exc:
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"{exc.field} {exc.value} is taken by a customer profile this API key cannot change",
            field=exc.field,
            http_status=409,
        ) from exc
    except contact_queries.WaIdTaken as exc:
        raise ApiError(
            SYNC.INVALID_VALUE,
            f"waid {exc.wa_id} belongs to customer id {exc.customer_id!r}; "
            "delete that profile or move it to another number first",
            field="waid",
            http_status=409,
        ) from exc
    except IntegrityError as exc:
        raise ApiError(
            SYNC.INVALID_VALUE,
            "the contact was changed by another request at the same time; try again",
            field="waid",
            http_status=409,
        ) from exc
    assert row is not None  # written in the same transaction
    response.status_code = 201 if outcome is contact_queries.Outcome.CREATED else 200
    return public(row, now, bsuid=bsuids.get(row["customer_id"]))


@router.get(_ONE, responses={400: {"description": "Not a valid customer id"}})
async def get_contact(
    customerid: str,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
    appid: str | None = Query(
        default=None,
        description="for a profile of no app: the app whose `bsuid` to show (BSUIDs are per app)",
    ),
) -> dict[str, Any]:
    customer_id = _customer_id(customerid)
    owner = scope(caller, appid)
    async with ctx.db.begin() as conn:
        row = await contact_queries.get_by_customer_id(conn, customer_id)
        if row is None or not caller.may_act_on(row["app_id"]):
            raise _unknown(customer_id)
        bsuids = await bsuids_of(conn, [row], owner)
    return public(row, ctx.engine.clock(), bsuid=bsuids.get(customer_id))


@router.delete(_ONE, status_code=204, responses={400: {"description": "Not a valid customer id"}})
async def delete_contact(
    customerid: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> Response:
    """Remove the profile. The number's consent record and WhatsApp facts stay, unlinked."""
    customer_id = _customer_id(customerid)
    async with ctx.db.begin() as conn:
        row = await contact_queries.get_by_customer_id(conn, customer_id)
        deleted = row is not None and caller.may_act_on(row["app_id"])
        if deleted:
            deleted = await contact_queries.delete_by_customer_id(
                conn, customer_id, now=ctx.engine.clock()
            )
    if not deleted:
        raise _unknown(customer_id)
    return Response(status_code=204)


@router.get("/v1/contacts")
async def list_contacts(
    ctx: Context = Depends(context),
    limit: int = Query(default=50, ge=1, le=500),
    after: str | None = Query(default=None, description="the `next` of the previous page"),
    q: str | None = Query(
        default=None,
        max_length=200,
        description="only profiles whose customer id, name or number holds this (any case)",
    ),
    caller: Caller = Depends(require_key),
    appid: str | None = _APPID,
) -> dict[str, Any]:
    """Profiles in customer id order, `limit` at a time; `next` is null on the last page."""
    async with ctx.db.begin() as conn:
        owner = scope(caller, appid)
        rows = await contact_queries.list_profiles(
            conn, limit=limit + 1, after=after, app_id=owner, search=q
        )
        bsuids = await bsuids_of(conn, rows[:limit], owner)
    now = ctx.engine.clock()
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "contacts": [public(row, now, bsuid=bsuids.get(row["customer_id"])) for row in page],
        "next": page[-1]["customer_id"] if more else None,
    }


@router.post("/v1/contacts/import", openapi_extra=_IMPORT_BODY)
async def import_csv(
    request: Request,
    ctx: Context = Depends(context),
    caller: Caller = Depends(require_key),
    appid: str | None = _APPID,
    dry_run: bool = Query(default=False, description="check every row, write nothing"),
    require_e164: bool = Query(
        default=False, description="numbers must be written +E.164 exactly (also the app's own)"
    ),
) -> dict[str, Any]:
    """Import profiles from a contacts CSV (UTF-8), as `wanode contacts import` does: good rows
    are imported even when others fail, each failed row is reported with its fields; the same
    file imported again changes nothing. A file that cannot be read as a whole (no header, a
    required column missing) is refused with 400 and nothing is imported."""
    owner = scope(caller, appid)
    if owner is not None:
        require_e164 = require_e164 or bool((await load_app(ctx, owner))["require_e164"])
    sheet = contacts_csv(await request.body())
    report = await import_contacts(
        ctx.db,
        sheet,
        now=ctx.engine.clock(),
        require_e164=require_e164,
        dry_run=dry_run,
        app_id=owner,
    )
    return report.as_json()


def contacts_csv(raw: bytes) -> ContactsCsv:
    """The body as a contacts CSV, or a 400 saying why it is not one."""
    try:
        return ContactsCsv(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ApiError(
            SYNC.INVALID_VALUE, f"the file is not UTF-8 text ({exc.reason})", field="file"
        ) from exc
    except BadFile as exc:
        raise ApiError(SYNC.INVALID_VALUE, str(exc), field="file") from exc


async def bsuids_of(
    conn: AsyncConnection, rows: list[dict[str, Any]], app_id: str | None
) -> dict[str, str]:
    """Each profile's business-scoped user id, by customer id: the one its own app's webhooks
    named, or `app_id`'s for a profile of no app (a BSUID belongs to one business)."""
    pairs: dict[str, tuple[str, str]] = {}
    for row in rows:
        owner = row["app_id"] or app_id
        if owner is not None and row["wa_id"]:
            pairs[row["customer_id"]] = (owner, row["wa_id"])
    found = await bsuid_queries.of_contacts(conn, pairs.values())
    return {key: found[pair] for key, pair in pairs.items() if pair in found}


def public(row: dict[str, Any], now: float, *, bsuid: str | None = None) -> dict[str, Any]:
    last = row["last_inbound_at"]
    return {
        "customerid": row["customer_id"],
        "appid": row["app_id"],
        "waid": row["wa_id"],
        # Null until a webhook of the profile's app names it (see the README's BSUIDs).
        "bsuid": bsuid,
        "name": row["profile_name"],
        "optIn": {
            "status": row["opt_in_status"],
            "source": row["opt_in_source"],
            "optedInAt": iso(row["opted_in_at"]),
            "optedOutAt": iso(row["opted_out_at"]),
        },
        "lastInboundAt": iso(last),
        "windowOpenUntil": None if last is None else iso(last + WINDOW_SECONDS),
        "windowOpen": window_open(last, now),
        "identityKeyHash": row["identity_key_hash"],
        "attributes": row["attributes"] or {},
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }


def _customer_id(raw: str) -> str:
    try:
        return check_customer_id(raw)
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, "") from exc


def _unknown(customer_id: str) -> ApiError:
    return ApiError(
        SYNC.NOT_FOUND, f"no contact with customer id {customer_id!r}", field="customerid"
    )
