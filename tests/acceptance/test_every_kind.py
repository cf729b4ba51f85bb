"""Every message kind through `wanode serve` as a newcomer runs it: the README's examples (with
the sandbox's sample media, checked by the media preflight) and `wanode send` for each kind."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.acceptance.test_serve import HANDSET, WANODE, handset_writes, poll, serve

from wanode.api.examples import EXAMPLE_TO, WA_EXAMPLES

pytestmark = [pytest.mark.acceptance, pytest.mark.asyncio]


def _on(url: str, wa: dict[str, Any]) -> dict[str, Any]:
    """The example, with its sample media links pointing at this service."""
    return dict(json.loads(json.dumps(wa).replace("http://127.0.0.1:8080", url)))


async def test_every_example_kind_is_read(tmp_path: Path) -> None:
    with serve(tmp_path, window=True) as svc:
        async with httpx.AsyncClient(base_url=svc.url, headers={"key": svc.key}) as client:
            await handset_writes(client, svc, EXAMPLE_TO)
            transids = {}
            for kind, wa in WA_EXAMPLES.items():
                response = await client.post(
                    "/resources/v1/messaging",
                    json={
                        "appid": svc.app_id,
                        "deliverychannel": "whatsapp",
                        "destination": [{"waid": [EXAMPLE_TO]}],
                        "channels": {"OTT-Messaging": {"wa": _on(svc.url, wa)}},
                    },
                )
                assert response.status_code == 200, response.text
                transids[kind] = response.json()["response"][0]["transid"]
            for kind, transid in transids.items():
                message = await poll(
                    client, f"/v1/messages/{transid}", lambda m: m["status"] in ("read", "failed")
                )
                assert message["status"] == "read", (kind, message["error"])
            missing = await client.post(
                "/v1/messages",
                json={
                    "appid": svc.app_id,
                    "to": EXAMPLE_TO,
                    "type": "image",
                    "image": {"link": f"{svc.url}/sandbox/samples/missing.jpg"},
                },
            )
            failed = await poll(
                client,
                f"/v1/messages/{missing.json()['transid']}",
                lambda m: m["status"] == "failed",
            )
            assert failed["error"]["code"] == 131052  # 7701 Media download error in the DR


def _run(svc: Any, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WANODE, "send", "--to", HANDSET, "--url", svc.url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "WANODE_API_KEY": svc.key},
        check=False,
    )


def _send(svc: Any, tmp_path: Path, *args: str) -> str:
    done = _run(svc, tmp_path, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return str(json.loads(done.stdout)["response"][0]["transid"])


async def test_wanode_send_every_kind(tmp_path: Path) -> None:
    with serve(tmp_path) as svc:
        samples = f"{svc.url}/sandbox/samples"
        reply = tmp_path / "reply.json"
        reply.write_text(json.dumps(WA_EXAMPLES["reply"]))
        runs = [
            ("--text", "Hello", "--preview-url"),
            ("--image", f"{samples}/photo.jpg", "--caption", "Table 7"),
            ("--audio", f"{samples}/voice.ogg", "--voice"),
            ("--video", f"{samples}/clip.mp4"),
            ("--document", f"{samples}/invoice.pdf", "--filename", "invoice.pdf"),
            ("--sticker", f"{samples}/sticker.webp"),
            ("--location", "52.52,13.405", "--name", "Mitte", "--address", "Alexanderplatz"),
            ("--json", str(reply)),
        ]
        transids = [_send(svc, tmp_path, *run) for run in runs]
        async with httpx.AsyncClient(base_url=svc.url, headers={"key": svc.key}) as client:
            for transid in transids:
                message = await poll(
                    client, f"/v1/messages/{transid}", lambda m: m["status"] in ("read", "failed")
                )
                assert message["status"] == "read", message
            inbox = (await client.get(f"/sandbox/handsets/{HANDSET}/messages")).json()
        kinds = [entry["type"] for entry in inbox]
        assert kinds == [
            "text", "image", "audio", "video", "document", "sticker", "location", "interactive"
        ]  # fmt: skip
        bad = _run(svc, tmp_path, "--text", "a", "--location", "1,2")
        assert bad.returncode == 2 and "exactly one of" in bad.stderr
