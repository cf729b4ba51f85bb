"""Every message kind and every option, read in both request shapes, renders to a payload that
Meta's OpenAPI document accepts (shared/reference/meta-openapi), and renders everything it read.

`CASES` is written in the Webex shape (webex-connect.md §1.3); `native()` gives the same message
as a Cloud API body (cloud-api.md §1). Each case is sent bare and with every envelope option.
The render of the Cloud API body must be that body itself: nothing dropped, nothing invented.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from test_messages import (
    CONTACT,
    LIST_WA,
    REPLY_WA,
    SECTIONS,
    TO,
    meta_errors,
    native,
    reply_button,
    sections,
    set_at,
)
from tests.support.openapi import errors

from wanode.messages import (
    MEDIA_RULES,
    mark_read,
    parse_native,
    parse_wa,
    render_payload,
    typing_indicator,
)
from wanode.messages.contacts import HOME_WORK, PHONE_TYPES

WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA="


def wa(kind: str, content: Any) -> dict[str, Any]:
    return {"type": kind, kind: content}


def name(formatted: str, **parts: str) -> dict[str, Any]:
    return {"name": {"formatted_name": formatted, **parts}}


def reply_header(header: dict[str, Any]) -> dict[str, Any]:
    return set_at(REPLY_WA, ("reply", "header"), header)


CDN = "https://cdn.example.org/media"

CASES: dict[str, dict[str, Any]] = {
    # text
    "text": wa("text", {"body": "Hello *world* 👋"}),
    "text preview_url true": wa("text", {"body": "See https://example.org", "preview_url": True}),
    "text preview_url false": wa("text", {"body": "No preview", "preview_url": False}),
    # media: by link and by id, with every extra its kind takes
    "image link": wa("image", {"url": f"{CDN}/cat.jpg"}),
    "image link + mimeType + caption": wa(
        "image", {"url": f"{CDN}/cat.PNG?v=2", "mimeType": "image/png", "caption": "A cat"}
    ),
    "image id": wa("image", {"id": "1234567890"}),
    "image id + caption": wa("image", {"id": "1234567890", "caption": "From the upload"}),
    "video link + caption": wa("video", {"url": f"{CDN}/clip.mp4", "caption": "Watch"}),
    "video link 3gp + mimeType": wa("video", {"url": f"{CDN}/clip.3gp", "mimeType": "video/3gpp"}),
    "video id": wa("video", {"id": "55"}),
    "video id + caption": wa("video", {"id": "55", "caption": "Watch"}),
    "document link + filename": wa(
        "document", {"url": f"{CDN}/invoice.pdf", "filename": "invoice-42.pdf"}
    ),
    "document link + caption + filename + mimeType": wa(
        "document",
        {
            "url": f"{CDN}/report.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "caption": "Q3",
            "filename": "report.xlsx",
        },
    ),
    "document id": wa("document", {"id": "77"}),
    "document id + caption + filename": wa(
        "document", {"id": "77", "caption": "Terms", "filename": "terms.docx"}
    ),
    "audio link": wa("audio", {"url": f"{CDN}/song.mp3"}),
    "audio link voice note": wa(
        "audio", {"url": f"{CDN}/note.ogg", "mimeType": "audio/ogg; codecs=opus", "voice": True}
    ),
    "audio id": wa("audio", {"id": "998877"}),
    "audio id voice note": wa("audio", {"id": "998877", "voice": True}),
    "audio voice false": wa("audio", {"url": f"{CDN}/song.aac", "voice": False}),
    "sticker link": wa("sticker", {"url": f"{CDN}/hi.webp"}),
    "sticker id": wa("sticker", {"id": "31"}),
    "sticker id + mimeType": wa("sticker", {"id": "31", "mimeType": "image/webp"}),
    # location: coordinates as JSON numbers and as strings, at the limits, name and address
    "location bare": wa("location", {"latitude": 52.5163, "longitude": 13.3777}),
    "location strings": wa("location", {"latitude": "-33.8688", "longitude": "151.2093"}),
    "location at the limits": wa("location", {"latitude": 90, "longitude": -180.0}),
    "location at the other limits": wa("location", {"latitude": -90.0, "longitude": 180}),
    "location name": wa("location", {"latitude": 0.5, "longitude": -0.1276, "name": "Here"}),
    "location name + address": wa(
        "location",
        {
            "latitude": 52.5163,
            "longitude": 13.3777,
            "name": "Brandenburger Tor",
            "address": "Pariser Platz, 10117 Berlin",
        },
    ),
    # contacts
    "contacts every field": wa("contacts", [CONTACT]),
    "contacts every enum": wa(
        "contacts",
        [
            {
                **name("Jane Doe", first_name="Jane"),
                "addresses": [{"city": "Berlin", "type": t} for t in HOME_WORK]
                + [{"country_code": "de"}],
                "emails": [{"email": f"{t.lower()}@example.org", "type": t} for t in HOME_WORK]
                + [{"email": "jane@example.org"}],
                "phones": [
                    {"phone": f"+49 30 {n}", "type": t, "wa_id": f"4930{n}"}
                    for n, t in enumerate(PHONE_TYPES)
                ]
                + [{"phone": "+49 30 99"}],
                "urls": [{"url": f"https://example.org/{t}", "type": t} for t in HOME_WORK]
                + [{"url": "http://example.org"}],
                "org": {"company": "Acme"},
            }
        ],
    ),
    "contacts five cards, one name part each": wa(
        "contacts",
        [
            name("Jane", first_name="Jane"),
            name("Doe", last_name="Doe"),
            name("Q", middle_name="Q"),
            name("Dr", prefix="Dr"),
            name("Jr", suffix="Jr"),
        ],
    ),
    # list messages
    "list minimal": wa(
        "list", {"body": {"text": "Pick"}, "action": {"button": "Open", "sections": sections([1])}}
    ),
    "list one section with title, header, footer": {
        **LIST_WA,
        "list": {**LIST_WA["list"], "action": {"button": "Menu", "sections": sections([3])}},
    },
    "list 10 sections": set_at(LIST_WA, SECTIONS, sections([1] * 10)),
    "list 10 rows in 3 sections": set_at(LIST_WA, SECTIONS, sections([4, 3, 3])),
    "list no header/footer": wa(
        "list",
        {"body": {"text": "Pick"}, "action": {"button": "Open", "sections": sections([2, 1])}},
    ),
    # reply buttons: every header kind, by link and by id
    "reply no header, 1 button": wa(
        "reply", {"body": {"text": "OK?"}, "action": {"buttons": [reply_button(1)]}}
    ),
    "reply text header, footer, 3 buttons": REPLY_WA,
    "reply image header link": reply_header(
        {"type": "image", "image": {"url": f"{CDN}/h.jpeg", "mimeType": "image/jpeg"}}
    ),
    "reply image header id": reply_header({"type": "image", "image": {"id": "41"}}),
    "reply video header link": reply_header({"type": "video", "video": {"url": f"{CDN}/v.mp4"}}),
    "reply video header id": reply_header({"type": "video", "video": {"id": "42"}}),
    "reply document header link": reply_header(
        {"type": "document", "document": {"url": f"{CDN}/t.pdf", "filename": "T&C.pdf"}}
    ),
    "reply document header id": reply_header(
        {"type": "document", "document": {"id": "43", "filename": "T&C.pdf"}}
    ),
}

# Cloud API envelope fields; the Webex shape takes context and the identity hash in `wa` and
# the callback data from the request (`render_payload` argument).
ENVELOPES: dict[str, dict[str, Any]] = {
    "bare": {},
    "context": {"context": {"message_id": WAMID}},
    "identity": {"recipient_identity_key_hash": "DF2lS5v2W6x="},
    "callback": {"biz_opaque_callback_data": "tx-42"},
    "all": {
        "context": {"message_id": WAMID},
        "recipient_identity_key_hash": "DF2lS5v2W6x=",
        "biz_opaque_callback_data": "tx-42",
    },
}
WEBEX_NAMES = {"context": "context", "recipient_identity_key_hash": "identity_key_hash"}


def on_the_wire(body: dict[str, Any]) -> dict[str, Any]:
    """What rendering a Cloud API body must give: the body itself, with defaults written the way
    the render writes them (`preview_url` always, `voice` only when true) and coordinates as the
    decimal strings Meta's document types them as."""
    body = copy.deepcopy(body)
    if body["type"] == "text":
        body["text"].setdefault("preview_url", False)
    if body["type"] == "audio" and body["audio"].get("voice") is False:
        del body["audio"]["voice"]
    if body["type"] == "location":
        for key in ("latitude", "longitude"):
            body["location"][key] = repr(float(body["location"][key]))
    return body


@pytest.mark.parametrize("envelope", ENVELOPES.values(), ids=ENVELOPES.keys())
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_every_kind_and_option_renders_what_meta_accepts(
    case: dict[str, Any], envelope: dict[str, Any]
) -> None:
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", **native(case)}
    expected = on_the_wire({**body, **envelope, "to": TO})
    assert render_payload(parse_native({**body, **envelope}), TO) == expected

    webex = {**case, **{WEBEX_NAMES[k]: v for k, v in envelope.items() if k in WEBEX_NAMES}}
    callback = envelope.get("biz_opaque_callback_data")
    assert render_payload(parse_wa(webex), TO, biz_opaque_callback_data=callback) == expected

    assert meta_errors(expected) == []


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path without list indices, value) for every leaf of a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    else:
        yield path, value


WALKED = {leaf for case in CASES.values() for leaf in _leaves(case)}
PATHS = {path for path, _ in WALKED}


def test_the_table_walks_every_kind() -> None:
    assert {case["type"] for case in CASES.values()} == {
        "text",
        *MEDIA_RULES,
        "location",
        "contacts",
        "list",
        "reply",
    }


@pytest.mark.parametrize(
    "option",
    [
        "text.preview_url",
        *(f"{kind}.{source}" for kind in MEDIA_RULES for source in ("url", "id", "mimeType")),
        *(f"{kind}.caption" for kind in ("image", "video", "document")),
        "document.filename",
        "audio.voice",
        "location.name",
        "location.address",
        *(f"contacts.name.{part}" for part in ("first_name", "last_name", "middle_name")),
        "contacts.name.prefix",
        "contacts.name.suffix",
        *(
            f"contacts.addresses.{part}"
            for part in ("street", "city", "state", "zip", "country", "country_code")
        ),
        "contacts.birthday",
        "contacts.emails.email",
        *(f"contacts.org.{part}" for part in ("company", "department", "title")),
        "contacts.phones.wa_id",
        "contacts.urls.url",
        *(f"{kind}.{part}.text" for kind in ("list", "reply") for part in ("header", "footer")),
        "list.action.sections.title",
        "list.action.sections.rows.description",
        *(
            f"reply.header.{kind}.{source}"
            for kind in ("image", "video", "document")
            for source in ("url", "id")
        ),
        "reply.header.document.filename",
    ],
)
def test_the_table_walks_every_option(option: str) -> None:
    assert option in PATHS


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("contacts.addresses.type", HOME_WORK),
        ("contacts.emails.type", HOME_WORK),
        ("contacts.urls.type", HOME_WORK),
        ("contacts.phones.type", PHONE_TYPES),
        ("reply.header.type", ("text", "image", "video", "document")),
    ],
)
def test_the_table_walks_every_enum_value(path: str, values: tuple[str, ...]) -> None:
    assert {value for leaf, value in WALKED if leaf == path} == set(values)


def test_the_table_walks_every_count_from_one_to_the_limit() -> None:
    def of(kind: str) -> list[Any]:
        return [case[kind] for case in CASES.values() if case["type"] == kind]

    assert {len(c["action"]["sections"]) for c in of("list")} >= {1, 10}
    assert {sum(len(s["rows"]) for s in c["action"]["sections"]) for c in of("list")} >= {1, 10}
    assert {len(c["action"]["buttons"]) for c in of("reply")} >= {1, 3}
    assert {len(c) for c in of("contacts")} >= {1, 5}


@pytest.mark.parametrize("typing", [False, True])
def test_mark_read_and_typing_indicator_match_meta(typing: bool) -> None:
    payload = typing_indicator(WAMID) if typing else mark_read(WAMID)
    assert errors(payload, "MarkMessageRequestPayload") == []
    assert payload["status"] == "read"
    # The document's example is the only schema for the indicator (MarkMessageRequestPayload
    # leaves it undeclared): {"typing_indicator": {"type": "text"}}.
    assert payload.get("typing_indicator") == ({"type": "text"} if typing else None)
