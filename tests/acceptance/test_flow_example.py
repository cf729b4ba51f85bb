"""The appointment-confirmation example, step by step as the README's "Flows" section runs it,
against `wanode serve` with its default policies (24-hour window and opt-in on)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.acceptance.test_serve import WANODE, Service, serve

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PATIENT = "4915112345678"


def wanode(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [WANODE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "WANODE_API_KEY": service.key, "COLUMNS": "250"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def wait_for(check: Any, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_appointment_confirmation(tmp_path: Path) -> None:
    with serve(tmp_path, window=True) as service:
        url, sandbox = ["--url", service.url], ["--sandbox-url", f"{service.url}/sandbox"]
        # 1. The template, approved after the sandbox's review.
        created = wanode(service, "templates", "create", "examples/appointment-template.yaml", *url)
        template = json.loads(created.stdout)
        assert (template["name"], template["status"]) == ("appointment_reminder", "PENDING")
        assert template["parameters"] == ["1", "2", "quickReply"]

        def approved() -> bool:
            listed = wanode(service, "templates", "list", "--status", "APPROVED", "--json", *url)
            return any(t["id"] == template["id"] for t in json.loads(listed.stdout))

        wait_for(approved, "the template's approval")

        with httpx.Client(base_url=service.url, headers={"key": service.key}) as client:
            # 2. The patient agreed to get reminders on WhatsApp (a UTILITY template outside
            # the 24-hour window needs the opt-in).
            consent = client.put(
                "/v1/contacts/ana",
                json={"waid": f"+{PATIENT}", "optIn": {"status": "opted_in", "source": "booking"}},
            )
            assert consent.status_code == 201, consent.text

            # 3. Deploy the flow and start a run for the patient.
            deployed = wanode(
                service, "flows", "deploy", "examples/appointment-confirmation.yaml", *url
            )
            assert "deployed flow appointment-confirmation version 1" in deployed.stdout
            started = wanode(
                service,
                "flows",
                "run",
                "appointment-confirmation",
                "--var",
                f"phone={PATIENT}",
                "--var",
                f"templateId={template['id']}",
                "--var",
                "patient=Ana",
                "--var",
                "when=Tuesday 2 December at 10:00",
                *url,
            )
            found = re.search(r"^run (\S+) of flow appointment-confirmation", started.stdout, re.M)
            assert found, started.stdout
            run_id = found.group(1)
            run_url = f"/v1/flows/appointment-confirmation/runs/{run_id}"

            # 4. Once WhatsApp has the reminder, the run waits at n3 for the answer.
            waiting = wait_for(
                lambda: (r := client.get(run_url).json())["node"] == "n3" and r,
                "the run to wait for the answer",
            )
            assert waiting["waiting_for"]["kind"] == "inbound"
            shown = wanode(service, "flows", "show", "appointment-confirmation", run_id, *url)
            assert "status: waiting at node n3" in shown.stdout

            # 5. The patient's phone has the reminder; they tap "Confirm".
            inbox = wanode(service, "handset", "inbox", PATIENT, *sandbox)
            assert "appointment_reminder" in inbox.stdout or "Hi Ana" in inbox.stdout
            [reminder] = client.get(f"/sandbox/handsets/{PATIENT}/messages").json()
            assert reminder["text"].startswith("Your appointment\nHi Ana, this is a reminder")
            wanode(
                service,
                "handset",
                "tap-quick-reply",
                PATIENT,
                reminder["id"],
                "--text",
                "Confirm",
                *sandbox,
            )

            # 6. The run took the "confirm" branch, sent the reply and ended.
            done = wait_for(
                lambda: (r := client.get(run_url).json())["status"] != "waiting" and r,
                "the run to end",
            )
            assert done["status"] == "completed", done
            assert done["result"]["description"] == "Appointment confirmed"
            assert [(h["node"], h["outcome"]) for h in done["history"]] == [
                ("n1", "onStart"),
                ("n2", "onSubmit"),
                ("n3", "whatsapp.mo"),
                ("n4", "confirm"),
                ("n5", "onSuccess"),
                ("confirmed", "end"),
            ]
            assert done["outputs"]["n3"]["receive.payload"] == "CONFIRM"
            assert done["outputs"]["n2"]["send.response_interactive"]["buttonPayload"] == "CONFIRM"
            shown = wanode(service, "flows", "show", "appointment-confirmation", run_id, *url)
            assert "status: completed at node confirmed" in shown.stdout
            assert "Appointment confirmed" in shown.stdout

            messages = wait_for(
                lambda: (m := client.get(f"/sandbox/handsets/{PATIENT}/messages").json())[1:] and m,
                "the confirmation on the patient's phone",
            )
            assert [m["text"] for m in messages[1:]] == [
                "Thank you, Ana. Your appointment on Tuesday 2 December at 10:00 is confirmed. "
                "See you then!"
            ]
