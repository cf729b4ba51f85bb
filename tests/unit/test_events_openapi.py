"""Every webhook fixture is a body Meta's OpenAPI document accepts, once its known defects are
corrected (shared/reference/cloud-api.md §12), and nothing else is relaxed."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from tests.support import openapi

from wanode.events import OtherChange, TemplateStatusUpdate, ValueErrors, parse_webhook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
COVERED = sorted(FIXTURES.glob("*.json"))
# Real payloads the document has no schema for: other `field`s (§12, first bullet) and a
# `messages` value carrying only value-level `errors` (§4.3; no `Change.value` variant).
UNCOVERED = sorted((FIXTURES / "outside_openapi").glob("*.json"))

# §12: "The IncomingMessage discriminator maps to the outbound schemas (TextMessage rather than
# TextMessage_2, and so on)". The inbound schemas it should name:
_INBOUND = {
    "text": "TextMessage_2",
    "reaction": "ReactionMessage_1",
    "audio": "AudioMessage_1",
    "document": "DocumentMessage_1",
    "image": "ImageMessage_1",
    "sticker": "StickerMessage_1",
    "video": "VideoMessage_1",
    "location": "LocationMessage_1",
    "contacts": "ContactSharingMessage",
    "unsupported": "UnsupportedMessage",
    "unknown": "UnsupportedMessage",
    "button": "ButtonMessage",
    "interactive": "InteractiveMessageReply",
    "order": "OrderMessage",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _corrected(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    incoming = schemas["IncomingMessage"]
    incoming["discriminator"]["mapping"] = {t: _ref(n)["$ref"] for t, n in _INBOUND.items()}
    incoming["oneOf"] = [_ref(n) for n in dict.fromkeys(_INBOUND.values())]
    # Same §12 defect one level down: every inbound schema (and SystemMessage) extends the
    # outbound envelope `BaseMessageProperties` (to, recipient_type, messaging_product)
    # instead of the inbound one, `BaseMessageProperties_1` (from, id, timestamp).
    for name in {*_INBOUND.values(), "SystemMessage"}:
        schemas[name]["allOf"][0] = _ref("BaseMessageProperties_1")
    # §12: "ContextObject marks referred_product required. Real replies often lack it."
    schemas["ContextObject"]["required"].remove("referred_product")
    # §12: "Statuses lacks ... played" (a voice note's first play, §4.5).
    schemas["Statuses"]["properties"]["status"]["enum"].append("played")
    # Two more defects, not yet in §12, each proven by the document's own example failing:
    # - "Unsupported Message": its `errors` are webhook errors (code, title, message,
    #   error_data), but the schema points at the Graph API `ErrorObject`, which requires `type`.
    unsupported = schemas["UnsupportedMessage"]["allOf"][1]["properties"]["errors"]
    unsupported["items"] = _ref("StatusError")
    # - "Contact Sharing Message": a phone `type` is free text (§1.2: "e.g. CELL, MAIN, IPHONE,
    #   HOME, WORK (inbound webhooks show MOBILE)"), the schema allows only HOME and WORK.
    del schemas["PhoneObject"]["properties"]["type"]["enum"]
    return spec


@functools.cache
def _validator() -> Any:
    uri = openapi._URI  # its discriminator handling resolves mapping targets against this URI
    resource = Resource.from_contents(
        _corrected(openapi._spec()), default_specification=DRAFT202012
    )
    schema = {"$ref": f"{uri}#/components/schemas/WebhookPayload"}
    return openapi._OpenAPIValidator(schema, registry=Registry().with_resource(uri, resource))


def _errors(body: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator().iter_errors(body)
    ]


@pytest.mark.parametrize("path", COVERED, ids=lambda p: p.stem)
def test_fixture_matches_meta_openapi(path: Path) -> None:
    body = json.loads(path.read_text())
    assert _errors(body) == []
    assert parse_webhook(body)


@pytest.mark.parametrize("path", UNCOVERED, ids=lambda p: p.stem)
def test_uncovered_fixture_is_really_outside_the_document(path: Path) -> None:
    """Guards the exclusion: a fixture the document could check must not hide in here."""
    body = json.loads(path.read_text())
    assert openapi.errors(body, "WebhookPayload") != []
    events = parse_webhook(body)
    assert events and all(
        isinstance(e, OtherChange | ValueErrors | TemplateStatusUpdate) for e in events
    )


def test_status_fixtures_need_no_correction() -> None:
    """Only the inbound schemas are corrected: statuses validate against the document as is."""
    for name in (
        "status_sent",
        "status_delivered",
        "status_read",
        "status_failed",
        "statuses_batch",
    ):
        body = json.loads((FIXTURES / f"{name}.json").read_text())
        assert openapi.errors(body, "WebhookPayload") == [], name


def test_corrections_still_reject_a_wrong_inbound_message() -> None:
    body = json.loads((FIXTURES / "text.json").read_text())
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["from"]
    message["text"] = {"body": 42}
    messages = [leaf.message for e in _validator().iter_errors(body) for leaf in _leaves(e)]
    assert "'from' is a required property" in messages
    assert "42 is not of type 'string'" in messages


def _leaves(error: Any) -> list[Any]:
    return [leaf for child in error.context for leaf in _leaves(child)] or [error]
