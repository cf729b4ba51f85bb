"""Parsing webhook bodies (recorded-shape fixtures in tests/fixtures/webhooks) into events."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wanode.events import (
    ButtonReply,
    InboundMessage,
    ListReply,
    Location,
    MalformedWebhook,
    Media,
    MessageKind,
    Order,
    OrderItem,
    OtherChange,
    Reaction,
    StatusUpdate,
    SystemNotice,
    ValueErrors,
    WebhookError,
    parse_webhook,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
PHONE_NUMBER_ID = "106540352242922"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def only(name: str) -> Any:
    [event] = parse_webhook(load(name))
    return event


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def message_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["entry"][0]["changes"][0]["value"]["messages"][0]


# -- inbound messages ----------------------------------------------------------------------


def test_text() -> None:
    event = only("text")
    assert event == InboundMessage(
        phone_number_id=PHONE_NUMBER_ID,
        wamid="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        from_wa_id="16505551234",
        timestamp=at(1749416383),
        kind=MessageKind.TEXT,
        profile_name="Sheena Nelson",
        text="Does it come in another color?",
    )
    assert event.kind == "text"
    assert event.raw["text"] == {"body": "Does it come in another color?"}


def test_quoted_reply_carries_context_and_identity_hash() -> None:
    event = only("text_quoted_reply")
    assert event.context_wamid == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
    assert event.identity_key_hash == "DF2lS5v2W6x="
    assert event.text == "Yes, tomorrow at 10 works"


def test_text_with_referred_product_and_ad_referral() -> None:
    assert only("text_referred_product").context_wamid == (
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA"
    )
    referral = only("text_ctwa_referral")
    assert referral.text == "Hello! Can I get more info on this?"
    assert referral.raw["referral"]["source_type"] == "ad"


def test_image() -> None:
    event = only("image")
    assert event.kind is MessageKind.IMAGE
    assert event.media == Media(
        id="1003383421387256",
        mime_type="image/jpeg",
        sha256="SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
        caption="Taj Mahal",
        filename=None,
        url=None,
        voice=None,
        animated=None,
    )
    assert event.text is None


def test_voice_note_audio_with_url() -> None:
    media = only("audio_voice").media
    assert media.voice is True
    assert media.mime_type == "audio/ogg; codecs=opus"
    assert media.url.startswith("https://lookaside.fbsbx.com/")


def test_video_document_sticker() -> None:
    assert only("video").media.caption == "Unboxing"
    document = only("document")
    assert (document.kind, document.media.filename, document.media.caption) == (
        MessageKind.DOCUMENT,
        "receipt.pdf",
        "Invoice for May",
    )
    sticker = only("sticker")
    assert (sticker.kind, sticker.media.animated, sticker.media.mime_type) == (
        MessageKind.STICKER,
        False,
        "image/webp",
    )


def test_location() -> None:
    assert only("location").location == Location(
        latitude=37.44221496582,
        longitude=-122.16165924072,
        name="Philz Coffee",
        address="101 Forest Ave, Palo Alto, CA 94301",
        url="https://philzcoffee.com/",
    )


def test_contacts_are_kept_raw() -> None:
    [card] = only("contacts").contacts
    assert card["name"]["formatted_name"] == "Lucía Gómez"
    assert card["phones"][0]["wa_id"] == "19835552319"


def test_interactive_button_reply() -> None:
    event = only("interactive_button_reply")
    assert event.kind is MessageKind.INTERACTIVE
    assert event.button_reply == ButtonReply(id="cancel-button", title="Cancel")
    assert event.list_reply is None
    assert event.context_wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"


def test_interactive_list_reply() -> None:
    event = only("interactive_list_reply")
    assert event.list_reply == ListReply(
        id="priority_express", title="Priority Mail Express", description="Next Day to 2 Days"
    )
    assert event.button_reply is None


def test_interactive_of_an_unknown_reply_type_keeps_kind_and_raw() -> None:
    body = load("interactive_button_reply")
    message_of(body)["interactive"] = {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}
    [event] = parse_webhook(body)
    assert (event.kind, event.button_reply, event.list_reply) == (
        MessageKind.INTERACTIVE,
        None,
        None,
    )
    assert event.raw["interactive"]["type"] == "nfm_reply"


def test_template_quick_reply_button() -> None:
    event = only("button")
    assert (event.kind, event.button_payload, event.button_text) == (
        MessageKind.BUTTON,
        "Unsubscribe",
        "Unsubscribe",
    )
    assert event.context_wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA"


def test_reaction_and_its_removal() -> None:
    reacted = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA"
    assert only("reaction").reaction == Reaction(message_id=reacted, emoji="👍")
    body = load("reaction")
    del message_of(body)["reaction"]["emoji"]
    [removed] = parse_webhook(body)
    assert removed.reaction == Reaction(message_id=reacted, emoji=None)


def test_order() -> None:
    assert only("order").order == Order(
        catalog_id="194836987003835",
        text="",
        items=(
            OrderItem("di9ozbzfi4", 2, 30.0, "USD"),
            OrderItem("nqryix03ez", 1, 25.0, "USD"),
        ),
    )


def test_system_number_change_has_no_profile() -> None:
    event = only("system")
    assert event.kind is MessageKind.SYSTEM
    assert event.system == SystemNotice(
        type="user_changed_number",
        body="User Sheena Nelson changed from 16505551234 to 12195555358",
        new_wa_id="12195555358",
    )
    assert event.profile_name is None


@pytest.mark.parametrize(("name", "kind"), [("unsupported", "unsupported"), ("unknown", "unknown")])
def test_unsupported_and_unknown_carry_the_error(name: str, kind: str) -> None:
    event = only(name)
    assert event.kind == kind
    assert event.errors == (
        WebhookError(
            code=131051,
            title="Message type unknown",
            message="Message type unknown",
            details="Message type is currently not supported.",
        ),
    )


def test_a_type_nobody_knows_yet_parses_as_unknown() -> None:
    body = load("text")
    message = message_of(body)
    del message["text"]
    message["type"] = "poll_vote"
    message["poll_vote"] = {"option": 2}
    [event] = parse_webhook(body)
    assert event.kind is MessageKind.UNKNOWN
    assert event.raw["type"] == "poll_vote"


def test_sender_is_matched_by_wa_id_in_a_batch() -> None:
    body = load("text")
    value = body["entry"][0]["changes"][0]["value"]
    second = {**value["messages"][0], "from": "447700900123", "id": "wamid.second"}
    value["messages"].append(second)
    value["contacts"].append(
        {"profile": {"name": "Ada"}, "wa_id": "447700900123", "identity_key_hash": "h2"}
    )
    first, other = parse_webhook(body)
    assert (first.profile_name, first.identity_key_hash) == ("Sheena Nelson", None)
    assert (other.profile_name, other.identity_key_hash) == ("Ada", "h2")


def test_events_are_frozen_and_detached_from_the_body() -> None:
    body = load("text")
    [event] = parse_webhook(body)
    message_of(body)["text"]["body"] = "changed"
    assert event.raw["text"]["body"] == "Does it come in another color?"
    with pytest.raises(AttributeError):
        event.text = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.raw["type"] = "x"  # type: ignore[index]


def test_integer_timestamps_are_accepted() -> None:
    body = load("text")
    message_of(body)["timestamp"] = 1749416383
    [event] = parse_webhook(body)
    assert event.timestamp == at(1749416383)
    assert event.timestamp.tzinfo is UTC


# -- statuses ------------------------------------------------------------------------------


def test_sent_status() -> None:
    event = only("status_sent")
    assert event == StatusUpdate(
        phone_number_id=PHONE_NUMBER_ID,
        wamid="wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA",
        status="sent",
        timestamp=at(1750271100),
        recipient_id="16505551234",
        identity_key_hash="DF2lS5v2W6x=",
        biz_opaque_callback_data="order-42",
        errors=(),
        raw={},
    )
    assert event.raw["pricing"]["category"] == "utility"


@pytest.mark.parametrize(
    ("name", "status", "seconds"),
    [
        ("status_delivered", "delivered", 1750271103),
        ("status_read", "read", 1750271160),
        ("status_played", "played", 1750271190),
    ],
)
def test_progress_statuses(name: str, status: str, seconds: int) -> None:
    event = only(name)
    assert (event.status, event.timestamp, event.errors) == (status, at(seconds), ())


def test_failed_status_carries_meta_error() -> None:
    event = only("status_failed")
    assert event.status == "failed"
    [error] = event.errors
    assert (error.code, error.title, error.message) == (
        131047,
        "Re-engagement message",
        "Re-engagement message",
    )
    assert error.details.startswith("Message failed to send because more than 24 hours")


def test_identity_change_failure() -> None:
    event = only("status_failed_identity")
    assert [e.code for e in event.errors] == [137000]
    assert event.identity_key_hash == "Rk9wTUVFc2g="


def test_unknown_status_string_is_kept() -> None:
    body = load("status_read")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    [event] = parse_webhook(body)
    assert event.status == "deleted"


def test_batch_of_statuses_in_payload_order() -> None:
    events = parse_webhook(load("statuses_batch"))
    assert all(isinstance(e, StatusUpdate) for e in events)
    assert [(e.recipient_id, e.status) for e in events] == [
        ("16505551234", "sent"),
        ("16505551234", "delivered"),
        ("16505551234", "read"),
        ("16505551235", "sent"),
        ("16505551236", "failed"),
        ("16505551235", "delivered"),  # second entry of the batch
    ]
    assert [e.errors[0].code for e in events if e.errors] == [131026]


# -- other changes -------------------------------------------------------------------------


def test_value_level_errors() -> None:
    [event] = parse_webhook(
        json.loads((FIXTURES / "outside_openapi/value_errors.json").read_text())
    )
    assert isinstance(event, ValueErrors)
    assert event.phone_number_id == PHONE_NUMBER_ID
    assert [e.code for e in event.errors] == [130429]


def test_other_fields_are_kept() -> None:
    body = json.loads((FIXTURES / "outside_openapi/template_status_update.json").read_text())
    # Template status updates have an event of their own (tests/unit/test_template_events.py).
    body["entry"][0]["changes"][0]["field"] = "message_template_quality_update"
    [event] = parse_webhook(body)
    assert isinstance(event, OtherChange)
    assert event.field == "message_template_quality_update"
    assert event.value["event"] == "APPROVED"


def test_unknown_keys_are_ignored() -> None:
    body = load("text")
    body["new_top_level"] = {"x": 1}
    body["entry"][0]["time"] = 1750000000
    message_of(body)["user_id"] = "US.13491208655302741918"
    message_of(body)["username"] = "@sheena"
    [event] = parse_webhook(body)
    assert event.text == "Does it come in another color?"


# -- malformed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body: expected an object, got list"),
        ({}, "entry: expected an array, got missing"),
        ({"entry": {}}, "entry: expected an array, got dict"),
        ({"entry": ["x"]}, "entry[0]: expected an object, got str"),
        ({"entry": [{}]}, "entry[0].changes: expected an array, got missing"),
        (
            {"entry": [{"changes": [{"field": "messages"}]}]},
            "entry[0].changes[0].value: expected an object",
        ),
        ({"entry": [{"changes": [{"value": {}}]}]}, "entry[0].changes[0].field: expected a string"),
    ],
)
def test_malformed_envelope(body: object, reason: str) -> None:
    with pytest.raises(MalformedWebhook, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_webhook(body)


def test_malformed_is_a_value_error() -> None:
    assert issubclass(MalformedWebhook, ValueError)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda m: m.pop("id"), "messages[0].id"),
        (lambda m: m.update(timestamp="yesterday"), "messages[0].timestamp"),
        (lambda m: m.update(timestamp=True), "messages[0].timestamp"),
        (lambda m: m.update(text={"body": 7}), "messages[0].text.body"),
        (lambda m: m.pop("text"), "messages[0].text"),
    ],
)
def test_malformed_message_names_its_path(mutate: Any, path: str) -> None:
    body = load("text")
    mutate(message_of(body))
    with pytest.raises(MalformedWebhook) as raised:
        parse_webhook(body)
    assert f"entry[0].changes[0].value.{path}:" in str(raised.value)


def test_one_malformed_entry_fails_the_whole_batch() -> None:
    body = load("statuses_batch")
    # (Not `recipient_id`: WhatsApp withholds it from users who hide their number.)
    del body["entry"][1]["changes"][0]["value"]["statuses"][0]["id"]
    with pytest.raises(MalformedWebhook, match=r"entry\[1\].*statuses\[0\]\.id"):
        parse_webhook(body)


def test_timestamp_out_of_range() -> None:
    body = load("status_read")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = "999999999999"
    with pytest.raises(MalformedWebhook, match="timestamp"):
        parse_webhook(body)


# -- never anything but MalformedWebhook ---------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
FIXTURE_BODIES = [json.loads(p.read_text()) for p in sorted(FIXTURES.rglob("*.json"))]


def _parse_or_malformed(body: object) -> None:
    with contextlib.suppress(MalformedWebhook):
        parse_webhook(body)


@given(JSON)
def test_arbitrary_json_only_raises_malformed(body: object) -> None:
    _parse_or_malformed(body)


@given(st.sampled_from(FIXTURE_BODIES), st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_fixtures_with_one_value_replaced_only_raise_malformed(
    body: dict[str, Any], data: st.DataObject
) -> None:
    """Arbitrary JSON rarely reaches the inner parsers; breaking one spot of a real body does."""
    body = copy.deepcopy(body)
    node: Any = body
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, dict | list) or data.draw(st.booleans()):
            node[key] = data.draw(JSON)
            break
        node = child
    _parse_or_malformed(body)
