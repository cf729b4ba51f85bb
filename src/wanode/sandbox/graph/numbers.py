"""Graph's phone-number endpoints (Meta's OpenAPI v23: Phone Numbers, Business Profiles,
Settings, Block Users, Registration) and the answer to every path and method Graph does not
serve.

- `GET /{phone-number-id}`: the number; `fields` picks among Meta's field names (those the
  sandbox has no value for are left out, as Graph leaves out empty fields; an unknown name is
  100). Without `fields`: id, display_phone_number, verified_name, quality_rating.
- `GET /{waba-id}/phone_numbers`: the WABA's numbers, same fields, with Graph's cursors.
- `GET|POST /{phone-number-id}/whatsapp_business_profile`: the profile, as `{"data": [{...}]}`
  with the profile's fields flat in the item, as Meta answers (its OpenAPI document nests them
  under `business_profile`). An update takes Meta's fields and limits; unknown keys are 100.
- `GET|POST /{phone-number-id}/settings`: `user_identity_change` switches the identity-change
  check (see `wanode.sandbox.state.number_state`); the body may say
  `enable_identity_key_check` (Meta's docs, pywa) or `enabled` (the OpenAPI document). Other
  settings (calling, storage) are shown, not changed.
- `GET|POST|DELETE /{phone-number-id}/block_users`: block and unblock users by phone number;
  the business receives nothing from a blocked user. EMULATOR CHOICE: Meta lets a business
  block only users who wrote in the last 24 hours; the sandbox lets it block anyone.
- `POST /{phone-number-id}/register`: a 6-digit `pin`; answers `{"success": true}`.
- Anything else: the bearer token is judged first (190), then 100 "Unsupported <method>
  request", type GraphMethodException, as Graph answers an unknown path or method.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.http import params
from wanode.sandbox.http.paging import page
from wanode.sandbox.rules import fields as read
from wanode.sandbox.rules.errors import MetaError, as_invalid_parameter
from wanode.sandbox.rules.validation import normalise_wa_id
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.webhooks.payloads import parse_version

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

NUMBER_DEFAULT_FIELDS = ("id", "display_phone_number", "verified_name", "quality_rating")
# Field names Graph knows on a phone number (WhatsAppBusinessPhoneNumber); the sandbox fills
# those it has a value for.
NUMBER_FIELDS = frozenset(
    {
        *NUMBER_DEFAULT_FIELDS,
        "account_mode",
        "certificate",
        "code_verification_status",
        "conversational_automation",
        "country_code",
        "country_dial_code",
        "eligibility_for_api_business_global_search",
        "health_status",
        "is_on_biz_app",
        "is_official_business_account",
        "is_pin_enabled",
        "is_preverified_number",
        "last_onboarded_time",
        "messaging_limit_tier",
        "name_status",
        "new_certificate",
        "new_name_status",
        "platform_type",
        "quality_score",
        "search_visibility",
        "status",
        "throughput",
        "webhook_configuration",
        "whatsapp_business_manager_messaging_limit",
    }
)
PROFILE_FIELDS = (
    "about",
    "address",
    "description",
    "email",
    "profile_picture_url",
    "websites",
    "vertical",
)
VERTICALS = frozenset(
    (
        "OTHER",
        "AUTO",
        "BEAUTY",
        "APPAREL",
        "EDU",
        "ENTERTAIN",
        "EVENT_PLAN",
        "FINANCE",
        "GROCERY",
        "GOVT",
        "HOTEL",
        "HEALTH",
        "NONPROFIT",
        "PROF_SERVICES",
        "RETAIL",
        "TRAVEL",
        "RESTAURANT",
        "ALCOHOL",
        "ONLINE_GAMBLING",
        "PHYSICAL_GAMBLING",
        "OTC_DRUGS",
    )
)
_PROFILE_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PIN = re.compile(r"\d{6}")
PAGE_SIZE = 100


class GraphRoutes:
    def __init__(self, sandbox: Platform) -> None:
        self.sandbox = sandbox

    def phone_number(self, request: Request, number: BusinessNumber) -> Response:
        """`GET /{version}/{phone-number-id}` (dispatched by the app's `/{version}/{id}`)."""
        params.version(request)
        self.sandbox.authorise(number.phone_number_id, request.headers.get("authorization"))
        if request.method != "GET":
            raise _unsupported(request, number.phone_number_id)
        return JSONResponse(self._details(number, _number_fields(request)))

    async def waba_numbers(self, request: Request) -> Response:
        """`GET /{version}/{waba-id}/phone_numbers`."""
        params.version(request)
        waba_id = self.sandbox.authorise_waba(
            request.path_params["waba_id"], request.headers.get("authorization")
        )
        wanted = _number_fields(request)
        numbers = [n for n in self.sandbox.numbers() if n.waba_id == waba_id]
        query = request.query_params
        answer = page(
            numbers,
            lambda n: n.phone_number_id,
            limit=query.get("limit"),
            after=query.get("after"),
            before=query.get("before"),
            max_size=PAGE_SIZE,
        )
        answer["data"] = [self._details(number, wanted) for number in answer["data"]]
        return JSONResponse(answer)

    async def profile(self, request: Request) -> Response:
        """`GET /{version}/{phone-number-id}/whatsapp_business_profile`."""
        number = self._number(request)
        wanted = _listed(request.query_params.get("fields"), PROFILE_FIELDS, "BusinessProfile")
        stored = self.sandbox.number_states.of(number.phone_number_id).profile
        item = {key: stored[key] for key in wanted if key in stored}
        return JSONResponse({"data": [{**item, "messaging_product": "whatsapp"}]})

    async def update_profile(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/whatsapp_business_profile`."""
        number = self._number(request)
        changes = _profile_changes(await params.graph_json(request))
        profile = self.sandbox.number_states.of(number.phone_number_id).profile
        for key, value in changes.items():
            if value in ("", []):
                profile.pop(key, None)  # Graph clears a field set to empty
            else:
                profile[key] = value
        return JSONResponse({"success": True})

    async def settings(self, request: Request) -> Response:
        """`GET /{version}/{phone-number-id}/settings`."""
        number = self._number(request)
        state = self.sandbox.number_states.of(number.phone_number_id)
        return JSONResponse(
            {
                # Calling is not simulated: shown off, as on a number that never enabled it.
                "calling": {
                    "status": "disabled",
                    "call_icon_visibility": "hidden",
                    "ip_addresses": {"default": []},
                    "callback_permission_status": "disabled",
                },
                "storage_configuration": {"status": "default"},
                "user_identity_change": {"enable_identity_key_check": state.identity_check},
            }
        )

    async def update_settings(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/settings`: one feature setting per request."""
        number = self._number(request)
        with as_invalid_parameter():
            body = read.obj(
                await params.graph_json(request),
                "",
                ("user_identity_change", "calling", "storage_configuration", "payload_encryption"),
            )
            if len(body) != 1:
                raise MetaError(100, "exactly one feature setting may be changed per request")
            if "user_identity_change" not in body:
                raise MetaError(
                    100, f"{next(iter(body))}: the sandbox changes only user_identity_change"
                )
            change = read.obj(
                body["user_identity_change"],
                "user_identity_change",
                ("enable_identity_key_check", "enabled"),
            )
            if len(change) != 1:
                raise MetaError(
                    100, "user_identity_change: give enable_identity_key_check (true or false)"
                )
            [(key, value)] = change.items()
            enabled = read.boolean(value, f"user_identity_change.{key}")
        self.sandbox.number_states.of(number.phone_number_id).identity_check = enabled
        return JSONResponse({"success": True})

    async def blocked(self, request: Request) -> Response:
        """`GET /{version}/{phone-number-id}/block_users`: the blocked users, oldest first."""
        number = self._number(request)
        typed = self.sandbox.number_states.of(number.phone_number_id).blocked
        blocked = list(typed)
        query = request.query_params
        answer = page(
            blocked,
            lambda wa_id: wa_id,
            limit=query.get("limit"),
            after=query.get("after"),
            before=query.get("before"),
            max_size=PAGE_SIZE,
        )
        # `input` (the number as the business typed it) is not in Meta's document; pywa
        # reads it from every blocked user.
        answer["data"] = [
            {"messaging_product": "whatsapp", "wa_id": wa_id, "input": typed[wa_id]}
            for wa_id in answer["data"]
        ]
        return JSONResponse(answer)

    async def block(self, request: Request) -> Response:
        """`POST|DELETE /{version}/{phone-number-id}/block_users`."""
        number = self._number(request)
        users = _block_users(await params.graph_json(request))
        blocked = self.sandbox.number_states.of(number.phone_number_id).blocked
        done = []
        for typed, wa_id in users:
            if request.method == "POST":
                blocked.setdefault(wa_id, typed)
            else:
                blocked.pop(wa_id, None)
            done.append({"input": typed, "wa_id": wa_id})
        key = "added_users" if request.method == "POST" else "removed_users"
        return JSONResponse({"messaging_product": "whatsapp", "block_users": {key: done}})

    async def register(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/register`."""
        number = self._number(request)
        with as_invalid_parameter():
            body = read.obj(
                await params.graph_json(request),
                "",
                ("messaging_product", "pin", "data_localization_region", "backup"),
                required=("messaging_product", "pin"),
            )
            read.choice(body["messaging_product"], "messaging_product", ("whatsapp",))
            pin = read.string(body["pin"], "pin")
            if not _PIN.fullmatch(pin):
                raise MetaError(100, "pin: must be 6 digits")
            region = read.optional_string(body.get("data_localization_region"), "region")
            if region is not None and not re.fullmatch(r"[A-Z]{2}", region):
                raise MetaError(100, "data_localization_region: a 2-letter country code")
        state = self.sandbox.number_states.of(number.phone_number_id)
        if state.pin is not None and state.pin != pin:
            raise MetaError(100, "pin: does not match the two-step verification PIN")
        state.pin, state.registered = pin, True
        return JSONResponse({"success": True})

    async def unknown(self, request: Request) -> Response:
        """Any path or method Graph does not serve: 190 for a bad token, else 100."""
        parts = request.url.path.strip("/").split("/")
        if parse_version(parts[0]) is not None:
            self.sandbox.bearer_token(request.headers.get("authorization"))
            parts = parts[1:]
        raise _unsupported(request, parts[0] if parts and parts[0] else "")

    def _number(self, request: Request) -> BusinessNumber:
        params.version(request)
        return self.sandbox.authorise(
            request.path_params["phone_number_id"], request.headers.get("authorization")
        )

    def _details(self, number: BusinessNumber, wanted: tuple[str, ...]) -> dict[str, Any]:
        state = self.sandbox.number_states.of(number.phone_number_id)
        display = number.display_phone_number
        every: dict[str, Any] = {
            "id": number.phone_number_id,
            "display_phone_number": f"+{display}" if display.isdigit() else display,
            "verified_name": state.verified_name,
            "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED",
            "name_status": "APPROVED",
            "platform_type": "CLOUD_API" if state.registered else "NOT_APPLICABLE",
            "status": "CONNECTED" if state.registered else "PENDING",
            "account_mode": "LIVE",
            "throughput": {"level": "STANDARD"},
            "is_official_business_account": False,
            "is_pin_enabled": state.pin is not None,
            "is_on_biz_app": False,
            "is_preverified_number": False,
            "search_visibility": "NON_VISIBLE",
        }
        return {key: every[key] for key in ("id", *wanted) if key in every}


def _number_fields(request: Request) -> tuple[str, ...]:
    value = request.query_params.get("fields")
    if value is None:
        return NUMBER_DEFAULT_FIELDS
    return _listed(value, tuple(sorted(NUMBER_FIELDS)), "WhatsAppBusinessPhoneNumber")


def _listed(value: str | None, known: tuple[str, ...], node: str) -> tuple[str, ...]:
    """The names a `fields` parameter asks for (all of `known` without one)."""
    if value is None:
        return known
    wanted = tuple(part.strip() for part in value.split(",") if part.strip())
    for name in wanted:
        if name not in known:
            raise MetaError(
                100, f"fields: Tried accessing nonexisting field ({name}) on node type ({node})"
            )
    return wanted


def _profile_changes(payload: Any) -> dict[str, Any]:
    keys = ("messaging_product", *PROFILE_FIELDS, "profile_picture_handle")
    with as_invalid_parameter():
        body = read.obj(payload, "", keys, required=("messaging_product",))
        read.choice(body.pop("messaging_product"), "messaging_product", ("whatsapp",))
        if "profile_picture_url" in body:
            raise MetaError(100, "profile_picture_url: set the picture with profile_picture_handle")
        changes: dict[str, Any] = {}
        for key, limit in _PROFILE_LIMITS.items():
            if key in body:
                changes[key] = read.optional_string(body[key], key, max_len=limit)
        email = changes.get("email")
        if email and not _EMAIL.fullmatch(email):
            raise MetaError(100, f"email: {email!r} is not an email address")
        if "vertical" in body:
            vertical = read.optional_string(body["vertical"], "vertical")
            if vertical and vertical not in VERTICALS:
                raise MetaError(100, f"vertical: {vertical!r} is not one of Meta's industries")
            changes["vertical"] = vertical
        if "websites" in body:
            sites = read.array(body["websites"], "websites", max_items=2)
            changes["websites"] = [
                read.http_url(site, f"websites[{i}]") for i, site in enumerate(sites)
            ]
            if any(len(site) > 256 for site in changes["websites"]):
                raise MetaError(100, "websites: each at most 256 characters")
        if "profile_picture_handle" in body:
            read.string(body["profile_picture_handle"], "profile_picture_handle")
    return changes


def _block_users(payload: Any) -> list[tuple[str, str]]:
    """(as typed, wa_id) of each user of a block or unblock request."""
    with as_invalid_parameter():
        body = read.obj(
            payload,
            "",
            ("messaging_product", "block_users"),
            required=("messaging_product", "block_users"),
        )
        read.choice(body["messaging_product"], "messaging_product", ("whatsapp",))
        items = read.array(body["block_users"], "block_users", min_items=1, max_items=1000)
        users = []
        for i, item in enumerate(items):
            path = f"block_users[{i}]"
            user = read.obj(item, path, ("user", "user_id"))
            if "user" not in user:
                raise MetaError(100, f"{path}.user: the sandbox blocks users by phone number")
            typed = read.string(user["user"], f"{path}.user")
            try:
                users.append((typed, normalise_wa_id(typed)))
            except MetaError as exc:
                raise MetaError(100, f"{path}.user: {typed!r} is not a phone number") from exc
    return users


def _unsupported(request: Request, object_id: str) -> MetaError:
    return MetaError(
        100,
        f"Unsupported {request.method.lower()} request. Object with ID {object_id!r} does not "
        "exist, cannot be loaded due to missing permissions, or does not support this operation",
        error_type="GraphMethodException",
    )
