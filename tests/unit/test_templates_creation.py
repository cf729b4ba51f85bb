"""Meta's creation rules (cloud-api.md §3.1) and the spec's button rules, each at and past its
limit, reported with the path of the offending value in the create request."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_messages import set_at

from wanode.codes import SYNC
from wanode.messages import InvalidMessage
from wanode.messages.templates import (
    Body,
    Buttons,
    OtherButton,
    QuickReplyButton,
    TemplateCategory,
    TemplateDefinition,
    UnknownComponent,
    check_creation,
    parse_create,
)

MISSING = SYNC.MANDATORY_MISSING
INVALID = SYNC.INVALID_VALUE

UTILITY: dict[str, Any] = {
    "name": "order_update_2",
    "language": "en_US",
    "category": "UTILITY",
    "parameter_format": "POSITIONAL",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{1}}",
            "example": {"header_text": ["#42"]},
        },
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} has shipped.",
            "example": {"body_text": [["Ann", "#42"]]},
        },
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://example.org/t/{{1}}",
                    "example": ["abc"],
                },
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15551234567"},
            ],
        },
    ],
}

NAMED: dict[str, Any] = {
    "name": "named_greeting",
    "language": "pt_BR",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "BODY",
            "text": "Olá {{first_name}}, use {{code}}!",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Ana"},
                    {"param_name": "code", "example": "X1"},
                ]
            },
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Sim"},
                {"type": "QUICK_REPLY", "text": "Não"},
                {"type": "QUICK_REPLY", "text": "Talvez"},
            ],
        },
    ],
}

AUTH: dict[str, Any] = {
    "name": "login_code",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {
            "type": "BUTTONS",
            "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}],
        },
    ],
}

ONE_TAP: dict[str, Any] = set_at(
    AUTH,
    ("components", 2, "buttons", 0),
    {
        "type": "OTP",
        "otp_type": "ONE_TAP",
        "text": "Copy code",
        "autofill_text": "Autofill",
        "supported_apps": [{"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}],
    },
)

MEDIA: dict[str, Any] = {
    "name": "new_arrivals",
    "language": "de_DE",
    "category": "MARKETING",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U=:ARb"]}},
        {"type": "BODY", "text": "Neu eingetroffen!"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "URL", "text": "Shop", "url": "https://example.org/shop"},
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "4930123456"},
                {"type": "COPY_CODE", "example": "SUMMER25"},
            ],
        },
    ],
}

LOCATION: dict[str, Any] = set_at(
    MEDIA, ("components", 0), {"type": "HEADER", "format": "LOCATION"}
)

VALID = {
    "utility": UTILITY,
    "named": NAMED,
    "auth copy code": AUTH,
    "auth one tap": ONE_TAP,
    "media header": MEDIA,
    "location header": LOCATION,
}


def rejected(body: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as info:
        parse_create(body)
    return info.value


def with_buttons(*buttons: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = set_at(UTILITY, ("components", 3, "buttons"), list(buttons))
    return body


def quick(n: int) -> dict[str, Any]:
    return {"type": "QUICK_REPLY", "text": f"Option {n}"}


URL = {"type": "URL", "text": "Visit", "url": "https://example.org"}
PHONE = {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15551234567"}
COPY = {"type": "COPY_CODE", "example": "SAVE10"}


@pytest.mark.parametrize("body", VALID.values(), ids=VALID.keys())
def test_valid_create_requests_pass_and_write_back_unchanged(body: dict[str, Any]) -> None:
    definition = parse_create(body)
    assert definition.to_graph() == body


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "a" * 512),
        (("name",), "order_2_update_v3"),
        (("language",), "en"),
        (("language",), "fil"),
        (("components", 0, "text"), "H" * 53 + " {{1}}."),  # 60 characters
        (("components", 1, "text"), "B" * 1013 + " {{1}}{{2}}"),  # 1024
        (("components", 2, "text"), "F" * 60),
        (("components", 3, "buttons", 0, "text"), "T" * 25),
        (("components", 3, "buttons", 1, "phone_number"), "+" + "1" * 19),
        (("components", 3, "buttons", 0, "url"), "https://example.org/" + "u" * 1975 + "{{1}}"),
        (("category",), "marketing"),
        (("message_send_ttl_seconds",), 600),
        (("message_send_ttl_seconds",), -1),
    ],
)
def test_values_at_their_limit_pass(path: tuple[str | int, ...], value: Any) -> None:
    parse_create(set_at(UTILITY, path, value))


@pytest.mark.parametrize(
    ("path", "value", "field", "code"),
    [
        # name: lower-case letters, digits and underscores, at most 512
        (("name",), "a" * 513, "name", INVALID),
        (("name",), "Order_update", "name", INVALID),
        (("name",), "order-update", "name", INVALID),
        (("name",), "order update", "name", INVALID),
        (("name",), "", "name", MISSING),
        (("language",), "english", "language", INVALID),
        (("language",), "en-US", "language", INVALID),
        (("category",), "PROMOTION", "category", INVALID),
        (("parameter_format",), "EMOJI", "parameter_format", INVALID),
        (("message_send_ttl_seconds",), 0, "message_send_ttl_seconds", INVALID),
        # header
        (("components", 0, "text"), "H" * 54 + " {{1}}.", "components[0].text", INVALID),
        (("components", 0, "text"), "{{1}} and {{2}}", "components[0].text", INVALID),
        (("components", 0, "text"), None, "components[0].text", MISSING),
        (("components", 0, "example"), None, "components[0].example.header_text", MISSING),
        (
            ("components", 0, "example"),
            {"header_text": ["a", "b"]},
            "components[0].example.header_text",
            INVALID,
        ),
        (
            ("components", 0, "example"),
            {"header_text": [" "]},
            "components[0].example.header_text[0]",
            MISSING,
        ),
        (("components", 0, "format"), "GIF", "components[0].format", INVALID),
        (("components", 0, "format"), None, "components[0].format", MISSING),
        # body
        (("components", 1, "text"), "B" * 1014 + " {{1}}{{2}}", "components[1].text", INVALID),
        (("components", 1, "text"), None, "components[1].text", MISSING),
        (("components", 1, "text"), "{{1}} and {{3}}", "components[1].text", INVALID),
        (("components", 1, "text"), "{{0}} and {{1}}", "components[1].text", INVALID),
        (("components", 1, "text"), "Hi {{name}} {{1}}", "components[1].text", INVALID),
        (("components", 1, "text"), "Hi {{ 1 }} {{2}}", "components[1].text", INVALID),
        (("components", 1, "example"), None, "components[1].example.body_text", MISSING),
        (
            ("components", 1, "example"),
            {"body_text": [["Ann"]]},
            "components[1].example.body_text",
            INVALID,
        ),
        (
            ("components", 1, "example"),
            {"body_text": ["Ann", "#42"]},
            "components[1].example.body_text",
            INVALID,
        ),
        (("components", 1, "text"), "No variables", "components[1].example.body_text", INVALID),
        # footer
        (("components", 2, "text"), "F" * 61, "components[2].text", INVALID),
        (("components", 2, "text"), "Hi {{1}}", "components[2].text", INVALID),
        (("components", 2, "text"), None, "components[2].text", MISSING),
        (
            ("components", 2, "code_expiration_minutes"),
            10,
            "components[2].code_expiration_minutes",
            INVALID,
        ),
        # buttons
        (
            ("components", 3, "buttons", 0, "text"),
            "T" * 26,
            "components[3].buttons[0].text",
            INVALID,
        ),
        (("components", 3, "buttons", 0, "text"), None, "components[3].buttons[0].text", MISSING),
        (("components", 3, "buttons"), [], "components[3].buttons", MISSING),
        (
            ("components", 3, "buttons", 0, "url"),
            "https://example.org/{{1}}/x",
            "components[3].buttons[0].url",
            INVALID,
        ),
        (
            ("components", 3, "buttons", 0, "url"),
            "https://example.org/{{2}}",
            "components[3].buttons[0].url",
            INVALID,
        ),
        (
            ("components", 3, "buttons", 0, "url"),
            "ftp://example.org/{{1}}",
            "components[3].buttons[0].url",
            INVALID,
        ),
        (
            ("components", 3, "buttons", 0, "url"),
            "https://example.org/" + "u" * 1976 + "{{1}}",
            "components[3].buttons[0].url",
            INVALID,
        ),
        (
            ("components", 3, "buttons", 0, "example"),
            None,
            "components[3].buttons[0].example",
            MISSING,
        ),
        (
            ("components", 3, "buttons", 1, "phone_number"),
            "+" + "1" * 20,
            "components[3].buttons[1].phone_number",
            INVALID,
        ),
        (
            ("components", 3, "buttons", 1, "phone_number"),
            "call me",
            "components[3].buttons[1].phone_number",
            INVALID,
        ),
        (
            ("components", 3, "buttons", 1, "phone_number"),
            None,
            "components[3].buttons[1].phone_number",
            MISSING,
        ),
    ],
)
def test_each_rule_past_its_limit(
    path: tuple[str | int, ...], value: Any, field: str, code: str
) -> None:
    body = set_at(UTILITY, path, value)
    if value is None:
        target = body
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
    error = rejected(body)
    assert (error.field, error.code) == (field, code), error


def test_static_url_takes_no_example() -> None:
    error = rejected(with_buttons({**URL, "example": ["x"]}))
    assert error.field == "components[3].buttons[0].example"


@pytest.mark.parametrize(
    ("buttons", "reason"),
    [
        ([quick(n) for n in range(11)], "at most 10"),
        ([quick(n) for n in range(4)], "at most 3 are allowed (spec)"),
        ([quick(1), URL], "cannot be mixed"),
        ([URL, quick(1)], "cannot be mixed"),
        ([quick(1), PHONE, quick(2)], "cannot be mixed"),
        ([URL, {**URL, "text": "Other"}], "at most 1 is allowed (spec)"),
        ([PHONE, PHONE], "at most 1 is allowed (spec)"),
        ([COPY, COPY], "at most 1 is allowed (spec)"),
    ],
)
def test_button_grouping_follows_the_spec(buttons: list[dict[str, Any]], reason: str) -> None:
    error = rejected(with_buttons(*buttons))
    assert (error.field, error.code) == ("components[3].buttons", INVALID)
    assert reason in error.reason


@pytest.mark.parametrize(
    "buttons",
    [[quick(1)], [quick(1), quick(2), quick(3)], [URL], [PHONE], [URL, PHONE], [URL, PHONE, COPY]],
)
def test_allowed_button_sets(buttons: list[dict[str, Any]]) -> None:
    parse_create(with_buttons(*buttons))


@pytest.mark.parametrize(
    ("example", "ok"), [("A" * 15, True), ("A" * 16, False), ("SAVE 10", False)]
)
def test_copy_code_example_is_a_code_of_at_most_15(example: str, ok: bool) -> None:
    body = with_buttons({**COPY, "example": example})
    if ok:
        parse_create(body)
    else:
        assert rejected(body).field == "components[3].buttons[0].example"


def test_components_are_unique_and_a_body_is_mandatory() -> None:
    body = copy.deepcopy(UTILITY)
    body["components"].append({"type": "FOOTER", "text": "Again"})
    error = rejected(body)
    assert (error.field, error.code) == ("components[4]", INVALID)
    body = set_at(UTILITY, ("components",), [UTILITY["components"][2]])
    error = rejected(body)
    assert (error.field, error.code) == ("components", MISSING)


@pytest.mark.parametrize(
    ("path", "value", "field", "code"),
    [
        (
            ("components", 1, "example"),
            None,
            "components[0].example.body_text_named_params",
            MISSING,
        ),
        (
            ("components", 0, "example", "body_text_named_params", 1, "param_name"),
            "coupon",
            "components[0].example.body_text_named_params",
            INVALID,
        ),
        (("components", 0, "text"), "Olá {{1}}", "components[0].text", INVALID),
        (("components", 0, "text"), "Olá {{First_Name}}", "components[0].text", INVALID),
        (
            ("components", 0, "text"),
            "Olá {{first_name}}",
            "components[0].example.body_text_named_params",
            INVALID,
        ),
    ],
)
def test_named_variables_and_their_examples(
    path: tuple[str | int, ...], value: Any, field: str, code: str
) -> None:
    body = set_at(NAMED, path, value)
    if value is None:
        body = set_at(NAMED, ("components", 0, "example"), None)
        del body["components"][0]["example"]
    error = rejected(body)
    assert (error.field, error.code) == (field, code), error


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (
            set_at(
                AUTH,
                ("components",),
                [{"type": "HEADER", "format": "TEXT", "text": "Hi"}, *AUTH["components"]],
            ),
            "components[0]",
            INVALID,
        ),
        (set_at(AUTH, ("components",), AUTH["components"][:2]), "components", MISSING),
        (
            set_at(AUTH, ("components", 2, "buttons"), [AUTH["components"][2]["buttons"][0]] * 2),
            "components[2].buttons",
            INVALID,
        ),
        (
            set_at(AUTH, ("components", 2, "buttons", 0), quick(1)),
            "components[2].buttons[0].type",
            INVALID,
        ),
        (
            set_at(AUTH, ("components", 2, "buttons", 0, "otp_type"), "ZERO_TAP"),
            "components[2].buttons[0].otp_type",
            INVALID,
        ),
        (
            set_at(AUTH, ("components", 2, "buttons", 0, "autofill_text"), "Autofill"),
            "components[2].buttons[0].otp_type",
            INVALID,
        ),
        (
            set_at(ONE_TAP, ("components", 2, "buttons", 0, "supported_apps"), []),
            "components[2].buttons[0].supported_apps",
            MISSING,
        ),
        (
            set_at(ONE_TAP, ("components", 2, "buttons", 0, "autofill_text"), "A" * 26),
            "components[2].buttons[0].autofill_text",
            INVALID,
        ),
        (
            set_at(
                ONE_TAP, ("components", 2, "buttons", 0, "supported_apps", 0), {"package_name": "x"}
            ),
            "components[2].buttons[0].supported_apps[0].signature_hash",
            MISSING,
        ),
        (
            set_at(AUTH, ("components", 1, "code_expiration_minutes"), 0),
            "components[1].code_expiration_minutes",
            INVALID,
        ),
        (
            set_at(AUTH, ("components", 1, "code_expiration_minutes"), 91),
            "components[1].code_expiration_minutes",
            INVALID,
        ),
        (
            with_buttons({"type": "OTP", "otp_type": "COPY_CODE"}),
            "components[3].buttons[0].type",
            INVALID,
        ),
        (
            set_at(UTILITY, ("category",), "MARKETING") | {"message_send_ttl_seconds": 60},
            "message_send_ttl_seconds",
            INVALID,
        ),
    ],
)
def test_authentication_rules(body: dict[str, Any], field: str, code: str) -> None:
    error = rejected(body)
    assert (error.field, error.code) == (field, code), error


@pytest.mark.parametrize("minutes", [1, 90])
def test_code_expiry_limits(minutes: int) -> None:
    parse_create(set_at(AUTH, ("components", 1, "code_expiration_minutes"), minutes))


@pytest.mark.parametrize(
    ("path", "value", "field", "code"),
    [
        (
            ("components", 0, "example", "header_handle"),
            [],
            "components[0].example.header_handle",
            MISSING,
        ),
        (
            ("components", 0, "example", "header_handle"),
            ["a", "b"],
            "components[0].example.header_handle",
            INVALID,
        ),
        (("components", 0, "text"), "Caption", "components[0].text", INVALID),
        (("components", 0, "example", "header_text"), ["x"], "components[0].example", INVALID),
    ],
)
def test_media_headers_need_one_sample_handle(
    path: tuple[str | int, ...], value: Any, field: str, code: str
) -> None:
    error = rejected(set_at(MEDIA, path, value))
    assert (error.field, error.code) == (field, code), error


def test_location_headers_take_no_example() -> None:
    body = set_at(LOCATION, ("components", 0, "example"), {"header_handle": ["4::x"]})
    assert rejected(body).field == "components[0].example.header_handle"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ([], "", INVALID),
        (UTILITY | {"status": "APPROVED"}, "status", INVALID),
        (UTILITY | {"allow_category_change": True}, "allow_category_change", INVALID),
        ({k: v for k, v in UTILITY.items() if k != "category"}, "category", MISSING),
        (UTILITY | {"components": {}}, "components", INVALID),
        (set_at(UTILITY, ("components", 0, "colour"), "red"), "components[0].colour", INVALID),
        (set_at(UTILITY, ("components", 0, "type"), "SUBTITLE"), "components[0].type", INVALID),
        (set_at(UTILITY, ("components", 0, "text"), 60), "components[0].text", INVALID),
        (
            set_at(UTILITY, ("components", 0, "example", "header_text"), "x"),
            "components[0].example.header_text",
            INVALID,
        ),
        (
            set_at(UTILITY, ("components", 1, "example", "body_text"), [[1, 2]]),
            "components[1].example.body_text[0][0]",
            INVALID,
        ),
        (
            set_at(UTILITY, ("components", 3, "buttons", 0, "type"), "FLOW"),
            "components[3].buttons[0].type",
            INVALID,
        ),
        (
            set_at(UTILITY, ("components", 3, "buttons", 0, "example"), ["a", "b"]),
            "components[3].buttons[0].example",
            INVALID,
        ),
        (
            set_at(UTILITY, ("components", 3, "buttons", 1, "url"), "https://x.org"),
            "components[3].buttons[1].url",
            INVALID,
        ),
        (
            set_at(AUTH, ("components", 0, "add_security_recommendation"), "yes"),
            "components[0].add_security_recommendation",
            INVALID,
        ),
        (
            set_at(AUTH, ("components", 1, "code_expiration_minutes"), "10"),
            "components[1].code_expiration_minutes",
            INVALID,
        ),
        (
            set_at(AUTH, ("components", 2, "buttons", 0, "otp_type"), None),
            "components[2].buttons[0].otp_type",
            MISSING,
        ),
    ],
)
def test_create_requests_are_read_strictly(body: Any, field: str, code: str) -> None:
    error = rejected(body)
    assert (error.field, error.code) == (field, code), error


def test_parts_read_from_meta_that_wanode_cannot_create() -> None:
    base: dict[str, Any] = {
        "name": "x",
        "language": "en",
        "category": TemplateCategory.MARKETING,
    }
    body = Body("Hi")
    with pytest.raises(InvalidMessage) as info:
        check_creation(
            TemplateDefinition(**base, components=(body, UnknownComponent("CAROUSEL", "{}")))
        )
    assert info.value.field == "components[1].type"
    flow = OtherButton("FLOW", "{}", "Book")
    with pytest.raises(InvalidMessage) as info:
        check_creation(
            TemplateDefinition(**base, components=(body, Buttons((QuickReplyButton("a"), flow))))
        )
    assert info.value.field == "components[1].buttons[1].type"


def test_an_authentication_template_read_back_from_meta_is_not_a_create_request() -> None:
    from test_templates_definition import AUTH_COPY_CODE_READ

    definition = TemplateDefinition.from_graph(AUTH_COPY_CODE_READ)
    with pytest.raises(InvalidMessage) as info:
        check_creation(definition)
    assert info.value.field == "components[2].buttons[0].type"
