"""The OpenAPI document tells the truth: schemathesis over every operation of `/openapi.json`.

The whole service runs in-process (SQLite, the sandbox gateway mounted, no engine loops, so
nothing is ever posted beyond this process): schemathesis loads the document from the app and
sends each operation a bounded, derandomized set of cases, valid ones (positive) and invalid
ones (negative: wrong types, missing fields, values outside the constraints), with the
service's key (an admin key). Every answer must be a non-5xx, with a documented status code,
content type, headers and body schema; a request without the key must be refused with 401; an
invalid request must be refused with a 4xx, and a valid one accepted where the schema can say
what valid is. Failures are collected over every operation, then reported together.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.support.harness import LateApp, fast_settings, running

from wanode.cli.bootstrap import build_service, ensure_defaults
from wanode.engine.gateways import provision_in_sandbox
from wanode.store import Database
from wanode.store import apps as app_queries

# Cases per operation and mode: some 55 operations x (positive + negative) take under two
# minutes on two shared cores.
POSITIVE_EXAMPLES = 20
NEGATIVE_EXAMPLES = 12
FOREIGN_EXAMPLES = 5

CHECKS = [
    not_a_server_error,
    ignored_auth,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
# Valid cases must be accepted, except where validity is more than a schema can say: numbers
# and customer ids (phone number rules, Unicode categories), Cloud API message and template
# bodies (checked by each message kind), flow definitions and their variables, file uploads.
NOT_SCHEMA_EXACT = {
    "POST /resources/v1/messaging",
    "POST /v1/messages",
    "POST /v1/media",
    "POST /v1/templates",
    "POST /v1/flows",
    "POST /v1/flows/{flow_id}/runs",
    "PUT /v1/contacts/{customerid}",
    "GET /v1/contacts/{customerid}",
    "DELETE /v1/contacts/{customerid}",
    "POST /v1/contacts/import",  # a CSV file
    "GET /v1/inbound",
    "PUT /v1/notify-auth/{profile_id}",  # the parameters a `type` takes
}


@dataclass
class Service:
    api: Any
    app_id: str
    admin_key: str
    app_key: str  # the default app's own key
    other_app_id: str  # an app that key may not act on


async def _first_run(db: Database) -> tuple[dict[str, Any], str, str, dict[str, Any]]:
    """The default app, an admin key (made first: the default one would be made otherwise), the
    app's own key, and a second app."""
    await db.migrate()
    async with db.begin() as conn:
        admin_key = await app_queries.create_key(conn, "openapi", admin=True)
    first = await ensure_defaults(db, gateway="sandbox")
    async with db.begin() as conn:
        app_key = await app_queries.create_key(conn, "openapi-app", app_id=first.app["id"])
        other = await app_queries.create_app(
            conn,
            name="Another app",
            phone_number_id="15550100999",
            waba_id="25550100999",
            display_phone_number="15550100999",
            access_token="token-of-another-app",
            app_secret="secret-of-another-app",
            verify_token="verify-another-app",
            gateway="sandbox",
            graph_base_url=None,
            api_version=None,
            notify_url=None,
        )
    # The app runs on schemathesis' own event loop: no connection may outlive this one.
    await db.dispose()
    return first.app, admin_key, app_key, other


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/wanode.db")
    app, admin_key, app_key, other = asyncio.run(_first_run(db))
    settings_ = fast_settings(db, media_dir=str(tmp_path / "media"))
    late = LateApp()
    api, ctx = build_service(
        settings_, db, worker=False, webhook_transport=httpx.ASGITransport(app=late)
    )
    late.target = api
    for known in (app, other):
        provision_in_sandbox(ctx.sandbox, known, settings_.webhook_url())
    try:
        yield Service(api, app["id"], admin_key, app_key, other["id"])
    finally:
        asgi.shutdown_lifespans()


def _with_key(case: Any, key: str) -> None:
    """The service's key, unless the case is about the headers (the key missing or wrong)."""
    meta = case.meta
    headers = meta.components.get(ParameterLocation.HEADER) if meta is not None else None
    if headers is not None and headers.mode.is_negative:
        return
    case.headers = {**(case.headers or {}), "key": key}


def _pin_app(case: Any, app_id: str) -> None:
    """Valid cases name the real app, so that they reach past the app lookup."""
    if isinstance(case.body, dict):
        for name in ("appid", "app_id"):
            if isinstance(case.body.get(name), str):
                case.body[name] = app_id
    if case.query and isinstance(case.query.get("appid"), str):
        case.query["appid"] = app_id


@dataclass
class Run:
    """Every case sent, what it was answered, and what schemathesis found wrong with it."""

    key: str
    app_id: str
    cases: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def operation(self, operation: Any, mode: GenerationMode, examples: int) -> None:
        label = operation.label
        if mode is GenerationMode.NEGATIVE:
            checks = NEGATIVE_CHECKS
        elif label in NOT_SCHEMA_EXACT:
            checks = CHECKS
        else:
            checks = [*CHECKS, positive_data_acceptance]

        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            self.send(label, mode, checks, case)

        try:
            run()
        except Unsatisfiable:
            # Nothing to negate (no parameters, no body schema): positive cases only.
            assert mode is GenerationMode.NEGATIVE, label

    def send(self, label: str, mode: GenerationMode, checks: list[Any], case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            _pin_app(case, self.app_id)
        _with_key(case, self.key)
        self.cases[mode.value] += 1
        found: list[str] = []
        answer = ""
        try:
            response = case.call()
            answer = f"{response.status_code} {response.text[:200]}"
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            found = [_describe(failure) for failure in group.exceptions]
        except Failure as failure:
            found = [_describe(failure)]
        except Exception as exc:
            # In-process, an unhandled error reaches the caller rather than a 500.
            found = [f"Server error: {type(exc).__name__}: {exc}"]
        else:
            self.statuses[label][response.status_code] += 1
        for text in found:
            self.failures[label].setdefault(text, f"{_example(case)}\n    -> {answer}")

    def report(self, title: str) -> None:
        failures = sum(len(found) for found in self.failures.values())
        print(
            f"\nschemathesis, {title}, {self.cases['positive']} positive and "
            f"{self.cases['negative']} negative cases, {failures} failures"
        )
        for label in sorted(self.statuses):
            print(f"  {label}: {dict(sorted(self.statuses[label].items()))}")
        for label, found in sorted(self.failures.items()):
            for text, example in sorted(found.items()):
                print(f"FAIL {label}: {text}\n    e.g. {example}")


def test_openapi_conformance(service: Service) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.api)
    admin = Run(key=service.admin_key, app_id=service.app_id)
    # An app's key naming another app: the 403s (and 404s) of per-app keys are documented too.
    foreign = Run(key=service.app_key, app_id=service.other_app_id)
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operation = result.ok()
        operations += 1
        admin.operation(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
        admin.operation(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)
        foreign.operation(operation, GenerationMode.POSITIVE, FOREIGN_EXAMPLES)
    admin.report(f"admin key: {operations} operations")
    foreign.report(f"an app's key naming another app: {operations} operations")
    assert operations >= 45
    assert admin.cases["positive"] >= 10 * operations
    assert sum(counts[403] for counts in foreign.statuses.values()) >= 10
    assert not admin.failures
    assert not foreign.failures


def _example(case: Any) -> str:
    return f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"[:300]


def _describe(failure: Failure) -> str:
    title = getattr(failure, "title", type(failure).__name__)
    message = " / ".join(str(getattr(failure, "message", "")).splitlines()[:6])
    return f"{title}: {message}"


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@pytest.mark.asyncio
async def test_document_declares_the_key_and_the_real_errors(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        doc = (await wn.client.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert {k: v for k, v in schemes["key"].items() if k != "description"} == {
        "type": "apiKey",
        "in": "header",
        "name": "key",
    }
    assert schemes["jwt"]["type"] == "http" and schemes["jwt"]["bearerFormat"] == "JWT"
    unauthenticated = {"/webhooks/whatsapp", "/healthz", "/metrics", "/l/{code}"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            if path in unauthenticated:
                assert "security" not in operation, (method, path)
                continue
            assert operation["security"][0] == {"key": []}, (method, path)
            assert responses["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/"
                + ("MessagingError" if path.startswith("/resources/") else "Error")
            }, (method, path)
    media = doc["paths"]["/v1/media/{media_id}"]["get"]
    assert media["security"] == [{"key": []}, {"mediaLink": []}]
    apps = doc["paths"]["/v1/apps"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "413"} <= set(apps)
    patch = doc["components"]["schemas"]["AppSettings"]["properties"]
    assert patch["name"] == {"type": "string", "minLength": 1, "maxLength": 200}
    assert "pattern" in patch["notify_url"]["anyOf"][0]


@pytest.mark.asyncio
async def test_405_allows_every_method_of_the_path(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        doc = (await wn.client.get("/openapi.json")).json()
        for path, operations in doc["paths"].items():
            documented = {method.upper() for method in operations}
            url = path.replace("{", "").replace("}", "")
            for method in sorted(set(HTTP_METHODS) - documented - {"HEAD"}):
                if _served_elsewhere(doc, url, method):
                    continue  # DELETE /v1/templates/sync is /v1/templates/{template_id}'s
                response = await wn.client.request(method, url)
                assert response.status_code == 405, (method, path, response.text)
                allowed = {m.strip() for m in response.headers["allow"].split(",")}
                # Every method of every path template the URL matches (PATCH /v1/templates/sync
                # is also /v1/templates/{template_id}); HEAD may go undocumented beside GET.
                expected = {
                    other.upper()
                    for template, others in doc["paths"].items()
                    if _matches(template, url)
                    for other in others
                }
                assert allowed - {"HEAD"} == expected - {"HEAD"}, (method, path, allowed)
                # The Messaging API answers in its own shape, the native resources in theirs.
                shape = "response" if path.startswith("/resources/") else "error"
                assert response.json()[shape]["code"] == "7004", (method, path)
        response = await wn.client.delete("/v1/apps")
        assert response.headers["allow"] == "GET, POST"


def _matches(template: str, url: str) -> bool:
    return re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), url) is not None


def _served_elsewhere(doc: dict[str, Any], url: str, method: str) -> bool:
    return any(
        method.lower() in operations and _matches(path, url)
        for path, operations in doc["paths"].items()
    )
