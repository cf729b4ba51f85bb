"""The Contacts page in Chromium: a search shows each profile's opt-in, window and identity
hash as the API does, and its BSUID once a webhook names it; a CSV import shows its progress
and reports its one bad row."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from tests.console.conftest import Console, sign_in

ANA = "4915112347311"
BEN = "4915112347312"

CSV = b"""customerid,waid,name,opt_in,tier
c3-imp-1,+49 151 1234 7321,Imported One,yes,gold
c3-imp-2,+4915112347322,Imported Two,,silver
c3-imp-3,not a number,Bad Row,maybe,
c3-imp-4,4915112347324,<script>alert(1)</script>,no,
"""


def test_search_shows_opt_in_window_and_identity_hash(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    api = console.api()
    ana = api.put(
        "/v1/contacts/c3-ana",
        json={
            "waid": f"+{ANA}",
            "name": "Ana Search",
            "optIn": {"status": "opted_in", "source": "web form"},
        },
    )
    assert ana.status_code in (200, 201), ana.text
    ben = api.put("/v1/contacts/c3-ben", json={"waid": f"+{BEN}", "name": "Ben Search"})
    assert ben.status_code in (200, 201), ben.text
    # Ana writes: her window opens, and her WhatsApp profile name is observed.
    console.handset(ANA, name="Ana Search")
    console.handset_says(ANA, "hi")
    shown = _observed(console, "c3-ana")

    page = signed_in
    page.goto(f"{console.url}/console/contacts")
    page.get_by_label("Search customer id, name or number").fill("ana sea")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.contacts tbody tr")
    expect(rows).to_have_count(1)
    row = page.locator("tr[data-customer='c3-ana']")
    expect(row).to_contain_text("Ana Search")
    expect(row).to_contain_text(f"+{ANA}")
    expect(row.locator("td.opt-in")).to_contain_text("opted in")
    expect(row.locator("td.opt-in")).to_contain_text("web form")
    expect(row.locator("td.window")).to_have_text(f"open until {shown['windowOpenUntil']}")
    # As the API shows it (the sandbox's numbers send hashes once their identity check is on).
    expect(row.locator("td.identity")).to_have_text(shown["identityKeyHash"] or "")

    # By number, written as people write it.
    page.get_by_label("Search customer id, name or number").fill("+49 1511 2347312")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    ben_row = page.locator("tr[data-customer='c3-ben']")
    expect(ben_row.locator("td.opt-in")).to_contain_text("unknown")
    expect(ben_row.locator("td.window")).to_contain_text("never wrote")
    screenshot(page, "contacts-search")


def test_an_app_key_sees_its_own_apps_profiles_only(
    new_page: Callable[..., Page], console: Console
) -> None:
    own = console.api(console.app_key).put("/v1/contacts/c3-own", json={"waid": "+4915112347331"})
    assert own.status_code in (200, 201), own.text
    admins = console.api().put("/v1/contacts/c3-admins", json={"waid": "+4915112347332"})
    assert admins.status_code in (200, 201), admins.text
    page = new_page()
    sign_in(page, console, key=console.app_key)
    page.goto(f"{console.url}/console/contacts?q=c3-")
    expect(page.locator("tr[data-customer='c3-own']")).to_be_visible()
    expect(page.locator("tr[data-customer='c3-admins']")).to_have_count(0)
    # Its imports are its app's: the select offers no other.
    expect(page.get_by_label("Profiles of").locator("option")).to_have_count(1)


def test_a_contact_shows_the_bsuid_its_apps_webhooks_named(
    new_page: Callable[..., Page], console: Console
) -> None:
    number = "4915112347341"
    api = console.api(console.app_key)
    put = api.put("/v1/contacts/c3-bsuid", json={"waid": f"+{number}"})
    assert put.status_code in (200, 201), put.text
    page = new_page()
    sign_in(page, console, key=console.app_key)
    page.goto(f"{console.url}/console/contacts?q=c3-bsuid")
    cell = page.locator("tr[data-customer='c3-bsuid'] td.bsuid")
    expect(cell).to_have_text("unknown")  # no webhook has named it yet
    # The handset writes: the sandbox's webhook names its BSUID for the app.
    console.handset_says(number, "hi")
    bsuid = api.get("/v1/contacts/c3-bsuid").json()["bsuid"]
    assert isinstance(bsuid, str) and re.fullmatch(r"[A-Z]{2}\.[A-Za-z0-9]+", bsuid), bsuid
    page.reload()
    expect(cell).to_have_text(bsuid)


def test_a_csv_import_reports_its_bad_row_and_imports_the_others(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    page.goto(f"{console.url}/console/contacts")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-summary")).to_have_text(
        "4 rows: 3 created, 0 updated, 0 unchanged, 1 failed"
    )
    bar = page.locator("progress#import-bar")
    expect(bar).to_have_attribute("value", "4")
    expect(bar).to_have_attribute("max", "4")
    errors = page.locator("table.import-errors tbody tr")
    expect(errors).to_have_count(2)  # one bad row, two bad fields
    expect(errors.nth(0)).to_contain_text("4")
    expect(errors.nth(0)).to_contain_text("c3-imp-3")
    expect(errors.nth(0)).to_contain_text("waid")
    expect(errors.nth(1)).to_contain_text("opt_in")
    screenshot(page, "contacts-import")

    page.get_by_label("Search customer id, name or number").fill("c3-imp")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.contacts tbody tr")).to_have_count(3)
    expect(page.locator("tr[data-customer='c3-imp-1'] td.opt-in")).to_contain_text("opted in")
    # A name is shown as text, never run.
    expect(page.locator("tr[data-customer='c3-imp-4']")).to_contain_text(
        "<script>alert(1)</script>"
    )
    assert console.api().get("/v1/contacts/c3-imp-2").json()["attributes"] == {"tier": "silver"}


def _observed(console: Console, customer_id: str) -> dict[str, Any]:
    """The profile once the inbound message of its number has been processed."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        profile: dict[str, Any] = console.api().get(f"/v1/contacts/{customer_id}").json()
        if profile["lastInboundAt"] is not None:
            return profile
        time.sleep(0.05)
    raise AssertionError(f"{customer_id}'s inbound message was not observed: {profile}")
