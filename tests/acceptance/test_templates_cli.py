"""`wanode templates` run as a user runs it, against `wanode serve` (with its sandbox)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.acceptance.test_serve import HANDSET, WANODE, Service, serve

pytestmark = pytest.mark.acceptance

ORDER_YAML = """\
# Meta's create body (cloud-api.md §3.1), as YAML.
name: order_update
language: en_US
category: UTILITY
components:
  - type: HEADER
    format: TEXT
    text: "Order {{1}}"
    example:
      header_text: ["#1234"]
  - type: BODY
    text: "Hi {{1}}, your order ships on {{2}}."
    example:
      body_text: [["Ana", "Monday"]]
  - type: BUTTONS
    buttons:
      - type: QUICK_REPLY
        text: Track
"""


def templates(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WANODE, "templates", *args, "--url", service.url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WANODE_API_KEY": service.key},
        check=False,
    )


def wait_for(check: Any, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_create_from_yaml_list_sync_and_send(tmp_path: Path) -> None:
    source = tmp_path / "order.yaml"
    source.write_text(ORDER_YAML)
    with serve(tmp_path) as service:
        created = templates(service, "create", str(source), "--app", service.app_id)
        assert created.returncode == 0, created.stderr
        template = json.loads(created.stdout)
        assert (template["name"], template["status"], template["appid"]) == (
            "order_update",
            "PENDING",
            service.app_id,
        )
        assert template["parameters"] == ["headerText", "1", "2", "quickReply"]

        def approved() -> list[dict[str, Any]]:
            listed = templates(service, "list", "--json", "--status", "APPROVED")
            assert listed.returncode == 0, listed.stderr
            return [t for t in json.loads(listed.stdout) if t["id"] == template["id"]]

        wait_for(approved, "the review to approve the template")
        table = templates(service, "list")
        assert table.returncode == 0 and "order_update" in table.stdout
        shown = templates(service, "show", template["id"])
        assert json.loads(shown.stdout)["status"] == "APPROVED"
        synced = templates(service, "sync")
        assert synced.returncode == 0, synced.stderr
        assert "2 listed" in synced.stdout  # with the sandbox's sample template

        with httpx.Client(base_url=service.url, headers={"key": service.key}) as client:
            response = client.post(
                "/resources/v1/messaging",
                json={
                    "appid": service.app_id,
                    "deliverychannel": "whatsapp",
                    "destination": [{"waid": [HANDSET]}],
                    "message": {
                        "template": template["id"],
                        "parameters": {
                            "headerText": "#42",
                            "1": "Ana",
                            "2": "Monday",
                            "quickReply": [{"payload": "TRACK_42"}],
                        },
                    },
                },
            )
            assert response.status_code == 200, response.text
            transid = response.json()["response"][0]["transid"]
            wait_for(
                lambda: (
                    client.get(f"/v1/messages/{transid}").json()["status"] in ("delivered", "read")
                ),
                "the template to be delivered",
            )
            inbox = client.get(f"/sandbox/handsets/{HANDSET}/messages").json()
        assert inbox[-1]["text"].startswith("Order #42\nHi Ana, your order ships on Monday.")


def test_a_bad_file_or_template_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    no_body = tmp_path / "no_body.json"
    no_body.write_text(json.dumps({"name": "no_body", "language": "en", "category": "UTILITY"}))
    with serve(tmp_path) as service:
        unreadable = templates(service, "create", str(broken))
        assert unreadable.returncode == 2 and "broken.yaml" in unreadable.stderr
        not_an_object = templates(service, "create", str(listed))
        assert not_an_object.returncode == 2 and "one object" in not_an_object.stderr
        refused = templates(service, "create", str(no_body))
        assert refused.returncode == 1
        error = json.loads(refused.stderr)["error"]
        assert (error["code"], error["field"]) == ("7003", "components")
        missing = templates(service, "show", "123")
        assert missing.returncode == 1 and "7108" in missing.stderr
