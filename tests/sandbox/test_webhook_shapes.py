"""Every kind of webhook the sandbox emits (`every_kind.EXPECTED_KINDS`: inbound messages of each
type, statuses sent/delivered/read/failed, identity hashes, template status changes), captured
as a receiver gets them over loopback HTTP, against Meta's OpenAPI document
(shared/reference/meta-openapi) with its own known defects patched and nothing else relaxed.

The document's defects patched here (`DEFECTS`, applied by `test_events_openapi._corrected`,
cloud-api.md §12):

- inbound messages inherit the outbound properties: `IncomingMessage`'s discriminator maps to
  the outbound schemas, and every inbound schema extends the outbound envelope
  (`to`, `recipient_type`) instead of the inbound one (`from`, `id`, `timestamp`);
- `ContextObject` requires `referred_product`, which plain replies lack;
- `Statuses` lacks `played`; `UnsupportedMessage.errors` points at Graph's error object;
  a contact card's phone `type` is limited to HOME and WORK;
- template status updates (`message_template_status_update`) are absent: they are checked
  against the docs' shape (cloud-api.md §3.4) instead.

Three shapes Meta's docs allow (cloud-api.md §4.4) but the document does not are checked
against the docs' shape, not the document: a location without `name` (and `address`), a list
row reply without `description`, a reaction removal without `emoji`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.sandbox import every_kind
from tests.sandbox.bench import NUMBER, TEMPLATE_FIELD, _corrected, webhook_errors
from tests.sandbox.live import LiveSandbox, live_config
from tests.support import openapi

DEFECTS = (
    "inbound messages inherit the outbound properties (IncomingMessage, BaseMessageProperties)",
    "ContextObject requires referred_product",
    "Statuses lacks played",
    "UnsupportedMessage.errors is Graph's ErrorObject",
    "PhoneObject.type allows only HOME and WORK",
    "message_template_status_update is absent",
)

# cloud-api.md §4.4: the three inbound shapes the docs allow and the document refuses.
_DOCS_SHAPES: dict[str, dict[str, Any]] = {
    "location": {
        "type": "object",
        "required": ["latitude", "longitude"],
        "properties": {
            "latitude": {"type": "number"},
            "longitude": {"type": "number"},
            "name": {"type": "string"},
            "address": {"type": "string"},
            "url": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "list_reply": {
        "type": "object",
        "required": ["id", "title"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "reaction": {
        "type": "object",
        "required": ["message_id"],
        "properties": {"message_id": {"type": "string"}, "emoji": {"type": "string"}},
        "additionalProperties": False,
    },
}
# Where the document refuses each (the last segment of the failing path) and for lack of what.
_DOCS_ONLY = {
    "location": {"name", "address"},
    "list_reply": {"description"},
    "reaction": {"emoji"},
}

# cloud-api.md §3.3 and §3.4: the template status webhook's value.
_TEMPLATE_EVENTS = [
    "APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL", "PENDING_DELETION",
    "DELETED", "ARCHIVED", "LIMIT_EXCEEDED", "FLAGGED", "REINSTATED", "LOCKED",
]  # fmt: skip
_REASONS = [
    None, "NONE", "ABUSIVE_CONTENT", "INCORRECT_CATEGORY", "INVALID_FORMAT", "PROMOTIONAL",
    "SCAM", "TAG_CONTENT_MISMATCH", "CATEGORY_NOT_AVAILABLE",
]  # fmt: skip
_TEMPLATE_STATUS_UPDATE = {
    "type": "object",
    "required": ["object", "entry"],
    "properties": {
        "object": {"const": "whatsapp_business_account"},
        "entry": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "time", "changes"],
                "additionalProperties": False,
                "properties": {
                    "id": {"const": NUMBER.waba_id},
                    "time": {"type": "integer"},
                    "changes": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/$defs/change"},
                    },
                },
            },
        },
    },
    "additionalProperties": False,
    "$defs": {
        "change": {
            "type": "object",
            "required": ["field", "value"],
            "additionalProperties": False,
            "properties": {"field": {"const": TEMPLATE_FIELD}, "value": {"$ref": "#/$defs/value"}},
        },
        "value": {
            "type": "object",
            "required": [
                "event",
                "message_template_id",
                "message_template_name",
                "message_template_language",
                "reason",
            ],
            "additionalProperties": False,
            "properties": {
                "event": {"enum": _TEMPLATE_EVENTS},
                "message_template_id": {"type": "integer"},  # a number here, not a string
                "message_template_name": {"type": "string"},
                "message_template_language": {"type": "string"},
                "message_template_category": {"enum": ["MARKETING", "UTILITY", "AUTHENTICATION"]},
                "reason": {"enum": _REASONS},
                "disable_info": {
                    "type": "object",
                    "required": ["disable_date"],
                    "additionalProperties": False,
                    "properties": {"disable_date": {"type": "integer"}},
                },
                "other_info": {
                    "type": "object",
                    "required": ["title", "description"],
                    "additionalProperties": False,
                    "properties": {
                        "title": {
                            "enum": [
                                "FIRST_PAUSE",
                                "SECOND_PAUSE",
                                "RATE_LIMITING_PAUSE",
                                "UNPAUSE",
                                "DISABLED",
                            ]
                        },
                        "description": {"type": "string"},
                    },
                },
                "rejection_info": {
                    "type": "object",
                    "required": ["reason", "recommendation"],
                    "additionalProperties": False,
                    "properties": {
                        "reason": {"type": "string"},
                        "recommendation": {"type": "string"},
                    },
                },
            },
        },
    },
}


async def _ok(request: Request) -> Response:
    await request.body()
    return Response("ok")


@pytest.fixture(scope="module")
def captured() -> Iterator[list[dict[str, Any]]]:
    """Every webhook body the scenario made the sandbox post, signatures checked."""
    hooks = Starlette(routes=[Route("/webhook", _ok, methods=["POST"])])
    with LiveSandbox(live_config(), NUMBER, hooks) as live:
        every_kind.drive(live)
        assert {d.status for d in live.tap.deliveries} == {200}
        yield every_kind.bodies(live.tap.deliveries)


def _strict_validator() -> Any:
    """The document with only its defects patched (no docs-only shape allowed)."""
    resource = Resource.from_contents(
        _corrected(openapi._spec()), default_specification=DRAFT202012
    )
    schema = {"$ref": f"{openapi._URI}#/components/schemas/WebhookPayload"}
    return openapi.WebhookValidator(
        schema, registry=Registry().with_resource(openapi._URI, resource)
    )


def _messages_bodies(captured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in captured if _fields(b) != {TEMPLATE_FIELD}]


def _fields(body: dict[str, Any]) -> set[str]:
    return {change["field"] for entry in body["entry"] for change in entry["changes"]}


def _at(body: Any, path: list[Any]) -> Any:
    for part in path:
        body = body[part]
    return body


def test_the_scenario_makes_the_sandbox_emit_every_kind(captured: list[dict[str, Any]]) -> None:
    found = set().union(
        *(
            every_kind.kinds_of_value(change["field"], change["value"])
            for body in captured
            for entry in body["entry"]
            for change in entry["changes"]
        )
    )
    assert found == every_kind.EXPECTED_KINDS
    assert all(_fields(body) in ({"messages"}, {TEMPLATE_FIELD}) for body in captured)


def test_every_messages_webhook_matches_metas_document_but_the_docs_only_shapes(
    captured: list[dict[str, Any]],
) -> None:
    """Each `messages` body validates against the document with its defects patched, except
    those carrying a docs-only shape; those match the docs' shape, and with the missing keys
    filled in they validate too, so the shape is the document's only complaint."""
    validator = _strict_validator()
    bodies = _messages_bodies(captured)
    assert len(bodies) > 30
    met: set[str] = set()
    for body in bodies:
        errors = [e.message for e in validator.iter_errors(body)]
        docs_only = list(_docs_only_objects(body))
        assert bool(errors) == bool(docs_only), (errors, json.dumps(body))
        for where, found in docs_only:
            jsonschema.validate(found, _DOCS_SHAPES[where])
            met.add(where)
        assert [e.message for e in validator.iter_errors(_completed(body))] == []
        # The test bench's own check (bench.webhook_errors) agrees.
        assert webhook_errors(body) == []
    # Each docs-only shape was met (so the check above was exercised, not idle).
    assert met == set(_DOCS_SHAPES)


def _inbound(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in body["entry"]:
        for change in entry["changes"]:
            yield from change["value"].get("messages", [])


def _docs_only_objects(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The objects of `body` in a shape the docs allow and the document does not."""
    for message in _inbound(body):
        kind = message["type"]
        found = message[kind]
        if kind == "interactive" and found["type"] == "list_reply":
            kind, found = "list_reply", found["list_reply"]
        if kind in _DOCS_ONLY and not _DOCS_ONLY[kind] <= set(found):
            yield kind, found


def _completed(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the keys the document wrongly requires filled in."""
    body = json.loads(json.dumps(body))
    for kind, found in _docs_only_objects(body):
        for key in _DOCS_ONLY[kind]:
            found.setdefault(key, "👍" if key == "emoji" else "filled in")
    return body


def test_the_docs_only_shapes_check_can_fail(captured: list[dict[str, Any]]) -> None:
    location = next(
        m["location"]
        for b in _messages_bodies(captured)
        for e in b["entry"]
        for c in e["changes"]
        for m in c["value"].get("messages", [])
        if m["type"] == "location" and "name" not in m["location"]
    )
    jsonschema.validate(location, _DOCS_SHAPES["location"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**location, "latitude": "48.85"}, _DOCS_SHAPES["location"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "r2"}, _DOCS_SHAPES["list_reply"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"message_id": "wamid.x", "emoji": 1}, _DOCS_SHAPES["reaction"])
    # The strict check reads the document's `interactive` discriminator: a button reply
    # without its title fails it (plain JSON Schema would not look inside the reply).
    tapped = next(
        b
        for b in _messages_bodies(captured)
        if any(m.get("interactive", {}).get("type") == "button_reply" for m in _inbound(b))
    )
    broken = json.loads(json.dumps(tapped))
    del next(_inbound(broken))["interactive"]["button_reply"]["title"]
    assert list(_strict_validator().iter_errors(tapped)) == []
    assert list(_strict_validator().iter_errors(broken)) != []


def test_the_defects_patched_are_real(captured: list[dict[str, Any]]) -> None:
    """Unpatched, the document refuses the sandbox's inbound messages (they lack the outbound
    `to`) and has no schema for template status updates; it takes its statuses as they are."""
    bodies = _messages_bodies(captured)
    inbound = [b for b in bodies if b["entry"][0]["changes"][0]["value"].get("messages")]
    statuses = [b for b in bodies if b["entry"][0]["changes"][0]["value"].get("statuses")]
    templates = [b for b in captured if _fields(b) == {TEMPLATE_FIELD}]
    assert inbound and statuses and templates
    for body in inbound:
        assert openapi.errors(body, "WebhookPayload") != []
    for body in statuses:
        assert openapi.errors(body, "WebhookPayload") == []
    for body in templates:
        assert openapi.errors(body, "WebhookPayload") != []
    assert len(DEFECTS) == 6


def test_template_status_updates_match_the_docs_shape(captured: list[dict[str, Any]]) -> None:
    templates = [b for b in captured if _fields(b) == {TEMPLATE_FIELD}]
    events = [b["entry"][0]["changes"][0]["value"]["event"] for b in templates]
    assert sorted(events) == sorted(["APPROVED", "REJECTED", "PAUSED", "APPROVED", "DISABLED"])
    for body in templates:
        jsonschema.validate(body, _TEMPLATE_STATUS_UPDATE)
        value = body["entry"][0]["changes"][0]["value"]
        assert ("rejection_info" in value) == (value["event"] == "REJECTED")
        assert ("disable_info" in value) == (value["event"] == "DISABLED")
        if value["event"] == "REJECTED":
            assert value["reason"] == value["rejection_info"]["reason"] == "SCAM"
        else:
            assert value["reason"] == "NONE"
    # The schema is not a rubber stamp: a template id as a string (Graph's usual) fails.
    wrong = json.loads(json.dumps(templates[0]))
    wrong["entry"][0]["changes"][0]["value"]["message_template_id"] = "1689556908129832"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, _TEMPLATE_STATUS_UPDATE)
