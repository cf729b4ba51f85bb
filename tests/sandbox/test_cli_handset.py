"""`wanode handset ...` against a sandbox served over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.sandbox.bench import FAST, NUMBER, USER, payload_of
from tests.support.receiver import free_port, serve_app
from typer.testing import CliRunner, Result

from wanode.cli.sandbox_cmds import handset
from wanode.sandbox import Sandbox, SandboxConfig

# Webhooks are the action tests' subject; here the sandbox keeps what the handset sent.
_NUMBER = dataclasses.replace(NUMBER, webhook_url=None)


@dataclasses.dataclass
class Served:
    sandbox: Sandbox
    url: str

    async def run(self, *args: str) -> Result:
        """Run a `handset` command in a thread (it speaks blocking HTTP to the sandbox)."""
        arguments = [*args, "--sandbox-url", self.url]
        return await asyncio.to_thread(CliRunner().invoke, handset, arguments)

    def sent(self) -> list[dict[str, Any]]:
        found = self.sandbox.handsets.get(USER)
        return [entry.as_json() for entry in found.sent] if found is not None else []


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    sandbox = Sandbox(
        SandboxConfig(default_handset=FAST, template_review_delay=0.0, enforce_window=False)
    )
    sandbox.provision(_NUMBER)
    port = free_port()
    async with serve_app(sandbox.app, port):
        yield Served(sandbox, f"http://127.0.0.1:{port}")
    await sandbox.aclose()


def answer(result: Result) -> Any:
    """The JSON a command printed (the in-process sandbox's log lines may surround it)."""
    lines = result.output.splitlines()
    start = lines.index("{")
    return json.loads("\n".join(lines[start : lines.index("}", start) + 1]))


async def business_sends(served: Served, body: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=served.url, trust_env=False) as client:
        response = await client.post(
            f"/v23.0/{NUMBER.phone_number_id}/messages",
            json=body,
            headers={"Authorization": f"Bearer {NUMBER.access_token}"},
        )
    await served.sandbox.drain()
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def test_the_customer_sends_every_kind(served: Served, tmp_path: Path) -> None:
    document = tmp_path / "plan.pdf"
    document.write_bytes(b"%PDF-1.4 plan")

    results = [
        await served.run("send-text", USER, "hello"),
        await served.run("send-media", USER, "--sample", "photo.jpg", "--caption", "me"),
        await served.run("send-media", USER, "--file", str(document)),
        await served.run("send-media", USER, "--sample", "voice.ogg", "--voice"),
        await served.run("send-location", USER, "52.5", "13.4", "--name", "Home"),
        await served.run(
            "send-contact", USER, "Ana Lima", "+15550001111", "--wa-id", "15550001111"
        ),
    ]

    for result in results:
        assert result.exit_code == 0, result.output
    assert answer(results[0])["id"].startswith("wamid.")
    assert [(item["type"], item["text"]) for item in served.sent()] == [
        ("text", "hello"),
        ("image", "[image] me"),
        ("document", "[document] plan.pdf"),
        ("audio", "[voice note] voice.ogg"),
        ("location", "[location] Home (52.5, 13.4)"),
        ("contacts", "[contacts] Ana Lima (+15550001111)"),
    ]


async def test_the_customer_answers_the_business(served: Served) -> None:
    buttons = await business_sends(
        served,
        payload_of(
            "interactive",
            {
                "type": "button",
                "body": {"text": "Ok?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
            },
        ),
    )
    rows = await business_sends(
        served,
        payload_of(
            "interactive",
            {
                "type": "list",
                "body": {"text": "Pick"},
                "action": {
                    "button": "Menu",
                    "sections": [{"rows": [{"id": "r1", "title": "Soup"}]}],
                },
            },
        ),
    )
    template = await business_sends(
        served, payload_of("template", {"name": "hello_world", "language": {"code": "en_US"}})
    )

    tapped = await served.run("tap-button", USER, buttons, "y")
    picked = await served.run("pick-row", USER, rows, "r1")
    reacted = await served.run("react", USER, buttons, "👍")
    unreacted = await served.run("react", USER, buttons)
    no_quick_reply = await served.run("tap-quick-reply", USER, template, "--index", "0")
    inbox = await served.run("inbox", USER)

    for result in (tapped, picked, reacted, unreacted):
        assert result.exit_code == 0, result.output
    assert [item["text"] for item in served.sent()] == [
        "[button] Yes",
        "[list] Soup",
        f"[reaction] 👍 to {buttons}",
        f"[reaction] (removed) to {buttons}",
    ]
    assert no_quick_reply.exit_code == 1
    assert "400" in no_quick_reply.output and "quick-reply" in no_quick_reply.output
    assert inbox.exit_code == 0
    assert "Hello World" in inbox.output


async def test_the_handset_settings_and_identity(served: Served) -> None:
    offline = await served.run("go-offline", USER)
    refused = await served.run("send-text", USER, "hi")
    online = await served.run("go-online", USER)
    quiet = await served.run("stop-reading", USER)
    before = served.sandbox.handsets.get(USER)
    old_hash = before.identity_key_hash if before is not None else ""
    rotated = await served.run("change-identity", USER)

    assert offline.exit_code == online.exit_code == quiet.exit_code == 0
    assert answer(offline)["online"] is False
    assert refused.exit_code == 1 and "409" in refused.output
    assert answer(quiet)["reads"] is False
    assert answer(rotated)["identity_key_hash"] != old_hash


async def test_opening_a_link(served: Served) -> None:
    result = await served.run(
        "open-link", USER, f"https://wa.me/{NUMBER.display_phone_number}?text=Hi%20there"
    )

    assert result.exit_code == 0, result.output
    assert answer(result)["text"] == "Hi there"


async def test_the_number_must_be_chosen_when_there_are_several(served: Served) -> None:
    served.sandbox.provision(dataclasses.replace(_NUMBER, phone_number_id="2", access_token="t2"))

    ambiguous = await served.run("send-text", USER, "hi")
    chosen = await served.run("send-text", USER, "hi", "--number", "2")

    assert ambiguous.exit_code == 2
    assert "--number" in ambiguous.output
    assert chosen.exit_code == 0, chosen.output


async def test_an_unreachable_sandbox_is_reported() -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        handset,
        ["inbox", USER, "--sandbox-url", f"http://127.0.0.1:{free_port()}"],
    )

    assert result.exit_code == 1
    assert "cannot reach the sandbox" in result.output
