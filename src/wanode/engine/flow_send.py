"""What a flow's send node does when it runs: check and queue its message as the Messaging API
would (the same codes for the same mistakes), decide the send policies at once so that the node
can take `onPolicyFail`, and record which run and node sent it.

Split from the runner (`wanode.engine.flows`), which calls `FlowSender.send` for each send
intent of a step, in the step's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from wanode.codes import SYNC
from wanode.codes import webex as codes
from wanode.config import Settings
from wanode.engine.policies import send_verdict
from wanode.engine.reports import Failure, record
from wanode.engine.submit import Destination, Submission, Unresolved, submit
from wanode.engine.templates import definition_of
from wanode.flows import SendIntent, SendResult
from wanode.guard import PrivateAddress, refuse_private
from wanode.messages import Envelope, InvalidMessage, OutboundMessage, bind_webex, parse_wa
from wanode.messages.links import LinkOptions, normalise_base, parse_options
from wanode.messages.links import check as check_links
from wanode.notify.urls import InvalidNotifyUrl, validate_notify_url
from wanode.policy import check_bsuid, normalise_number, parse_expiry
from wanode.policy.notify_auth import PROFILE_ID
from wanode.store import apps as app_queries
from wanode.store import contacts as contact_queries
from wanode.store import flows as store
from wanode.store import templates as registry


class FlowSender:
    """Queues the messages of send nodes; `wake` is told when the dispatcher has work."""

    def __init__(self, settings: Settings, *, wake: Callable[..., None]) -> None:
        self._settings = settings
        self._wake = wake

    async def send(
        self, conn: AsyncConnection, run_id: str, app_id: str, intent: SendIntent, now: float
    ) -> SendResult:
        """Queue `intent`'s message from run `run_id`, in `conn`'s transaction (the step's):
        its result as the node sees it, sent or refused with the Messaging API's code."""
        sent_at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        sent_at = sent_at.replace("+00:00", "Z")
        request = intent.request
        app = await app_queries.get_app(conn, app_id)
        if app is None:
            return _refused(intent, SYNC.INVALID_APP_ID, "the flow's app no longer exists", "app")
        try:
            message = await self._message(conn, app, request)
            destination = _destination(request, require_e164=app["require_e164"])
            notify_url = await self._notify_url(request.get("notify_url"))
            notify_auth_id = _blank_none(request.get("notify_auth_id"))
            if notify_auth_id is not None and not PROFILE_ID.fullmatch(notify_auth_id):
                raise InvalidMessage(
                    "notify_auth_id", "must be 1-64 letters, digits, '-', '_' or '.'"
                )
            expires_at = parse_expiry(_blank_none(request.get("expiry")), now)
            links = self._links(request, message)
        except InvalidMessage as exc:
            return _refused(intent, exc.code, exc.reason, exc.field, sent_at=sent_at)
        submission = Submission(
            app_id=app["id"],
            message=message,
            destinations=(destination,),
            correlationid=_blank_none(request.get("correlation_id")),
            callback_data=_blank_none(request.get("callback_data")),
            notify_url=notify_url,
            notify_auth_id=notify_auth_id,
            expires_at=expires_at,
            links=links,
        )
        [outcome] = await submit(conn, submission, now=now, app=app)
        if isinstance(outcome, Unresolved):
            return _refused(intent, SYNC.INVALID_VALUE, outcome.reason, "destination")
        refusal = await self._policy(conn, app, outcome, now)
        if refusal is not None:
            # The message stays on record, failed, as a refused API send would be.
            return SendResult(
                intent.node,
                code=refusal.code,
                description=refusal.description,
                sent_at=sent_at,
                policy=True,
                transid=outcome["transid"],
                wa_id=outcome["wa_id"],
            )
        await store.record_send(conn, transid=outcome["transid"], run_id=run_id, node=intent.node)
        self._wake("dispatch")
        return SendResult(
            intent.node,
            transid=outcome["transid"],
            wa_id=outcome["wa_id"],
            sent_at=sent_at,
        )

    async def _message(
        self, conn: AsyncConnection, app: dict[str, Any], request: Mapping[str, Any]
    ) -> OutboundMessage:
        key_hash = _blank_none(request.get("identity_key_hash"))
        if "wa" in request:
            wa = dict(request["wa"])
            if key_hash is not None:
                wa["identity_key_hash"] = key_hash
            try:
                return parse_wa(wa)
            except InvalidMessage as exc:
                raise exc.under("wa") from exc
        template = request["template"]
        template_id = str(template.get("template", "")).strip()
        row = await registry.get_for_waba(conn, app["waba_id"], template_id)
        if row is None or row["synced_at"] is None:
            raise InvalidMessage(
                "template.template",
                f"{template_id!r} is not a template of app {app['id']}",
                code=SYNC.INVALID_TEMPLATE_ID,
            )
        try:
            return bind_webex(
                definition_of(row),
                template.get("parameters"),
                envelope=Envelope(identity_key_hash=key_hash),
            )
        except InvalidMessage as exc:
            raise exc.under("template") from exc

    def _links(self, request: Mapping[str, Any], message: OutboundMessage) -> LinkOptions | None:
        """The node's `options` (link shortening), checked as the Messaging API checks them."""
        if request.get("options") is None:
            return None
        allowed = [normalise_base(d) for d in self._settings.short_link_domain_list()]
        try:
            options = parse_options(request["options"], allowed=allowed)
        except InvalidMessage as exc:
            raise exc.under("options") from exc
        try:
            check_links(message, options)
        except InvalidMessage as exc:
            raise exc.under("wa" if "wa" in request else "template") from exc
        return options

    async def _notify_url(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = validate_notify_url(str(value))
        except InvalidNotifyUrl as exc:
            raise InvalidMessage("notify_url", exc.message) from exc
        try:
            await refuse_private(url, allow_private=self._settings.private_urls_allowed())
        except PrivateAddress as exc:
            raise InvalidMessage("notify_url", str(exc)) from exc
        return url

    async def _policy(
        self, conn: AsyncConnection, app: dict[str, Any], row: dict[str, Any], now: float
    ) -> codes.DrCode | None:
        """The send policies, decided when the node runs so the node can take onPolicyFail
        at once; the dispatcher decides them again when it sends (an expiry may pass)."""
        contact = await contact_queries.get(conn, row["wa_id"])
        verdict = send_verdict(
            row, contact, app, now=now, enforce_window=self._settings.policy_window
        )
        if verdict.allowed:
            return None
        assert verdict.dr is not None
        meta = verdict.meta.code if verdict.meta is not None else None
        await record(
            conn,
            row,
            "failed",
            at=now,
            now=now,
            source="policy",
            failure=Failure(verdict.dr, meta, verdict.dr.description, verdict.reason),
        )
        return verdict.dr


def _destination(request: Mapping[str, Any], *, require_e164: bool) -> Destination:
    given = str(request.get("destination", "")).strip()
    if not given:
        raise InvalidMessage("destination", "resolved to an empty destination")
    if request.get("destination_type") == "customerid":
        return Destination(given, None, None, "customerid", "destination")
    if request.get("destination_type") == "bsuid":
        return Destination(check_bsuid(given), None, None, "bsuid", "destination")
    number = normalise_number(given, require_e164=require_e164, field="destination")
    return Destination(given, number, None, "waid", "destination")


def _refused(
    intent: SendIntent, code: str, description: str, field: str, *, sent_at: str | None = None
) -> SendResult:
    return SendResult(
        intent.node, code=code, description=f"{field}: {description}", field=field, sent_at=sent_at
    )


def _blank_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value
