"""QR codes and short links (`/message_qrdls`, cloud-api.md §10), their images, and handsets
opening click-to-chat links."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
import zxingcpp
from PIL import Image
from tests.sandbox.bench import NUMBER, USER, Bench, assert_meta_error

from wanode.sandbox import BusinessNumber

PATH = f"{NUMBER.phone_number_id}/message_qrdls"


async def create(bench: Bench, message: str, **extra: str) -> dict[str, str]:
    response = await bench.graph("POST", PATH, json={"prefilled_message": message, **extra})
    assert response.status_code == 200, response.json()
    created: dict[str, str] = response.json()
    return created


async def test_a_code_is_created_with_its_deep_link(bench: Bench) -> None:
    created = await create(bench, "Hi! Show me the menu")

    assert set(created) == {"code", "prefilled_message", "deep_link_url"}
    assert re.fullmatch(r"[A-Z0-9]{14}", created["code"])
    assert created["prefilled_message"] == "Hi! Show me the menu"
    assert created["deep_link_url"] == f"https://wa.me/message/{created['code']}"


@pytest.mark.parametrize("image_format", ["PNG", "SVG"])
async def test_the_qr_image_encodes_the_deep_link(bench: Bench, image_format: str) -> None:
    created = await create(bench, "Book a table", generate_qr_image=image_format)

    url = created["qr_image_url"]
    assert url == f"http://sandbox/qr/{created['code']}.{image_format.lower()}"
    image = await bench.client.get(url)  # no token: like Meta's CDN URL
    assert image.status_code == 200
    if image_format == "SVG":
        assert image.headers["content-type"] == "image/svg+xml"
        assert image.content.lstrip().startswith(b"<?xml") or b"<svg" in image.content
        return
    assert image.headers["content-type"] == "image/png"
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.content)))
    assert decoded.text == created["deep_link_url"]


async def test_codes_are_listed_newest_first_with_paging(bench: Bench) -> None:
    codes = [(await create(bench, f"message {n}"))["code"] for n in range(3)]

    listed = (await bench.graph("GET", PATH)).json()
    assert [item["code"] for item in listed["data"]] == codes[::-1]
    assert set(listed["paging"]["cursors"]) == {"before", "after"}
    assert all("qr_image_url" not in item for item in listed["data"])

    first = (await bench.graph("GET", PATH, params={"limit": "2"})).json()
    after = first["paging"]["cursors"]["after"]
    rest = (await bench.graph("GET", PATH, params={"limit": "2", "after": after})).json()
    assert [item["code"] for item in first["data"] + rest["data"]] == codes[::-1]

    with_image = await bench.graph(
        "GET", PATH, params={"fields": "code,prefilled_message,qr_image_url.format(SVG)"}
    )
    assert all(item["qr_image_url"].endswith(".svg") for item in with_image.json()["data"])
    one = (await bench.graph("GET", PATH, params={"code": codes[1]})).json()["data"]
    assert [item["code"] for item in one] == [codes[1]]
    assert (await bench.graph("GET", PATH, params={"code": "NOPE"})).json() == {"data": []}


async def test_one_code_is_read_updated_and_deleted(bench: Bench) -> None:
    code = (await create(bench, "Old text"))["code"]

    updated = await bench.graph("POST", PATH, json={"code": code, "prefilled_message": "New"})
    fetched = await bench.graph(
        "GET", f"{PATH}/{code}", params={"fields": "qr_image_url.format(PNG)"}
    )
    deleted = await bench.graph("DELETE", f"{PATH}/{code}")

    assert updated.json()["prefilled_message"] == "New"
    assert updated.json()["code"] == code
    [item] = fetched.json()["data"]
    assert item["prefilled_message"] == "New"
    assert item["qr_image_url"].endswith(f"{code}.png")
    assert deleted.json() == {"success": True}
    gone = await bench.graph("GET", f"{PATH}/{code}")
    error = assert_meta_error(gone, 803, 404)
    assert error["type"] == "GraphMethodException"
    assert (await bench.client.get(item["qr_image_url"])).status_code == 404
    assert_meta_error(await bench.graph("DELETE", f"{PATH}/{code}"), 803, 404)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"prefilled_message": ""},
        {"prefilled_message": "x" * 141},
        {"prefilled_message": "hi", "generate_qr_image": "GIF"},
        {"prefilled_message": "hi", "colour": "red"},
        {"prefilled_message": 5},
        {"prefilled_message": "hi", "code": 5},
        ["hi"],
    ],
)
async def test_bad_create_requests_are_100(bench: Bench, body: object) -> None:
    assert_meta_error(await bench.graph("POST", PATH, json=body), 100, 400)


async def test_code_and_query_refusals(bench: Bench) -> None:
    assert_meta_error(await bench.graph("GET", f"{PATH}/lowercase"), 100, 400)
    assert_meta_error(await bench.graph("GET", f"{PATH}/ABCDEFGHIJKLMN"), 803, 404)
    missing = {"code": "ABCDEFGHIJKLMN", "prefilled_message": "x"}
    assert_meta_error(await bench.graph("POST", PATH, json=missing), 803, 404)
    for query in ({"fields": "colour"}, {"limit": "26"}, {"after": "bm9wZQ=="}):
        assert_meta_error(await bench.graph("GET", PATH, params=query), 100, 400)
    assert_meta_error(await bench.graph("GET", PATH, token="nope"), 190, 401)
    assert_meta_error(await bench.graph("GET", "999/message_qrdls"), 803, 404)
    assert (await bench.client.get("/qr/NOPE.png")).status_code == 404


async def test_a_number_sees_only_its_own_codes(bench: Bench) -> None:
    other = BusinessNumber(
        phone_number_id="2",
        waba_id=NUMBER.waba_id,
        display_phone_number="15550000002",
        access_token="t2",
        app_secret="s2",
    )
    bench.sandbox.provision(other)
    code = (await create(bench, "mine"))["code"]

    theirs = await bench.graph("GET", "2/message_qrdls", token="t2")
    foreign = await bench.graph("GET", f"2/message_qrdls/{code}", token="t2")

    assert theirs.json() == {"data": []}
    assert_meta_error(foreign, 803, 404)


async def test_opening_a_short_link_sends_its_prefilled_message(bench: Bench) -> None:
    created = await create(bench, "Hi! I'm interested in the blue one")

    response = await bench.act("open", {"url": created["deep_link_url"]})
    await bench.settle()

    assert response.status_code == 201
    answer = response.json()
    assert answer["phone_number_id"] == NUMBER.phone_number_id
    assert answer["text"] == "Hi! I'm interested in the blue one"
    [message] = bench.receiver.messages()
    assert message["id"] == answer["id"]
    assert message["type"] == "text"
    assert message["text"] == {"body": "Hi! I'm interested in the blue one"}
    assert message["from"] == USER


@pytest.mark.parametrize(
    "template",
    [
        "https://wa.me/{number}?text={text}",
        "https://api.whatsapp.com/send?phone={number}&text={text}",
        "http://wa.me/{number}/?text={text}",
    ],
)
async def test_opening_a_wa_me_link_sends_its_text(bench: Bench, template: str) -> None:
    text = "I'm interested in your car for sale"
    url = template.format(number=NUMBER.display_phone_number, text=quote(text))

    response = await bench.act("open", {"url": url})
    await bench.settle()

    assert response.status_code == 201, response.json()
    [message] = bench.receiver.messages()
    assert message["text"] == {"body": text}


async def test_a_link_without_text_opens_the_chat_and_sends_nothing(bench: Bench) -> None:
    response = await bench.act("open", {"url": f"https://wa.me/{NUMBER.display_phone_number}"})
    await bench.settle()

    assert response.status_code == 200
    assert response.json() == {"phone_number_id": NUMBER.phone_number_id, "id": None}
    assert bench.receiver.messages() == []


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://example.com/15550783881", 400),
        ("not a link", 400),
        ("https://wa.me/+15550783881?text=hi", 400),
        ("https://wa.me/15559999999?text=hi", 404),
        ("https://wa.me/message/ABCDEFGHIJKLMN", 404),
        ("https://api.whatsapp.com/other?phone=15550783881", 400),
    ],
)
async def test_links_that_do_not_open_a_chat(bench: Bench, url: str, status: int) -> None:
    response = await bench.act("open", {"url": url})

    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert bench.receiver.messages() == []


async def test_a_deleted_code_no_longer_opens(bench: Bench) -> None:
    created = await create(bench, "hello")
    await bench.graph("DELETE", f"{PATH}/{created['code']}")

    response = await bench.act("open", {"url": created["deep_link_url"]})

    assert response.status_code == 404
