"""`$(...)` variables: the names a flow can use, and their resolution against a run. Pure.

Three forms (reference/webex-connect.md §5, §7):

- `$(name)`: a custom variable, visible across the whole flow (declared under `variables`,
  given as a run's input, or set by a Set-variable node);
- `$(n3.send.gatewayTid)`: an output of node `n3`;
- `$(whatsapp.waId)`: the latest WhatsApp event's variables (the session), as the spec's
  `$(whatsapp.whatsappId)` reply example uses.

`whatsappId` is an alias of `waId`, and `whatsapp.*` names resolve case-insensitively, as the
reference recommends for the spelling differences in Webex's own docs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

REFERENCE: Final = re.compile(r"\$\(([^()\s]+)\)")
CUSTOM_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

WHATSAPP_NAMES: Final = (
    "message",
    "waId",
    "bsuid",
    "userHandle",
    "username",
    "attachmentType",
    "attachments",
    "imageUrl",
    "videoUrl",
    "audioUrl",
    "voiceUrl",
    "documentUrl",
    "stickerUrl",
    "mimeType",
    "caption",
    "locationAddress",
    "locationLatitude",
    "locationLongitude",
    "locationName",
    "locationUrl",
    "contacts",
    "appId",
    "timestamp",
    "contextId",
    "transId",
    "identityHash",
    "buttonPayload",
    "buttonText",
    "listRowIdentifier",
    "listRowTitle",
    "listDescription",
    "replyButtonIdentifier",
    "replyButtonTitle",
    "type",
    "event",
)
_CANONICAL: Final = {name.lower(): name for name in WHATSAPP_NAMES} | {"whatsappid": "waId"}

# The outputs each node type produces, by namespace.field.
OUTPUTS: Final[Mapping[str, frozenset[str]]] = {
    "start": frozenset(f"whatsapp.{n}" for n in WHATSAPP_NAMES),
    "whatsapp": frozenset(
        {
            "send.deliveryStatusCode",
            "send.deliveryStatusDescription",
            "send.sentDateTime",
            "send.gatewayTid",
            "send.response_data",
            "send.response_interactive",
        }
    ),
    "receive": frozenset(
        {"receive.message", "receive.channel", "receive.payload", "receive.attachment"}
        | {f"whatsapp.{n}" for n in WHATSAPP_NAMES}
    ),
    "branch": frozenset({"branch.output"}),
    "http": frozenset(
        {"https.statusCode", "https.statusText", "https.responseBody", "https.responseHeaders"}
    ),
    "delay": frozenset({"delay.waitTime"}),
    "set": frozenset(),
    "end": frozenset(),
}


class UnresolvedVariable(LookupError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"$({name}) {reason}")
        self.name = name
        self.reason = reason


def references(value: Any) -> list[str]:
    """Every variable name referenced in `value` (a string, or JSON made of them)."""
    if isinstance(value, str):
        return REFERENCE.findall(value)
    if isinstance(value, Mapping):
        return [name for item in value.values() for name in references(item)]
    if isinstance(value, list | tuple):
        return [name for item in value for name in references(item)]
    return []


def canonical_output(name: str) -> str:
    """`whatsapp.WhatsAppID` → `whatsapp.waId`; other names are unchanged."""
    namespace, _, field = name.partition(".")
    if namespace == "whatsapp":
        return f"whatsapp.{_CANONICAL.get(field.lower(), field)}"
    return name


class Scope:
    """What `$(...)` names mean in one run at one moment."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        session: Mapping[str, Any],
    ) -> None:
        self._variables = variables
        self._outputs = outputs
        self._session = session

    def lookup(self, name: str) -> Any:
        head, dot, rest = name.partition(".")
        if not dot:
            if head in self._variables:
                return self._variables[head]
            raise UnresolvedVariable(name, "is not a variable of this flow")
        if head == "whatsapp":
            return self._session.get(canonical_output(name).partition(".")[2], "")
        if head not in self._outputs:
            raise UnresolvedVariable(name, f"refers to node {head}, which has not run yet")
        return self._outputs[head].get(canonical_output(rest), "")

    def text(self, template: str) -> str:
        """`template` with every reference replaced by its value as text."""
        return REFERENCE.sub(lambda m: as_text(self.lookup(m.group(1))), template)

    def value(self, template: Any) -> Any:
        """Like `text`, but a string that is exactly one reference keeps the value's own type,
        and lists and objects are resolved item by item."""
        if isinstance(template, str):
            whole = REFERENCE.fullmatch(template)
            if whole:
                return self.lookup(whole.group(1))
            return self.text(template)
        if isinstance(template, Mapping):
            return {key: self.value(item) for key, item in template.items()}
        if isinstance(template, list | tuple):
            return [self.value(item) for item in template]
        return template


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def whatsapp_variables(event: Mapping[str, Any]) -> dict[str, Any]:
    """The `whatsapp.*` variables (without the prefix) of an inbound event body."""
    found: dict[str, Any] = {
        "event": event.get("event", ""),
        "message": event.get("message", ""),
        "waId": event.get("waid", ""),
        "bsuid": event.get("bsuid", ""),
        "userHandle": event.get("userHandle", ""),
        "username": event.get("username", ""),
        "appId": event.get("appId", ""),
        "timestamp": event.get("ts", ""),
        "contextId": event.get("contextId", ""),
        "transId": event.get("tid", ""),
        "identityHash": event.get("identityKeyHash", ""),
        "type": event.get("type", event.get("event", "")),
        "buttonPayload": event.get("buttonPayload", ""),
        "buttonText": event.get("buttonText", ""),
        "listRowIdentifier": event.get("listRowIdentifier", ""),
        "listRowTitle": event.get("listRowTitle", ""),
        "listDescription": event.get("listRowDescription", ""),
        "replyButtonIdentifier": event.get("replyButtonIdentifier", ""),
        "replyButtonTitle": event.get("replyButtonTitle", ""),
        "attachments": event.get("attachments", ""),
        "contacts": event.get("contacts", ""),
    }
    attachments = _decoded(event.get("attachments"))
    if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
        first = attachments[0]
        kind = str(event.get("type", ""))
        found["attachmentType"] = kind
        found["mimeType"] = first.get("mime_type", "")
        url_name = "voiceUrl" if kind == "audio" and first.get("voice") else f"{kind}Url"
        if url_name in _CANONICAL.values():
            found[url_name] = first.get("url", "")
        if kind == "image":
            found["caption"] = first.get("caption", "")
    location = _decoded(event.get("location"))
    if isinstance(location, dict):
        for key in ("address", "latitude", "longitude", "name", "url"):
            found[f"location{key.capitalize()}"] = location.get(key, "")
    return found


def payload_of(event: Mapping[str, Any]) -> str:
    """`receive.payload`: what the contact chose (a button payload, row or reply id), or the
    text they sent."""
    for key in ("buttonPayload", "listRowIdentifier", "replyButtonIdentifier"):
        if event.get(key):
            return str(event[key])
    return str(event.get("message", ""))


def _decoded(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None
