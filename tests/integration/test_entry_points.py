"""`/v1/entry-points`: short links and QR codes made through the gateway (the sandbox's
`/message_qrdls`), stored, rendered, deleted, and opened by a handset (spec §5)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.support.harness import Harness, running, wait_until
from tests.support.qr import SVG_NS, decode_png, decode_svg
from tests.support.receiver import free_port

from wanode.entry_points import click_to_chat
from wanode.store import Database
from wanode.store import apps as app_queries

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


async def _create(wn: Harness, message: str, **extra: Any) -> dict[str, Any]:
    response = await wn.client.post(
        "/v1/entry-points", json={"appid": wn.app_id, "prefilledMessage": message, **extra}
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/entry-points/{response.json()['code']}"
    return dict(response.json())


async def _graph(wn: Harness, method: str, path: str) -> httpx.Response:
    """Ask the sandbox's Graph API directly, as the app's number."""
    return await wn.client.request(
        method,
        f"/sandbox/v23.0/{wn.app['phone_number_id']}/{path}",
        headers={"Authorization": f"Bearer {wn.app['access_token']}"},
    )


async def test_an_entry_point_is_made_at_whatsapp_and_kept(db: Database) -> None:
    message = "Hi! I'd like a table for 2 & a menu?"
    async with running(db) as wn:
        created = await _create(wn, message)
        code = created["code"]

        assert re.fullmatch(r"[A-Z0-9]{14}", code)
        assert created == {
            "code": code,
            "appid": wn.app_id,
            "prefilledMessage": message,
            "deepLink": f"https://wa.me/message/{code}",
            "link": click_to_chat(wn.app["display_phone_number"], message),
            "qr": {
                "png": f"/v1/entry-points/{code}/qr.png",
                "svg": f"/v1/entry-points/{code}/qr.svg",
            },
            "created_at": created["created_at"],
        }
        at_whatsapp = (await _graph(wn, "GET", f"message_qrdls/{code}")).json()["data"]
        assert at_whatsapp == [
            {"code": code, "prefilled_message": message, "deep_link_url": created["deepLink"]}
        ]
        assert (await wn.client.get(f"/v1/entry-points/{code}")).json() == created


async def test_entry_points_are_listed_newest_first(db: Database) -> None:
    async with running(db) as wn:
        codes = [(await _create(wn, f"message {n}"))["code"] for n in range(3)]

        listed = (await wn.client.get("/v1/entry-points")).json()["entryPoints"]
        mine = (await wn.client.get("/v1/entry-points", params={"appid": wn.app_id})).json()
        other = (await wn.client.get("/v1/entry-points", params={"appid": "a_none"})).json()
        two = (await wn.client.get("/v1/entry-points", params={"limit": 2})).json()

    assert [e["code"] for e in listed] == codes[::-1]
    assert [e["prefilledMessage"] for e in listed] == ["message 2", "message 1", "message 0"]
    assert mine["entryPoints"] == listed
    assert other == {"entryPoints": []}
    assert [e["code"] for e in two["entryPoints"]] == codes[:0:-1]


@pytest.mark.parametrize("image_format", ["PNG", "svg"])
async def test_format_asks_whatsapp_for_its_qr_image(db: Database, image_format: str) -> None:
    async with running(db) as wn:
        created = await _create(wn, "Scan me", format=image_format)
        # The in-process sandbox names itself http://sandbox; wanode mounts it at /sandbox.
        url = urlsplit(created["qrImageUrl"])
        image = await wn.client.get(f"/sandbox{url.path}")

    assert url.path == f"/qr/{created['code']}.{image_format.lower()}"
    assert image.status_code == 200
    if image_format == "PNG":
        assert decode_png(image.content) == [created["deepLink"]]


async def test_the_prefilled_message_is_at_most_140_characters(db: Database) -> None:
    async with running(db) as wn:
        longest = await _create(wn, "x" * 139 + "👋")
        too_long = await wn.client.post(
            "/v1/entry-points", json={"appid": wn.app_id, "prefilledMessage": "x" * 141}
        )
        listed = (await wn.client.get("/v1/entry-points")).json()["entryPoints"]
        at_whatsapp = (await _graph(wn, "GET", "message_qrdls")).json()["data"]

    assert len(longest["prefilledMessage"]) == 140
    assert too_long.status_code == 400
    error = too_long.json()["error"]
    assert (error["code"], error["field"]) == ("7004", "prefilledMessage")
    assert "140" in error["message"]
    assert [e["code"] for e in listed] == [longest["code"]]
    assert [e["code"] for e in at_whatsapp] == [longest["code"]]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"prefilledMessage": "hi"}, 400, "7003", "appid"),
        ({"appid": "APP"}, 400, "7003", "prefilledMessage"),
        ({"appid": "APP", "prefilledMessage": ""}, 400, "7004", "prefilledMessage"),
        ({"appid": "APP", "prefilledMessage": 5}, 400, "7004", "prefilledMessage"),
        ({"appid": "APP", "prefilledMessage": "hi", "format": "GIF"}, 400, "7004", "format"),
        ({"appid": "APP", "prefilledMessage": "hi", "colour": "red"}, 400, "7004", "colour"),
        ({"appid": "a_0", "prefilledMessage": "hi"}, 400, "7104", "appid"),
    ],
)
async def test_bad_requests(
    db: Database, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    async with running(db, start_engine=False) as wn:
        if body.get("appid") == "APP":
            body = {**body, "appid": wn.app_id}
        response = await wn.client.post("/v1/entry-points", json=body)
        listed = (await wn.client.get("/v1/entry-points")).json()

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert listed == {"entryPoints": []}


async def test_the_qr_codes_encode_the_deep_link(db: Database) -> None:
    async with running(db) as wn:
        created = await _create(wn, "Book a table")
        png = await wn.client.get(created["qr"]["png"])
        svg = await wn.client.get(created["qr"]["svg"])
        small = await wn.client.get(created["qr"]["png"], params={"scale": 2, "border": 1})
        again = await wn.client.get(
            created["qr"]["png"], headers={"if-none-match": png.headers["etag"]}
        )
        anonymous = await wn.client.get(created["qr"]["png"], headers={"key": ""})
        too_big = await wn.client.get(created["qr"]["svg"], params={"scale": 1000})
        unknown = await wn.client.get("/v1/entry-points/NOSUCHCODE0000/qr.png")

    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "private, max-age=86400"
    assert decode_png(png.content) == [created["deepLink"]]

    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(svg.content).tag == f"{SVG_NS}svg"
    assert decode_svg(svg.content) == [created["deepLink"]]
    assert svg.headers["etag"] != png.headers["etag"]

    assert decode_png(small.content) == [created["deepLink"]]
    assert len(small.content) < len(png.content)
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == png.headers["etag"]
    assert anonymous.status_code == 401
    assert (too_big.status_code, too_big.json()["error"]["field"]) == (400, "scale")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "7600"


async def test_deleting_removes_it_at_whatsapp_too(db: Database) -> None:
    async with running(db) as wn:
        kept = await _create(wn, "stays")
        gone = await _create(wn, "goes")

        deleted = await wn.client.delete(f"/v1/entry-points/{gone['code']}")
        again = await wn.client.delete(f"/v1/entry-points/{gone['code']}")
        fetched = await wn.client.get(f"/v1/entry-points/{gone['code']}")
        image = await wn.client.get(gone["qr"]["png"])
        at_whatsapp = await _graph(wn, "GET", f"message_qrdls/{gone['code']}")
        opened = await wn.client.post(
            f"/sandbox/handsets/{HANDSET}/open", json={"url": gone["deepLink"]}
        )
        listed = (await wn.client.get("/v1/entry-points")).json()["entryPoints"]

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert fetched.status_code == 404
    assert image.status_code == 404
    assert at_whatsapp.status_code == 404
    assert at_whatsapp.json()["error"]["code"] == 803
    assert opened.status_code == 404
    assert [e["code"] for e in listed] == [kept["code"]]


async def test_one_whatsapp_already_forgot_is_deleted_here_too(db: Database) -> None:
    async with running(db) as wn:
        created = await _create(wn, "forgotten")
        assert (await _graph(wn, "DELETE", f"message_qrdls/{created['code']}")).status_code == 200

        deleted = await wn.client.delete(f"/v1/entry-points/{created['code']}")
        listed = (await wn.client.get("/v1/entry-points")).json()

    assert deleted.status_code == 204
    assert listed == {"entryPoints": []}


@pytest.mark.parametrize("which", ["deepLink", "link"])
async def test_a_handset_opening_the_link_sends_the_prefilled_message(
    db: Database, which: str
) -> None:
    message = "Hola 👋 ¿mesa para 2? 50% off & more #promo"
    async with running(db) as wn:
        created = await _create(wn, message)

        opened = await wn.client.post(
            f"/sandbox/handsets/{HANDSET}/open", json={"url": created[which]}
        )
        assert opened.status_code == 201, opened.text
        wamid = opened.json()["id"]
        inbound = await wait_until(
            lambda: wn.client.get("/v1/inbound", params={"waid": HANDSET}),
            lambda r: any(m["wamid"] == wamid for m in r.json()["messages"]),
            timeout=10,
            what=f"{wamid} to be stored",
        )

    [stored] = inbound.json()["messages"]
    assert stored["appid"] == wn.app_id
    assert stored["type"] == "text"
    assert stored["message"]["text"]["body"] == message


async def test_whatsapp_refusing_or_unreachable(db: Database) -> None:
    async with running(db) as wn:
        created = await _create(wn, "kept")
        async with db.begin() as conn:
            await app_queries.update_app(conn, wn.app_id, access_token="not-the-token")
        refused = await wn.client.post(
            "/v1/entry-points", json={"appid": wn.app_id, "prefilledMessage": "hi"}
        )
        refused_delete = await wn.client.delete(f"/v1/entry-points/{created['code']}")
        async with db.begin() as conn:
            await app_queries.update_app(
                conn, wn.app_id, graph_base_url=f"http://127.0.0.1:{free_port()}"
            )
        unreachable = await wn.client.post(
            "/v1/entry-points", json={"appid": wn.app_id, "prefilledMessage": "hi"}
        )
        unreachable_delete = await wn.client.delete(f"/v1/entry-points/{created['code']}")
        listed = (await wn.client.get("/v1/entry-points")).json()["entryPoints"]

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "7004"
    assert "(190)" in refused.json()["error"]["message"]
    assert refused_delete.status_code == 400
    for response in (unreachable, unreachable_delete):
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "7006"
    assert [e["code"] for e in listed] == [created["code"]]
