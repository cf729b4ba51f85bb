"""The Flows page in Chromium: the editor refuses a definition with its problems pinned to their
nodes; a deployed flow's run waits in a Receive node until the handset picks a list row, then
advances, its path highlighted on the graph live."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from tests.console.conftest import Console, publish

HANDSET = "4915112347301"

# Two problems: one the definition's own (node `bye`), one a deploy static check finds in the
# list message node `menu` would send (a row title over WhatsApp's 24 characters).
BROKEN = """\
id: c3-broken
nodes:
  start: {type: start, on: {onStart: menu}}
  menu:
    type: whatsapp
    name: <i>Menu</i>
    destination: "+4915112347399"
    wa:
      type: list
      list:
        body: {text: Pick a slot}
        action:
          button: Slots
          sections:
            - title: Monday
              rows:
                - {id: s1, title: "A row title far longer than twenty-four characters"}
    on: {onSuccess: bye}
  bye: {type: end, colour: red}
"""

SLOTS = """\
id: c3-slots
name: Book a slot
variables:
  phone: ""
nodes:
  start:
    type: start
    on: {onStart: menu}
  menu:
    type: whatsapp
    destination: $(phone)
    wa:
      type: list
      list:
        body: {text: Pick a slot}
        action:
          button: Slots
          sections:
            - title: Monday
              rows:
                - {id: s1, title: "9:00"}
                - {id: s2, title: "10:00", description: Late morning}
    on: {onSuccess: pick, onError: failed}
  pick:
    type: receive
    events: [list]
    timeout: 600
    on: {whatsapp.mo: thanks, onTimeout: failed}
  thanks:
    type: whatsapp
    destination: $(phone)
    wa: {type: text, text: {body: "Booked: $(pick.whatsapp.listRowTitle)"}}
    on: {onSuccess: done}
  done: {type: end}
  failed: {type: end, result: {code: 102, description: No slot}}
"""


def node(page: Page, node_id: str, graph: str = "") -> Any:
    return page.locator(f"{graph} svg.flow-graph g.node[data-node='{node_id}']")


def edge(page: Page, source: str, target: str) -> Any:
    return page.locator(f"svg.flow-graph g.edge[data-source='{source}'][data-target='{target}']")


def test_a_flow_with_problems_is_refused_with_each_pinned_to_its_node(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    page.goto(f"{console.url}/console/flows/-/new")
    # The app named: other tests may have registered more apps on the shared server, and a
    # definition without one deploys only where there is a single app.
    page.get_by_label("App", exact=True).select_option(console.app_id)
    editor = page.get_by_label("Definition (YAML or JSON)")
    editor.fill(BROKEN)
    # Checked as it is typed: the problems drawn on the graph, nothing deployed.
    editor.press("Enter")
    result = page.locator("#editor-result")
    expect(result.get_by_role("alert")).to_have_text("Refused: 2 problems")
    expect(node(page, "menu", "#editor-result")).to_have_class("node has-problem")
    expect(node(page, "bye", "#editor-result")).to_have_class("node has-problem")
    expect(node(page, "start", "#editor-result")).to_have_class("node")
    # A name is text, never markup.
    expect(node(page, "menu", "#editor-result").locator("text.node-type")).to_have_text(
        "whatsapp · <i>Menu</i>"
    )
    menu = result.locator("li.problem[data-node='menu']")
    expect(menu).to_contain_text("wa.list.action.sections[0].rows[0].title")
    expect(menu).to_contain_text("24")
    expect(result.locator("li.problem[data-node='bye']")).to_contain_text(
        "'colour' is not a setting of this node"
    )
    # Deploy: refused the same way, the text kept for fixing.
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("alert")).to_have_text("Refused: 2 problems")
    expect(node(page, "menu")).to_have_class("node has-problem")
    expect(page.get_by_label("Definition (YAML or JSON)")).to_have_value(BROKEN + "\n")
    assert console.api().get("/v1/flows/c3-broken").status_code == 404
    publish(screenshot(page, "flows-editor-refused"), "flow-editor-refused.png")
    # Fixed, its Check is clean.
    page.get_by_label("Definition (YAML or JSON)").fill(
        BROKEN.replace("A row title far longer than twenty-four characters", "9:00").replace(
            ", colour: red", ""
        )
    )
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_have_text("No problems: this definition deploys.")
    expect(page.locator("svg.flow-graph g.node.has-problem")).to_have_count(0)


def test_a_run_waits_for_a_list_row_then_advances_on_the_graph(
    signed_in: Page, console: Console, screenshot: Callable[[Page, str], Path]
) -> None:
    page = signed_in
    console.handset_says(HANDSET, "hello")  # opens the customer-care window
    page.goto(f"{console.url}/console/flows/-/new")
    page.get_by_label("App", exact=True).select_option(console.app_id)
    page.get_by_label("Definition (YAML or JSON)").fill(SLOTS)
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(f"{console.url}/console/flows/c3-slots?deployed=1")
    expect(page.get_by_role("status")).to_have_text("Deployed: version 1 is current.")
    expect(edge(page, "pick", "thanks").locator("text")).to_have_text("whatsapp.mo")

    page.get_by_label("Variables (JSON object, optional)").fill(f'{{"phone": "+{HANDSET}"}}')
    page.get_by_role("button", name="Start a run").click()
    page.wait_for_url(f"{console.url}/console/flows/c3-slots/runs/*")
    expect(page.locator("#run-status")).to_have_text("waiting")
    expect(node(page, "pick")).to_have_class("node current")
    expect(node(page, "menu")).to_have_class("node visited")
    expect(edge(page, "start", "menu")).to_have_class("edge taken")

    menu = _received(console, lambda m: m.get("type") == "interactive")
    picked = console.http.post(
        f"/sandbox/handsets/{HANDSET}/pick-row", json={"message_id": menu["id"], "id": "s2"}
    )
    assert picked.status_code in (200, 201), picked.text

    # The page polls while the run waits: it advances without a reload.
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(node(page, "pick")).to_have_class("node visited")
    expect(node(page, "done")).to_have_class("node visited")
    expect(node(page, "failed")).to_have_class("node")
    for source, target in (("menu", "pick"), ("pick", "thanks"), ("thanks", "done")):
        expect(edge(page, source, target)).to_have_class("edge taken")
    expect(edge(page, "pick", "failed")).to_have_class("edge")
    step = page.locator("table.steps tr[data-node='pick']")
    expect(step).to_contain_text("whatsapp.mo")
    expect(step).to_contain_text('"pick.whatsapp.listRowIdentifier": "s2"')
    assert _received(console, lambda m: m.get("text") == "Booked: 10:00")
    publish(screenshot(page, "flows-run-path"), "flow-run.png")
    # On a phone the graph scrolls inside its frame; the page itself does not.
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "flows-run-375")

    page.goto(f"{console.url}/console/flows")
    row = page.get_by_role("row").filter(has_text="c3-slots")
    expect(row).to_contain_text("Book a slot")
    page.get_by_role("link", name="Book a slot").click()
    expect(page.locator("table.runs")).to_contain_text("completed")
    screenshot(page, "flows-flow")

    page.get_by_role("button", name="Disable").click()
    expect(page.locator("#flow-state")).to_have_text("disabled")
    assert console.api().get("/v1/flows/c3-slots").json()["enabled"] is False
    page.get_by_role("button", name="Start a run").click()
    expect(page.get_by_role("alert")).to_have_text("flow c3-slots is disabled")
    page.get_by_role("button", name="Enable").click()
    expect(page.locator("#flow-state")).to_have_text("enabled")


def _received(console: Console, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The handset's first message from the business that `match`es, once it arrives."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [m for m in console.inbox(HANDSET) if match(m)]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no such message in {console.inbox(HANDSET)}")
