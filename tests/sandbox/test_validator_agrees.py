"""wanode's validator and the sandbox agree: every message wanode accepts renders to a payload
the sandbox, written independently from Meta's rules, accepts with HTTP 200 and then delivers.

Media sent by id are uploaded first, with the type the message declared or, when it declared
none, any type wanode allows for the kind: delivery then also checks that wanode's table of
types agrees with Meta's (the sandbox fails media of the wrong type after accepting it).
Generated strings seldom reach their maximum length, so wanode's limits themselves are checked
by hand-built messages at every maximum.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sandbox.bench import FAST, NUMBER

from wanode.messages import MAX_CONTACTS, MEDIA_RULES, parse_wa, render_payload
from wanode.messages import interactive as limits
from wanode.messages.media import MAX_CAPTION, OGG_OPUS
from wanode.messages.text import MAX_BODY as MAX_TEXT
from wanode.sandbox import Sandbox, SandboxConfig

# The strategies live with wanode's own property tests; pytest puts their folder on sys.path
# only when it collects it, and this module may run alone.
_UNIT_TESTS = str(Path(__file__).resolve().parents[1] / "unit")
if _UNIT_TESTS not in sys.path:
    sys.path.insert(0, _UNIT_TESTS)

from test_messages import TO  # noqa: E402
from test_messages_properties import optional, texts, wa_objects  # noqa: E402

AUTH = {"Authorization": f"Bearer {NUMBER.access_token}"}
# Webhooks are not what this test is about; the webhook tests check them.
_NUMBER = dataclasses.replace(NUMBER, webhook_url=None)


@dataclasses.dataclass
class MediaSlot:
    """A media object of the payload that sends by id, and the type the `wa` object declared."""

    media: dict[str, Any]
    kind: str
    declared: str | None


def media_slots(wa: dict[str, Any], payload: dict[str, Any]) -> list[MediaSlot]:
    kind = payload["type"]
    if kind in MEDIA_RULES:
        media, declared = payload[kind], wa[kind]
    else:
        header = payload.get("interactive", {}).get("header", {})
        kind = header.get("type")
        if kind not in MEDIA_RULES:
            return []
        media, declared = header[kind], wa["reply"]["header"][kind]
    return [MediaSlot(media, kind, declared.get("mimeType"))] if "id" in media else []


@dataclasses.dataclass(frozen=True)
class Verdict:
    status_code: int
    body: Any
    failure: tuple[int, str] | None  # why the accepted message will not be delivered

    def delivered(self) -> bool:
        # The generated identity key hashes are random, so no handset has them (137000).
        return self.status_code == 200 and (self.failure is None or self.failure[0] == 137000)


async def sandbox_verdict(
    payload: dict[str, Any],
    uploads: Sequence[tuple[MediaSlot, str]] = (),
) -> Verdict:
    """Upload each slot's media as its MIME type, point the slot at it, send; the verdict."""
    sandbox = Sandbox(SandboxConfig(default_handset=FAST, enforce_window=False))
    sandbox.provision(_NUMBER)
    transport = httpx.ASGITransport(app=sandbox.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            for slot, mime_type in uploads:
                uploaded = await client.post(
                    f"/v23.0/{_NUMBER.phone_number_id}/media",
                    files={"file": ("file", b"0" * 64, mime_type)},
                    data={"messaging_product": "whatsapp", "type": mime_type},
                    headers=AUTH,
                )
                assert uploaded.status_code == 200, (mime_type, uploaded.json())
                slot.media["id"] = uploaded.json()["id"]
            response = await client.post(
                f"/v23.0/{_NUMBER.phone_number_id}/messages", json=payload, headers=AUTH
            )
    finally:
        await sandbox.aclose()
    # Only an accepted message reached a handset's inbox; the one handset is TO's.
    handset = sandbox.handsets.get("".join(filter(str.isdigit, TO)))
    failure = handset.inbox[-1].failure if handset is not None else None
    return Verdict(response.status_code, response.json(), failure)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wa_objects(), optional(texts(512)), st.data())
def test_every_message_wanode_accepts_the_sandbox_accepts(
    wa: dict[str, Any], callback: str | None, data: st.DataObject
) -> None:
    payload = render_payload(parse_wa(wa), TO, biz_opaque_callback_data=callback)
    uploads = [(slot, slot.declared or undeclared(slot, data)) for slot in media_slots(wa, payload)]

    verdict = asyncio.run(sandbox_verdict(payload, uploads))

    assert verdict.delivered(), verdict


def undeclared(slot: MediaSlot, data: st.DataObject) -> str:
    """The type of media sent by id that declared none: any the kind allows, but a voice note
    is OGG/OPUS (Meta fails another with 131053 after accepting it, and wanode cannot know an
    undeclared id's type)."""
    if slot.media.get("voice"):
        return OGG_OPUS
    return data.draw(st.sampled_from(sorted(MEDIA_RULES[slot.kind].formats)))


def _at_most(length: int, prefix: str = "") -> str:
    return prefix + "x" * (length - len(prefix))


AT_WANODES_LIMITS: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": {"body": _at_most(MAX_TEXT)}},
    "caption": {
        "type": "image",
        "image": {"url": "https://example.com/a.jpg", "caption": _at_most(MAX_CAPTION)},
    },
    "location": {"type": "location", "location": {"latitude": -90, "longitude": "180"}},
    "contacts": {
        "type": "contacts",
        "contacts": [
            {"name": {"formatted_name": f"C{i}", "first_name": f"C{i}"}}
            for i in range(MAX_CONTACTS)
        ],
    },
    "list": {
        "type": "list",
        "list": {
            "header": {"type": "text", "text": _at_most(limits.MAX_HEADER)},
            "body": {"text": _at_most(limits.MAX_BODY)},
            "footer": {"text": _at_most(limits.MAX_FOOTER)},
            "action": {
                "button": _at_most(limits.MAX_LIST_BUTTON),
                "sections": [
                    {
                        "title": _at_most(limits.MAX_SECTION_TITLE),
                        "rows": [
                            {
                                "id": _at_most(limits.MAX_ROW_ID, f"{i}-"),
                                "title": _at_most(limits.MAX_ROW_TITLE),
                                "description": _at_most(limits.MAX_ROW_DESCRIPTION),
                            }
                        ],
                    }
                    for i in range(limits.MAX_ROWS)
                ],
            },
        },
    },
    "reply buttons": {
        "type": "reply",
        "reply": {
            "header": {"type": "text", "text": _at_most(limits.MAX_HEADER)},
            "body": {"text": _at_most(limits.MAX_BODY)},
            "footer": {"text": _at_most(limits.MAX_FOOTER)},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {
                            "id": _at_most(limits.MAX_BUTTON_ID, f"{i}-"),
                            "title": _at_most(limits.MAX_BUTTON_TITLE, f"{i}-"),
                        },
                    }
                    for i in range(limits.MAX_BUTTONS)
                ]
            },
        },
    },
}


@pytest.mark.parametrize("case", AT_WANODES_LIMITS)
async def test_messages_at_wanodes_limits_are_accepted_by_the_sandbox(case: str) -> None:
    payload = render_payload(parse_wa(AT_WANODES_LIMITS[case]), TO)

    verdict = await sandbox_verdict(payload)

    assert verdict.delivered(), verdict
