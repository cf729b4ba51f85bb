"""The sandbox's own media check, end to end through wanode: with the engine's preflight off
(WANODE_MEDIA_PREFLIGHT=false), a link the sandbox cannot fetch, or that serves the wrong kind
of file, is sent and then fails as Meta fails it, with 131053 (DR 7861); a good one is read.
Files are served over real HTTP on loopback, the only place the sandbox fetches from."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.support.harness import running
from tests.support.receiver import drs_by_message, free_port, receiver, serve_app

from wanode.sandbox.samples import sample
from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


def _files(files: dict[str, bytes]) -> Starlette:
    async def serve(request: Request) -> Response:
        body = files.get(request.path_params["name"])
        return Response(status_code=404) if body is None else Response(body)

    return Starlette(routes=[Route("/{name}", serve)])


def _bytes(name: str) -> bytes:
    found = sample(name)
    assert found is not None
    return found[1]


async def test_the_sandbox_fails_bad_links_with_131053(db: Database) -> None:
    port = free_port()
    files = {"cat.jpg": _bytes("photo.jpg"), "menu.jpg": _bytes("invoice.pdf")}
    async with (
        serve_app(_files(files), port),
        receiver() as dr,
        running(db, media_preflight=False, sandbox_fetch_media=True) as wn,
    ):

        async def send(name: str) -> str:
            response = await wn.client.post(
                "/resources/v1/messaging",
                json={
                    "appid": wn.app_id,
                    "deliverychannel": "whatsapp",
                    "destination": [{"waid": [HANDSET]}],
                    "channels": {
                        "OTT-Messaging": {
                            "wa": {
                                "type": "image",
                                "image": {"url": f"http://127.0.0.1:{port}/{name}"},
                            }
                        }
                    },
                    "notifyurl": f"{dr.url}/dr",
                },
            )
            assert response.status_code == 200, response.text
            return str(response.json()["response"][0]["transid"])

        pdf, gone, good = await send("menu.jpg"), await send("gone.jpg"), await send("cat.jpg")

        failed = await wn.wait_status(pdf, "failed")
        assert failed["error"]["code"] == 131053
        assert failed["error"]["details"] == (
            "image.link: the file is application/pdf; image messages take image/jpeg, image/png"
        )
        missing = await wn.wait_status(gone, "failed")
        assert missing["error"]["code"] == 131053
        assert missing["error"]["details"] == "image.link: the server answered HTTP 404"
        await wn.wait_status(good, "read")
        # Seven DRs in all: each failed message's 7501 (handed to WhatsApp) then its 7861, and
        # the good one's three. Wait for all of them: the last may still be on its way.
        assert drs_by_message(await dr.wait_for(7)) == {
            pdf: [("7501", "Submitted"), ("7861", "Failed")],
            gone: [("7501", "Submitted"), ("7861", "Failed")],
            good: [("7501", "Submitted"), ("7500", "Delivered"), ("7502", "Read")],
        }
