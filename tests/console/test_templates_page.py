"""The templates page in Chromium: create a template from the form (with its preview) or from
JSON, approve or reject it as the sandbox's review, send it with parameters through the API
and see it rendered, quick replies and all, on the simulated phone."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.console.conftest import Console, publish, sign_in

_serial = itertools.count(1)


def _name(prefix: str) -> str:
    return f"{prefix}_{next(_serial)}"


def test_create_approve_send_and_see_it_on_the_phone(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    name = _name("order_ready")
    page.goto(f"{console.url}/console/templates/new")
    page.get_by_label("Name (lower case, digits, underscores)").fill(name)
    page.get_by_label("Header text (optional)").fill("Your order")
    page.get_by_label("Body, with variables").fill("Hi {{1}}, your order {{2}} is ready.")
    page.get_by_label("Sample values, one a line").fill("Ana\n#1234")
    page.get_by_label("Footer (optional)").fill("Reply STOP to opt out")
    page.get_by_label("Quick-reply buttons, one a line").fill("Track it\nTalk to us")
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("list", name="Preview")
    expect(preview.locator("[data-preview-body]")).to_have_text(
        "Hi Ana, your order #1234 is ready."
    )
    expect(preview.get_by_text("Track it")).to_be_visible()
    page.get_by_role("button", name="Create template").click()
    page.wait_for_url(f"{console.url}/console/templates/*")
    template_url = page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("Done: approved.")
    expect(page.locator("#template-status")).to_have_text("APPROVED")
    # Other sample values redraw the preview.
    page.get_by_label("Sample for {{1}}").fill("Rui")
    page.get_by_role("button", name="Preview with these values").click()
    expect(page.locator("[data-preview-body]")).to_have_text("Hi Rui, your order #1234 is ready.")
    screenshot(page, "template-page")

    page.goto(f"{console.url}/console/templates?status=APPROVED")
    row = page.locator(f"tr[data-template='{name}']")
    expect(row.locator(".badge")).to_have_text("APPROVED")
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "templates-375")
    page.set_viewport_size({"width": 1280, "height": 800})

    wa_id = "351920000001"
    console.handset_says(wa_id, "Is it ready?")
    page.goto(f"{console.url}/console/simulator/{wa_id}")
    expect(page.locator(".sim-phone")).to_have_attribute("data-live", "on")
    sent = console.api().post(
        "/v1/messages",
        json={
            "appid": console.app_id,
            "to": wa_id,
            "type": "template",
            "template": {
                "name": name,
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Marta <i>"},
                            {"type": "text", "text": "#77"},
                        ],
                    },
                    *(
                        {
                            "type": "button",
                            "sub_type": "quick_reply",
                            "index": str(index),
                            "parameters": [{"type": "payload", "payload": payload}],
                        }
                        for index, payload in enumerate(("TRACK", "HUMAN"))
                    ),
                ],
            },
        },
    )
    assert sent.status_code == 202, sent.text
    bubble = page.locator(".sim-theirs", has=page.locator(".sim-tag", has_text=name))
    expect(bubble.locator(".sim-text")).to_have_text("Hi Marta <i>, your order #77 is ready.")
    expect(bubble.locator(".sim-header")).to_have_text("Your order")
    expect(bubble.locator(".sim-footer")).to_have_text("Reply STOP to opt out")
    expect(bubble.locator(".sim-ticks")).to_have_attribute("data-status", "read")
    bubble.get_by_role("button", name="Track it").click()
    expect(page.locator(".sim-mine .sim-text", has_text="[button] Track it")).to_be_visible()
    publish(screenshot(page, "simulator-template"), "simulator-template.png")
    tapped = console.http.get(f"/sandbox/handsets/{wa_id}/sent").json()[-1]
    assert (tapped["type"], tapped["text"]) == ("button", "[button] Track it")
    assert template_url.startswith(f"{console.url}/console/templates/")


def test_json_create_errors_and_reject(signed_in: Page, console: Console) -> None:
    page = signed_in
    page.goto(f"{console.url}/console/templates/new")
    box = page.get_by_label("Template JSON")
    box.fill("{not json")
    page.get_by_role("button", name="Create from JSON").click()
    expect(page.get_by_role("alert")).to_contain_text("definition: not JSON")
    expect(page.get_by_label("Template JSON")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Template JSON").fill(
        '{"name": "Bad Name", "language": "en_US", "category": "UTILITY",'
        ' "components": [{"type": "BODY", "text": "Hello"}]}'
    )
    page.get_by_role("button", name="Create from JSON").click()
    expect(page.get_by_role("alert")).to_contain_text("name")
    expect(page.get_by_role("alert")).to_contain_text("lower-case")

    name = _name("promo")
    page.get_by_label("Template JSON").fill(
        f'{{"name": "{name}", "language": "en_US", "category": "MARKETING",'
        ' "components": [{"type": "BODY", "text": "<script>alert(1)</script> 20% off"}]}'
    )
    page.get_by_role("button", name="Create from JSON").click()
    page.wait_for_url(f"{console.url}/console/templates/*")
    expect(page.locator("[data-preview-body]")).to_have_text("<script>alert(1)</script> 20% off")
    page.get_by_label("Rejection reason").select_option("SCAM")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#template-status")).to_have_text("REJECTED")
    expect(page.get_by_text("(SCAM)")).to_be_visible()
    listed = console.api().get("/v1/templates", params={"name": name}).json()["templates"]
    assert [(t["status"], t["rejected_reason"]) for t in listed] == [("REJECTED", "SCAM")]


def test_a_template_sent_from_compose_with_parameters_shows_on_the_phone(
    signed_in: Page, console: Console
) -> None:
    page = signed_in
    name = _name("welcome")
    page.goto(f"{console.url}/console/templates/new")
    page.get_by_label("Template JSON").fill(
        f'{{"name": "{name}", "language": "en_US", "category": "UTILITY", "components": ['
        '{"type": "BODY", "text": "Welcome {{1}}, your code is {{2}}.",'
        ' "example": {"body_text": [["Ana", "A1"]]}}]}'
    )
    page.get_by_role("button", name="Create from JSON").click()
    page.wait_for_url(f"{console.url}/console/templates/*")
    template_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#template-status")).to_have_text("APPROVED")

    # The customer wrote first: wanode's policies send a utility template inside the window.
    wa_id = "351920000002"
    console.handset_says(wa_id, "Hello, I signed up")
    page.goto(f"{console.url}/console/compose")
    page.get_by_label("To (phone number)").fill(f"+{wa_id}")
    page.get_by_label("Kind").select_option("template")
    page.get_by_label("Template", exact=True).select_option(template_id)
    page.locator("#p-1").fill("<b>Zé</b>")
    page.locator("#p-2").fill("K9")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(f"{console.url}/console/messages/*")

    page.goto(f"{console.url}/console/simulator/{wa_id}")
    bubble = page.locator(".sim-theirs", has=page.locator(".sim-tag", has_text=name))
    expect(bubble.locator(".sim-text")).to_have_text("Welcome <b>Zé</b>, your code is K9.")
    expect(bubble.locator(".sim-ticks")).to_have_attribute("data-status", "read")


def test_an_app_key_sees_its_own_app_s_templates_and_number(
    new_page: Callable[..., Page], console: Console
) -> None:
    page = new_page()
    sign_in(page, console, key=console.app_key)
    page.goto(f"{console.url}/console/templates")
    expect(page.locator("tr[data-template='hello_world'] .badge")).to_have_text("APPROVED")
    expect(page.get_by_label("App")).to_have_value(console.app_id)
    page.goto(f"{console.url}/console/simulator/351920000003")
    number = page.get_by_label("Business number")
    expect(number).to_have_value(console.phone_number_id)
    assert number.locator("option").count() == 1
