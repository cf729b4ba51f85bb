"""The API's documents behind a key (`WANODE_PROTECT_DOCS`): `/openapi.json`, `/docs` and
`/redoc` answer only a request with a valid key (or JWT), like the API they describe."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from wanode.api.auth import require_key


def keyed_docs(app: FastAPI) -> APIRouter:
    router = APIRouter(dependencies=[Depends(require_key)], include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs")

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc")

    return router
