"""The OpenAPI document (`/openapi.json`), made to say what the service really does.

FastAPI's own document knows the routes and their request models, but not how wanode answers:
it documents a 422 that the error mapping (`errors.py`) turns into a 400, and none of the
401/403/404/409/413 the handlers send. This module post-processes it, once, from rules over
the routes rather than by hand on each operation:

- the `key` header is an `apiKey` security scheme, required by every operation whose route
  depends on `wanode.api.auth` (not the WhatsApp webhooks, health or metrics);
- every error status an operation can answer is documented with the body the server sends:
  the Messaging API's `{"response": {"code", "description", "field"?}}` under `/resources/`,
  the native `{"error": {"code", "message", "field"?}}` elsewhere;
- request fields carry the rules their validators enforce (URL patterns, enums, "exactly one
  of", "this needs that"), so that a request valid by the document is accepted;
- the webhook receiver, the short links and the metrics are documented as what they are
  (signed JSON from WhatsApp, a redirect, plain text).

A route added later is covered by the same rules, which follow a handler into the API's own
functions it calls (a refusal inside `send_webex` counts); what they cannot see (a 409, a call
to WhatsApp that may answer 502: `errors.WHATSAPP_ANSWERS`) the route declares in its own
`responses=`, which get the error body too. tests/integration/test_openapi_conformance.py
holds the document to it.

It also answers 405 with an `Allow` header listing every method the path supports: Starlette
lists only those of the first route that matched the path.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from wanode.api.errors import error_body
from wanode.api.openapi_messaging import document_messaging
from wanode.codes import SYNC
from wanode.notify.events import EVENT_NAMES

KEY_SCHEME = "key"
LINK_SCHEME = "mediaLink"
JWT_SCHEME = "jwt"
_AUTH_MODULE = "wanode.api.auth"
# Names a handler calls when it refuses a key acting outside its app (auth.py).
_FORBIDDING_CALLS = frozenset({"own_app", "scope", "require_admin"})
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "a stable code (7xxx, 13xxxx...)"},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "the offending field, if one is"},
                "node": {"type": "string", "description": "the flow node at fault (flows)"},
            },
        },
        "problems": {
            "type": "array",
            "description": "every problem of a refused flow definition (flows)",
            "items": {"type": "object"},
        },
    },
}
_MESSAGING_ERROR_SCHEMA = {
    "type": "object",
    "required": ["response"],
    "properties": {
        "response": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {
                "code": {"type": "string", "description": "a sync code (7xxx)"},
                "description": {"type": "string"},
                "field": {"type": "string", "description": "the offending field, if one is"},
            },
        }
    },
}

_DESCRIPTIONS = {
    304: "Not modified: the `If-None-Match` ETag is current",
    400: "Refused request: invalid JSON (7000), a mandatory field missing (7003), an invalid "
    "value (7004), an unknown app (7104) or template (7108)...; `field` names the offender",
    401: "The `key` header is missing (7002) or not a valid API key (7001)",
    403: "The API key acts on another app, or the operation needs an admin key (7001)",
    404: "Nothing with this id (7600, 7104, 7108), or not visible to this API key",
    408: "The request body did not arrive in time",
    409: "Conflicts with the current state (see the operation's description)",
    413: "The request body is over the service's limit (WANODE_MAX_REQUEST_BYTES)",
    502: "WhatsApp could not be reached, or failed",
}

# What `validate_notify_url` accepts, as a pattern: an http(s) URL whose host is an RFC 3986
# reg-name, with no whitespace (wanode.notify.urls); for an app's notify URL, also a whole
# `$(variable)` (no parentheses, no whitespace inside).
URL_PATTERN = r"^https?://[!$&-.0-9;=A-Z_a-z~]+(?::[0-9]{1,4})?(?:/[!#-~]*)?$"
_URL = {"type": "string", "pattern": URL_PATTERN, "format": "uri"}
_NOTIFY_URL = {
    "type": "string",
    "pattern": rf"{URL_PATTERN}|^\$\([^()\s\x1c-\x1f\x85]+\)$",
    "description": "an http(s) URL, or a whole flow variable such as `$(notifyUrl)`",
}
_NULLABLE_NOTIFY_URL = {"anyOf": [_NOTIFY_URL, {"type": "null"}]}
# Request fields whose rules live in validators the generated schema cannot see, by model.
_FIELDS: dict[str, dict[str, Any]] = {
    "AppIn": {
        "notify_url": _NULLABLE_NOTIFY_URL,
        "graph_base_url": {"anyOf": [_URL, {"type": "null"}]},
    },
    # Left out, these keep their value; they cannot be cleared.
    "AppSettings": {
        "notify_url": _NULLABLE_NOTIFY_URL,
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "require_e164": {"type": "boolean"},
    },
    "SubscriptionIn": {
        "url": _URL,
        "events": {
            "anyOf": [
                {"type": "array", "minItems": 1, "items": {"enum": list(EVENT_NAMES)}},
                {"type": "null"},
            ]
        },
    },
    "EntryPointIn": {
        "format": {
            "anyOf": [
                {"type": "string", "pattern": "^(?:[Pp][Nn][Gg]|[Ss][Vv][Gg])$"},
                {"type": "null"},
            ]
        }
    },
}
# Models that take exactly one of two fields (their `model_validator`s).
_ONE_OF: dict[str, list[dict[str, Any]]] = {
    "Replay": [
        {"required": ["ids"], "properties": {"ids": {"type": "array"}}},
        {"required": ["all"], "properties": {"all": {"const": True}}},
    ],
    "KeyIn": [
        {"required": ["app_id"], "properties": {"app_id": {"type": "string"}}},
        {"required": ["admin"], "properties": {"admin": {"const": True}}},
    ],
}
# Fields that need another: signed DRs need the secret they are signed with (apps.py).
_SIGNING_NEEDS_SECRET = {
    "if": {
        "required": ["notify_signing"],
        "properties": {"notify_signing": {"type": "string"}},
    },
    "then": {
        "required": ["notify_secret"],
        "properties": {"notify_secret": {"type": "string"}},
    },
}
_DEPENDENT: dict[str, dict[str, Any]] = {
    "AppIn": _SIGNING_NEEDS_SECRET,
    "AppSettings": _SIGNING_NEEDS_SECRET,
}
_NOT_BOTH: dict[str, dict[str, Any]] = {
    "Replay": {
        "required": ["ids", "all"],
        "properties": {"ids": {"type": "array"}, "all": {"const": True}},
    },
    "KeyIn": {
        "required": ["app_id", "admin"],
        "properties": {"app_id": {"type": "string"}, "admin": {"const": True}},
    },
}

# Operations that answer 201 when they create what they were asked to write, 200 otherwise.
_UPSERTS = frozenset(
    {("PUT", "/v1/contacts/{customerid}"), ("PUT", "/v1/notify-auth/{profile_id}")}
)
# Operations that also take a signed link (`expires` and `token`) instead of the key.
_SIGNED_LINKS = frozenset({("GET", "/v1/media/{media_id}")})
# Operations with a path parameter that never answer 404 (they create, or list nothing).
_NO_404: frozenset[tuple[str, str]] = frozenset()
# Operations that take a key only with a setting on (WANODE_PROTECT_DOCS).
_PROTECTED_IF = {("GET", "/metrics"): "protect_docs"}
# Parameters naming an app: an app's key naming another is refused with 403 (auth.own_app).
_APP_PARAMETERS = frozenset({"appid", "app", "app_id"})


def install(app: FastAPI) -> None:
    """Serve the truthful document at /openapi.json, and answer 405 with the full `Allow`."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(original(), app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(405, _method_not_allowed)


def truthful(doc: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # Request validation answers 400 in wanode's error shape, never FastAPI's 422.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for model, fields in _FIELDS.items():
        if model in schemas:
            schemas[model]["properties"].update(fields)
    for model, rule in _DEPENDENT.items():
        if model in schemas and "notify_signing" in schemas[model]["properties"]:
            schemas[model].update(rule)
    for model, choices in _ONE_OF.items():
        if model in schemas:
            schemas[model]["anyOf"] = choices
            schemas[model]["not"] = _NOT_BOTH[model]
    schemas["Error"] = _ERROR_SCHEMA
    schemas["MessagingError"] = _MESSAGING_ERROR_SCHEMA
    components["securitySchemes"] = {
        KEY_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "key",
            "description": "An API key: an app's own, or an admin key acting on every app. "
            "Every operation that takes it also takes a JWT instead (scheme `jwt`).",
        },
        JWT_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The Messaging API's JWT: HS256, `iss` the app id, `iat`, signed "
            "with the base64-decoded service secret, 60 minutes; it wins over a key",
        },
        LINK_SCHEME: {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "The signed link of inbound media (with its `expires`), as an "
            "inbound event carries it: no API key needed",
        },
    }
    settings = getattr(getattr(app.state, "ctx", None), "settings", None)
    for route in _routes(app):
        for method in sorted(route.methods):
            operation = doc["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _document(operation, route, method, settings)
    _document_webhooks(doc["paths"])
    _document_short_links(doc["paths"])
    document_messaging(doc["paths"])
    metrics = doc["paths"].get("/metrics", {}).get("get")
    if metrics is not None:
        metrics["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    return doc


def _routes(app: FastAPI) -> Iterator[Any]:
    """The app's API routes, included routers' ones with the path they are served at."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def _document(operation: dict[str, Any], route: Any, method: str, settings: Any) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    key = (method, route.path_format)
    protected = _depends_on_auth(route.dependant)
    if key in _PROTECTED_IF:
        protected = bool(getattr(settings, _PROTECTED_IF[key], False))
    if protected:
        # A JWT (JWT_SCHEME) is taken wherever a key is; it is not listed as an alternative
        # requirement: schemathesis' ignored_auth check reads alternatives as "each alone
        # must be required", which a key-or-JWT API cannot satisfy.
        operation["security"] = [{KEY_SCHEME: []}]
        if (method, route.path_format) in _SIGNED_LINKS:
            _document_signed_link(operation)
    if route.path_format.startswith("/webhooks/"):
        return
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    if key in _UPSERTS and "200" in responses:
        responses["201"] = {**responses["200"], "description": "Created"}
    # Error statuses the route declares itself (`responses=`) get the error body too.
    statuses = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    if has_body or any(p["in"] == "query" or _constrained(p) for p in parameters):
        statuses.add(400)
    if has_body:
        statuses |= {408, 413}
    if protected:
        statuses.add(401)
        names_an_app = any(p["name"] in _APP_PARAMETERS for p in parameters)
        if names_an_app or _FORBIDDING_CALLS & set(_called_names(route.endpoint)):
            statuses.add(403)
    if any(p["in"] == "path" for p in parameters) and key not in _NO_404:
        statuses.add(404)
    shape = "MessagingError" if route.path_format.startswith("/resources/") else "Error"
    for status in sorted(statuses):
        found = responses.setdefault(str(status), {})
        found.setdefault("description", _DESCRIPTIONS.get(status, "Refused"))
        if status != 304 and set(found.get("content", {})) <= {"application/json"}:
            found["content"] = _error_content(shape)


def _constrained(parameter: dict[str, Any]) -> bool:
    """A path parameter with more rules than "a string": refused with 400 when it breaks them."""
    schema = parameter.get("schema", {})
    return parameter["in"] == "path" and (
        schema.get("type", "string") != "string"
        or bool(set(schema) - {"type", "title", "description"})
    )


def _depends_on_auth(dependant: Dependant) -> bool:
    """Whether the route takes `wanode.api.auth`'s key check, as a dependency or inside one."""
    return any(
        getattr(dep.call, "__module__", None) == _AUTH_MODULE
        or "require_key" in _called_names(dep.call)
        or _depends_on_auth(dep)
        for dep in dependant.dependencies
    )


def _document_signed_link(operation: dict[str, Any]) -> None:
    operation["security"].append({LINK_SCHEME: []})
    operation.setdefault("parameters", []).append(
        {
            "name": "expires",
            "in": "query",
            "required": False,
            "description": "when the signed link expires (Unix seconds), with `token`",
            "schema": {"type": "string"},
        }
    )


def _called_names(function: Callable[..., Any] | None, seen: set[Any] | None = None) -> set[str]:
    """The names `function` uses, and those of the API's own functions it calls, followed
    through: a refusal inside `send_webex` counts for the route that calls it."""
    code = getattr(function, "__code__", None)
    seen = set() if seen is None else seen
    if code is None or code in seen:
        return set()
    seen.add(code)
    names: set[str] = set()
    codes = [code]
    while codes:  # nested functions and comprehensions too
        current = codes.pop()
        names.update(current.co_names)
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    scope = getattr(function, "__globals__", {})
    for name in list(names):
        called = scope.get(name)
        if inspect.isfunction(called) and called.__module__.startswith("wanode.api."):
            names |= _called_names(called, seen)
    return names


def _document_webhooks(paths: dict[str, Any]) -> None:
    """WhatsApp's side of the service: verification and signed event batches (no API key)."""
    webhook = paths.get("/webhooks/whatsapp", {})
    text = {"text/plain": {"schema": {"type": "string"}}}
    refusal = {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            }
        }
    }
    if "get" in webhook:
        webhook["get"]["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in ("hub.mode", "hub.verify_token", "hub.challenge")
        ]
        webhook["get"]["responses"] = {
            "200": {
                "description": "The challenge, echoed: the verify token is known",
                "content": text,
            },
            "403": {
                "description": "Not a subscribe request with a known verify token",
                "content": text,
            },
        }
    if "post" in webhook:
        webhook["post"]["parameters"] = [
            {
                "name": "X-Hub-Signature-256",
                "in": "header",
                "required": False,
                "description": "`sha256=<hex HMAC-SHA256 of the body>` with an app's secret",
                "schema": {"type": "string"},
            }
        ]
        webhook["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
        webhook["post"]["responses"] = {
            "200": {
                "description": "The events stored",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["received"],
                            "properties": {"received": {"type": "integer"}},
                        }
                    }
                },
            },
            "400": {"description": "Signed, but not a WhatsApp webhook", "content": refusal},
            "401": {"description": "No app's secret signed these bytes", "content": refusal},
            "408": {"description": _DESCRIPTIONS[408], "content": _error_content("Error")},
            "413": {"description": _DESCRIPTIONS[413], "content": _error_content("Error")},
        }


def _document_short_links(paths: dict[str, Any]) -> None:
    """`/l/{code}`: a redirect for a browser, or a plain-text 404; never JSON."""
    for method, operation in paths.get("/l/{code}", {}).items():
        operation["operationId"] = f"follow_short_link_{method}"
        operation["responses"] = {
            "302": {
                "description": "To the link's URL",
                "headers": {"Location": {"schema": {"type": "string"}}},
            },
            "404": {
                "description": "No such link",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
        }


def _error_content(shape: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{shape}"}}}


def allowed_methods(app: Any, scope: MutableMapping[str, Any]) -> list[str]:
    """Every method some route of the app answers at this request's path."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        route_methods = route.methods
        if route_methods and route.matches(scope)[0] is not Match.NONE:
            methods |= set(route_methods)
    return sorted(methods, key=lambda m: (*_METHOD_ORDER, m).index(m))


async def _method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    allowed = allowed_methods(request.app, request.scope)
    return JSONResponse(
        error_body(
            request,
            SYNC.INVALID_VALUE,
            f"Method {request.method} not allowed; this path takes {', '.join(allowed)}",
            None,
        ),
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )
