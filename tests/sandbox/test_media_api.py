"""Media: upload, metadata, download and delete (cloud-api.md §7), and sending by media id."""

from __future__ import annotations

import hashlib
import re
import struct

import pytest
from tests.sandbox.bench import NUMBER, Bench, assert_meta_error, payload_of

from wanode.sandbox import BusinessNumber

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
PDF = b"%PDF-1.4\n" + b"0" * 100
KB = 1024
AUTH = {"Authorization": f"Bearer {NUMBER.access_token}"}
OTHER = BusinessNumber(
    phone_number_id="2",
    waba_id="3",
    display_phone_number="15550000002",
    access_token="tok2",
    app_secret="s2",
)


def webp(size: int, *, animated: bool) -> bytes:
    """A WebP file of `size` bytes with an extended (VP8X) header, animated or not."""
    flags = 0x02 if animated else 0x00
    head = b"RIFF" + struct.pack("<I", size - 8) + b"WEBPVP8X" + struct.pack("<I", 10)
    head += bytes([flags]) + bytes(9)
    return head + bytes(size - len(head))


async def upload_id(bench: Bench, data: bytes, mime_type: str) -> str:
    response = await bench.upload(data, mime_type)
    assert response.status_code == 200, response.json()
    media_id: str = response.json()["id"]
    return media_id


async def test_upload_then_metadata_then_download_then_send_by_id(bench: Bench) -> None:
    response = await bench.upload(JPEG, "image/jpeg", filename="cat.jpg")
    assert response.status_code == 200
    assert set(response.json()) == {"id"}
    media_id = response.json()["id"]
    assert re.fullmatch(r"[0-9]{16}", media_id)

    metadata = (await bench.client.get(f"/v23.0/{media_id}", headers=AUTH)).json()
    assert metadata == {
        "messaging_product": "whatsapp",
        "url": f"http://sandbox/attachments/{media_id}",
        "mime_type": "image/jpeg",
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "file_size": str(len(JPEG)),
        "id": media_id,
    }
    download = await bench.client.get(metadata["url"], headers=AUTH)
    assert download.status_code == 200
    assert download.content == JPEG
    assert download.headers["content-type"] == "image/jpeg"

    sent = await bench.send(payload_of("image", {"id": media_id, "caption": "A cat"}))
    assert sent.status_code == 200
    wamid = sent.json()["messages"][0]["id"]
    await bench.settle()
    [entry] = await bench.inbox()
    assert (entry["text"], entry["status"]) == ("[image] A cat", "read")
    assert [s["status"] for s in bench.receiver.statuses(wamid)] == ["sent", "delivered", "read"]


@pytest.mark.parametrize(
    ("kind", "mime_type", "extra", "summary"),
    [
        ("audio", "audio/ogg; codecs=opus", {"voice": True}, "[voice note] media {id}"),
        ("audio", "audio/mpeg", {}, "[audio] media {id}"),
        ("video", "video/3gpp", {}, "[video] media {id}"),
        ("document", "application/pdf", {"filename": "a.pdf"}, "[document] a.pdf"),
        ("sticker", "image/webp", {}, "[sticker] media {id}"),
    ],
)
async def test_every_media_kind_sends_by_id(
    bench: Bench, kind: str, mime_type: str, extra: dict[str, object], summary: str
) -> None:
    media_id = await upload_id(bench, webp(1000, animated=False), mime_type)

    response = await bench.send(payload_of(kind, {"id": media_id, **extra}))
    await bench.settle()

    assert response.status_code == 200
    [entry] = await bench.inbox()
    assert (entry["text"], entry["status"]) == (summary.format(id=media_id), "read")


async def test_a_reply_button_header_sends_uploaded_media(bench: Bench) -> None:
    media_id = await upload_id(bench, JPEG, "image/png")
    message = {
        "type": "button",
        "header": {"type": "image", "image": {"id": media_id}},
        "body": {"text": "Like it?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]},
    }
    assert (await bench.send(payload_of("interactive", message))).status_code == 200

    message["header"] = {"type": "image", "image": {"id": "404"}}
    error = assert_meta_error(await bench.send(payload_of("interactive", message)), 131009, 400)
    assert error["error_data"]["details"].startswith("interactive.header.image.id: '404'")


async def test_an_unknown_media_id_is_131009(bench: Bench) -> None:
    error = assert_meta_error(await bench.send(payload_of("image", {"id": "123"})), 131009, 400)
    assert error["error_data"]["details"] == (
        "image.id: '123' is not the id of media uploaded for this phone number"
    )
    assert await bench.inbox() == []


async def test_media_of_another_number_is_unknown_to_this_one(bench: Bench) -> None:
    bench.sandbox.provision(OTHER)
    theirs = (
        await bench.client.post(
            f"/v23.0/{OTHER.phone_number_id}/media",
            files={"file": ("a.jpg", JPEG, "image/jpeg")},
            data={"messaging_product": "whatsapp", "type": "image/jpeg"},
            headers={"Authorization": f"Bearer {OTHER.access_token}"},
        )
    ).json()["id"]

    assert_meta_error(await bench.send(payload_of("image", {"id": theirs})), 131009, 400)
    error = assert_meta_error(await bench.client.get(f"/v23.0/{theirs}", headers=AUTH), 100, 400)
    assert error["type"] == "GraphMethodException"
    assert (await bench.client.get(f"/attachments/{theirs}", headers=AUTH)).status_code == 404


async def test_media_the_kind_does_not_take_is_accepted_then_fails_131053(bench: Bench) -> None:
    media_id = await upload_id(bench, PDF, "application/pdf")

    response = await bench.send(payload_of("image", {"id": media_id}))
    await bench.settle()

    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    [failed] = bench.receiver.statuses(wamid)
    assert failed["status"] == "failed"
    [error] = failed["errors"]
    assert error["code"] == 131053
    assert error["error_data"]["details"] == (
        f"image.id: media {media_id} is application/pdf; image messages take image/jpeg, image/png"
    )
    [entry] = await bench.inbox()
    assert entry["status"] == "failed" and entry["error"]["code"] == 131053


@pytest.mark.parametrize(
    ("mime_type", "limit", "animated"),
    [
        ("image/webp", 100 * KB, False),
        ("image/webp", 500 * KB, True),
        ("image/jpeg", 5 * KB * KB, False),
    ],
    ids=["static sticker", "animated sticker", "image"],
)
async def test_an_upload_at_its_size_limit_is_kept_and_one_byte_more_is_100(
    bench: Bench, mime_type: str, limit: int, animated: bool
) -> None:
    assert (await bench.upload(webp(limit, animated=animated), mime_type)).status_code == 200

    response = await bench.upload(webp(limit + 1, animated=animated), mime_type)

    error = assert_meta_error(response, 100, 400)
    assert error["error_data"]["details"] == (
        f"file: File Too Large: {limit + 1} bytes; {mime_type} files may have at most {limit} bytes"
    )


@pytest.mark.parametrize("mime_type", ["image/gif", "application/octet-stream", "audio/wav"])
async def test_an_upload_of_a_type_no_kind_takes_is_100(bench: Bench, mime_type: str) -> None:
    error = assert_meta_error(await bench.upload(JPEG, mime_type), 100, 400)
    details = error["error_data"]["details"]
    assert details.startswith("file: Param file must be a file with one of the following types:")
    assert details.endswith(f"Received file of type {mime_type!r}.")


async def test_the_file_parts_type_wins_over_the_type_field(bench: Bench) -> None:
    response = await bench.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/media",
        files={"file": ("a.jpg", JPEG, "application/octet-stream")},
        data={"messaging_product": "whatsapp", "type": "image/jpeg"},
        headers=AUTH,
    )
    assert_meta_error(response, 100, 400)


@pytest.mark.parametrize(
    ("files", "data", "path"),
    [
        ({"file": ("a.jpg", JPEG, "image/jpeg")}, {"type": "image/jpeg"}, "messaging_product"),
        (
            {"file": ("a.jpg", JPEG, "image/jpeg")},
            {"messaging_product": "sms", "type": "image/jpeg"},
            "messaging_product",
        ),
        ({"file": ("a.jpg", JPEG, "image/jpeg")}, {"messaging_product": "whatsapp"}, "type"),
        (None, {"messaging_product": "whatsapp", "type": "image/jpeg"}, "file"),
    ],
)
async def test_an_upload_missing_a_field_is_100(
    bench: Bench, files: dict[str, object] | None, data: dict[str, str], path: str
) -> None:
    response = await bench.client.post(
        f"/v23.0/{NUMBER.phone_number_id}/media", files=files, data=data, headers=AUTH
    )
    error = assert_meta_error(response, 100, 400)
    assert error["error_data"]["details"].startswith(f"{path}: ")


async def test_uploads_are_authorised_like_sends(bench: Bench) -> None:
    assert_meta_error(await bench.upload(JPEG, "image/jpeg", token="nope"), 190, 401)
    response = await bench.client.post(
        "/v23.0/999/media",
        files={"file": ("a.jpg", JPEG, "image/jpeg")},
        data={"messaging_product": "whatsapp", "type": "image/jpeg"},
        headers=AUTH,
    )
    assert_meta_error(response, 803, 404)


async def test_metadata_and_download_need_the_owners_token(bench: Bench) -> None:
    media_id = await upload_id(bench, JPEG, "image/jpeg")
    bench.sandbox.provision(OTHER)
    other = {"Authorization": f"Bearer {OTHER.access_token}"}

    assert_meta_error(await bench.client.get(f"/v23.0/{media_id}"), 190, 401)
    assert_meta_error(await bench.client.get(f"/v23.0/{media_id}", headers=other), 100, 400)
    assert_meta_error(await bench.client.get(f"/attachments/{media_id}"), 190, 401)
    assert (await bench.client.get(f"/attachments/{media_id}", headers=other)).status_code == 404


async def test_the_phone_number_id_query_must_name_the_owner(bench: Bench) -> None:
    media_id = await upload_id(bench, JPEG, "image/jpeg")
    own = await bench.client.get(
        f"/v23.0/{media_id}", params={"phone_number_id": NUMBER.phone_number_id}, headers=AUTH
    )
    assert own.status_code == 200
    wrong = await bench.client.get(
        f"/v23.0/{media_id}", params={"phone_number_id": "2"}, headers=AUTH
    )
    assert_meta_error(wrong, 100, 400)


async def test_deleted_media_is_gone_everywhere(bench: Bench) -> None:
    media_id = await upload_id(bench, JPEG, "image/jpeg")

    deleted = await bench.client.delete(f"/v23.0/{media_id}", headers=AUTH)

    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    error = assert_meta_error(await bench.client.get(f"/v23.0/{media_id}", headers=AUTH), 100, 400)
    assert error["type"] == "GraphMethodException"
    assert (await bench.client.get(f"/attachments/{media_id}", headers=AUTH)).status_code == 404
    assert_meta_error(await bench.send(payload_of("image", {"id": media_id})), 131009, 400)
    assert_meta_error(await bench.client.delete(f"/v23.0/{media_id}", headers=AUTH), 100, 400)


async def test_a_media_path_needs_an_api_version(bench: Bench) -> None:
    media_id = await upload_id(bench, JPEG, "image/jpeg")
    assert_meta_error(await bench.client.get(f"/latest/{media_id}", headers=AUTH), 100, 400)
