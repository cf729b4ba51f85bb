"""Entry-point routes: Graph's `/{phone-number-id}/message_qrdls` (cloud-api.md §10) and the
QR images their `qr_image_url` serves. Rules: see `wanode.sandbox.state.qrdls`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wanode.sandbox.http import params
from wanode.sandbox.http.paging import page
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.state.qrdls import IMAGE_FORMATS, MAX_PAGE, QrCode, image_format_of

if TYPE_CHECKING:
    from wanode.sandbox.platform import Platform

IMAGE_ROUTE = "qr_image"


class EntryRoutes:
    def __init__(self, sandbox: Platform) -> None:
        self.sandbox = sandbox

    async def create(self, request: Request) -> Response:
        """`POST /{version}/{phone-number-id}/message_qrdls`: create, or update with `code`."""
        number = self._number(request)
        body = await params.graph_json(request)
        qr, image_format = self.sandbox.qrdls.create_or_update(number.phone_number_id, body)
        return JSONResponse(qr.graph(_image_url(request, qr, image_format)))

    async def list(self, request: Request) -> Response:
        """`GET /{version}/{phone-number-id}/message_qrdls`, with `code`, `fields`, `limit`,
        `after`, `before`."""
        number = self._number(request)
        query = request.query_params
        image_format = image_format_of(query.get("fields"))
        codes = self.sandbox.qrdls.of(number.phone_number_id)
        if "code" in query:
            codes = [qr for qr in codes if qr.code == query["code"]]
        answer = page(
            codes,
            lambda qr: qr.code,
            limit=query.get("limit"),
            after=query.get("after"),
            before=query.get("before"),
            max_size=MAX_PAGE,
        )
        answer["data"] = [qr.graph(_image_url(request, qr, image_format)) for qr in answer["data"]]
        return JSONResponse(answer)

    async def one(self, request: Request) -> Response:
        """`GET` and `DELETE /{version}/{phone-number-id}/message_qrdls/{code}`."""
        number = self._number(request)
        code = request.path_params["code"]
        if request.method == "DELETE":
            self.sandbox.qrdls.delete(number.phone_number_id, code)
            return JSONResponse({"success": True})
        qr = self.sandbox.qrdls.owned(number.phone_number_id, code)
        image_format = image_format_of(request.query_params.get("fields"))
        return JSONResponse({"data": [qr.graph(_image_url(request, qr, image_format))]})

    async def image(self, request: Request) -> Response:
        """The QR image of a code, for anyone holding the URL; 404 once the code is deleted."""
        image_format = request.path_params["image_format"].upper()
        qr = self.sandbox.qrdls.get(request.path_params["code"])
        if qr is None or image_format not in IMAGE_FORMATS:
            return Response(status_code=404)
        data, media_type = qr.image(image_format)
        return Response(data, media_type=media_type)

    def _number(self, request: Request) -> BusinessNumber:
        params.version(request)
        return self.sandbox.authorise(
            request.path_params["phone_number_id"], request.headers.get("authorization")
        )


def _image_url(request: Request, qr: QrCode, image_format: str | None) -> str | None:
    if image_format is None:
        return None
    return str(request.url_for(IMAGE_ROUTE, code=qr.code, image_format=image_format.lower()))
