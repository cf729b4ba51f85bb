"""The Overview and the Apps & keys pages, in the browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from tests.console.conftest import Console, sign_in


def _send_text(console: Console, body: str) -> str:
    with console.api() as api:
        answer = api.post(
            "/v1/messages",
            json={
                "appid": console.app_id,
                "to": "+15550007777",
                "type": "text",
                "text": {"body": body},
            },
        )
    assert answer.status_code == 202, answer.text
    transid: str = answer.json()["transid"]
    return transid


def test_the_overview_counts_and_charts_and_follows_new_messages(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    _send_text(console, "first")
    signed_in.goto(f"{console.url}/console")
    counts = signed_in.locator(f"#counts-{console.app_id}")
    expect(counts).to_be_visible()
    total = int(counts.locator(".stat b").first.inner_text())
    assert total >= 1
    expect(signed_in.locator("svg polyline")).to_have_count(4)
    _send_text(console, "second")
    # The page polls: the new message is counted without a reload.
    expect(counts.locator(".stat b").first).to_have_text(str(total + 1))
    expect(signed_in.locator("#total-failed")).not_to_have_text("failed 0")
    screenshot(signed_in, "overview")


def test_apps_and_keys_create_a_key_shown_once_revoke_it_and_check_settings(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    signed_in.goto(f"{console.url}/console/apps")
    signed_in.get_by_label("Name", exact=True).last.fill("reporting")
    signed_in.get_by_label("Acts on").select_option(console.app_id)
    signed_in.get_by_role("button", name="Create key").click()
    key = signed_in.get_by_label("The new API key").input_value()
    with console.api(key) as api:
        assert api.get("/v1/apps").json()["apps"][0]["id"] == console.app_id
    signed_in.goto(f"{console.url}/console/apps")
    expect(signed_in.locator("#new-key")).to_have_count(0)
    assert key not in signed_in.content()

    signed_in.get_by_role("button", name=re.compile(r"Revoke key reporting")).click()
    expect(signed_in.get_by_role("status")).to_contain_text("revoked")
    with console.api(key) as api:
        assert api.get("/v1/apps").status_code == 401

    settings = signed_in.get_by_role("form", name="Settings of Default app")
    settings.get_by_label(re.compile("Messaging tier")).fill("lots")
    settings.get_by_role("button", name="Save Default app").click()
    expect(signed_in.locator(f"#e-{console.app_id}-messaging_tier")).to_be_visible()
    settings = signed_in.get_by_role("form", name="Settings of Default app")
    settings.get_by_label(re.compile("Messaging tier")).fill("1000")
    settings.get_by_role("button", name="Save Default app").click()
    expect(signed_in.get_by_role("status")).to_have_text("App Default app saved.")
    with console.api() as api:
        assert api.get(f"/v1/apps/{console.app_id}").json()["messaging_tier"] == 1000

    register = signed_in.get_by_role("form", name="Register an app")
    register.get_by_label("Name").fill("Bakery")
    register.get_by_label("phone_number_id").fill("1888" + console.phone_number_id[-8:])
    register.get_by_label("WABA id").fill("2888" + console.phone_number_id[-8:])
    register.get_by_role("button", name="Register app").click()
    expect(signed_in.get_by_role("status")).to_contain_text("App Bakery (")
    expect(signed_in.get_by_role("heading", name=re.compile("^Bakery"))).to_be_visible()
    screenshot(signed_in, "apps")


def test_pages_fit_a_375_px_phone_and_the_nav_is_keyboard_reachable(
    new_page: Callable[..., Page], console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = new_page(viewport={"width": 375, "height": 740})
    sign_in(page, console)
    for path in ("/console", "/console/messages", "/console/compose", "/console/apps"):
        page.goto(f"{console.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide"
    screenshot(page, "apps-375")
    page.goto(f"{console.url}/console")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Overview")
