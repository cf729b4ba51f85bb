"""The state file's JSON form of each piece of platform state, and back.

Each `*_json` gives a plain JSON object; each `*_from` rebuilds the object from it. Bodies are
encoded with orjson (the flush runs beside the hot path), falling back to the stdlib for what
orjson refuses (integers past 64 bits in a request payload).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

import orjson

from wanode.sandbox.config import HandsetConfig
from wanode.sandbox.rules.hydration import Rendered, RenderedButton
from wanode.sandbox.rules.kinds import MediaRef
from wanode.sandbox.rules.template_spec import Button, Header, TemplateSpec
from wanode.sandbox.state.handsets import Handset, InboxEntry, SentEntry
from wanode.sandbox.state.number_state import NumberState
from wanode.sandbox.state.numbers import BusinessNumber
from wanode.sandbox.state.qrdls import QrCode
from wanode.sandbox.state.templates import Template

# A handset's message lists, kept as rows of their own (inbox, sent; waiting is a flag).
_HANDSET_MESSAGES = frozenset({"inbox", "sent", "waiting"})


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def loads(body: bytes | str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def number_json(number: BusinessNumber) -> dict[str, Any]:
    return asdict(number)


def number_from(body: dict[str, Any]) -> BusinessNumber:
    return BusinessNumber(**body)


def number_state_json(state: NumberState) -> dict[str, Any]:
    return asdict(state)


def number_state_from(body: dict[str, Any]) -> NumberState:
    return NumberState(**body)


def handset_json(handset: Handset) -> dict[str, Any]:
    """A handset's own fields (settings, profile, identity...); its messages are rows of their
    own. Every field but those is kept, so one added to `Handset` survives restarts too."""
    body = {
        field.name: getattr(handset, field.name)
        for field in fields(handset)
        if field.name not in _HANDSET_MESSAGES
    }
    body["config"] = handset.config.as_json()
    return body


def handset_from(body: dict[str, Any]) -> Handset:
    return Handset(**{**body, "config": HandsetConfig(**body["config"])})


def entry_json(entry: InboxEntry, *, waiting: bool) -> dict[str, Any]:
    """An inbox entry; `waiting` when it is parked until its handset comes online."""
    body = asdict(entry)
    body["links"] = [asdict(link) for link in entry.links]
    body["waiting"] = waiting
    return body


def entry_from(body: dict[str, Any]) -> tuple[InboxEntry, bool]:
    """The inbox entry, and whether it waits for its handset."""
    known = dict(body)
    waiting = known.pop("waiting")
    failure = known["failure"]
    rendered = known["template"]
    known["failure"] = (failure[0], failure[1]) if failure is not None else None
    known["template"] = _rendered_from(rendered) if rendered is not None else None
    known["links"] = tuple(MediaRef(**link) for link in known["links"])
    return InboxEntry(**known), waiting


def sent_json(sent: SentEntry) -> dict[str, Any]:
    return asdict(sent)


def sent_from(body: dict[str, Any]) -> SentEntry:
    return SentEntry(**body)


def template_json(template: Template) -> dict[str, Any]:
    """Every field of the template (so one added to `Template` survives restarts too)."""
    return asdict(template)


def template_from(body: dict[str, Any]) -> Template:
    spec = dict(body["spec"])
    header = spec["header"]
    if header is not None:
        header = Header(header["format"], header["text"], tuple(header["variables"]))
    return Template(
        **{
            **body,
            "spec": TemplateSpec(
                **{
                    **spec,
                    "header": header,
                    "body_variables": tuple(spec["body_variables"]),
                    "buttons": tuple(Button(**button) for button in spec["buttons"]),
                    "components": tuple(spec["components"]),
                }
            ),
        }
    )


def qr_json(qr: QrCode) -> dict[str, Any]:
    return asdict(qr)


def qr_from(body: dict[str, Any]) -> QrCode:
    return QrCode(**body)


def _rendered_from(body: dict[str, Any]) -> Rendered:
    buttons = tuple(RenderedButton(**button) for button in body["buttons"])
    return Rendered(**{**body, "buttons": buttons})
