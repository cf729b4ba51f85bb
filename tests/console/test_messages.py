"""Compose, a message's page and the message log, in the browser."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.console.conftest import Console


def _customer() -> str:
    return "1555" + "".join(secrets.choice("0123456789") for _ in range(7))


def test_a_text_to_a_handset_that_wrote_first_turns_read_live_and_shows_as_text(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    wa_id = _customer()
    console.handset_says(wa_id, "Hello, is anyone there?")
    dialogs: list[str] = []
    signed_in.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    body = "<script>alert(1)</script> <b>not bold</b>"

    signed_in.goto(f"{console.url}/console/compose")
    signed_in.get_by_label("To (phone number)").fill("12")
    signed_in.get_by_label("Kind").select_option("text")
    signed_in.get_by_label("Body").fill(body)
    signed_in.get_by_role("button", name="Send").click()
    # The API's own check refuses the number; the error is shown beside its field.
    expect(signed_in.locator("#e-to")).to_contain_text("to '12'")
    expect(signed_in.get_by_label("Body")).to_have_value(body)
    signed_in.get_by_label("To (phone number)").fill(f"+{wa_id}")
    signed_in.get_by_text("Delivery reports and correlation").click()
    # A notify URL that answers every DR with 405: the page shows each DR and that answer.
    signed_in.get_by_label("Notify URL").fill(f"{console.url}/healthz")
    signed_in.get_by_role("button", name="Send").click()

    signed_in.wait_for_url(f"{console.url}/console/messages/*")
    expect(signed_in.locator("#customer-view")).to_have_text(body)
    expect(signed_in.locator("#customer-view b")).to_have_count(0)
    # queued -> sent -> delivered -> read as the sandbox's handset reports them, no reload.
    expect(signed_in.locator("#status")).to_have_text("read")
    expect(signed_in.locator("#timeline")).to_contain_text("delivered")
    expect(signed_in.locator("#deliveries")).to_contain_text("HTTP 405")
    screenshot(signed_in, "message")
    assert dialogs == []
    assert [m["text"] for m in console.inbox(wa_id)] == [body]


def test_the_log_filters_by_correlation_id_status_and_code(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    wa_id = _customer()  # never wrote: outside the 24-hour window, so a text fails with 131047
    tag = secrets.token_hex(4)
    with console.api() as api:
        sent = []
        for i in range(3):
            answer = api.post(
                "/v1/messages",
                json={
                    "appid": console.app_id,
                    "to": f"+{wa_id}",
                    "type": "text",
                    "text": {"body": f"hello {i}"},
                    "correlationid": f"{tag}-{i}",
                },
            )
            assert answer.status_code == 202, answer.text
            sent.append(answer.json()["transid"])

    signed_in.goto(f"{console.url}/console/messages")
    signed_in.get_by_label("Correlation id").fill(f"{tag}-1")
    signed_in.get_by_role("button", name="Filter").click()
    rows = signed_in.locator("#messages tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(sent[1])

    signed_in.goto(
        f"{console.url}/console/messages?destination=%2B{wa_id}&status=failed&code=131047"
    )
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(sent[2])  # newest first
    screenshot(signed_in, "messages")

    # Keyset pages both ways: from a cursor in the future, the same three and a link to newer.
    signed_in.goto(f"{console.url}/console/messages?destination={wa_id}&after=9999999999.0~z")
    expect(rows).to_have_count(3)
    expect(signed_in.get_by_role("link", name="Older messages")).to_have_count(0)
    signed_in.get_by_role("link", name="Newer messages").click()
    expect(rows).to_have_text(["No message matches."])

    signed_in.goto(f"{console.url}/console/messages?code=not-a-code")
    expect(signed_in.locator("#e-code")).to_have_text("an error code is a number, as 131047")


def test_compose_sends_a_template_with_a_field_per_parameter(
    signed_in: Page, console: Console
) -> None:
    name = f"order_{secrets.token_hex(3)}"
    with console.api() as api:
        created = api.post(
            "/v1/templates",
            json={
                "appid": console.app_id,
                "name": name,
                "language": "en_US",
                "category": "UTILITY",
                "components": [
                    {
                        "type": "BODY",
                        "text": "Hi {{1}}, your order ships on {{2}}.",
                        "example": {"body_text": [["Ana", "Monday"]]},
                    }
                ],
            },
        )
        assert created.status_code == 201, created.text
        template_id = created.json()["id"]
        deadline = time.monotonic() + 10
        while api.get(f"/v1/templates/{template_id}").json()["status"] != "APPROVED":
            assert time.monotonic() < deadline, "the sandbox never approved the template"
            time.sleep(0.1)

    signed_in.goto(f"{console.url}/console/compose")
    signed_in.get_by_label("To (phone number)").fill(f"+{_customer()}")
    signed_in.get_by_label("Kind").select_option("template")
    signed_in.get_by_label("Template", exact=True).select_option(template_id)
    fields = signed_in.locator("#template-fields input")
    expect(fields).to_have_count(2)
    fields.nth(0).fill("Zoë <b>")
    signed_in.get_by_role("button", name="Send").click()
    # A parameter left empty is refused by the API's own check, shown beside its field.
    expect(signed_in.locator("#e-p-2")).to_contain_text("message.parameters.2 must not be empty")
    fields = signed_in.locator("#template-fields input")
    expect(fields.nth(0)).to_have_value("Zoë <b>")
    fields.nth(1).fill("Friday")
    signed_in.get_by_role("button", name="Send").click()
    signed_in.wait_for_url(f"{console.url}/console/messages/*")
    # The template's text with the values sent, as the customer's phone shows it.
    expect(signed_in.locator("#customer-view")).to_have_text(
        "Hi Zoë <b>, your order ships on Friday."
    )
    expect(signed_in.locator("#payload")).to_contain_text(f'"name": "{name}"')
