"""The hot routes' JSON (api.fast.render) is JSONResponse's, byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import JSONResponse

from wanode.api.fast import render


@pytest.mark.parametrize(
    "content",
    [
        {"response": [{"code": "1001", "description": "Queued", "correlationid": "é\u2028\x00"}]},
        {"error": {"code": "7004", "message": '\x7f\x1f\ud7ff\U0001f600"\\/\t\n\r\b\f'}},
        {"received": 2**70},  # past orjson's integers: json.dumps renders it
        {"a": [1, -1, 0, True, False, None, "", {}, []]},
    ],
)
def test_render_is_jsonresponses(content: Any) -> None:
    assert render(content) == JSONResponse(content).body


def test_every_character_renders_alike() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert render({"s": text}) == JSONResponse({"s": text}).body


def test_what_neither_renders_is_refused_alike() -> None:
    with pytest.raises(TypeError):
        JSONResponse({"x": {1, 2}})
    with pytest.raises(TypeError):
        render({"x": {1, 2}})
