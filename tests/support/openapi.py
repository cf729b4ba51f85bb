"""Validation of payloads against Meta's official OpenAPI document (shared/reference/meta-openapi).

`validate(instance, "Message")` checks a rendered send request; `validate(body, "WebhookPayload")`
checks a webhook body. Both raise `jsonschema.ValidationError` with the failing path.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "reference"
    / "meta-openapi"
    / "business-messaging-api_v23.0.yaml"
)
_URI = "urn:meta-openapi"


@functools.cache
def _spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        raise FileNotFoundError(
            f"Meta's OpenAPI document is expected at {SPEC_PATH} (shared/ beside the repo)"
        )
    cache = Path(__file__).resolve().parents[2] / ".pytest_cache" / "meta-openapi.json"
    if cache.exists() and cache.stat().st_mtime >= SPEC_PATH.stat().st_mtime:
        return json.loads(cache.read_text())
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(SPEC_PATH.read_text(), Loader=loader)
    _open_all_of_branches(spec)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(spec))
    return spec


def _open_all_of_branches(spec: dict[str, Any]) -> None:
    """Let `additionalProperties: false` inside an `allOf` branch see its siblings' properties.

    Meta's document closes each `allOf` branch on its own (e.g. `TextMessage` = base properties
    + a closed object), which under plain JSON Schema rejects every message. OpenAPI tools read
    the branches as one object; so do we, by declaring the siblings' property names in each
    closed branch.
    """

    def resolve(node: Any) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                break
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
        return node

    def names(node: Any, seen: set[int]) -> set[str]:
        node = resolve(node)
        if not isinstance(node, dict) or id(node) in seen:
            return set()
        seen.add(id(node))
        found = set(node.get("properties", {}))
        for branch in node.get("allOf", []):
            found |= names(branch, seen)
        return found

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            branches = node.get("allOf")
            if isinstance(branches, list):
                every = set().union(*(names(b, set()) for b in branches))
                for branch in branches:
                    if isinstance(branch, dict) and branch.get("additionalProperties") is False:
                        props = branch.setdefault("properties", {})
                        for name in every - set(props):
                            props[name] = {}
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(_URI, resource)


def _one_of(validator: Any, one_of: Any, instance: Any, schema: dict[str, Any]) -> Any:
    """`oneOf` that honours an OpenAPI `discriminator` mapping, as OpenAPI tools do."""
    discriminator = schema.get("discriminator")
    if isinstance(discriminator, dict) and isinstance(instance, dict):
        value = instance.get(discriminator.get("propertyName", ""))
        target = discriminator.get("mapping", {}).get(value)
        if target:
            ref = f"{_URI}{target}" if target.startswith("#") else target
            yield from validator.descend(instance, {"$ref": ref})
            return
    yield from _BASE_ONE_OF(validator, one_of, instance, schema)


_BASE_ONE_OF = jsonschema.Draft202012Validator.VALIDATORS["oneOf"]
_OpenAPIValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"oneOf": _one_of}
)


def _discriminator(
    validator: Any, discriminator: Any, instance: Any, schema: dict[str, Any]
) -> Any:
    """A `discriminator` with no `oneOf` beside it, as OpenAPI tools read it: the instance must
    match the schema its mapping names. Meta's document has one on an inbound interactive
    reply (`InteractiveMessageReply.interactive` maps `list_reply` and `button_reply` to their
    schemas and lists neither), so plain JSON Schema would check neither reply's contents."""
    if "oneOf" in schema or not isinstance(instance, dict):
        return
    target = discriminator.get("mapping", {}).get(instance.get(discriminator.get("propertyName")))
    if isinstance(target, str) and target.startswith("#"):
        yield from validator.descend(instance, {"$ref": f"{_URI}{target}"})


# For webhook bodies: `_OpenAPIValidator` that also follows a lone `discriminator`. (Not the
# default: the send-side checks have not been tried with it.)
WebhookValidator = jsonschema.validators.extend(
    _OpenAPIValidator, {"discriminator": _discriminator}
)


@functools.cache
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    if schema_name not in _spec()["components"]["schemas"]:
        raise KeyError(f"no schema {schema_name!r} in Meta's OpenAPI document")
    schema = {"$ref": f"{_URI}#/components/schemas/{schema_name}"}
    return _OpenAPIValidator(schema, registry=_registry())


def validate(instance: Any, schema_name: str) -> None:
    """Raise `jsonschema.ValidationError` unless `instance` matches the named component schema."""
    _validator(schema_name).validate(instance)


def errors(instance: Any, schema_name: str) -> list[str]:
    """Every violation, as readable strings (empty when valid)."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(schema_name).iter_errors(instance)
    ]
