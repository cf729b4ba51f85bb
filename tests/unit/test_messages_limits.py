"""Every limit, in both request shapes: at the limit (and one below) accepted, one past it rejected
with its code and the exact field path of the shape it was sent in.

Lengths count characters: Unicode code points, as JSON Schema's `maxLength` in Meta's document
does, not UTF-8 bytes or UTF-16 units. "😀" is one character (four bytes, two UTF-16 units), so
a field filled to its limit with it is accepted, and one more is rejected.

Codes: 7003 for a missing value (an empty list included), 7004 for an invalid one. A text body
over 4096 characters is 7004 too: 7714 "Message too long" is a delivery-report code
(webex-connect.md §2.2), for a message the platform failed after accepting it; ours are refused
before that, in the synchronous answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from test_messages import (
    BUTTONS,
    CONTACT,
    CONTACTS_WA,
    LIST_WA,
    REPLY_WA,
    SECTIONS,
    TO,
    meta_errors,
    native,
    rejected,
    reply_button,
    sections,
    set_at,
)

from wanode.messages import (
    MEDIA_RULES,
    Envelope,
    OutboundMessage,
    Text,
    parse_native,
    parse_wa,
    render_payload,
)


def native_path(field: str) -> str:
    """A Webex field path as the Cloud API shape names it (see `native()`)."""
    field = re.sub(r"^(list|reply)\b", "interactive", field)
    field = re.sub(r"^((?:interactive\.header\.)?[a-z]+)\.url$", r"\1.link", field)
    return "recipient_identity_key_hash" if field == "identity_key_hash" else field


Shape = tuple[Callable[[Any], OutboundMessage], dict[str, Any], Callable[[str], str]]


def shapes(wa: dict[str, Any]) -> list[Shape]:
    """The Webex `wa` object and the same message as a Cloud API body, each with its parser and
    its way of naming a field."""
    return [(parse_wa, wa, str), (parse_native, native(wa), native_path)]


def accepted(wa: dict[str, Any]) -> list[OutboundMessage]:
    return [parse(body) for parse, body, _ in shapes(wa)]


def rejected_in_both_shapes(wa: dict[str, Any], code: str, field: str) -> list[str]:
    """Assert `wa` is rejected in both shapes with `code` at `field`; the reasons."""
    reasons = []
    for parse, body, path in shapes(wa):
        error = rejected(parse, body)
        assert (error.code, error.field) == (code, path(field))
        reasons.append(error.reason)
    return reasons


def steps(field: str) -> tuple[str | int, ...]:
    """`list.action.sections[2].rows[0]` as `("list", "action", "sections", 2, "rows", 0)`."""
    return tuple(int(s) if s.isdigit() else s for s in re.findall(r"[^.\[\]]+", field))


def test_native_path_oracle() -> None:
    # Written out by hand, so that `native_path` is checked against something other than itself.
    assert native_path("list.action.sections[2].rows[0].description") == (
        "interactive.action.sections[2].rows[0].description"
    )
    assert native_path("reply.header.image.url") == "interactive.header.image.link"
    assert native_path("image.url") == "image.link"
    assert native_path("contacts[0].urls[0].url") == "contacts[0].urls[0].url"
    assert native_path("identity_key_hash") == "recipient_identity_key_hash"


# --- string lengths -------------------------------------------------------------------------

BASES: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": {"body": "hi"}},
    **{
        kind: {"type": kind, kind: {"url": f"https://x.org/a.{ext}", "caption": "c"}}
        for kind, ext in (("image", "png"), ("video", "mp4"), ("document", "pdf"))
    },
    "list": LIST_WA,
    "reply": REPLY_WA,
}

STRING_LIMITS = [
    ("text.body", 4096),
    ("image.caption", 1024),
    ("video.caption", 1024),
    ("document.caption", 1024),
    ("list.header.text", 60),
    ("list.body.text", 1024),
    ("list.footer.text", 60),
    ("list.action.button", 24),  # the spec's figure; Meta's is 20 (see META_STRICTER)
    ("list.action.sections[1].title", 24),
    ("list.action.sections[2].rows[0].id", 200),
    ("list.action.sections[2].rows[0].title", 24),
    ("list.action.sections[2].rows[0].description", 72),
    ("reply.header.text", 60),
    ("reply.body.text", 1024),
    ("reply.footer.text", 60),
    ("reply.action.buttons[2].reply.title", 20),
    ("reply.action.buttons[2].reply.id", 200),
]
# Meta's document allows fewer characters here; interactive.py says why we follow the spec.
META_STRICTER = {"list.action.button": 20}


@pytest.mark.parametrize("char", ["x", "😀"], ids=["ascii", "emoji"])
@pytest.mark.parametrize(("field", "limit"), STRING_LIMITS, ids=[f for f, _ in STRING_LIMITS])
def test_string_limits(field: str, limit: int, char: str) -> None:
    base = BASES[field.split(".")[0]]
    for length in (limit - 1, limit):
        for message in accepted(set_at(base, steps(field), char * length)):
            if field not in META_STRICTER:
                assert meta_errors(render_payload(message, TO)) == []
    past = set_at(base, steps(field), char * (limit + 1))
    for reason in rejected_in_both_shapes(past, "7004", field):
        assert reason == f"is {limit + 1} characters; at most {limit} are allowed"


@pytest.mark.parametrize("char", ["x", "😀"], ids=["ascii", "emoji"])
def test_callback_data_limit(char: str) -> None:
    # A Cloud API envelope field: in the body of a native request, or given when rendering.
    body = {"type": "text", "text": {"body": "hi"}}
    at_limit = parse_native({**body, "biz_opaque_callback_data": char * 512})
    assert at_limit.envelope == Envelope(biz_opaque_callback_data=char * 512)
    for send in (
        lambda data: parse_native({**body, "biz_opaque_callback_data": data}),
        lambda data: render_payload(Text("a"), TO, biz_opaque_callback_data=data),
    ):
        send(char * 512)
        error = rejected(send, char * 513)
        assert (error.code, error.field) == ("7004", "biz_opaque_callback_data")


# --- counts: 1 (or the stated minimum) to the limit -----------------------------------------


def list_with(*rows_per_section: int) -> dict[str, Any]:
    return set_at(LIST_WA, SECTIONS, sections(list(rows_per_section)))


COUNT_LIMITS: list[tuple[str, Callable[[int], dict[str, Any]], int, str, str]] = [
    # (what, message with n of them, limit, path when none, path when past the limit)
    ("sections", lambda n: list_with(*[1] * n), 10, "list.action.sections", "list.action.sections"),
    (
        "rows in one section",
        lambda n: list_with(n),
        10,
        "list.action.sections[0].rows",
        "list.action.sections",
    ),
    (
        "rows in all sections",
        lambda n: list_with(4, 1, n),
        5,
        "list.action.sections[2].rows",
        "list.action.sections",
    ),
    (
        "reply buttons",
        lambda n: set_at(REPLY_WA, BUTTONS, [reply_button(i) for i in range(n)]),
        3,
        "reply.action.buttons",
        "reply.action.buttons",
    ),
    (
        "contacts",
        lambda n: set_at(CONTACTS_WA, ("contacts",), [CONTACT] * n),
        5,
        "contacts",
        "contacts",
    ),
]


@pytest.mark.parametrize(
    ("make", "limit", "none_field", "past_field"),
    [row[1:] for row in COUNT_LIMITS],
    ids=[row[0] for row in COUNT_LIMITS],
)
def test_count_limits(
    make: Callable[[int], dict[str, Any]], limit: int, none_field: str, past_field: str
) -> None:
    for count in (1, limit - 1, limit):
        for message in accepted(make(count)):
            assert meta_errors(render_payload(message, TO)) == []
    rejected_in_both_shapes(make(0), "7003", none_field)
    rejected_in_both_shapes(make(limit + 1), "7004", past_field)


# --- uniqueness and conditional requirements ------------------------------------------------

RULES = [
    # (message, code, field)
    (
        set_at(LIST_WA, (*SECTIONS, 2, "rows", 0, "id"), "row-1"),
        "7004",
        "list.action.sections[2].rows[0].id",
    ),
    (set_at(LIST_WA, (*SECTIONS, 1, "title"), None), "7003", "list.action.sections[1].title"),
    (
        set_at(REPLY_WA, (*BUTTONS, 2, "reply", "id"), "btn-1"),
        "7004",
        "reply.action.buttons[2].reply.id",
    ),
    (
        set_at(REPLY_WA, (*BUTTONS, 1, "reply", "title"), "Option 1"),
        "7004",
        "reply.action.buttons[1].reply.title",
    ),
    (
        {"type": "location", "location": {"latitude": 1, "longitude": 2, "address": "Main St 1"}},
        "7004",
        "location.address",
    ),
    (
        {"type": "contacts", "contacts": [CONTACT, {"name": {"formatted_name": "Jane"}}]},
        "7003",
        "contacts[1].name",
    ),
]


@pytest.mark.parametrize(("wa", "code", "field"), RULES, ids=[field for *_, field in RULES])
def test_rules(wa: dict[str, Any], code: str, field: str) -> None:
    rejected_in_both_shapes(wa, code, field)


@pytest.mark.parametrize("title", [None, ""])
def test_a_lone_section_needs_a_title_too(title: str | None) -> None:
    # The spec: "List Section: Must contain a title and at least one row" (Meta: only when
    # there are several sections; the spec wins).
    section: dict[str, Any] = {"rows": [{"id": "a", "title": "A"}]}
    if title is not None:
        section["title"] = title
    code = "7003" if title is None else "7004"
    reasons = rejected_in_both_shapes(
        set_at(LIST_WA, SECTIONS, [section]), code, "list.action.sections[0].title"
    )
    assert all("title" in reason or "empty" in reason for reason in reasons)


def test_one_section_and_a_named_location_are_fine() -> None:
    accepted(set_at(LIST_WA, SECTIONS, sections([3])))
    accepted(set_at(LIST_WA, SECTIONS, [{"title": "T", "rows": [{"id": "a", "title": "A"}]}]))
    accepted({"type": "location", "location": {"latitude": 1, "longitude": 2, "name": "N"}})


# --- coordinates ----------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "limit"), [("latitude", 90), ("longitude", 180)])
def test_coordinate_limits(key: str, limit: int) -> None:
    base = {"type": "location", "location": {"latitude": 1, "longitude": 2}}
    for value in (limit, -limit, float(limit), -float(limit), str(limit), f"-{limit}.0"):
        accepted(set_at(base, ("location", key), value))
    past = limit + 0.000001
    for value in (past, -past, str(past), f"-{past}", limit + 1, 10**400):
        rejected_in_both_shapes(set_at(base, ("location", key), value), "7004", f"location.{key}")


# --- birthdays ------------------------------------------------------------------------------

BIRTHDAY = ("contacts", 0, "birthday")


@pytest.mark.parametrize("birthday", ["2024-02-29", "2000-02-29", "1900-01-01", "2023-12-31"])
def test_real_birthdays(birthday: str) -> None:
    accepted(set_at(CONTACTS_WA, BIRTHDAY, birthday))


@pytest.mark.parametrize(
    "birthday",
    [
        "2023-02-30",
        "2023-02-29",  # not a leap year
        "1900-02-29",  # nor is 1900
        "2023-04-31",
        "2023-13-01",
        "2023-00-10",
        "2023-01-00",
        "1990-2-3",
        "28.02.1990",
        "19900228",
        "2023-02-28T00:00",
        " 2023-02-28",
    ],
)
def test_impossible_or_misspelt_birthdays(birthday: str) -> None:
    wa = set_at(CONTACTS_WA, BIRTHDAY, birthday)
    (reason, _) = rejected_in_both_shapes(wa, "7004", "contacts[0].birthday")
    assert "YYYY-MM-DD" in reason


# --- media: link scheme and extension, options per kind -------------------------------------

WRONG_EXTENSIONS = {
    "image": ("gif", "webp", "bmp", "heic"),
    "audio": ("wav", "opus", "mp4", "flac"),
    "video": ("mov", "avi", "mkv", "m4a"),
    "document": ("csv", "zip", "odt", "rtf"),
    "sticker": ("png", "gif", "jpg"),
}


@pytest.mark.parametrize(
    ("kind", "link"),
    [
        *(
            (kind, f"https://x.org/m/file.{ext}")
            for kind, exts in WRONG_EXTENSIONS.items()
            for ext in exts
        ),
        *(
            (kind, f"{scheme}x.org/file.{MEDIA_RULES[kind].extensions[0]}")
            for kind in MEDIA_RULES
            for scheme in ("ftp://", "file:///", "//", "")
        ),
    ],
)
def test_media_links_need_http_and_the_kinds_extension(kind: str, link: str) -> None:
    rejected_in_both_shapes({"type": kind, kind: {"url": link}}, "7004", f"{kind}.url")


@pytest.mark.parametrize("kind", MEDIA_RULES)
@pytest.mark.parametrize("scheme", ["http", "https", "HTTPS"])
def test_media_links_may_be_http_or_https(kind: str, scheme: str) -> None:
    for extension in MEDIA_RULES[kind].extensions:
        accepted({"type": kind, kind: {"url": f"{scheme}://x.org/f.{extension.upper()}?v=1"}})


OPTIONS = {"caption": "A caption", "filename": "file.pdf", "voice": True}
TAKES = {"caption": {"image", "video", "document"}, "filename": {"document"}, "voice": {"audio"}}


@pytest.mark.parametrize("kind", MEDIA_RULES)
@pytest.mark.parametrize("option", OPTIONS)
def test_caption_filename_and_voice_only_for_their_kinds(option: str, kind: str) -> None:
    wa = {"type": kind, kind: {"id": "1", option: OPTIONS[option]}}
    if kind in TAKES[option]:
        accepted(wa)
    else:
        for reason in rejected_in_both_shapes(wa, "7004", f"{kind}.{option}"):
            assert reason.startswith("only ")
