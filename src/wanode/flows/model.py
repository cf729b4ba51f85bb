"""The values a flow is made of: its nodes, a run's state, the events that move a run and the
intents a step asks the runtime to perform. Frozen, pure, JSON-serialisable where stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

# Wait For, as the spec names the options; `onRead` is our name for the read-success edge the
# spec leaves unnamed (the sibling Live Chat node calls it "Onread").
WAIT_NONE: Final = "none"
WAIT_SUBMIT: Final = "submit"
WAIT_DELIVERY: Final = "delivery"
WAIT_READ: Final = "read"
WAIT_FOR: Final = (WAIT_NONE, WAIT_SUBMIT, WAIT_DELIVERY, WAIT_READ)
SUCCESS_EDGE: Final = {
    WAIT_NONE: "onSuccess",
    WAIT_SUBMIT: "onSubmit",
    WAIT_DELIVERY: "onDeliveryReportSuccess",
    WAIT_READ: "onRead",
}

# The four WhatsApp events a Start trigger or a Receive node listens to, by their names in the
# inbound event body (`event`: MO, postback, list, reply), keyed by the names a flow uses.
WHATSAPP_EVENTS: Final = {"message": "MO", "postback": "postback", "list": "list", "reply": "reply"}

RunStatus = Literal["waiting", "completed", "failed"]
WaitKind = Literal["send", "message", "inbound", "timer", "http"]


@dataclass(frozen=True)
class Condition:
    """`left op right`, both sides `$(...)` templates; or a group of conditions (all / any)."""

    op: str
    left: str = ""
    right: Any = None
    group: tuple[Condition, ...] = ()

    def is_group(self) -> bool:
        return self.op in ("all", "any")


@dataclass(frozen=True)
class WhatsAppTrigger:
    events: frozenset[str]  # subset of WHATSAPP_EVENTS keys
    condition: Condition | None = None
    skip_if_waiting: bool = False


@dataclass(frozen=True)
class Node:
    """One node: its id, type, settings (type-specific, already checked) and outcome edges.

    `edges` maps every outcome the node can take to the next node's id, or to None when the
    outcome is unconnected (the run then ends with a result naming that outcome).
    """

    id: str
    type: str
    settings: Mapping[str, Any]
    edges: Mapping[str, str | None]


@dataclass(frozen=True)
class Flow:
    id: str
    version: int
    name: str
    app_id: str | None
    start: str
    nodes: Mapping[str, Node]
    variables: Mapping[str, Any]
    api_trigger: bool = True
    whatsapp_trigger: WhatsAppTrigger | None = None


@dataclass(frozen=True)
class Wait:
    """What a waiting run waits for, and until when (`deadline`, Unix seconds, or None)."""

    kind: WaitKind
    node: str
    deadline: float | None = None
    transid: str | None = None  # kind == "message"
    target: str | None = None  # kind == "message": submit / delivery / read
    events: frozenset[str] = frozenset()  # kind == "inbound": WHATSAPP_EVENTS keys
    contact: str | None = None  # kind == "inbound": whose event
    request: Mapping[str, Any] | None = None  # kind == "http": the resolved request


@dataclass(frozen=True)
class RunState:
    """A run between steps. `outputs` holds each node's output variables (`send.gatewayTid`)
    by node id; `session` the latest WhatsApp event's `whatsapp.*` variables."""

    status: RunStatus
    node: str
    contact: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    session: Mapping[str, Any] = field(default_factory=dict)
    wait: Wait | None = None
    result: Mapping[str, Any] | None = None
    steps: int = 0


# Events: what moves a run.


@dataclass(frozen=True)
class Begin:
    """A new run: from the API (input `variables`) or from a WhatsApp event (`event`)."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    event: Mapping[str, Any] | None = None
    contact: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What the runtime did with a SendIntent: the message was queued (`transid`), or it was
    refused before queueing (`code`, `description`, `field`; `policy` when a policy refused)."""

    node: str
    transid: str | None = None
    wa_id: str | None = None
    sent_at: str | None = None
    code: str = "1001"
    description: str = "Queued"
    field: str | None = None
    policy: bool = False


@dataclass(frozen=True)
class MessageUpdate:
    """The current status of the message a run waits on. `code` is the Messaging API DR code;
    `source` is "policy", "gateway" (refused when sent) or "webhook" (a DR from WhatsApp)."""

    transid: str
    status: str
    code: str
    description: str
    source: str
    at: float


@dataclass(frozen=True)
class Inbound:
    """A WhatsApp event from the run's contact (the inbound event body of notify.events),
    received at `at` (Unix seconds; None: when the step runs)."""

    event: Mapping[str, Any]
    at: float | None = None


@dataclass(frozen=True)
class Tapped:
    """The contact tapped a button or row of a message node `node` sent (its contextId)."""

    node: str
    value: Mapping[str, Any]


@dataclass(frozen=True)
class Timeout:
    at: float


@dataclass(frozen=True)
class HttpResult:
    node: str
    status_code: int | None = None
    status_text: str = ""
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False


Event = Begin | SendResult | MessageUpdate | Inbound | Tapped | Timeout | HttpResult


# Intents: what a step asks the runtime to do.


@dataclass(frozen=True)
class SendIntent:
    """Queue a message. `request` holds the node's settings with every variable resolved:
    destination_type, destination, wa | template, identity_key_hash, correlationid,
    callback_data, notify_url, expiry, options."""

    node: str
    request: Mapping[str, Any]


Intent = SendIntent


@dataclass(frozen=True)
class HistoryEntry:
    node: str
    outcome: str
    variables: Mapping[str, Any]
    at: float


@dataclass(frozen=True)
class Advance:
    state: RunState
    intents: tuple[Intent, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
