"""The spec's loose ends, end to end on SQLite and PostgreSQL: the OTP parameter under the spec's
name, a title on every list section, video codecs and legacy-encoded text in the media
preflight, `type` on list and reply events, signed media links in events, and the known
identity hash on 7501 DRs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.integration.test_preflight import file_server
from tests.integration.test_templates import AUTHENTICATION, approved, fast_review, send_webex
from tests.support.harness import Harness, running, wait_until
from tests.support.mp4 import AAC, H264, HEVC, mp4
from tests.support.receiver import Received, receiver

from wanode.sandbox.samples import sample
from wanode.store import Database, contacts

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"
WA = "channels.OTT-Messaging.wa"
LATIN1 = "Réservation: table 7, 20 h, crème brûlée pour deux.\r\n".encode("latin-1")


def messaging(wn: Harness, wa: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "appid": wn.app_id,
        "deliverychannel": "whatsapp",
        "destination": [{"waid": [HANDSET]}],
        "channels": {"OTT-Messaging": {"wa": wa}},
        **extra,
    }


async def queued(wn: Harness, wa: dict[str, Any], **extra: Any) -> str:
    response = await wn.client.post("/resources/v1/messaging", json=messaging(wn, wa, **extra))
    assert response.status_code == 200, response.text
    return str(response.json()["response"][0]["transid"])


async def inbox(wn: Harness) -> list[dict[str, Any]]:
    return list((await wn.client.get(f"/sandbox/handsets/{HANDSET}/messages")).json())


async def test_the_otp_parameter_takes_the_spec_name(db: Database) -> None:
    async with running(db) as wn:
        fast_review(wn)
        template_id = await approved(wn, AUTHENTICATION)

        spec = await send_webex(wn, template_id, {"OTP": {"type": "otp", "value": "246810"}})
        assert spec.status_code == 200, spec.text
        await wn.wait_status(spec.json()["response"][0]["transid"], "read")
        [message] = await inbox(wn)
        assert message["text"].startswith("*246810* is your verification code.")

        both = await send_webex(
            wn,
            template_id,
            {"otp": {"type": "otp", "value": "1"}, "OTP": {"type": "otp", "value": "1"}},
        )
        too_long = await send_webex(wn, template_id, {"OTP": {"type": "otp", "value": "9" * 16}})
    assert both.status_code == 400
    assert (both.json()["response"]["code"], both.json()["response"]["field"]) == (
        "7804",
        "message.parameters.OTP",
    )
    assert (too_long.json()["response"]["code"], too_long.json()["response"]["field"]) == (
        "7808",
        "message.parameters.OTP.value",
    )


async def test_every_list_section_needs_a_title(db: Database) -> None:
    section: dict[str, Any] = {"rows": [{"id": "s1", "title": "9:00"}]}
    menu = {"body": {"text": "Pick a slot"}, "action": {"button": "Slots", "sections": [section]}}
    async with running(db, start_engine=False) as wn:
        webex = await wn.client.post(
            "/resources/v1/messaging", json=messaging(wn, {"type": "list", "list": menu})
        )
        native = await wn.client.post(
            "/v1/messages",
            json={
                "appid": wn.app_id,
                "to": HANDSET,
                "type": "interactive",
                "interactive": {"type": "list", **menu},
            },
        )
        section["title"] = "Monday"
        titled = await wn.client.post(
            "/resources/v1/messaging", json=messaging(wn, {"type": "list", "list": menu})
        )
    assert webex.status_code == 400
    assert (webex.json()["response"]["code"], webex.json()["response"]["field"]) == (
        "7003",
        f"{WA}.list.action.sections[0].title",
    )
    assert native.status_code == 400, native.text
    assert native.json()["error"]["code"] == "7003"
    assert native.json()["error"]["field"] == "interactive.action.sections[0].title"
    assert titled.status_code == 200, titled.text


async def test_the_preflight_checks_codecs_and_reads_legacy_text(db: Database) -> None:
    files = {
        "hevc.mp4": mp4(HEVC, AAC),
        "h264.mp4": mp4(H264, AAC, moov_last=True),
        "notes.txt": LATIN1,
    }
    async with (
        file_server(**files) as server,
        receiver() as dr,
        running(db, media_preflight=True, media_preflight_timeout=5.0) as wn,
    ):
        hevc = await queued(
            wn,
            {"type": "video", "video": {"url": server.url("/files/hevc.mp4")}},
            notifyurl=f"{dr.url}/dr",
        )
        failed = await wn.wait_status(hevc, "failed")
        reason = "video.link: the video is HEVC (H.265) (hvc1); WhatsApp plays H.264 video"
        assert failed["error"]["code"] == 131053
        assert failed["error"]["details"].startswith(reason)
        [report] = [
            r.json()["deliveryInfoNotification"]["deliveryInfo"] for r in await dr.wait_for(1)
        ]
        assert (report["code"], report["deliveryStatus"]) == ("7861", "Failed")

        good = await queued(wn, {"type": "video", "video": {"url": server.url("/files/h264.mp4")}})
        text = await queued(
            wn,
            {
                "type": "document",
                "document": {"url": server.url("/files/notes.txt"), "filename": "notes.txt"},
            },
        )
        await wn.wait_status(good, "read")
        await wn.wait_status(text, "read")
        assert [m["type"] for m in await inbox(wn)] == ["video", "document"]


async def events(hook: Any, count: int) -> list[dict[str, Any]]:
    received: list[Received] = await hook.wait_for(count)
    return [r.json() for r in received]


async def test_events_carry_type_and_links_that_need_no_key(db: Database, tmp_path: Path) -> None:
    async with (
        receiver() as hook,
        running(db, media_dir=tmp_path / "media", public_url="http://wanode/") as wn,
    ):
        subscribed = await wn.client.post("/v1/subscriptions", json={"url": f"{hook.url}/events"})
        assert subscribed.status_code == 201, subscribed.text

        sent = await wn.client.post(
            f"/sandbox/handsets/{HANDSET}/send-media",
            json={"phone_number_id": wn.app["phone_number_id"], "sample": "photo.jpg"},
        )
        assert sent.status_code == 201, sent.text
        [photo] = await events(hook, 1)
        [attachment] = json.loads(photo["attachments"])
        link = urlsplit(attachment["url"])
        assert (link.scheme, link.netloc, link.path) == (
            "http",
            "wanode",
            f"/v1/media/{attachment['id']}",
        )
        assert "expires=" in link.query and "token=" in link.query

        # The link as it is, without the API key.
        anonymous = {"key": ""}
        served = await wait_until(
            lambda: wn.client.get(attachment["url"], headers=anonymous),
            lambda r: not (r.status_code == 409 and "retry-after" in r.headers),
            timeout=10,
            what="the photo to be downloaded",
        )
        found = sample("photo.jpg")
        assert found is not None
        assert served.status_code == 200, served.text
        assert served.content == found[1]
        forged = attachment["url"].replace("token=", "token=x")
        refused = await wn.client.get(forged, headers=anonymous)
        assert refused.status_code == 401
        assert (refused.json()["error"]["code"], refused.json()["error"]["field"]) == (
            "7001",
            "token",
        )
        bare = await wn.client.get(link.path, headers=anonymous)
        assert bare.status_code == 401

        menu = {
            "body": {"text": "Pick a slot"},
            "action": {
                "button": "Slots",
                "sections": [{"title": "Monday", "rows": [{"id": "s1", "title": "9:00"}]}],
            },
        }
        buttons = {
            "body": {"text": "Confirm?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "YES", "title": "Yes"}}]},
        }
        for wa in ({"type": "list", "list": menu}, {"type": "reply", "reply": buttons}):
            await wn.wait_status(await queued(wn, wa), "read")
        listed, replied = await inbox(wn)
        for action, body in (
            ("pick-row", {"message_id": listed["id"], "id": "s1"}),
            ("tap-button", {"message_id": replied["id"], "id": "YES"}),
        ):
            response = await wn.client.post(f"/sandbox/handsets/{HANDSET}/{action}", json=body)
            assert response.status_code in (200, 201), response.text
        _, row, tap = await events(hook, 3)
    assert (row["event"], row["type"], row["listRowIdentifier"]) == ("list", "list", "s1")
    assert (tap["event"], tap["type"], tap["replyButtonIdentifier"]) == ("reply", "reply", "YES")


async def test_a_7501_carries_the_hash_already_known(db: Database) -> None:
    async with receiver() as dr, running(db) as wn:
        first = await queued(wn, {"type": "text", "text": {"body": "one"}})
        await wn.wait_status(first, "read")
        async with wn.ctx.db.begin() as conn:
            contact = await contacts.get(conn, HANDSET)
        assert contact is not None and contact["identity_key_hash"]

        second = await queued(
            wn, {"type": "text", "text": {"body": "two"}}, notifyurl=f"{dr.url}/dr"
        )
        await wn.wait_status(second, "read")
        reports = [
            r.json()["deliveryInfoNotification"]["deliveryInfo"] for r in await dr.wait_for(3)
        ]
    assert [r["code"] for r in reports] == ["7501", "7500", "7502"]
    assert [r["identityKeyHash"] for r in reports] == [contact["identity_key_hash"]] * 3
