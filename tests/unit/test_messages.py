"""Outbound message values: parsing of both request shapes, errors, rendering to Cloud API JSON.

Shared samples and helpers live here. Every length and count limit in both shapes is in
test_messages_limits.py; the walk of every kind and option through Meta's OpenAPI document is
in test_messages_openapi.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.support.openapi import errors

from wanode.messages import (
    MEDIA_RULES,
    Audio,
    Document,
    Envelope,
    Image,
    InvalidMessage,
    ListMessage,
    Location,
    ReplyButton,
    ReplyButtons,
    Row,
    Section,
    Text,
    mark_read,
    parse_native,
    parse_wa,
    render_payload,
    typing_indicator,
)

TO = "+4915112345678"


def meta_errors(payload: dict[str, Any]) -> list[str]:
    """Violations of Meta's OpenAPI "Message" schema, minus two omissions of that document.

    Both strip a field only where Meta documents it and the v23 document (cloud-api.md §12
    lists its known defects) fails to declare it; nothing else is relaxed.
    """
    payload = copy.deepcopy(payload)
    # cloud-api.md §1.1 / §6: `recipient_identity_key_hash` and `biz_opaque_callback_data` are
    # envelope fields of every message, but the document's message schemas are closed without
    # them (the §12 entry "Statuses lacks biz_opaque_callback_data, recipient_identity_key_hash"
    # is the same omission on the webhook side). Their values are checked here instead.
    for name in ("recipient_identity_key_hash", "biz_opaque_callback_data"):
        if name in payload:
            assert isinstance(payload.pop(name), str)
    # cloud-api.md §1.2: a contact phone `type` is free text ("e.g. CELL, MAIN, IPHONE, HOME,
    # WORK"); the document's PhoneObject enumerates only HOME and WORK.
    for card in payload.get("contacts", []):
        for phone in card.get("phones", []):
            if phone.get("type") in ("CELL", "MAIN", "IPHONE"):
                del phone["type"]
    return errors(payload, "Message")


def rejected(parse: Any, obj: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as info:
        parse(obj)
    return info.value


def set_at(obj: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A deep copy of `obj` with the value at `path` replaced."""
    obj = copy.deepcopy(obj)
    target = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return obj


def native(wa: dict[str, Any]) -> dict[str, Any]:
    """The Cloud API body (cloud-api.md §1) carrying the same message as a Webex `wa` object.

    The shapes differ only in these renames: a media `url` is a `link` (in a reply header too),
    the Cloud API takes no `mimeType`, `list` and `reply` are `interactive` objects of type
    `list` and `button`, and `identity_key_hash` is `recipient_identity_key_hash`.
    """

    def media(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        renamed = {"link" if key == "url" else key: item for key, item in value.items()}
        return {key: item for key, item in renamed.items() if key != "mimeType"}

    body = copy.deepcopy(wa)
    if "identity_key_hash" in body:
        body["recipient_identity_key_hash"] = body.pop("identity_key_hash")
    kind = body.get("type")
    if kind in MEDIA_RULES:
        body[kind] = media(body[kind])
    elif kind in ("list", "reply"):
        content = body.pop(kind)
        header = content.get("header") if isinstance(content, dict) else None
        if isinstance(header, dict) and header.get("type") in MEDIA_RULES:
            header[header["type"]] = media(header.get(header["type"]))
        interactive_type = "list" if kind == "list" else "button"
        body["type"] = "interactive"
        body["interactive"] = {"type": interactive_type, **content}
    return body


def row(n: int) -> dict[str, Any]:
    return {"id": f"row-{n}", "title": f"Row {n}", "description": f"About row {n}"}


# --- Webex `wa` samples ---------------------------------------------------------------------

LIST_WA = {
    "type": "list",
    "list": {
        "header": {"type": "text", "text": "Our menu"},
        "body": {"text": "What would you like?"},
        "footer": {"text": "Prices include VAT"},
        "action": {
            "button": "See options",
            "sections": [
                {"title": "Starters", "rows": [row(1), row(2)]},
                {"title": "Mains", "rows": [row(3)]},
                {"title": "Desserts", "rows": [row(4)]},
            ],
        },
    },
}


def sections(counts: list[int]) -> list[dict[str, Any]]:
    """Titled sections holding `counts` rows, row ids unique across them."""
    numbers = iter(range(100))
    return [
        {"title": f"S{i}", "rows": [row(next(numbers)) for _ in range(count)]}
        for i, count in enumerate(counts)
    ]


SECTIONS = ("list", "action", "sections")
BUTTONS = ("reply", "action", "buttons")


def reply_button(n: int) -> dict[str, Any]:
    return {"type": "reply", "reply": {"id": f"btn-{n}", "title": f"Option {n}"}}


REPLY_WA = {
    "type": "reply",
    "reply": {
        "header": {"type": "text", "text": "Your appointment"},
        "body": {"text": "Confirm your slot?"},
        "footer": {"text": "Reply within a day"},
        "action": {"buttons": [reply_button(1), reply_button(2), reply_button(3)]},
    },
}

CONTACT = {
    "name": {
        "formatted_name": "Dr Jane Q Doe Jr",
        "first_name": "Jane",
        "middle_name": "Q",
        "last_name": "Doe",
        "prefix": "Dr",
        "suffix": "Jr",
    },
    "addresses": [
        {
            "street": "1 Main St",
            "city": "Berlin",
            "state": "BE",
            "zip": "10115",
            "country": "Germany",
            "country_code": "DE",
            "type": "WORK",
        }
    ],
    "birthday": "1990-02-28",
    "emails": [{"email": "jane@example.org", "type": "HOME"}],
    "org": {"company": "Acme", "department": "Sales", "title": "Manager"},
    "phones": [
        {"phone": "+49 151 1234 5678", "type": "CELL", "wa_id": "4915112345678"},
        {"phone": "+49 30 1234", "type": "WORK"},
    ],
    "urls": [{"url": "https://example.org/jane", "type": "WORK"}],
}
CONTACTS_WA = {"type": "contacts", "contacts": [CONTACT]}

SAMPLES: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": {"body": "Hello *world*", "preview_url": True}},
    "image link + caption": {
        "type": "image",
        "image": {"url": "https://cdn.example.org/a/cat.jpg", "caption": "A cat"},
    },
    "image id + mime": {"type": "image", "image": {"id": "1234567890", "mimeType": "image/png"}},
    "audio link": {"type": "audio", "audio": {"url": "https://cdn.example.org/a.mp3"}},
    "audio voice note": {
        "type": "audio",
        "audio": {
            "url": "https://cdn.example.org/note.ogg",
            "mimeType": "audio/ogg; codecs=opus",
            "voice": True,
        },
    },
    "audio id": {"type": "audio", "audio": {"id": "998877"}},
    "video link + caption": {
        "type": "video",
        "video": {"url": "http://cdn.example.org/clip.MP4?v=2", "caption": "Watch"},
    },
    "video id": {"type": "video", "video": {"id": "55", "mimeType": "video/3gpp"}},
    "document link + caption + filename": {
        "type": "document",
        "document": {
            "url": "https://cdn.example.org/invoice.pdf",
            "mimeType": "application/pdf",
            "caption": "Your invoice",
            "filename": "invoice-42.pdf",
        },
    },
    "document id + filename": {
        "type": "document",
        "document": {"id": "77", "filename": "report.xlsx"},
    },
    "sticker link": {"type": "sticker", "sticker": {"url": "https://cdn.example.org/s.webp"}},
    "sticker id": {"type": "sticker", "sticker": {"id": "31"}},
    "location named": {
        "type": "location",
        "location": {
            "latitude": 52.5163,
            "longitude": "13.3777",
            "name": "Brandenburger Tor",
            "address": "Pariser Platz, 10117 Berlin",
        },
    },
    "location bare": {"type": "location", "location": {"latitude": -33, "longitude": 151.2}},
    "contacts": CONTACTS_WA,
    "contacts minimal x5": {
        "type": "contacts",
        "contacts": [{"name": {"formatted_name": f"P {n}", "first_name": "P"}} for n in range(5)],
    },
    "list multi-section": LIST_WA,
    "list one section, no header/footer": {
        "type": "list",
        "list": {
            "body": {"text": "Pick a store"},
            "action": {"button": "Stores", "sections": [{"title": "Near you", "rows": [row(1)]}]},
        },
    },
    "reply text header": REPLY_WA,
    "reply no header, one button": {
        "type": "reply",
        "reply": {"body": {"text": "OK?"}, "action": {"buttons": [reply_button(1)]}},
    },
    "reply image header by url": set_at(
        REPLY_WA, ("reply", "header"), {"type": "image", "image": {"url": "https://x.org/h.png"}}
    ),
    "reply video header by id": set_at(
        REPLY_WA, ("reply", "header"), {"type": "video", "video": {"id": "4242"}}
    ),
    "reply document header with filename": set_at(
        REPLY_WA,
        ("reply", "header"),
        {"type": "document", "document": {"url": "https://x.org/t.docx", "filename": "T&C.docx"}},
    ),
    "text in context with identity hash": {
        "type": "text",
        "text": {"body": "Re: your order"},
        "context": {"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYz"},
        "identity_key_hash": "DF2lS5v2W6x=",
    },
    "list with identity hash": {**LIST_WA, "identity_key_hash": "DF2lS5v2W6x="},
}


def test_kinds() -> None:
    kinds = {name: parse_wa(wa).kind for name, wa in SAMPLES.items()}
    assert kinds["text"] == "text"
    assert kinds["audio id"] == "audio"
    assert kinds["sticker id"] == "sticker"
    assert kinds["location bare"] == "location"
    assert kinds["contacts"] == "contacts"
    assert kinds["list multi-section"] == "list"
    assert kinds["reply text header"] == "reply"


# --- exact renders --------------------------------------------------------------------------


def test_text_render() -> None:
    assert render_payload(Text("hi"), TO) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "hi", "preview_url": False},
    }


def test_media_render_by_link_and_by_id() -> None:
    document = parse_wa(SAMPLES["document link + caption + filename"])
    assert document.render() == {
        "type": "document",
        "document": {
            "link": "https://cdn.example.org/invoice.pdf",
            "caption": "Your invoice",
            "filename": "invoice-42.pdf",
        },
    }
    assert parse_wa(SAMPLES["sticker id"]).render() == {"type": "sticker", "sticker": {"id": "31"}}
    voice = parse_wa(SAMPLES["audio voice note"]).render()
    assert voice == {
        "type": "audio",
        "audio": {"link": "https://cdn.example.org/note.ogg", "voice": True},
    }


def test_location_renders_coordinates_as_decimal_strings() -> None:
    rendered = parse_wa(SAMPLES["location named"]).render()
    assert rendered == {
        "type": "location",
        "location": {
            "latitude": "52.5163",
            "longitude": "13.3777",
            "name": "Brandenburger Tor",
            "address": "Pariser Platz, 10117 Berlin",
        },
    }
    assert Location(latitude=1e-07, longitude=-180).render()["location"] == {
        "latitude": "0.0000001",
        "longitude": "-180.0",
    }


def test_contacts_render_keeps_every_field() -> None:
    assert parse_wa(CONTACTS_WA).render() == {"type": "contacts", "contacts": [CONTACT]}


def test_list_render() -> None:
    rendered = parse_wa(LIST_WA).render()
    assert rendered == {
        "type": "interactive",
        "interactive": {"type": "list", **copy.deepcopy(LIST_WA["list"])},
    }


def test_reply_buttons_render() -> None:
    assert parse_wa(SAMPLES["reply document header with filename"]).render() == {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {
                "type": "document",
                "document": {"link": "https://x.org/t.docx", "filename": "T&C.docx"},
            },
            "body": {"text": "Confirm your slot?"},
            "footer": {"text": "Reply within a day"},
            "action": {"buttons": [reply_button(1), reply_button(2), reply_button(3)]},
        },
    }


def test_envelope_render_and_overrides() -> None:
    message = parse_wa(SAMPLES["text in context with identity hash"])
    assert message.envelope == Envelope(
        context_message_id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYz",
        identity_key_hash="DF2lS5v2W6x=",
    )
    payload = render_payload(message, TO)
    assert payload["context"] == {"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYz"}
    assert payload["recipient_identity_key_hash"] == "DF2lS5v2W6x="
    assert "biz_opaque_callback_data" not in payload
    overridden = render_payload(
        message,
        TO,
        context_message_id="wamid.other",
        identity_key_hash="new",
        biz_opaque_callback_data="x",
    )
    assert overridden["context"] == {"message_id": "wamid.other"}
    assert overridden["recipient_identity_key_hash"] == "new"
    assert overridden["biz_opaque_callback_data"] == "x"


def test_render_payload_needs_a_recipient() -> None:
    error = rejected(lambda to: render_payload(Text("hi"), to), " ")
    assert (error.field, error.code) == ("to", "7003")


def test_mark_read_and_typing_indicator() -> None:
    assert mark_read("wamid.1") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.1",
    }
    assert typing_indicator("wamid.1") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.1",
        "typing_indicator": {"type": "text"},
    }
    assert rejected(mark_read, "").field == "message_id"
    assert rejected(typing_indicator, 5).field == "message_id"


# --- values (lengths and counts: test_messages_limits.py) -----------------------------------


@pytest.mark.parametrize("value", [True, None, "north", "nan", "1e3", "١٢", float("inf"), [], {}])
def test_coordinates_must_be_finite_numbers(value: Any) -> None:
    error = rejected(parse_wa, set_at(SAMPLES["location bare"], ("location", "latitude"), value))
    assert error.field == "location.latitude"
    assert error.code == ("7003" if value is None else "7004")


def test_country_code_is_two_letters() -> None:
    path = ("contacts", 0, "addresses", 0, "country_code")
    parse_wa(set_at(CONTACTS_WA, path, "us"))
    for bad in ("USA", "U", "1A"):
        error = rejected(parse_wa, set_at(CONTACTS_WA, path, bad))
        assert (error.code, error.field) == ("7004", "contacts[0].addresses[0].country_code")


def test_list_button_of_24_is_ours_while_meta_documents_20() -> None:
    # The spec allows 24 characters; Meta's document says 20. We accept 24 (see the
    # interactive module); Meta's schema flags exactly the action object.
    message = parse_wa(set_at(LIST_WA, ("list", "action", "button"), "x" * 24))
    assert [e.split(":")[0] for e in meta_errors(render_payload(message, TO))] == [
        "interactive/action"
    ]


# --- media rules ----------------------------------------------------------------------------


def test_media_rules_table() -> None:
    mb = 1024 * 1024
    assert {kind: rule.max_bytes for kind, rule in MEDIA_RULES.items()} == {
        "image": 5 * mb,
        "audio": 16 * mb,
        "video": 16 * mb,
        "document": 100 * mb,
        "sticker": 100 * 1024,
    }
    assert MEDIA_RULES["sticker"].max_animated_bytes == 500 * 1024
    assert MEDIA_RULES["sticker"].dimensions == (512, 512)
    assert set(MEDIA_RULES["image"].formats) == {"image/jpeg", "image/png"}
    assert set(MEDIA_RULES["audio"].formats) == {
        "audio/aac",
        "audio/amr",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg; codecs=opus",
    }
    assert set(MEDIA_RULES["video"].formats) == {"video/mp4", "video/3gpp"}
    assert len(MEDIA_RULES["document"].formats) == 8
    assert set(MEDIA_RULES["sticker"].formats) == {"image/webp"}
    assert MEDIA_RULES["document"].mime_type_for("docx") == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )


@pytest.mark.parametrize(
    ("kind", "mime", "extension"),
    [
        (kind, mime, ext)
        for kind, rule in MEDIA_RULES.items()
        for mime, exts in rule.formats.items()
        for ext in exts
    ],
)
def test_every_allowed_format_is_accepted_and_derived(kind: str, mime: str, extension: str) -> None:
    url = f"https://cdn.example.org/files/media.{extension}"
    assert parse_wa({"type": kind, kind: {"url": url, "mimeType": mime}}).mime_type == mime
    assert parse_wa({"type": kind, kind: {"url": url}}).mime_type == mime
    assert parse_wa({"type": kind, kind: {"id": "1", "mimeType": mime}}).mime_type == mime


def test_mime_types_are_compared_case_and_spacing_insensitively() -> None:
    audio = parse_wa(
        {
            "type": "audio",
            "audio": {"url": "https://x.org/a.OGG", "mimeType": 'Audio/OGG;codecs="opus"'},
        }
    )
    assert audio.mime_type == "audio/ogg; codecs=opus"


@pytest.mark.parametrize(
    ("kind", "url", "mime"),
    [
        ("image", "https://x.org/a.gif", "image/gif"),
        ("image", "https://x.org/a.webp", "image/webp"),
        ("audio", "https://x.org/a.ogg", "audio/ogg"),
        ("audio", "https://x.org/a.ogg", "audio/ogg; codecs=vorbis"),
        ("video", "https://x.org/a.mp4", "video/quicktime"),
        ("document", "https://x.org/a.pdf", "application/zip"),
        ("sticker", "https://x.org/a.webp", "image/png"),
        ("image", "https://x.org/a.jpg", "image/png"),
        ("document", "https://x.org/a.doc", "application/pdf"),
        ("video", "https://x.org/a.3gp", "video/mp4"),
    ],
)
def test_unsupported_or_mismatched_mime_is_7861(kind: str, url: str, mime: str) -> None:
    error = rejected(parse_wa, {"type": kind, kind: {"url": url, "mimeType": mime}})
    assert (error.code, error.field) == ("7861", f"{kind}.mimeType")
    error = rejected(parse_wa, {"type": kind, kind: {"id": "1", "mimeType": "text/html"}})
    assert (error.code, error.field) == ("7861", f"{kind}.mimeType")


def test_bare_ogg_names_the_opus_requirement() -> None:
    error = rejected(parse_wa, {"type": "audio", "audio": {"id": "9", "mimeType": "audio/ogg"}})
    assert error.code == "7861"
    assert "codecs=opus" in error.reason


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x.org/a.png",
        "x.org/a.png",
        "https:///a.png",
        "https://x.org/a.png ",
        "https://x.org/a",
        "https://x.org/a.png/",
        "https://x.org/a.gif",
        "https://x.org/png",
        "https://x.org/download?file=a.png",
        "https://[::1/a.png",
        "",
        42,
    ],
)
def test_media_urls_must_be_http_and_end_in_the_kinds_extension(url: Any) -> None:
    error = rejected(parse_wa, {"type": "image", "image": {"url": url}})
    assert error.field == "image.url"
    assert error.code == ("7003" if url == "" else "7004")


def test_media_url_may_carry_a_query() -> None:
    image = parse_wa({"type": "image", "image": {"url": "https://x.org/a.png?cache=123#frag"}})
    assert isinstance(image, Image)
    assert image.mime_type == "image/png"


def test_media_needs_exactly_one_of_url_and_id() -> None:
    error = rejected(parse_wa, {"type": "image", "image": {"caption": "hi"}})
    assert (error.code, error.field) == ("7003", "image.url")
    error = rejected(parse_native, {"type": "image", "image": {"caption": "hi"}})
    assert (error.code, error.field) == ("7003", "image.link")
    both = {"url": "https://x.org/a.png", "id": "1"}
    error = rejected(parse_wa, {"type": "image", "image": both})
    assert (error.code, error.field) == ("7004", "image.id")


def test_voice_notes_must_be_ogg_opus() -> None:
    error = rejected(
        parse_wa, {"type": "audio", "audio": {"url": "https://x.org/a.mp3", "voice": True}}
    )
    assert (error.code, error.field) == ("7004", "audio.voice")
    assert parse_wa({"type": "audio", "audio": {"url": "https://x.org/a.ogg", "voice": True}})
    # An uploaded id without a declared type was checked at upload.
    assert Audio(id="5", voice=True).render() == {
        "type": "audio",
        "audio": {"id": "5", "voice": True},
    }
    error = rejected(parse_wa, {"type": "audio", "audio": {"id": "5", "voice": "yes"}})
    assert (error.code, error.field) == ("7004", "audio.voice")


def test_direct_construction_uses_value_relative_paths() -> None:
    with pytest.raises(InvalidMessage) as info:
        Document(link="https://x.org/a.pdf", filename="")
    assert info.value.field == "filename"
    with pytest.raises(InvalidMessage) as info:
        Text(" ")
    assert (info.value.field, info.value.code) == ("body", "7003")


# --- location, contacts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("addresses", 0, "type"), "OFFICE", "contacts[0].addresses[0].type"),
        (("addresses", 0, "type"), "home", "contacts[0].addresses[0].type"),
        (("emails", 0, "type"), "CELL", "contacts[0].emails[0].type"),
        (("urls", 0, "type"), "BLOG", "contacts[0].urls[0].type"),
        (("phones", 1, "type"), "MOBILE", "contacts[0].phones[1].type"),
        (("phones", 0, "wa_id"), 4915112345678, "contacts[0].phones[0].wa_id"),
        (("emails", 0, "email"), "not-an-email", "contacts[0].emails[0].email"),
        (("urls", 0, "url"), "mailto:jane@example.org", "contacts[0].urls[0].url"),
        (("name", "prefix"), "Dr.", "contacts[0].name.prefix"),
        (("name", "suffix"), "Ph.D", "contacts[0].name.suffix"),
        (("org", "company"), ["Acme"], "contacts[0].org.company"),
        (("org", "team"), "x", "contacts[0].org.team"),
    ],
)
def test_contact_fields_are_checked_with_their_path(path: Any, value: Any, field: str) -> None:
    error = rejected(parse_wa, set_at(CONTACTS_WA, ("contacts", 0, *path), value))
    assert (error.code, error.field) == ("7004", field)


@pytest.mark.parametrize("phone_type", ["CELL", "MAIN", "IPHONE", "HOME", "WORK"])
def test_phone_types(phone_type: str) -> None:
    parse_wa(set_at(CONTACTS_WA, ("contacts", 0, "phones", 0, "type"), phone_type))


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({}, "contacts[0].name"),
        ({"name": {"first_name": "J"}}, "contacts[0].name.formatted_name"),
        ({"name": {"formatted_name": "J"}}, "contacts[0].name"),
        (
            {"name": {"formatted_name": "J", "first_name": "J"}, "emails": [{"type": "HOME"}]},
            "contacts[0].emails[0].email",
        ),
        (
            {"name": {"formatted_name": "J", "last_name": "J"}, "phones": [{"wa_id": "1"}]},
            "contacts[0].phones[0].phone",
        ),
        (
            {"name": {"formatted_name": "J", "prefix": "Mr"}, "urls": [{"type": "WORK"}]},
            "contacts[0].urls[0].url",
        ),
    ],
)
def test_contact_mandatory_fields(item: dict[str, Any], field: str) -> None:
    error = rejected(parse_wa, {"type": "contacts", "contacts": [item]})
    assert (error.code, error.field) == ("7003", field)


# --- interactive ----------------------------------------------------------------------------


def test_list_header_is_text_only() -> None:
    header = {"type": "image", "image": {"url": "https://x.org/a.png"}}
    error = rejected(parse_wa, set_at(LIST_WA, ("list", "header"), header))
    assert (error.code, error.field) == ("7004", "list.header.type")


@pytest.mark.parametrize(
    ("path", "value", "code", "field"),
    [
        (("list", "body"), None, "7003", "list.body"),
        (("list", "body", "text"), "  ", "7003", "list.body.text"),
        (("list", "action", "button"), "", "7003", "list.action.button"),
        ((*SECTIONS, 0, "rows", 0, "title"), None, "7003", "list.action.sections[0].rows[0].title"),
        ((*SECTIONS, 0, "rows", 0, "id"), 7, "7004", "list.action.sections[0].rows[0].id"),
        ((*SECTIONS, 0, "rows", 0, "extra"), 1, "7004", "list.action.sections[0].rows[0].extra"),
        ((*SECTIONS, 0), "Starters", "7004", "list.action.sections[0]"),
        (SECTIONS, {"rows": []}, "7004", "list.action.sections"),
        (("list", "type"), "list", "7004", "list.type"),
    ],
)
def test_list_shape_errors(path: Any, value: Any, code: str, field: str) -> None:
    error = rejected(parse_wa, set_at(LIST_WA, path, value))
    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize("button_id", [" btn", "btn ", "\tbtn"])
def test_reply_button_ids_have_no_outer_spaces(button_id: str) -> None:
    error = rejected(parse_wa, set_at(REPLY_WA, (*BUTTONS, 0, "reply", "id"), button_id))
    assert (error.code, error.field) == ("7004", "reply.action.buttons[0].reply.id")


@pytest.mark.parametrize(
    ("path", "value", "code", "field"),
    [
        ((*BUTTONS, 0, "reply", "title"), "", "7003", "reply.action.buttons[0].reply.title"),
        ((*BUTTONS, 0, "type"), "url", "7004", "reply.action.buttons[0].type"),
        ((*BUTTONS, 0, "reply"), None, "7003", "reply.action.buttons[0].reply"),
        (("reply", "header", "type"), "sticker", "7004", "reply.header.type"),
        (("reply", "header", "text"), 5, "7004", "reply.header.text"),
        (("reply", "header", "text"), {"text": "t"}, "7004", "reply.header.text"),
        (("reply", "header"), {"type": "image"}, "7003", "reply.header.image"),
        (
            ("reply", "header"),
            {"type": "image", "image": {"url": "https://x.org/a.png", "caption": "c"}},
            "7004",
            "reply.header.image.caption",
        ),
        (
            ("reply", "header"),
            {"type": "video", "video": {"url": "https://x.org/a.png"}},
            "7004",
            "reply.header.video.url",
        ),
        (
            ("reply", "header"),
            {"type": "image", "image": {"url": "https://x.org/a.png", "provider": {"name": "p"}}},
            "7004",
            "reply.header.image.provider",
        ),
        (
            ("reply", "header"),
            {"type": "text", "text": "t", "image": {"id": "1"}},
            "7004",
            "reply.header.image",
        ),
    ],
)
def test_reply_shape_errors(path: Any, value: Any, code: str, field: str) -> None:
    error = rejected(parse_wa, set_at(REPLY_WA, path, value))
    assert (error.code, error.field) == (code, field)


def test_reply_header_media_in_native_shape() -> None:
    native = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "image", "image": {"link": "https://x.org/a.gif"}},
            "body": {"text": "b"},
            "action": {"buttons": [reply_button(1)]},
        },
    }
    error = rejected(parse_native, native)
    assert (error.code, error.field) == ("7004", "interactive.header.image.link")


def test_values_can_be_built_directly() -> None:
    message = ReplyButtons(
        body="Pay how?",
        buttons=(ReplyButton("card", "Card"), ReplyButton("cash", "Cash")),
        header=Image(id="12"),
        envelope=Envelope(context_message_id="wamid.1"),
    )
    assert meta_errors(render_payload(message, TO)) == []
    menu = ListMessage(
        body="b", button="Open", sections=(Section(rows=(Row("a", "A"),), title="All"),)
    )
    assert meta_errors(render_payload(menu, TO)) == []
    with pytest.raises(InvalidMessage) as info:
        ListMessage(body="b", button="Open", sections=[{"rows": []}])  # type: ignore[arg-type]
    assert info.value.field == "action.sections[0]"


# --- both shapes: unknown keys, wrong JSON types --------------------------------------------


@pytest.mark.parametrize(
    ("wa", "code", "field"),
    [
        ([], "7004", ""),
        ({}, "7003", "type"),
        ({"type": "template"}, "7004", "type"),
        ({"type": ["text"]}, "7004", "type"),
        ({"type": "text"}, "7003", "text"),
        ({"type": "text", "text": "hi"}, "7004", "text"),
        ({"type": "text", "text": {"body": 5}}, "7004", "text.body"),
        (
            {"type": "text", "text": {"body": "hi", "preview_url": "yes"}},
            "7004",
            "text.preview_url",
        ),
        ({"type": "text", "text": {"body": "hi", "bold": True}}, "7004", "text.bold"),
        ({"type": "text", "text": {"body": "hi"}, "image": {}}, "7004", "image"),
        (
            {"type": "text", "text": {"body": "hi"}, "recipient_identity_key_hash": "h"},
            "7004",
            "recipient_identity_key_hash",
        ),
        (
            {"type": "text", "text": {"body": "hi"}, "identity_key_hash": 7},
            "7004",
            "identity_key_hash",
        ),
        ({"type": "text", "text": {"body": "hi"}, "context": {"id": "x"}}, "7004", "context.id"),
        ({"type": "text", "text": {"body": "hi"}, "context": {}}, "7003", "context.message_id"),
        ({"type": "image", "image": {"link": "https://x.org/a.png"}}, "7004", "image.link"),
        ({"type": "interactive", "interactive": {}}, "7004", "type"),
        ({"type": "location", "location": {"latitude": 1}}, "7003", "location.longitude"),
        ({"type": "contacts", "contacts": {"name": {}}}, "7004", "contacts"),
        (
            {
                "type": "contacts",
                "contacts": [{"name": {"formatted_name": "J", "first_name": "J"}, "phones": {}}],
            },
            "7004",
            "contacts[0].phones",
        ),
    ],
)
def test_wa_shape_errors(wa: Any, code: str, field: str) -> None:
    error = rejected(parse_wa, wa)
    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"type": "list", "list": {}}, "7004", "type"),
        ({"type": "interactive"}, "7003", "interactive"),
        ({"type": "interactive", "interactive": {"type": "cta_url"}}, "7004", "interactive.type"),
        ({"type": "interactive", "interactive": []}, "7004", "interactive"),
        ({"type": "text", "text": {"body": "hi"}, "to": TO}, "7004", "to"),
        (
            {"type": "text", "text": {"body": "hi"}, "messaging_product": "sms"},
            "7004",
            "messaging_product",
        ),
        (
            {"type": "text", "text": {"body": "hi"}, "recipient_type": "group"},
            "7004",
            "recipient_type",
        ),
        (
            {"type": "text", "text": {"body": "hi"}, "identity_key_hash": "h"},
            "7004",
            "identity_key_hash",
        ),
        (
            {"type": "text", "text": {"body": "hi"}, "recipient_identity_key_hash": ""},
            "7004",
            "recipient_identity_key_hash",
        ),
        ({"type": "image", "image": {"url": "https://x.org/a.png"}}, "7004", "image.url"),
        (
            {"type": "image", "image": {"link": "https://x.org/a.png", "mimeType": "image/png"}},
            "7004",
            "image.mimeType",
        ),
    ],
)
def test_native_shape_errors(body: Any, code: str, field: str) -> None:
    error = rejected(parse_native, body)
    assert (error.code, error.field) == (code, field)


def test_native_shape_sample() -> None:
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "video", "video": {"link": "https://x.org/v.3gp"}},
            "body": {"text": "Like it?"},
            "action": {"buttons": [reply_button(1), reply_button(2)]},
        },
        "context": {"message_id": "wamid.abc"},
        "recipient_identity_key_hash": "hash",
        "biz_opaque_callback_data": "opaque",
    }
    message = parse_native(body)
    assert isinstance(message, ReplyButtons)
    assert message.kind == "reply"
    assert message.envelope == Envelope("wamid.abc", "hash", "opaque")
    payload = render_payload(message, TO)
    assert payload == {**body, "to": TO}
    assert meta_errors(payload) == []


def test_nulls_read_as_absent() -> None:
    message = parse_wa(
        {"type": "image", "image": {"url": "https://x.org/a.png", "caption": None}, "context": None}
    )
    assert message.render() == {"type": "image", "image": {"link": "https://x.org/a.png"}}
