"""Flows: definitions, `$(...)` variables, conditions and the pure step of a durable run.

A step is a function from (run state, event) to (new state, intents, history); the engine's
flow runner (`wanode.engine.flows`) stores runs as rows and performs the intents.
"""

from wanode.flows.codec import state_from_json, state_to_json
from wanode.flows.definition import NONE_OF_THE_ABOVE, InvalidFlow, Problem, parse_flow
from wanode.flows.model import (
    SUCCESS_EDGE,
    WAIT_FOR,
    WHATSAPP_EVENTS,
    Advance,
    Begin,
    Event,
    Flow,
    HistoryEntry,
    HttpResult,
    Inbound,
    MessageUpdate,
    Node,
    RunState,
    SendIntent,
    SendResult,
    Tapped,
    Timeout,
    Wait,
)
from wanode.flows.step import POLICY_CODES, advance, begin
from wanode.flows.variables import Scope, UnresolvedVariable, whatsapp_variables

__all__ = [
    "NONE_OF_THE_ABOVE",
    "POLICY_CODES",
    "SUCCESS_EDGE",
    "WAIT_FOR",
    "WHATSAPP_EVENTS",
    "Advance",
    "Begin",
    "Event",
    "Flow",
    "HistoryEntry",
    "HttpResult",
    "Inbound",
    "InvalidFlow",
    "MessageUpdate",
    "Node",
    "Problem",
    "RunState",
    "Scope",
    "SendIntent",
    "SendResult",
    "Tapped",
    "Timeout",
    "UnresolvedVariable",
    "Wait",
    "advance",
    "begin",
    "parse_flow",
    "state_from_json",
    "state_to_json",
    "whatsapp_variables",
]
