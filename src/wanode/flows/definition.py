"""Flow definitions (a YAML or JSON document) parsed and checked into a `Flow`. Pure.

Every problem is reported at once, each with the node id and the field, so a definition can be
fixed in one go: unknown node types, settings that break the spec's rules, edges to missing
nodes, outcomes a node cannot take, required outcomes left unconnected, and `$(...)` names
that cannot mean anything in this flow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from wanode.codes import SYNC
from wanode.flows.conditions import InvalidCondition, parse_condition
from wanode.flows.model import (
    SUCCESS_EDGE,
    WAIT_DELIVERY,
    WAIT_FOR,
    WAIT_NONE,
    WAIT_READ,
    WHATSAPP_EVENTS,
    Condition,
    Flow,
    Node,
    WhatsAppTrigger,
)
from wanode.flows.variables import CUSTOM_NAME, OUTPUTS, REFERENCE, canonical_output, references
from wanode.messages import InvalidMessage
from wanode.notify.urls import InvalidNotifyUrl, validate_notify_url
from wanode.policy import MAX_EXPIRY_SECONDS, parse_expiry

FLOW_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NODE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_WAIT_SECONDS: Final = MAX_EXPIRY_SECONDS  # 30 days, for timeouts and delays
MAX_HTTP_TIMEOUT: Final = 20.0
HTTP_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Session and system names the reference reserves (§7): a custom variable may not take them.
RESERVED: Final = frozenset(
    {
        "ts",
        "servicekey",
        "key",
        "appid",
        "transid",
        "payload",
        "message",
        "destination",
        "msisdn",
        "userid",
        "customerid",
        "evtid",
        "callbackdata",
        "notifyurl",
        "channels",
        "deliverychannel",
        "whatsapp",
    }
)
END: Final = "end"
NONE_OF_THE_ABOVE: Final = "None of the above"
_SEND_SETTINGS: Final = frozenset(
    {
        "destination_type",
        "destination",
        "wa",
        "template",
        "identity_key_hash",
        "correlation_id",
        "callback_data",
        "notify_url",
        "notify_auth_id",
        "wait_for",
        "timeout",
        "expiry",
        "options",
    }
)


@dataclass(frozen=True)
class Problem:
    message: str
    node: str | None = None
    field: str | None = None
    code: str = SYNC.INVALID_VALUE

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "node": self.node, "field": self.field}


class InvalidFlow(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        where = f"node {first.node}: " if first.node else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{where}{first.message}{more}")
        self.problems = problems


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(
        self,
        message: str,
        node: str | None = None,
        field: str | None = None,
        *,
        missing: bool = False,
    ) -> None:
        code = SYNC.MANDATORY_MISSING if missing else SYNC.INVALID_VALUE
        self.problems.append(Problem(message, node, field, code))


def parse_flow(doc: Any, *, version: int = 1, app_id: str | None = None) -> Flow:
    """The checked `Flow` of a definition document; raises `InvalidFlow` with every problem."""
    check = _Checker()
    if not isinstance(doc, Mapping):
        raise InvalidFlow([Problem("a flow definition must be an object")])
    known = {"id", "name", "app", "variables", "start", "nodes", "description"}
    for key in sorted(set(doc) - known):
        check.problem(f"{key!r} is not a field of a flow definition", field=key)
    flow_id = doc.get("id")
    if not isinstance(flow_id, str) or not FLOW_ID.fullmatch(flow_id):
        check.problem(
            "id is mandatory: 1-64 letters, digits, '_', '-' or '.'", field="id", missing=True
        )
        flow_id = ""
    variables = _variables(doc.get("variables"), check)
    nodes_doc = doc.get("nodes")
    if not isinstance(nodes_doc, Mapping) or not nodes_doc:
        check.problem("nodes must be an object of node id to node", field="nodes", missing=True)
        raise InvalidFlow(check.problems)
    nodes: dict[str, Node] = {}
    # Nodes that exist but could not be parsed (their problem is reported): edges and
    # references to them are not reported again as going to a missing node.
    broken: set[str] = set()
    for node_id, node_doc in nodes_doc.items():
        if not isinstance(node_id, str) or not NODE_ID.fullmatch(node_id):
            check.problem(f"node id {node_id!r} must be 1-64 letters, digits, '_' or '-'")
            continue
        node = _node(str(node_id), node_doc, check)
        if node is not None:
            nodes[node.id] = node
        else:
            broken.add(node_id)
    starts = [n.id for n in nodes.values() if n.type == "start"]
    start = doc.get("start")
    if start is None:
        if len(starts) != 1:
            check.problem("a flow has exactly one start node", field="nodes")
        start = starts[0] if starts else ""
    elif start not in nodes or nodes[start].type != "start":
        check.problem(f"start {start!r} is not a start node of this flow", field="start")
    _check_edges(nodes, broken, check)
    declared = set(variables) | {
        name for n in nodes.values() if n.type == "set" for name in n.settings["set"]
    }
    for node in nodes.values():
        _check_references(node, nodes, broken, declared, check)
    if check.problems:
        raise InvalidFlow(check.problems)
    trigger_node = nodes[start]
    name = doc.get("name")
    return Flow(
        id=flow_id,
        version=version,
        name=name if isinstance(name, str) and name else flow_id,
        app_id=app_id or (doc["app"] if isinstance(doc.get("app"), str) else None),
        start=start,
        nodes=nodes,
        variables=variables,
        api_trigger=trigger_node.settings["api"],
        whatsapp_trigger=trigger_node.settings["whatsapp"],
    )


def _variables(value: Any, check: _Checker) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        check.problem("variables must be an object of name to default value", field="variables")
        return {}
    found: dict[str, Any] = {}
    for name, default in value.items():
        field = f"variables.{name}"
        if not isinstance(name, str) or not CUSTOM_NAME.fullmatch(name):
            check.problem("a variable name is alphanumeric (and '_'), 64 at most", field=field)
        elif name.lower() in RESERVED:
            check.problem(f"{name} is a reserved session variable name", field=field)
        else:
            found[name] = "" if default is None else default
    return found


def _node(node_id: str, doc: Any, check: _Checker) -> Node | None:
    if not isinstance(doc, Mapping):
        check.problem("a node must be an object", node_id)
        return None
    kind = doc.get("type")
    parse = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        check.problem(f"unknown node type {kind!r}; one of {', '.join(_PARSERS)}", node_id, "type")
        return None
    settings = {k: v for k, v in doc.items() if k not in ("type", "on", "name")}
    parsed, outcomes, required = parse(node_id, settings, check)
    edges = _edges(node_id, doc.get("on"), outcomes, check)
    for outcome in required:
        if edges.get(outcome) is None:
            check.problem(f"outcome {outcome} must be connected", node_id, f"on.{outcome}")
    return Node(node_id, str(kind), parsed, edges)


def _edges(
    node_id: str, value: Any, outcomes: tuple[str, ...], check: _Checker
) -> dict[str, str | None]:
    edges: dict[str, str | None] = dict.fromkeys(outcomes)
    if value is None:
        return edges
    if not isinstance(value, Mapping):
        check.problem("on must be an object of outcome to node id", node_id, "on")
        return edges
    for outcome, target in value.items():
        if outcome not in edges:
            check.problem(
                f"{outcome!r} is not an outcome of this node; its outcomes: {', '.join(outcomes)}",
                node_id,
                f"on.{outcome}",
            )
        elif target is None or target == END:
            edges[outcome] = None
        elif not isinstance(target, str):
            check.problem("an outcome edge names a node id", node_id, f"on.{outcome}")
        else:
            edges[outcome] = target
    return edges


def _check_edges(nodes: Mapping[str, Node], broken: set[str], check: _Checker) -> None:
    for node in nodes.values():
        for outcome, target in node.edges.items():
            if target is None or target in broken:
                continue
            field = f"on.{outcome}"
            if target not in nodes:
                check.problem(
                    f"outcome {outcome} goes to a missing node {target!r}", node.id, field
                )
            elif nodes[target].type == "start":
                check.problem(f"outcome {outcome} goes back to the start node", node.id, field)


def _check_references(
    node: Node, nodes: Mapping[str, Node], broken: set[str], declared: set[str], check: _Checker
) -> None:
    for field, name in _node_references(node):
        head, dot, rest = name.partition(".")
        if not dot:
            if head not in declared:
                check.problem(
                    f"$({name}) is not a variable of this flow: declare it under variables",
                    node.id,
                    field,
                )
        elif head == "whatsapp":
            if canonical_output(name) not in OUTPUTS["start"]:
                check.problem(f"$({name}) is not a WhatsApp variable", node.id, field)
        elif head in broken:
            continue
        elif head not in nodes:
            check.problem(f"$({name}) refers to a missing node {head!r}", node.id, field)
        elif canonical_output(rest) not in OUTPUTS[nodes[head].type]:
            produced = ", ".join(sorted(OUTPUTS[nodes[head].type])) or "nothing"
            check.problem(
                f"$({name}): node {head} ({nodes[head].type}) outputs {produced}", node.id, field
            )


def _node_references(node: Node) -> list[tuple[str, str]]:
    """(field, name) of every `$(name)` in the node's settings, conditions included."""
    found: list[tuple[str, str]] = []
    for key, value in node.settings.items():
        if node.type == "branch" and key == "conditions":
            for i, branch in enumerate(value):
                field = f"conditions[{i}].when"
                found.extend((field, name) for name in _condition_references(branch["when"]))
        elif isinstance(value, WhatsAppTrigger):
            if value.condition is not None:
                field = "triggers.whatsapp.when"
                found.extend((field, name) for name in _condition_references(value.condition))
        else:
            found.extend((key, name) for name in references(value))
    return found


def _condition_references(condition: Condition) -> list[str]:
    if condition.is_group():
        return [name for item in condition.group for name in _condition_references(item)]
    return references(condition.left) + references(condition.right)


# One parser per node type: (settings, outcomes the node can take, outcomes that must be
# connected).
Parsed = tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]


def _unknown(node_id: str, settings: Mapping[str, Any], known: set[str], check: _Checker) -> None:
    for key in sorted(set(settings) - known):
        check.problem(f"{key!r} is not a setting of this node", node_id, key)


def _seconds(
    node_id: str,
    value: Any,
    field: str,
    check: _Checker,
    *,
    maximum: float = MAX_WAIT_SECONDS,
    minimum: float = 1,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        check.problem(f"{field} must be a number of seconds", node_id, field)
        return 0.0
    if not minimum <= value <= maximum:
        check.problem(f"{field} must be between {minimum:g} and {maximum:g} s", node_id, field)
    return float(value)


def _start(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, {"triggers"}, check)
    triggers = settings.get("triggers", {"api": True})
    if not isinstance(triggers, Mapping):
        check.problem("triggers must be an object", node_id, "triggers")
        triggers = {}
    _unknown(node_id, triggers, {"api", "whatsapp"}, check)
    api = triggers.get("api", True)
    if not isinstance(api, bool):
        check.problem("triggers.api must be true or false", node_id, "triggers.api")
    whatsapp = None
    if triggers.get("whatsapp") is not None:
        whatsapp = _trigger(node_id, triggers["whatsapp"], check)
    return {"api": api is True, "whatsapp": whatsapp}, ("onStart",), ("onStart",)


def _trigger(node_id: str, value: Any, check: _Checker) -> WhatsAppTrigger | None:
    field = "triggers.whatsapp"
    if not isinstance(value, Mapping):
        check.problem(f"{field} must be an object", node_id, field)
        return None
    for key in sorted(set(value) - {"events", "when", "skip_if_waiting"}):
        check.problem(f"{key!r} is not a setting of a WhatsApp trigger", node_id, f"{field}.{key}")
    events = _events(node_id, value.get("events"), f"{field}.events", check)
    condition = None
    if value.get("when") is not None:
        try:
            condition = parse_condition(value["when"], f"{field}.when")
        except InvalidCondition as exc:
            check.problem(exc.reason, node_id, exc.field)
    skip = value.get("skip_if_waiting", False)
    if not isinstance(skip, bool):
        check.problem("skip_if_waiting must be true or false", node_id, f"{field}.skip_if_waiting")
    return WhatsAppTrigger(events, condition, skip is True)


def _events(node_id: str, value: Any, field: str, check: _Checker) -> frozenset[str]:
    if value is None:
        return frozenset(WHATSAPP_EVENTS)
    if not isinstance(value, list) or not value:
        check.problem(f"{field} must be a list of {', '.join(WHATSAPP_EVENTS)}", node_id, field)
        return frozenset()
    bad = [e for e in value if e not in WHATSAPP_EVENTS]
    if bad:
        check.problem(
            f"{bad[0]!r} is not a WhatsApp event; one of {', '.join(WHATSAPP_EVENTS)}",
            node_id,
            field,
        )
    return frozenset(e for e in value if e in WHATSAPP_EVENTS)


def _send(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, set(_SEND_SETTINGS), check)
    kind = settings.setdefault("destination_type", "waid")
    if kind not in ("waid", "bsuid", "customerid"):
        check.problem("destination_type is waid, bsuid or customerid", node_id, "destination_type")
    destination = settings.get("destination")
    if not isinstance(destination, str) or not destination.strip():
        check.problem("destination is mandatory", node_id, "destination", missing=True)
    bodies = [key for key in ("wa", "template") if settings.get(key) is not None]
    if len(bodies) != 1:
        check.problem(
            "exactly one of wa (a session message) and template is mandatory",
            node_id,
            "wa",
            missing=not bodies,
        )
    for key in bodies:
        if not isinstance(settings[key], Mapping):
            check.problem(f"{key} must be an object", node_id, key)
    for key in ("identity_key_hash", "correlation_id", "callback_data"):
        if settings.get(key) is not None and not isinstance(settings[key], str):
            check.problem(f"{key} must be a text or a $(variable)", node_id, key)
    # Link shortening: its domain is checked against the service's when the node runs.
    if settings.get("options") is not None and not isinstance(settings["options"], Mapping):
        check.problem("options must be an object", node_id, "options")
    url = settings.get("notify_url")
    if url is not None:
        try:
            settings["notify_url"] = _notify_url(url)
        except InvalidNotifyUrl as exc:
            check.problem(exc.message, node_id, "notify_url")
    wait = settings.setdefault("wait_for", WAIT_NONE)
    if wait not in WAIT_FOR:
        check.problem(f"wait_for is one of {', '.join(WAIT_FOR)}", node_id, "wait_for")
        wait = WAIT_NONE
    if wait != WAIT_NONE:
        settings["timeout"] = _seconds(node_id, settings.get("timeout", 3600), "timeout", check)
    elif "timeout" in settings:
        check.problem("timeout needs a wait_for other than none", node_id, "timeout")
    expiry = settings.get("expiry")
    if expiry is not None and not (isinstance(expiry, str) and REFERENCE.search(expiry)):
        try:
            parse_expiry(expiry, 0.0)
        except InvalidMessage as exc:
            check.problem(exc.reason, node_id, "expiry")
    success = SUCCESS_EDGE[wait]
    outcomes = [success, "onError", "onPolicyFail"]
    if wait != WAIT_NONE:
        outcomes.append("onTimeout")
    if wait in (WAIT_DELIVERY, WAIT_READ):
        outcomes.append("onDeliveryReportFail")
    return settings, tuple(outcomes), (success,)


def _notify_url(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidNotifyUrl
    if not REFERENCE.search(value):
        return validate_notify_url(value)
    # With variables the URL is checked when the node runs; the leading-space rule holds now.
    if not value or value[0].isspace():
        raise InvalidNotifyUrl
    return value.rstrip()


def _receive(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, {"from", "events", "timeout"}, check)
    source = settings.get("from")
    if source is not None and (not isinstance(source, str) or not source.strip()):
        check.problem("from must be a WA ID or a $(variable)", node_id, "from")
    settings["events"] = _events(node_id, settings.get("events"), "events", check)
    if "timeout" not in settings:
        check.problem("timeout (the max timeout, seconds) is mandatory", node_id, "timeout")
    settings["timeout"] = _seconds(node_id, settings.get("timeout", 1), "timeout", check)
    return settings, ("whatsapp.mo", "onTimeout", "onError"), ("whatsapp.mo",)


def _branch(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, {"conditions"}, check)
    items = settings.get("conditions")
    if not isinstance(items, list) or not items:
        check.problem("conditions must be a non-empty list", node_id, "conditions", missing=True)
        items = []
    branches: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        field = f"conditions[{i}]"
        if not isinstance(item, Mapping) or "when" not in item:
            check.problem("a branch condition is {name, when}", node_id, field, missing=True)
            continue
        name = item.get("name", str(i + 1))
        if not isinstance(name, str) or not name or name == NONE_OF_THE_ABOVE:
            check.problem("name must be a text (not 'None of the above')", node_id, field)
            continue
        try:
            branches.append({"name": name, "when": parse_condition(item["when"], f"{field}.when")})
        except InvalidCondition as exc:
            check.problem(exc.reason, node_id, exc.field)
    names = [b["name"] for b in branches]
    if len(set(names)) != len(names):
        check.problem("branch condition names must differ", node_id, "conditions")
    settings["conditions"] = branches
    return settings, (*names, NONE_OF_THE_ABOVE), tuple(names)


def _set(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, {"set"}, check)
    values = settings.get("set")
    if not isinstance(values, Mapping) or not values:
        check.problem("set must be an object of variable to value", node_id, "set", missing=True)
        values = {}
    for name in values:
        if not isinstance(name, str) or not CUSTOM_NAME.fullmatch(name):
            check.problem("a variable name is alphanumeric (and '_')", node_id, f"set.{name}")
        elif name.lower() in RESERVED:
            check.problem(f"{name} is a reserved session variable name", node_id, f"set.{name}")
    settings["set"] = {
        name: value
        for name, value in values.items()
        if isinstance(name, str) and CUSTOM_NAME.fullmatch(name)
    }
    return settings, ("onSuccess",), ("onSuccess",)


def _http(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, {"method", "url", "headers", "body", "timeout"}, check)
    method = str(settings.get("method", "GET")).upper()
    if method not in HTTP_METHODS:
        check.problem(f"method is one of {', '.join(HTTP_METHODS)}", node_id, "method")
    settings["method"] = method
    url = settings.get("url")
    if not isinstance(url, str) or not url.strip():
        check.problem("url is mandatory", node_id, "url", missing=True)
    elif not REFERENCE.search(url) and not url.startswith(("http://", "https://")):
        check.problem("url must be an http or https URL", node_id, "url")
    headers = settings.setdefault("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        check.problem("headers must be an object of name to text", node_id, "headers")
    settings["timeout"] = _seconds(
        node_id,
        settings.get("timeout", 10),
        "timeout",
        check,
        maximum=MAX_HTTP_TIMEOUT,
        minimum=0.1,
    )
    return settings, ("onSuccess", "onError", "onTimeout"), ("onSuccess",)


def _delay(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, {"seconds"}, check)
    settings["seconds"] = _seconds(node_id, settings.get("seconds"), "seconds", check, minimum=0)
    return settings, ("onSuccess",), ("onSuccess",)


def _end(node_id: str, settings: dict[str, Any], check: _Checker) -> Parsed:
    _unknown(node_id, settings, {"result"}, check)
    result = settings.setdefault("result", {"code": 101, "description": "Flow completed"})
    if not isinstance(result, Mapping):
        check.problem("result must be an object (code, description)", node_id, "result")
    return settings, (), ()


_PARSERS: Final = {
    "start": _start,
    "whatsapp": _send,
    "receive": _receive,
    "branch": _branch,
    "set": _set,
    "http": _http,
    "delay": _delay,
    "end": _end,
}
