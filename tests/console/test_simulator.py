"""The handset simulator in Chromium: a customer writes from the phone, the business answers
through the API, and the answer's bubble appears and its ticks advance without a reload; list
rows, reply buttons, reactions, replies in context, media, locations and the handset's settings
work from the page; an HTML body shows as text."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect
from tests.console.conftest import Console, publish, sign_in

_numbers = itertools.count(1)


def _customer() -> str:
    """A WhatsApp id of this module's own, so tests never share a conversation."""
    return f"35191{next(_numbers):07d}"


def _send(console: Console, wa_id: str, content: dict[str, Any]) -> str:
    """The business sends `content` (a Cloud API message body) to `wa_id` through the API."""
    answer = console.api().post(
        "/v1/messages", json={"appid": console.app_id, "to": wa_id, **content}
    )
    assert answer.status_code == 202, answer.text
    transid: str = answer.json()["transid"]
    return transid


def _inbound(console: Console, wa_id: str, count: int = 1) -> list[dict[str, Any]]:
    """wanode's inbound messages from `wa_id`, newest first, once there are `count` of them
    (the sandbox's webhook may still be on its way when the phone shows the message)."""
    deadline = time.monotonic() + 10
    while True:
        found: list[dict[str, Any]] = (
            console.api().get("/v1/inbound", params={"waid": wa_id}).json()["messages"]
        )
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _open(page: Page, console: Console, wa_id: str) -> None:
    page.goto(f"{console.url}/console/simulator/{wa_id}")
    # The live feed is connected before anything is sent, so what follows arrives live.
    expect(page.locator(".sim-phone")).to_have_attribute("data-live", "on")


def _bubble(page: Page, text: str) -> Locator:
    return page.locator(".sim-bubble", has=page.locator(".sim-text", has_text=text))


def test_the_customer_writes_and_the_business_answer_appears_live_with_its_ticks(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    wa_id = _customer()
    page.goto(f"{console.url}/console/simulator")
    page.get_by_label("WhatsApp number (digits, country code first)").fill(wa_id)
    page.get_by_label("Profile name").fill("Ana <b>Silva</b>")
    page.get_by_role("button", name="Create and open").click()
    page.wait_for_url(f"{console.url}/console/simulator/{wa_id}")
    expect(page.locator("#sim-name")).to_have_text("Ana <b>Silva</b>")
    expect(page.locator(".sim-phone")).to_have_attribute("data-live", "on")

    page.get_by_label("Message", exact=True).fill("Hi, is my order on its way?")
    page.get_by_role("button", name="Send the message").click()
    mine = _bubble(page, "Hi, is my order on its way?")
    expect(mine).to_have_class("sim-bubble sim-mine")
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    inbound = _inbound(console, wa_id)
    assert [m["message"]["text"]["body"] for m in inbound] == ["Hi, is my order on its way?"]

    # Two seconds between delivered and read, so a loaded machine does not skip a tick.
    console.handset(wa_id, read_delay=3.0)
    _send(console, wa_id, {"type": "text", "text": {"body": "<script>alert(1)</script> Yes!"}})
    answer = _bubble(page, "Yes!")
    expect(answer.locator(".sim-text")).to_have_text("<script>alert(1)</script> Yes!")
    ticks = answer.locator(".sim-ticks")
    expect(ticks).to_have_attribute("data-status", "delivered")
    expect(ticks).to_have_attribute("data-status", "read")
    expect(ticks).to_have_text("✓✓")
    assert page.locator(".sim-chat script").count() == 0
    page.set_viewport_size({"width": 375, "height": 812})
    # Usable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "simulator-375")
    page.get_by_role("link", name="← Simulated customers").click()
    expect(page.get_by_role("link", name=f"Ana <b>Silva</b> +{wa_id}")).to_be_visible()


def test_a_list_row_picked_on_the_phone_arrives_as_an_inbound_reply(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    wa_id = _customer()
    console.handset_says(wa_id, "What times do you have?")
    _open(page, console, wa_id)
    _send(
        console,
        wa_id,
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick a delivery slot"},
                "action": {
                    "button": "Slots",
                    "sections": [
                        {
                            "title": "Tomorrow",
                            "rows": [
                                {"id": "am", "title": "Morning", "description": "8-12"},
                                {"id": "pm", "title": "Afternoon", "description": "14-18"},
                            ],
                        }
                    ],
                },
            },
        },
    )
    menu = _bubble(page, "Pick a delivery slot")
    menu.get_by_text("☰ Slots").click()
    screenshot(page, "simulator-list-picker")
    menu.get_by_role("button", name="Afternoon").click()
    reply = page.locator(".sim-mine .sim-text", has_text="[list] Afternoon")
    expect(reply).to_be_visible()
    expect(page.locator(".sim-mine .sim-quote").last).to_have_text("Pick a delivery slot")

    message = _inbound(console, wa_id, count=2)[0]["message"]
    assert message["interactive"]["list_reply"] == {
        "id": "pm",
        "title": "Afternoon",
        "description": "14-18",
    }


def test_buttons_reactions_replies_media_and_settings_from_the_page(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    wa_id = _customer()
    console.handset_says(wa_id, "Hello")
    _open(page, console, wa_id)
    _send(
        console,
        wa_id,
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Keep the booking?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "yes", "title": "Keep it"}},
                        {"type": "reply", "reply": {"id": "no", "title": "Cancel it"}},
                    ]
                },
            },
        },
    )
    question = _bubble(page, "Keep the booking?")
    question.get_by_role("button", name="Keep it").click()
    expect(page.locator(".sim-mine .sim-text", has_text="[button] Keep it")).to_be_visible()

    # React to the business's message, then reply to it in context.
    question.get_by_label("React to this message").click()
    question.get_by_role("button", name="React 👍").click()
    expect(page.locator(".sim-mine .sim-text", has_text="[button] Keep it")).to_be_visible()
    question.get_by_role("link", name="Reply to this message").click()
    expect(page.locator("#sim-replying")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("See you then")
    page.keyboard.press("Enter")
    quoted = _bubble(page, "See you then").locator(".sim-quote")
    expect(quoted).to_have_text("Keep the booking?")
    sent = console.http.get(f"/sandbox/handsets/{wa_id}/sent").json()
    assert [entry["type"] for entry in sent] == ["text", "interactive", "reaction", "text"]

    # A sample picture and a location, from the attach panel.
    page.get_by_text("Attach: picture, file, location, contact").click()
    page.get_by_label("Sample").select_option("photo.jpg")
    page.get_by_label("Caption").fill("the parcel")
    page.get_by_role("button", name="Send picture or file").click()
    picture = page.locator(".sim-mine img.sim-thumb[alt='image: the parcel']")
    expect(picture).to_be_visible()
    # Drawn from the sandbox by the media id its sent list gives (photo.jpg is 640 wide).
    expect(picture).to_have_js_property("naturalWidth", 640)
    sent = console.http.get(f"/sandbox/handsets/{wa_id}/sent").json()
    assert sent[-1]["media_id"] and sent[-1]["reply_to"] is None
    assert sent[-2]["reply_to"] == question.get_attribute("data-wamid")
    page.get_by_label("Place name").fill("Home")
    page.get_by_role("button", name="Send location").click()
    expect(page.locator(".sim-mine .sim-text", has_text="Home")).to_be_visible()
    page.get_by_label("Contact name").fill("Rui Costa")
    page.get_by_label("Contact phone").fill("+351 912 000 111")
    page.get_by_role("button", name="Send contact").click()
    expect(page.locator(".sim-mine .sim-text", has_text="Rui Costa")).to_be_visible()

    # Settings: read receipts off, a new identity; the page follows the sandbox.
    page.get_by_label("Read receipts on").uncheck()
    page.get_by_role("button", name="Save settings").click()
    before = page.locator("#sim-identity").inner_text()
    page.get_by_role("button", name="Change identity (new phone)").click()
    expect(page.locator("#sim-identity")).not_to_have_text(before)
    handset = console.http.get(f"/sandbox/handsets/{wa_id}").json()
    assert handset["reads"] is False
    assert handset["identity_key_hash"] == page.locator("#sim-identity").inner_text()
    page.get_by_text("Attach: picture, file, location, contact").click()
    page.set_viewport_size({"width": 1100, "height": 900})
    publish(screenshot(page, "simulator"), "simulator.png")


def test_a_business_image_is_drawn_from_the_sandbox_and_a_bad_action_is_explained(
    signed_in: Page, console: Console
) -> None:
    page = signed_in
    wa_id = _customer()
    console.handset_says(wa_id, "Send me the picture")
    _open(page, console, wa_id)
    link = f"{console.url}/sandbox/samples/logo.png"
    _send(console, wa_id, {"type": "image", "image": {"link": link, "caption": "our logo"}})
    image = page.locator(".sim-theirs img.sim-thumb[alt='image: our logo']")
    expect(image).to_be_visible()
    expect(image).to_have_js_property("naturalWidth", 256)

    # A document uploaded through the API and sent by id: the phone fetches it from the
    # sandbox with the number's token, through the console.
    pdf = console.http.get("/sandbox/samples/invoice.pdf").content
    uploaded = console.api().post(
        "/v1/media",
        data={"appid": console.app_id},
        files={"file": ("invoice.pdf", pdf, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    media_id = uploaded.json()["id"]
    _send(
        console,
        wa_id,
        {"type": "document", "document": {"id": media_id, "filename": "invoice-7.pdf"}},
    )
    document = page.get_by_role("link", name="invoice-7.pdf")
    expect(document).to_be_visible()
    href = document.get_attribute("href") or ""
    assert href.startswith(f"/console/simulator/{wa_id}/media/")
    fetched = page.request.get(console.url + href)
    assert fetched.status == 200
    assert fetched.body() == pdf
    stranger = console.http.get(href)
    assert stranger.status_code in (303, 401)

    # Offline, the handset cannot write: the refusal is shown, not swallowed.
    console.handset(wa_id, online=False)
    expect(page.locator("#sim-presence")).to_have_text("offline")
    page.get_by_label("Message", exact=True).fill("anyone there?")
    page.get_by_role("button", name="Send the message").click()
    expect(page.locator("#sim-status")).to_contain_text("offline")
    console.handset(wa_id, online=True)


def test_the_customers_are_the_sandbox_s_handsets_an_app_key_those_of_its_number(
    new_page: Callable[..., Page], signed_in: Page, console: Console
) -> None:
    wrote, panel_made = _customer(), _customer()
    console.handset_says(wrote, "Hi there")
    console.handset(wrote, name="Wrote First")
    console.handset(panel_made, name="Made On The Panel")
    signed_in.goto(f"{console.url}/console/simulator")
    expect(signed_in.get_by_role("link", name=f"Wrote First +{wrote}")).to_be_visible()
    expect(signed_in.get_by_role("link", name=f"Made On The Panel +{panel_made}")).to_be_visible()

    page = new_page()
    sign_in(page, console, key=console.app_key)
    page.goto(f"{console.url}/console/simulator")
    expect(page.get_by_role("link", name=f"Wrote First +{wrote}")).to_be_visible()
    # Nothing exchanged with the app's number: not its customer (yet).
    expect(page.get_by_role("link", name=f"Made On The Panel +{panel_made}")).to_have_count(0)


def test_the_simulator_needs_a_session(new_page: Callable[..., Page], console: Console) -> None:
    page = new_page()
    page.goto(f"{console.url}/console/simulator/351910000000")
    assert page.url.startswith(f"{console.url}/console/sign-in")
    refused = console.http.post(
        "/console/simulator/351910000000/send", data={"text": "hi", "phone_number_id": "x"}
    )
    assert refused.status_code in (303, 401)


def test_a_customer_action_without_the_csrf_token_is_refused(
    signed_in: Page, console: Console
) -> None:
    wa_id = _customer()
    answer = signed_in.request.post(
        f"{console.url}/console/simulator/{wa_id}/send",
        form={"phone_number_id": console.phone_number_id, "text": "forged"},
    )
    assert answer.status == 403
    assert console.http.get(f"/sandbox/handsets/{wa_id}/sent").json() == []
