"""Short links: `GET /l/{code}` redirects to the URL a sent message's link stood for, and
`options` (link shortening and click tracking) read from a send request.

The redirect answers from the engine's cache or one read by primary key, and only queues the
click (engine/clicks.py), so nothing on its path writes. The target is the stored URL alone:
nothing in the request (query string, headers) can change where it leads. An unknown or
expired code answers 404. A HEAD request is answered like a GET but is not a click (link
checkers and some previews send one).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from wanode.api._time import iso
from wanode.api.auth import require_key
from wanode.api.context import Caller, Context, context
from wanode.api.errors import ApiError
from wanode.codes import SYNC
from wanode.messages import InvalidMessage
from wanode.messages.links import LinkOptions, check, normalise_base, parse_options
from wanode.store import messages as outbox
from wanode.store import short_links

router = APIRouter()

_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Each click must reach wanode to be seen: no cache may answer for it, and the target should
# not learn which message it came from.
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get(
    "/l/{code}",
    summary="Follow a short link",
    response_class=RedirectResponse,
    responses={302: {"description": "To the link's URL"}, 404: {"description": "No such link"}},
)
async def follow(code: str, request: Request, ctx: Context = Depends(context)) -> Response:
    link = await ctx.engine.clicks.resolve(code) if _CODE.fullmatch(code) else None
    if link is None:
        return PlainTextResponse("Not Found", status_code=404, headers=_HEADERS)
    if request.method == "GET":
        ctx.engine.clicks.clicked(link)
    return RedirectResponse(link["url"], status_code=302, headers=_HEADERS)


router.add_api_route("/l/{code}", follow, methods=["HEAD"], include_in_schema=False)


@router.get("/v1/messages/{transid}/links", dependencies=[Depends(require_key)])
async def message_links(
    transid: str, ctx: Context = Depends(context), caller: Caller = Depends(require_key)
) -> dict[str, Any]:
    """A message's short links: where each leads and how often it was followed."""
    async with ctx.db.begin() as conn:
        message = await outbox.get(conn, transid)
        if message is None or not caller.may_act_on(message["app_id"]):
            raise ApiError(SYNC.NOT_FOUND, f"no message with transid {transid}", field="transid")
        links = await short_links.of_message(conn, transid)
    return {
        "transid": transid,
        "links": [
            {
                "code": link["code"],
                "url": link["url"],
                "shortUrl": link["short_url"],
                "trackClicks": link["track"],
                "tag1": link["tag1"],
                "tag2": link["tag2"],
                "clicks": link["clicks"],
                "createdAt": iso(link["created_at"]),
                "expiresAt": iso(link["expires_at"]),
            }
            for link in links
        ],
    }


def link_options(ctx: Context, body: dict[str, Any], message: Any, at: str) -> LinkOptions | None:
    """The request's `options`, None when absent; `message` (whose request field is `at`) is
    checked as it would be sent with short links, so a limit it breaks refuses the request."""
    if "options" not in body:
        return None
    allowed = [normalise_base(domain) for domain in ctx.settings.short_link_domain_list()]
    try:
        options = parse_options(body["options"], allowed=allowed)
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, "options") from exc
    try:
        check(message, options)
    except InvalidMessage as exc:
        raise ApiError.from_invalid(exc, at) from exc
    return options
