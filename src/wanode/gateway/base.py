"""The gateway port: how the engine hands a Cloud API payload to WhatsApp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Credentials:
    """What a gateway needs to act for one business phone number."""

    phone_number_id: str
    access_token: str
    waba_id: str = ""


@dataclass(frozen=True)
class Accepted:
    wamid: str
    wa_id: str


@dataclass(frozen=True)
class Rejected:
    """WhatsApp answered with an error object (cloud-api.md §1.5)."""

    code: int
    title: str
    details: str
    http_status: int
    retryable: bool


class GatewayError(Exception):
    """The gateway could not be reached or answered nonsense; always retryable.

    `ambiguous` is true when the request may have reached WhatsApp (a timeout after sending),
    so a retry could deliver the message twice.
    """

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


SendResult = Accepted | Rejected


class Gateway(Protocol):
    async def send(self, creds: Credentials, payload: dict[str, Any]) -> SendResult: ...

    async def aclose(self) -> None: ...
