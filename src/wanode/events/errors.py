"""The error objects Meta puts inside webhooks (on a status, an inbound message, or a value)."""

from __future__ import annotations

from dataclasses import dataclass

from wanode.events._node import Node


@dataclass(frozen=True)
class WebhookError:
    code: int
    title: str
    message: str
    details: str


def parse_errors(node: Node) -> tuple[WebhookError, ...]:
    return tuple(_parse_error(item) for item in node.objects("errors"))


def _parse_error(node: Node) -> WebhookError:
    title = node.opt_string("title") or ""
    data = node.opt_obj("error_data")
    return WebhookError(
        code=node.integer("code"),
        title=title,
        # Meta repeats the title as the message; keep one when the other is absent.
        message=node.opt_string("message") or title,
        details=(data.opt_string("details") if data else None) or "",
    )
