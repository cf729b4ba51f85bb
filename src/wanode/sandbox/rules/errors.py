"""Meta error objects: the synchronous error answer (cloud-api.md §1.5) and the asynchronous
`errors[]` item carried by `failed` statuses (§4.5, §8). Titles and HTTP statuses come from the
registry in `wanode.codes`; nothing here invents a code.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wanode.codes import meta_code

ERROR_DOCS = "/docs/whatsapp/cloud-api/support/error-codes/"


class MetaError(Exception):
    """A request the platform refuses, answered synchronously with a Graph error object."""

    def __init__(
        self,
        code: int,
        details: str,
        *,
        error_type: str = "OAuthException",
        message: str | None = None,
        subcode: int | None = None,
    ) -> None:
        super().__init__(f"({code}) {details}")
        self.code = code
        self.details = details
        self.error_type = error_type
        # Graph's own wording, for errors that are not "(#code) title" (access tokens, 190).
        self.message = message
        self.subcode = subcode

    @property
    def http_status(self) -> int:
        return meta_code(self.code).http_status

    def body(self) -> dict[str, Any]:
        if self.message is not None:
            # Graph's access-token errors carry their own message and a subcode, not the
            # WhatsApp `error_data` of the messaging errors.
            error: dict[str, Any] = {
                "message": self.message,
                "type": self.error_type,
                "code": self.code,
            }
            if self.subcode is not None:
                error["error_subcode"] = self.subcode
            return {"error": {**error, "fbtrace_id": _fbtrace_id()}}
        error = {
            "message": f"(#{self.code}) {meta_code(self.code).title}",
            "type": self.error_type,
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
        }
        if self.subcode is not None:
            # A few messaging errors carry one too (131030: 2655007).
            error["error_subcode"] = self.subcode
        return {"error": {**error, "fbtrace_id": _fbtrace_id()}}


@contextmanager
def as_invalid_parameter() -> Iterator[None]:
    """Graph's management endpoints answer every refused value with 100 (Invalid parameter),
    where the send endpoint's field readers would say 131008 or 131009."""
    try:
        yield
    except MetaError as exc:
        if exc.code == 100:
            raise
        raise MetaError(100, exc.details, error_type=exc.error_type) from exc


class SandboxError(Exception):
    """A request to the sandbox's own API (handsets, numbers) that cannot be served."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message}}


def status_error(code: int, details: str) -> dict[str, Any]:
    """One item of `statuses[].errors` for a message that failed after it was accepted."""
    title = meta_code(code).title
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": ERROR_DOCS,
    }


def _fbtrace_id() -> str:
    # Meta's trace ids are short opaque tokens; callers only log them.
    return secrets.token_urlsafe(16)[:22]
