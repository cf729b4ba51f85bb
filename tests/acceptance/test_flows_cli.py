"""`wanode flows` run as a user runs it, against `wanode serve` (with its sandbox)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.acceptance.test_serve import WANODE, Service, serve

pytestmark = pytest.mark.acceptance

HANDSET = "4915112340077"

# `on:` must stay the outcome edges, and `yes` a text, though YAML 1.1 reads both as booleans.
GREETING_YAML = """\
id: greeting
name: Greeting
variables:
  greeting: Hello
nodes:
  n1:
    type: start
    on: {onStart: n2}
  n2:
    type: set
    set: {greeting: "$(greeting), friend"}
    on: {onSuccess: n3}
  n3:
    type: receive
    timeout: 600
    on:
      whatsapp.mo: n4
      onTimeout: n6
  n4:
    type: branch
    conditions:
      - name: agreed
        when: {left: $(n3.receive.message), op: equals_ignore_case, right: yes}
    on:
      agreed: n5
  n5:
    type: end
    result: {code: 101, description: Agreed}
  n6:
    type: end
"""

BROKEN = {
    "id": "broken",
    "nodes": {
        "n1": {"type": "start", "on": {"onStart": "n2"}},
        "n2": {
            "type": "whatsapp",
            "destination": "$(phone)",
            "wa": {"type": "text", "text": {"body": "hi"}},
            "wait_for": "seen",
            "on": {"onSuccess": "n9"},
        },
        "n3": {"type": "teleport"},
        # Checked as the Messaging API checks it: a list needs a section.
        "n4": {
            "type": "whatsapp",
            "destination": HANDSET,
            "wa": {
                "type": "list",
                "list": {"body": {"text": "Pick"}, "action": {"button": "Go", "sections": []}},
            },
            "on": {"onSuccess": "n2"},
        },
    },
}


def flows(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WANODE, "flows", *args, "--url", service.url],
        capture_output=True,
        text=True,
        timeout=60,
        # A wide terminal, so that tables do not fold their cells.
        env={**os.environ, "WANODE_API_KEY": service.key, "COLUMNS": "250"},
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
        time.sleep(0.1)


def test_deploy_list_run_and_show(tmp_path: Path) -> None:
    source = tmp_path / "greeting.yaml"
    source.write_text(GREETING_YAML)
    with serve(tmp_path) as service:
        deployed = flows(service, "deploy", str(source))
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert f"deployed flow greeting version 1 (app {service.app_id})" in deployed.stdout
        again = flows(service, "deploy", str(source), "--app", service.app_id)
        assert again.returncode == 0, again.stderr
        assert "deployed flow greeting version 2" in again.stdout

        listed = flows(service, "list")
        assert listed.returncode == 0, listed.stderr
        assert "greeting" in listed.stdout and "Greeting" in listed.stdout
        as_json = json.loads(flows(service, "list", "--json").stdout)
        assert [(f["id"], f["version"], f["enabled"]) for f in as_json] == [("greeting", 2, True)]

        started = flows(
            service, "run", "greeting", "--var", "greeting=Hi", "--waid", f"+{HANDSET}", "--json"
        )
        assert started.returncode == 0, started.stderr
        run = json.loads(started.stdout)
        assert (run["status"], run["node"], run["contact"]) == ("waiting", "n3", HANDSET)
        assert run["variables"] == {"greeting": "Hi, friend"}
        assert run["waiting_for"]["kind"] == "inbound"

        shown = flows(service, "show", "greeting", run["id"])
        assert shown.returncode == 0, shown.stderr
        assert "status: waiting at node n3" in shown.stdout
        assert "waiting for: inbound" in shown.stdout
        assert "onStart" in shown.stdout and "Hi, friend" in shown.stdout

        with httpx.Client(base_url=service.url) as client:
            wrote = client.post(
                f"/sandbox/handsets/{HANDSET}/send",
                json={"phone_number_id": service.phone_number_id, "text": "Yes"},
            )
            assert wrote.status_code == 201, wrote.text

        def finished() -> dict[str, Any] | None:
            value = json.loads(flows(service, "show", "greeting", run["id"], "--json").stdout)
            return value if value["status"] != "waiting" else None

        done = wait_for(finished, "the run to end")
        assert done["status"] == "completed"
        assert done["result"]["description"] == "Agreed"
        assert [(h["node"], h["outcome"]) for h in done["history"]] == [
            ("n1", "onStart"),
            ("n2", "onSuccess"),
            ("n3", "whatsapp.mo"),
            ("n4", "agreed"),
            ("n5", "end"),
        ]
        table = flows(service, "show", "greeting", run["id"])
        assert "status: completed at node n5" in table.stdout
        for line in ("history", "whatsapp.mo", "agreed", "n3.receive.message", "Yes"):
            assert line in table.stdout, table.stdout

        # A plain run without --var takes the declared defaults.
        plain = flows(service, "run", "greeting", "--waid", HANDSET)
        assert plain.returncode == 0, plain.stderr
        assert "status: waiting at node n3" in plain.stdout
        assert 'variables: {"greeting": "Hello, friend"}' in plain.stdout


def test_problems_are_reported_with_node_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(BROKEN))
    unreadable = tmp_path / "unreadable.yaml"
    unreadable.write_text("id: [unclosed\n")
    with serve(tmp_path) as service:
        refused = flows(service, "deploy", str(broken))
        assert refused.returncode == 1, refused.stdout
        report = refused.stderr
        assert "broken.json:" in report
        for expected in (
            "node n3 field type: unknown node type 'teleport'",
            "node n2 field wait_for: wait_for is one of none, submit, delivery, read",
            "node n2 field on.onSuccess",
            "node n4: wa.list.action.sections: at least one section is mandatory",
        ):
            assert expected in report, report
        [unknown] = [line for line in report.splitlines() if "$(phone)" in line]
        assert "node n2" in unknown and "is not a variable of this flow" in unknown, report
        assert flows(service, "list", "--json").stdout.strip() == "[]"

        bad_yaml = flows(service, "deploy", str(unreadable))
        assert bad_yaml.returncode == 1 and "not valid YAML" in bad_yaml.stderr
        missing = flows(service, "deploy", str(tmp_path / "nowhere.yaml"))
        assert missing.returncode == 2 and "nowhere.yaml" in missing.stderr
        no_flow = flows(service, "run", "nothing")
        assert no_flow.returncode == 1 and "no enabled flow nothing" in no_flow.stderr
        bad_var = flows(service, "run", "nothing", "--var", "novalue")
        assert bad_var.returncode == 2 and "NAME=VALUE" in bad_var.stderr
        no_run = flows(service, "show", "nothing", "r-1")
        assert no_run.returncode == 1 and "no run r-1" in no_run.stderr
