"""Meta's limits per message kind (cloud-api.md §1.2): a value at the limit is accepted, one
past it is refused with the code Meta answers and details naming the field's path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.sandbox.bench import FAST, NUMBER, Bench, Receiver, assert_meta_error, payload_of

from wanode.sandbox import Sandbox, SandboxConfig

LINK = "https://example.com/file"


def reply(button_id: str, title: str) -> dict[str, Any]:
    return {"type": "reply", "reply": {"id": button_id, "title": title}}


def row(row_id: str, title: str = "Row", **extra: str) -> dict[str, Any]:
    return {"id": row_id, "title": title, **extra}


def buttons(
    *,
    header: dict[str, Any] | None = None,
    body: str = "Pick one",
    footer: str | None = None,
    replies: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "button", "body": {"text": body}}
    if header is not None:
        message["header"] = header
    if footer is not None:
        message["footer"] = {"text": footer}
    message["action"] = {"buttons": replies if replies is not None else [reply("a", "A")]}
    return payload_of("interactive", message)


def menu(
    *,
    header: str | None = None,
    body: str = "Pick one",
    footer: str | None = None,
    button: str = "Open",
    sections: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "list", "body": {"text": body}}
    if header is not None:
        message["header"] = {"type": "text", "text": header}
    if footer is not None:
        message["footer"] = {"text": footer}
    message["action"] = {
        "button": button,
        "sections": sections if sections is not None else [{"rows": [row("a")]}],
    }
    return payload_of("interactive", message)


def cta(*, body: str = "See it", display_text: str = "Open", url: str = LINK) -> dict[str, Any]:
    return payload_of(
        "interactive",
        {
            "type": "cta_url",
            "body": {"text": body},
            "action": {"name": "cta_url", "parameters": {"display_text": display_text, "url": url}},
        },
    )


def card(name: str = "Ada", **extra: Any) -> dict[str, Any]:
    return {"name": {"formatted_name": name}, **extra}


Make = Callable[[Any], dict[str, Any]]

LENGTHS: list[tuple[str, str, int, Make]] = [
    ("image", "image.caption", 1024, lambda s: payload_of("image", {"link": LINK, "caption": s})),
    ("video", "video.caption", 1024, lambda s: payload_of("video", {"link": LINK, "caption": s})),
    (
        "document",
        "document.caption",
        1024,
        lambda s: payload_of("document", {"link": LINK, "caption": s}),
    ),
    (
        "buttons",
        "interactive.header.text",
        60,
        lambda s: buttons(header={"type": "text", "text": s}),
    ),
    ("buttons", "interactive.body.text", 1024, lambda s: buttons(body=s)),
    ("buttons", "interactive.footer.text", 60, lambda s: buttons(footer=s)),
    (
        "buttons",
        "interactive.action.buttons[1].reply.title",
        20,
        lambda s: buttons(replies=[reply("a", "A"), reply("b", s)]),
    ),
    (
        "buttons",
        "interactive.action.buttons[0].reply.id",
        256,
        lambda s: buttons(replies=[reply(s, "A")]),
    ),
    ("list", "interactive.header.text", 60, lambda s: menu(header=s)),
    ("list", "interactive.body.text", 1024, lambda s: menu(body=s)),
    ("list", "interactive.footer.text", 60, lambda s: menu(footer=s)),
    ("list", "interactive.action.button", 24, lambda s: menu(button=s)),
    (
        "list",
        "interactive.action.sections[1].title",
        24,
        lambda s: menu(
            sections=[{"title": "A", "rows": [row("a")]}, {"title": s, "rows": [row("b")]}]
        ),
    ),
    (
        "list",
        "interactive.action.sections[0].rows[1].id",
        200,
        lambda s: menu(sections=[{"rows": [row("a"), row(s)]}]),
    ),
    (
        "list",
        "interactive.action.sections[0].rows[0].title",
        24,
        lambda s: menu(sections=[{"rows": [row("a", s)]}]),
    ),
    (
        "list",
        "interactive.action.sections[2].rows[0].description",
        72,
        lambda s: menu(
            sections=[
                {"title": "A", "rows": [row("a")]},
                {"title": "B", "rows": [row("b")]},
                {"title": "C", "rows": [row("c", description=s)]},
            ]
        ),
    ),
    ("cta", "interactive.body.text", 1024, lambda s: cta(body=s)),
    ("cta", "interactive.action.parameters.display_text", 20, lambda s: cta(display_text=s)),
]


@pytest.mark.parametrize(
    ("path", "limit", "make"),
    [case[1:] for case in LENGTHS],
    ids=[f"{kind}:{path}" for kind, path, _, _ in LENGTHS],
)
async def test_a_text_at_its_limit_is_accepted_and_one_longer_is_131009(
    bench: Bench, path: str, limit: int, make: Make
) -> None:
    assert (await bench.send(make("x" * limit))).status_code == 200

    error = assert_meta_error(await bench.send(make("x" * (limit + 1))), 131009, 400)

    assert error["error_data"]["details"] == f"{path}: at most {limit} characters (got {limit + 1})"


def _sections(count: int) -> dict[str, Any]:
    return menu(sections=[{"title": f"S{i}", "rows": [row(f"r{i}")]} for i in range(count)])


def _rows_over_two_sections(count: int) -> dict[str, Any]:
    rows = [row(f"r{i}") for i in range(count)]
    return menu(sections=[{"title": "A", "rows": rows[:5]}, {"title": "B", "rows": rows[5:]}])


COUNTS: list[tuple[str, str, int, Callable[[int], dict[str, Any]], str]] = [
    (
        "reply buttons",
        "interactive.action.buttons",
        3,
        lambda n: buttons(replies=[reply(f"b{i}", f"B{i}") for i in range(n)]),
        "at most 3 items (got 4)",
    ),
    ("sections", "interactive.action.sections", 10, _sections, "at most 10 items (got 11)"),
    (
        "rows in one section",
        "interactive.action.sections",
        10,
        lambda n: menu(sections=[{"rows": [row(f"r{i}") for i in range(n)]}]),
        "at most 10 rows in total (got 11)",
    ),
    (
        "rows across sections",
        "interactive.action.sections",
        10,
        _rows_over_two_sections,
        "at most 10 rows in total (got 11)",
    ),
    (
        "contact cards",
        "contacts",
        257,
        lambda n: payload_of("contacts", [card(f"C{i}") for i in range(n)]),
        "at most 257 items (got 258)",
    ),
]


@pytest.mark.parametrize(
    ("path", "limit", "make", "reason"),
    [case[1:] for case in COUNTS],
    ids=[case[0] for case in COUNTS],
)
async def test_a_count_at_its_limit_is_accepted_and_one_more_is_131009(
    bench: Bench, path: str, limit: int, make: Callable[[int], dict[str, Any]], reason: str
) -> None:
    assert (await bench.send(make(limit))).status_code == 200

    error = assert_meta_error(await bench.send(make(limit + 1)), 131009, 400)

    assert error["error_data"]["details"] == f"{path}: {reason}"


@pytest.mark.parametrize(
    ("key", "limit", "inside", "outside"),
    [
        ("latitude", 90, [90, -90, "90", "-90.000", 0, "+12.5"], [90.000001, "-90.5", 91]),
        ("longitude", 180, [180, -180.0, "180", "-179.999999"], [180.5, "-181", 1e6]),
    ],
)
async def test_coordinates_at_their_limit_are_accepted_and_past_it_131009(
    bench: Bench, key: str, limit: int, inside: list[Any], outside: list[Any]
) -> None:
    place: dict[str, Any] = {"latitude": 0, "longitude": 0}
    for value in inside:
        response = await bench.send(payload_of("location", {**place, key: value}))
        assert response.status_code == 200, value
    for value in outside:
        response = await bench.send(payload_of("location", {**place, key: value}))
        error = assert_meta_error(response, 131009, 400)
        assert error["error_data"]["details"].startswith(
            f"location.{key}: must be between -{limit} and {limit}"
        )


async def test_a_list_button_limit_of_20_refuses_a_21_character_label(receiver: Receiver) -> None:
    config = SandboxConfig(default_handset=FAST, list_button_max=20, enforce_window=False)
    sandbox = Sandbox(config, webhook_transport=httpx.ASGITransport(app=receiver.app))
    sandbox.provision(NUMBER)
    transport = httpx.ASGITransport(app=sandbox.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            bench = Bench(sandbox, client, receiver)
            assert (await bench.send(menu(button="x" * 20))).status_code == 200

            error = assert_meta_error(await bench.send(menu(button="x" * 21)), 131009, 400)

            assert error["error_data"]["details"] == (
                "interactive.action.button: at most 20 characters (got 21)"
            )
    finally:
        await sandbox.aclose()


def _location(**place: Any) -> dict[str, Any]:
    return payload_of("location", place)


@pytest.mark.parametrize(
    ("payload", "code", "path"),
    [
        # media
        (payload_of("image", {"link": LINK, "id": "1"}), 131009, "image"),
        (payload_of("image", {"caption": "no source"}), 131008, "image"),
        (payload_of("image", {"link": "ftp://example.com/a.png"}), 131009, "image.link"),
        (payload_of("image", {"link": "https://exa mple.com/a.png"}), 131009, "image.link"),
        (payload_of("image", {"link": "example.com/a.png"}), 131009, "image.link"),
        (payload_of("image", {"id": ""}), 131008, "image.id"),
        (payload_of("image", {"id": 5}), 100, "image.id"),
        (payload_of("image", {"link": LINK, "caption": 5}), 100, "image.caption"),
        (payload_of("audio", {"link": LINK, "voice": "yes"}), 100, "audio.voice"),
        (payload_of("document", {"link": LINK, "filename": ["a"]}), 100, "document.filename"),
        # location
        (_location(longitude=1), 131008, "location.latitude"),
        (_location(latitude=1), 131008, "location.longitude"),
        (_location(latitude="north", longitude=1), 131009, "location.latitude"),
        (_location(latitude="1e5", longitude=1), 131009, "location.latitude"),
        (_location(latitude=True, longitude=1), 100, "location.latitude"),
        (_location(latitude=[1], longitude=1), 100, "location.latitude"),
        (_location(latitude=1, longitude=1, name=5), 100, "location.name"),
        # contacts
        (payload_of("contacts", {"name": {}}), 100, "contacts"),
        (payload_of("contacts", []), 131008, "contacts"),
        (payload_of("contacts", [{"phones": []}]), 131008, "contacts[0].name"),
        (
            payload_of("contacts", [{"name": {"first_name": "A"}}]),
            131008,
            "contacts[0].name.formatted_name",
        ),
        (payload_of("contacts", [card(" ")]), 131008, "contacts[0].name.formatted_name"),
        (payload_of("contacts", [card(birthday="1990-02-30")]), 131009, "contacts[0].birthday"),
        (payload_of("contacts", [card(birthday="12/04/1990")]), 131009, "contacts[0].birthday"),
        (
            payload_of("contacts", [card(emails=[{"email": "a@b.c", "type": "OTHER"}])]),
            131009,
            "contacts[0].emails[0].type",
        ),
        (
            payload_of("contacts", [card(addresses=[{"city": "Rome", "type": "CELL"}])]),
            131009,
            "contacts[0].addresses[0].type",
        ),
        (
            payload_of("contacts", [card(addresses=[{"country_code": "DEU"}])]),
            131009,
            "contacts[0].addresses[0].country_code",
        ),
        (
            payload_of("contacts", [card(urls=[{"url": LINK, "type": "home"}])]),
            131009,
            "contacts[0].urls[0].type",
        ),
        (
            payload_of("contacts", [card(), card(phones=[{"type": "CELL"}])]),
            131008,
            "contacts[1].phones[0].phone",
        ),
        (payload_of("contacts", [card(emails=[{}])]), 131008, "contacts[0].emails[0].email"),
        (payload_of("contacts", [card(phones={"phone": "1"})]), 100, "contacts[0].phones"),
        # interactive framing
        (payload_of("interactive", {"body": {"text": "x"}}), 131008, "interactive.type"),
        (payload_of("interactive", {"type": "carousel"}), 131009, "interactive.type"),
        (payload_of("interactive", {"type": "flow"}), 131009, "interactive.type"),
        (payload_of("interactive", {"type": "product_list"}), 131009, "interactive.type"),
        (payload_of("interactive", {"type": 3}), 100, "interactive.type"),
        # reply buttons
        (buttons(replies=[]), 131008, "interactive.action.buttons"),
        (
            buttons(replies=[reply("a", "Same"), reply("b", "Same")]),
            131009,
            "interactive.action.buttons[1].reply.title",
        ),
        (
            buttons(replies=[reply("a", "A"), reply("a", "B")]),
            131009,
            "interactive.action.buttons[1].reply.id",
        ),
        (buttons(replies=[reply(" a", "A")]), 131009, "interactive.action.buttons[0].reply.id"),
        (buttons(replies=[reply("a", "")]), 131008, "interactive.action.buttons[0].reply.title"),
        (
            buttons(replies=[{"type": "url", "reply": {"id": "a", "title": "A"}}]),
            131009,
            "interactive.action.buttons[0].type",
        ),
        (buttons(body=""), 131008, "interactive.body.text"),
        (buttons(header={"type": "location"}), 131009, "interactive.header.type"),
        (buttons(header={"type": "image"}), 131008, "interactive.header.image"),
        (
            buttons(header={"type": "image", "image": {"link": "nope"}}),
            131009,
            "interactive.header.image.link",
        ),
        (buttons(header={"text": "no type"}), 131008, "interactive.header.type"),
        (payload_of("interactive", {"type": "button", "action": {}}), 131008, "interactive.body"),
        (payload_of("interactive", {"type": "button", "body": "x"}), 131008, "interactive.action"),
        # lists
        (menu(sections=[]), 131008, "interactive.action.sections"),
        (menu(sections=[{"rows": []}]), 131008, "interactive.action.sections[0].rows"),
        (
            menu(sections=[{"rows": [row("a")]}, {"title": "B", "rows": [row("b")]}]),
            131008,
            "interactive.action.sections[0].title",
        ),
        (
            menu(sections=[{"title": "A", "rows": [row("a")]}, {"title": "B", "rows": [row("a")]}]),
            131009,
            "interactive.action.sections[1].rows[0].id",
        ),
        (
            menu(sections=[{"rows": [{"id": "a"}]}]),
            131008,
            "interactive.action.sections[0].rows[0].title",
        ),
        (menu(button=""), 131008, "interactive.action.button"),
        (
            payload_of(
                "interactive",
                {
                    "type": "list",
                    "body": {"text": "x"},
                    "action": {"button": "Open", "sections": {}},
                },
            ),
            100,
            "interactive.action.sections",
        ),
        (
            payload_of(
                "interactive",
                {
                    "type": "list",
                    "header": {"type": "image", "image": {"link": LINK}},
                    "body": {"text": "x"},
                    "action": {"button": "Open", "sections": [{"rows": [row("a")]}]},
                },
            ),
            131009,
            "interactive.header.type",
        ),
        # cta url and location request
        (cta(url="mailto:a@b.c"), 131009, "interactive.action.parameters.url"),
        (
            payload_of(
                "interactive",
                {
                    "type": "cta_url",
                    "body": {"text": "x"},
                    "action": {"name": "open", "parameters": {}},
                },
            ),
            131009,
            "interactive.action.name",
        ),
        (
            payload_of(
                "interactive",
                {
                    "type": "location_request_message",
                    "body": {"text": "Where?"},
                    "action": {"name": "send_address"},
                },
            ),
            131009,
            "interactive.action.name",
        ),
    ],
)
async def test_a_refused_value_gets_metas_code_and_names_its_path(
    bench: Bench, payload: dict[str, Any], code: int, path: str
) -> None:
    error = assert_meta_error(await bench.send(payload), code, 400)
    assert error["error_data"]["details"].startswith(f"{path}: ")
