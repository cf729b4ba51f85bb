"""Accepting a send request: one queued outbox row per destination, in one transaction.

Both API shapes (the Webex Messaging API and the native `POST /v1/messages`) parse their JSON
into a `Submission` and call `submit`; what they answer is built from the rows it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.engine.clicks import new_code
from wanode.engine.group_commit import GroupCommit
from wanode.messages import OutboundMessage, TemplateMessage, render_payload
from wanode.messages.links import LIFETIME_SECONDS, LinkOptions, ShortLink, short_url, shorten
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import bsuids as bsuid_queries
from wanode.store import contacts as contact_queries
from wanode.store import messages as outbox
from wanode.store import short_links as short_link_queries
from wanode.store.ids import uuid7


@dataclass(frozen=True)
class Destination:
    """A number (`wa_id` already normalised), a customer id or a business-scoped user id
    (`bsuid`, already checked); the last two are resolved to the contact's number when queued,
    so the policies look at the contact whichever id addressed it."""

    given: str  # as the caller wrote it, kept for the message's record
    wa_id: str | None = None
    correlationid: str | None = None
    destination_type: str = "waid"
    field: str = "destination"


@dataclass(frozen=True)
class Unresolved:
    """A customer id with no WhatsApp contact, or a BSUID no webhook of the app has named:
    that destination is refused, the others go."""

    destination: Destination
    reason: str


@dataclass(frozen=True)
class Submission:
    app_id: str
    message: OutboundMessage
    destinations: tuple[Destination, ...]
    correlationid: str | None = None
    callback_data: str | None = None
    notify_url: str | None = None
    # `notifyurlAuthId`: the auth profile the DRs are posted with (wanode.notify.auth).
    notify_auth_id: str | None = None
    expires_at: float | None = None
    # The request's `options`: each destination's copy gets short links of its own.
    links: LinkOptions | None = None


class UnknownApp(LookupError):
    pass


async def submit(
    conn: AsyncConnection,
    submission: Submission,
    *,
    now: float,
    app: dict[str, Any] | None = None,
) -> list[dict[str, Any] | Unresolved]:
    """Queue the submission's messages; one outcome per destination, in order: the row written,
    or why the destination could not be resolved. `app` is the submission's app when the
    caller has just read it; otherwise it is read here."""
    app, resolved = await _lookups(conn, submission, app)
    outcomes, rows, links = _rows(submission, app, resolved)
    await outbox.enqueue(conn, rows, now)
    await short_link_queries.create_many(conn, _timed(links, now))
    return outcomes


class Submitter:
    """`submit` with group commit, for the API: the rows of requests that arrive while a
    transaction is being written are written together in the next one.

    On SQLite every transaction waits its turn, and a request per transaction spent most of
    its time waiting; one transaction for many requests costs about as much as one for one.
    A batch that fails is retried request by request, so one bad request fails alone.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        # Urgent: the request answers only once its messages are stored, so on SQLite its
        # transaction goes before the engine's waiting ones (a campaign's backlog does not
        # make the API wait).
        self._writes: GroupCommit[_Accepted] = GroupCommit(
            db, _enqueue_all, name="wanode-submit-writer", urgent=True
        )

    async def submit(
        self, submission: Submission, *, now: float, app: dict[str, Any] | None = None
    ) -> list[dict[str, Any] | Unresolved]:
        if _needs_lookups(submission, app):
            async with self._db.begin(urgent=True) as conn:
                app, resolved = await _lookups(conn, submission, app)
        else:
            assert app is not None
            resolved = {}
        outcomes, rows, links = _rows(submission, app, resolved)
        if rows:
            # A request cancelled while waiting leaves its rows to be written (and dispatched)
            # all the same, like one cancelled after its commit.
            await self._writes.add((rows, now, links))
        return outcomes


def _needs_lookups(submission: Submission, app: dict[str, Any] | None) -> bool:
    return (
        app is None
        or app["id"] != submission.app_id
        or any(d.destination_type != "waid" for d in submission.destinations)
    )


async def _lookups(
    conn: AsyncConnection, submission: Submission, app: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    """The submission's app (read unless given), and the WhatsApp id of each of its customer
    ids and BSUIDs, keyed by (destination type, id)."""
    if app is None or app["id"] != submission.app_id:
        app = await app_queries.get_app(conn, submission.app_id)
    if app is None:
        raise UnknownApp(submission.app_id)
    customer_ids = [d.given for d in submission.destinations if d.destination_type == "customerid"]
    bsuids = [d.given for d in submission.destinations if d.destination_type == "bsuid"]
    resolved: dict[tuple[str, str], str] = {}
    if customer_ids:
        # An app sends to its own customer profiles and to those of no app, never another's.
        found = await contact_queries.resolve_customer_ids(conn, customer_ids, app_id=app["id"])
        resolved.update({("customerid", key): wa_id for key, wa_id in found.items()})
    if bsuids:
        # A BSUID is scoped to the business: only the app's own webhooks vouch for it.
        found = await bsuid_queries.numbers_of(conn, bsuids, app_id=app["id"])
        resolved.update({("bsuid", key): wa_id for key, wa_id in found.items()})
    return app, resolved


def _rows(
    submission: Submission, app: dict[str, Any], resolved: dict[tuple[str, str], str]
) -> tuple[list[dict[str, Any] | Unresolved], list[dict[str, Any]], list[dict[str, Any]]]:
    """One outcome per destination, the outbox rows among them, and their short links (but
    for their times, see `_timed`)."""
    message = submission.message
    # The opt-in policy decides on a template's category, and the record keeps its id.
    template = message.definition if isinstance(message, TemplateMessage) else None
    outcomes: list[dict[str, Any] | Unresolved] = []
    rows: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for dest in submission.destinations:
        kind = dest.destination_type
        wa_id = dest.wa_id if kind == "waid" else resolved.get((kind, dest.given))
        if wa_id is None:
            outcomes.append(Unresolved(dest, _unresolved(dest, app["id"])))
            continue
        transid = uuid7()
        sent = message
        if submission.links is not None:
            # The API checked the rewritten message's limits (codes are all the same length).
            sent, shortened = shorten(message, submission.links, new_code)
            links.extend(_link_row(submission.links, transid, app["id"], s) for s in shortened)
        row = {
            "transid": transid,
            "app_id": app["id"],
            "wa_id": wa_id,
            "destination": dest.given,
            "destination_type": dest.destination_type,
            "kind": message.kind,
            "template_id": template.id if template is not None else None,
            "template_category": template.category.value if template is not None else None,
            "payload": (
                render_payload(sent, dest.given, by_bsuid=True)
                if kind == "bsuid"
                else render_payload(sent, wa_id)
            ),
            "correlationid": dest.correlationid or submission.correlationid,
            "callback_data": submission.callback_data,
            "notify_url": submission.notify_url or app["notify_url"],
            "notify_auth_id": submission.notify_auth_id,
            "identity_key_hash": message.envelope.identity_key_hash,
            "expires_at": submission.expires_at,
        }
        rows.append(row)
        outcomes.append(row)
    return outcomes, rows, links


def _unresolved(dest: Destination, app_id: str) -> str:
    if dest.destination_type == "bsuid":
        return (
            f"business-scoped user id {dest.given!r} is not known to app {app_id}: "
            "no webhook of the app has named it"
        )
    return f"customer id {dest.given!r} has no WhatsApp contact profile"


# What the API accepted: outbox rows, when, and their short links.
_Accepted = tuple[list[dict[str, Any]], float, list[dict[str, Any]]]


async def _enqueue_all(conn: AsyncConnection, accepted: list[_Accepted]) -> None:
    """Several requests' messages and short links, in the one transaction."""
    links = [link for _, at, links in accepted for link in _timed(links, at)]
    await outbox.enqueue_all(conn, [(rows, at) for rows, at, _ in accepted], last=not links)
    if links:
        await short_link_queries.create_many(conn, links)


def _link_row(options: LinkOptions, transid: str, app_id: str, link: ShortLink) -> dict[str, Any]:
    return {
        "code": link.code,
        "transid": transid,
        "app_id": app_id,
        "url": link.url,
        "short_url": short_url(options.base, link.code),
        "track": options.track_clicks,
        "tag1": options.tag1,
        "tag2": options.tag2,
    }


def _timed(links: list[dict[str, Any]], at: float) -> list[dict[str, Any]]:
    """Short links created at `at`, living the reference's 180 days."""
    return [{**link, "created_at": at, "expires_at": at + LIFETIME_SECONDS} for link in links]
