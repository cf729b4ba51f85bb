"""Property tests: for generated templates that pass the creation rules and matching parameters,
binding succeeds in both shapes and the payload is one Meta's OpenAPI document accepts; removing
any one parameter fails as missing; no JSON makes the readers raise anything but InvalidMessage."""

from __future__ import annotations

import contextlib
import dataclasses
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_messages import TO
from test_templates_binding import template_meta_errors

from wanode.messages import MEDIA_RULES, InvalidMessage, render_payload
from wanode.messages.templates import (
    TemplateDefinition,
    TemplateStatus,
    bind_native,
    bind_webex,
    parameter_names,
    parse_create,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RESERVED = {"image", "video", "document", "location", "otp"}

words = st.text(string.ascii_letters + string.digits + " .,!?", min_size=1, max_size=12).filter(
    lambda w: w.strip() and "     " not in w
)
# What a parameter may hold: any printable text without newlines, tabs or 5 spaces in a row.
values = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda v: v.strip() and "     " not in v
)
labels = st.text(string.ascii_letters + " ", min_size=1, max_size=25).filter(str.strip)
codes = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=15)
suffixes = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=30)
named = st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(lambda n: n not in RESERVED)
languages = st.sampled_from(["en_US", "de_DE", "pt_BR", "es_MX", "fr", "ja_JP", "id"])


def currencies() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda code, amount, as_text, fallback: {
            "type": "currency",
            "currency_code": code,
            "amount_1000": str(amount) if as_text else amount,
            **({} if fallback is None else {"fallback_value": fallback}),
        },
        st.sampled_from(["USD", "EUR", "BRL", "JPY", "INR", "GBP"]),
        st.integers(0, 2**31 - 1),
        st.booleans(),
        st.none() | values,
    )


def date_times() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda stamp, fallback: {
            "type": "date_time",
            "timestamp": stamp,
            **({} if fallback is None else {"fallback_value": fallback}),
        },
        st.integers(0, 4102444800),
        st.none() | values,
    )


text_values = values | currencies() | date_times()


@st.composite
def text_with(draw: st.DrawFn, names: list[str]) -> str:
    """A text holding each of `names` once as a variable, among words."""
    parts = [f"{{{{{name}}}}}" for name in names] + draw(st.lists(words, max_size=4))
    return " ".join(draw(st.permutations(parts))) or draw(words)


@st.composite
def header(
    draw: st.DrawFn, names: list[str], fmt: str
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    kind = draw(
        st.sampled_from([None, "TEXT", "TEXT_VAR", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"])
    )
    if kind is None:
        return None, {}
    if kind == "TEXT":
        return {"type": "HEADER", "format": "TEXT", "text": draw(words)}, {}
    if kind == "TEXT_VAR":
        choices = (st.sampled_from(names) | named) if names else named
        name = "1" if fmt == "POSITIONAL" else draw(choices)
        example = (
            {"header_text": ["x"]}
            if fmt == "POSITIONAL"
            else {"header_text_named_params": [{"param_name": name, "example": "x"}]}
        )
        component = {
            "type": "HEADER",
            "format": "TEXT",
            "text": f"Re {{{{{name}}}}}",
            "example": example,
        }
        return component, {
            "headerText": draw(
                st.text(string.ascii_letters, min_size=1, max_size=20) | currencies()
            )
        }
    if kind == "LOCATION":
        location: dict[str, Any] = {
            "latitude": draw(st.floats(-90, 90, allow_nan=False)),
            "longitude": draw(st.floats(-180, 180, allow_nan=False)),
        }
        if draw(st.booleans()):
            location["name"] = draw(values)
            if draw(st.booleans()):
                location["address"] = draw(values)
        return {"type": "HEADER", "format": "LOCATION"}, {"location": location}
    media = kind.lower()
    extension = draw(st.sampled_from(MEDIA_RULES[media].extensions))
    value: dict[str, Any] = {"link": f"https://cdn.example.org/{draw(suffixes)}.{extension}"}
    if media == "document" and draw(st.booleans()):
        value["filename"] = draw(values)
    component = {"type": "HEADER", "format": kind, "example": {"header_handle": ["4::aGk=:ARb"]}}
    return component, {media: value}


@st.composite
def buttons(draw: st.DrawFn) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    kind = draw(st.sampled_from(["none", "quick", "cta"]))
    if kind == "none":
        return None, {}
    if kind == "quick":
        texts = draw(st.lists(labels, min_size=1, max_size=3, unique=True))
        replies = [
            {"payload": draw(values), **({"button_text": text} if draw(st.booleans()) else {})}
            for text in texts
        ]
        quick = [{"type": "QUICK_REPLY", "text": text} for text in texts]
        return {"type": "BUTTONS", "buttons": quick}, {"quickReply": replies}
    chosen = draw(
        st.lists(
            st.sampled_from(["URL", "DYNAMIC_URL", "PHONE", "COPY"]),
            min_size=1,
            max_size=3,
            unique=True,
        ).filter(lambda kinds: not {"URL", "DYNAMIC_URL"} <= set(kinds))
    )
    items: list[dict[str, Any]] = []
    parameters: dict[str, Any] = {}
    for kind in draw(st.permutations(chosen)):
        if kind == "URL":
            items.append({"type": "URL", "text": draw(labels), "url": "https://example.org/shop"})
        elif kind == "DYNAMIC_URL":
            parameters[f"url_{len(items)}"] = {"type": "url", "payload": draw(suffixes)}
            items.append(
                {
                    "type": "URL",
                    "text": draw(labels),
                    "url": "https://example.org/o/{{1}}",
                    "example": ["a1"],
                }
            )
        elif kind == "PHONE":
            items.append(
                {"type": "PHONE_NUMBER", "text": draw(labels), "phone_number": "+15551234567"}
            )
        else:
            items.append({"type": "COPY_CODE", "example": draw(codes)})
            parameters["couponCode"] = draw(codes)
    return {"type": "BUTTONS", "buttons": items}, parameters


@st.composite
def authentication(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    otp: dict[str, Any] = {
        "type": "OTP",
        "otp_type": draw(st.sampled_from(["COPY_CODE", "ONE_TAP"])),
    }
    if otp["otp_type"] == "ONE_TAP":
        otp["supported_apps"] = [
            {"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}
        ]
    components: list[dict[str, Any]] = [
        {"type": "BODY", "add_security_recommendation": draw(st.booleans())}
    ]
    if draw(st.booleans()):
        components.append({"type": "FOOTER", "code_expiration_minutes": draw(st.integers(1, 90))})
    components.append({"type": "BUTTONS", "buttons": [otp]})
    graph = {
        "category": "AUTHENTICATION",
        "parameter_format": "POSITIONAL",
        "components": components,
    }
    return graph, {"otp": {"type": "otp", "value": draw(codes)}}


@st.composite
def free_form(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    fmt = draw(st.sampled_from(["POSITIONAL", "NAMED"]))
    count = draw(st.integers(0, 5))
    if fmt == "POSITIONAL":
        names = [str(n) for n in range(1, count + 1)]
    else:
        names = draw(st.lists(named, min_size=count, max_size=count, unique=True))
    parameters: dict[str, Any] = {name: draw(text_values) for name in names}
    body: dict[str, Any] = {"type": "BODY", "text": draw(text_with(names))}
    if names:
        body["example"] = (
            {"body_text": [["x"] * count]}
            if fmt == "POSITIONAL"
            else {"body_text_named_params": [{"param_name": n, "example": "x"} for n in names]}
        )
    components: list[dict[str, Any]] = []
    head, head_parameters = draw(header(names, fmt))
    if head is not None:
        components.append(head)
    components.append(body)
    if draw(st.booleans()):
        components.append({"type": "FOOTER", "text": draw(words)})
    group, button_parameters = draw(buttons())
    if group is not None:
        components.append(group)
    graph = {
        "category": draw(st.sampled_from(["MARKETING", "UTILITY"])),
        "parameter_format": fmt,
        "components": components,
    }
    return graph, {**head_parameters, **parameters, **button_parameters}


@st.composite
def sends(draw: st.DrawFn) -> tuple[TemplateDefinition, dict[str, Any]]:
    graph, parameters = draw(authentication() | free_form())
    graph = {
        "name": draw(st.from_regex(r"[a-z0-9_]{1,30}", fullmatch=True)),
        "language": draw(languages),
        **graph,
    }
    definition = parse_create(graph)
    approved = dataclasses.replace(definition, status=TemplateStatus.APPROVED, id="1")
    return approved, parameters


@FAST
@given(sends())
def test_generated_sends_bind_and_render_what_meta_accepts(
    send: tuple[TemplateDefinition, dict[str, Any]],
) -> None:
    definition, parameters = send
    assert set(parameters) == set(parameter_names(definition))
    message = bind_webex(definition, parameters)
    payload = render_payload(message, TO)
    assert template_meta_errors(payload) == []
    assert bind_native(definition, payload["template"]).content() == message.content()


@FAST
@given(sends(), st.data())
def test_removing_any_parameter_fails_as_missing(
    send: tuple[TemplateDefinition, dict[str, Any]], data: st.DataObject
) -> None:
    definition, parameters = send
    if not parameters:
        return
    name = data.draw(st.sampled_from(sorted(parameters)))
    try:
        bind_webex(definition, {k: v for k, v in parameters.items() if k != name})
    except InvalidMessage as error:
        assert (error.field, error.code) == (name, "7804")
        assert "missing" in error.reason
    else:
        raise AssertionError(f"binding without {name!r} succeeded")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@FAST
@given(
    sends(),
    st.dictionaries(
        st.sampled_from(
            [
                "1",
                "2",
                "headerText",
                "image",
                "location",
                "url_0",
                "quickReply",
                "otp",
                "couponCode",
                "first_name",
            ]
        )
        | st.text(max_size=8),
        json_values,
        max_size=6,
    ),
)
def test_any_parameters_raise_only_invalid_message(
    send: tuple[TemplateDefinition, dict[str, Any]], parameters: dict[str, Any]
) -> None:
    definition, _ = send
    with contextlib.suppress(InvalidMessage):
        bind_webex(definition, parameters)


@FAST
@given(sends(), json_values)
def test_any_native_template_raises_only_invalid_message(
    send: tuple[TemplateDefinition, dict[str, Any]], components: Any
) -> None:
    definition, _parameters = send
    template = {
        "name": definition.name,
        "language": {"code": definition.language},
        "components": components,
    }
    with contextlib.suppress(InvalidMessage):
        bind_native(definition, template)


@FAST
@given(
    json_values
    | st.dictionaries(
        st.sampled_from(
            ["name", "language", "category", "components", "status", "parameter_format", "id"]
        ),
        json_values,
    )
)
def test_any_graph_json_reads_or_raises_invalid_message(graph: Any) -> None:
    for read in (TemplateDefinition.from_graph, parse_create):
        with contextlib.suppress(InvalidMessage):
            read(graph)
