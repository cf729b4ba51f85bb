"""Sending template messages (cloud-api.md §2): Meta's synchronous template errors, parameter
types, and the message as the handset shows it."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from tests.sandbox.bench import NUMBER, Bench, assert_meta_error, payload_of
from tests.sandbox.test_templates import AUTHENTICATION, NAMED, definition

MEDIA: dict[str, Any] = {
    "name": "invoice_ready",
    "language": "en",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::aW52"]}},
        {
            "type": "BODY",
            "text": "Your invoice for {{1}} is attached. Total: {{2}} due {{3}}.",
            "example": {"body_text": [["March", "$10", "May 1"]]},
        },
    ],
}
LOCATION: dict[str, Any] = {
    "name": "pickup_point",
    "language": "en",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "LOCATION"},
        {"type": "BODY", "text": "Your parcel waits here."},
        {
            "type": "BUTTONS",
            "buttons": [{"type": "URL", "text": "Hours", "url": "https://a.example/h"}],
        },
    ],
}


def text(value: str, name: str | None = None) -> dict[str, Any]:
    parameter = {"type": "text", "text": value}
    if name is not None:
        parameter["parameter_name"] = name
    return parameter


def order_components(
    *,
    header: list[dict[str, Any]] | None = None,
    body: list[dict[str, Any]] | None = None,
    url: str = "A-42",
    payloads: tuple[str, ...] = ("TRACK_42",),
) -> list[dict[str, Any]]:
    components: list[dict[str, Any]] = [
        {"type": "header", "parameters": header if header is not None else [text("#42")]},
        {
            "type": "body",
            "parameters": body if body is not None else [text("Ana"), text("Monday")],
        },
        {"type": "button", "sub_type": "url", "index": "2", "parameters": [text(url)]},
    ]
    for index, payload in enumerate(payloads):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": index,
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    return components


def template_payload(
    name: str = "order_update",
    components: list[dict[str, Any]] | None = None,
    language: str = "en_US",
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "language": {"code": language, "policy": "deterministic"}}
    if components is not None:
        body["components"] = components
    return payload_of("template", body)


async def test_a_template_is_rendered_in_the_inbox(bench: Bench) -> None:
    await bench.approved(definition())
    # Meta's OpenAPI document cannot check this payload: its button `index` pattern is
    # malformed (cloud-api.md §2).
    response = await bench.send(template_payload(components=order_components()))
    await bench.settle()

    assert response.status_code == 200, response.json()
    [entry] = await bench.inbox()
    assert entry["type"] == "template"
    assert entry["text"] == (
        "Order #42\n"
        "Hi Ana, your order ships on Monday. Thanks!\n"
        "Reply STOP to opt out\n"
        "[Track] [Cancel] [Details] https://shop.example/orders/A-42 [Call us] +15550100"
    )
    assert entry["template"] == {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "header": "Order #42",
        "body": "Hi Ana, your order ships on Monday. Thanks!",
        "footer": "Reply STOP to opt out",
        "buttons": [
            {"index": 0, "type": "QUICK_REPLY", "text": "Track", "payload": "TRACK_42"},
            {"index": 1, "type": "QUICK_REPLY", "text": "Cancel"},
            {
                "index": 2,
                "type": "URL",
                "text": "Details",
                "url": "https://shop.example/orders/A-42",
            },
            {"index": 3, "type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550100"},
        ],
    }


async def test_a_template_is_billed_in_its_category(bench: Bench) -> None:
    await bench.approved(definition(category="MARKETING"))

    wamid = (await bench.send(template_payload(components=order_components()))).json()
    await bench.settle()

    sent = bench.receiver.statuses(wamid["messages"][0]["id"])[0]
    assert sent["pricing"]["category"] == "marketing"
    assert sent["pricing"]["billable"] is True
    assert sent["conversation"]["origin"] == {"type": "marketing"}


async def test_currency_and_date_time_render_their_fallback_values(bench: Bench) -> None:
    await bench.approved(definition())
    body = [
        {
            "type": "currency",
            "currency": {"fallback_value": "$10.99", "code": "USD", "amount_1000": 10990},
        },
        {
            "type": "date_time",
            "date_time": {"fallback_value": "May 1", "day_of_month": 1, "month": 5},
        },
    ]

    response = await bench.send(template_payload(components=order_components(body=body)))
    await bench.settle()

    assert response.status_code == 200, response.json()
    [entry] = await bench.inbox()
    assert entry["template"]["body"] == "Hi $10.99, your order ships on May 1. Thanks!"


async def test_media_and_location_headers(bench: Bench) -> None:
    await bench.approved(MEDIA)
    await bench.approved(LOCATION)
    document = {
        "type": "document",
        "document": {"link": "https://files.example/inv.pdf", "filename": "March.pdf"},
    }
    place = {
        "type": "location",
        "location": {"latitude": 52.52, "longitude": 13.4, "name": "Depot", "address": "Hof 1"},
    }

    invoice = await bench.send(
        template_payload(
            "invoice_ready",
            [
                {"type": "header", "parameters": [document]},
                {"type": "body", "parameters": [text("March"), text("$10"), text("May 1")]},
            ],
            language="en",
        )
    )
    pickup = await bench.send(
        template_payload("pickup_point", [{"type": "header", "parameters": [place]}], language="en")
    )
    await bench.settle()

    assert invoice.status_code == pickup.status_code == 200
    first, second = await bench.inbox()
    assert first["template"]["header"] == "[document] March.pdf"
    assert second["template"]["header"] == "[location] Depot, Hof 1 (52.52, 13.4)"
    assert second["template"]["buttons"] == [
        {"index": 0, "type": "URL", "text": "Hours", "url": "https://a.example/h"}
    ]


async def test_a_header_media_id_is_resolved_like_any_media(bench: Bench) -> None:
    await bench.approved(MEDIA)
    body = {"type": "body", "parameters": [text("a"), text("b"), text("c")]}
    unknown = {"type": "header", "parameters": [{"type": "document", "document": {"id": "7"}}]}

    response = await bench.send(template_payload("invoice_ready", [unknown, body], "en"))

    assert_meta_error(response, 131009, 400)


async def test_named_parameters_go_by_name_in_any_order(bench: Bench) -> None:
    await bench.approved(NAMED)
    components = [
        {"type": "header", "parameters": [text("Ana", "first_name")]},
        {"type": "body", "parameters": [text("Friday", "day"), text("SUMMER", "code")]},
        {
            "type": "button",
            "sub_type": "COPY_CODE",
            "index": 0,
            "parameters": [{"type": "coupon_code", "coupon_code": "SUMMER25"}],
        },
    ]

    response = await bench.send(template_payload("welcome_named", components, "en"))
    await bench.settle()

    assert response.status_code == 200, response.json()
    [entry] = await bench.inbox()
    assert entry["template"]["header"] == "Hello Ana"
    assert entry["template"]["body"] == "Your code SUMMER is valid until Friday. Enjoy!"
    assert entry["template"]["buttons"] == [
        {"index": 0, "type": "COPY_CODE", "text": "Copy offer code", "code": "SUMMER25"}
    ]


async def test_an_authentication_template_shows_its_code(bench: Bench) -> None:
    await bench.approved(AUTHENTICATION)
    components = [
        {"type": "body", "parameters": [text("123456")]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [text("123456")]},
    ]

    response = await bench.send(template_payload("login_code", components))
    await bench.settle()

    assert response.status_code == 200, response.json()
    [entry] = await bench.inbox()
    assert entry["text"] == (
        "*123456* is your verification code. For your security, do not share this code.\n"
        "This code expires in 10 minutes.\n"
        "[Copy] 123456"
    )
    assert entry["template"]["buttons"] == [
        {"index": 0, "type": "OTP", "otp_type": "COPY_CODE", "text": "Copy", "code": "123456"}
    ]
    assert entry["template"]["category"] == "AUTHENTICATION"


async def test_a_one_tap_button_shows_its_autofill_label(bench: Bench) -> None:
    one_tap = copy.deepcopy(AUTHENTICATION)
    one_tap["components"][2]["buttons"][0].update(
        otp_type="ONE_TAP",
        autofill_text="Fill in",
        supported_apps=[{"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}],
    )
    await bench.approved(one_tap)
    components = [
        {"type": "body", "parameters": [text("9876")]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [text("9876")]},
    ]

    await bench.send(template_payload("login_code", components))
    await bench.settle()

    [entry] = await bench.inbox()
    [button] = entry["template"]["buttons"]
    assert (button["otp_type"], button["text"], button["code"]) == ("ONE_TAP", "Fill in", "9876")


async def test_an_unknown_name_or_language_is_132001(bench: Bench) -> None:
    await bench.approved(definition())

    unknown = await bench.send(template_payload("no_such_template"))
    other_language = await bench.send(
        template_payload(components=order_components(), language="de")
    )

    for response in (unknown, other_language):
        error = assert_meta_error(response, 132001, 404)
        assert error["message"] == "(#132001) Template does not exist"
        assert "does not exist in the translation" in error["error_data"]["details"]
    assert await bench.inbox() == []


async def test_a_template_of_another_waba_is_132001(bench: Bench) -> None:
    other = NUMBER.__class__(
        **{**NUMBER.__dict__, "phone_number_id": "2", "waba_id": "9", "access_token": "t2"}
    )
    bench.sandbox.provision(other)
    await bench.approved(definition())

    response = await bench.client.post(
        "/v23.0/2/messages",
        json=template_payload(components=order_components()),
        headers={"Authorization": "Bearer t2"},
    )

    assert_meta_error(response, 132001, 404)


@pytest.mark.parametrize(
    ("status", "code", "http"),
    [("PAUSED", 132015, 400), ("DISABLED", 132016, 400), ("REJECTED", 132001, 404)],
)
async def test_a_template_that_is_not_approved_cannot_be_sent(
    bench: Bench, status: str, code: int, http: int
) -> None:
    template_id = await bench.approved(definition())
    await bench.client.post(f"/templates/{template_id}/status", json={"status": status})

    response = await bench.send(template_payload(components=order_components()))

    error = assert_meta_error(response, code, http)
    assert status in error["error_data"]["details"].upper()


async def test_a_pending_template_is_132001(bench: Bench) -> None:
    bench.sandbox.config = replace(bench.sandbox.config, template_review_delay=30.0)
    await bench.create_template(definition())

    response = await bench.send(template_payload(components=order_components()))

    assert "PENDING" in assert_meta_error(response, 132001, 404)["error_data"]["details"]


async def test_a_reinstated_template_can_be_sent_again(bench: Bench) -> None:
    template_id = await bench.approved(definition())
    url = f"/templates/{template_id}/status"
    await bench.client.post(url, json={"status": "PAUSED"})
    await bench.client.post(url, json={"status": "APPROVED"})

    response = await bench.send(template_payload(components=order_components()))

    assert response.status_code == 200


# Each case: the components sent to ORDER_UPDATE, the code, and words in the details.
MISMATCHES: dict[str, tuple[list[dict[str, Any]] | None, int, str]] = {
    "no components": (None, 132000, "has 1 variable(s), the message gives 0"),
    "body parameter missing": (
        order_components(body=[text("Ana")]),
        132000,
        "has 2 variable(s), the message gives 1",
    ),
    "body parameter too many": (
        order_components(body=[text("a"), text("b"), text("c")]),
        132000,
        "gives 3",
    ),
    "header parameter missing": (order_components(header=[]), 132000, "header"),
    "URL button parameter missing": (
        [c for c in order_components() if c.get("sub_type") != "url"],
        132000,
        "button 2 (URL) needs",
    ),
    "button index beyond the buttons": (
        [
            *order_components(),
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "7",
                "parameters": [{"type": "payload", "payload": "x"}],
            },
        ],
        132000,
        "no button 7",
    ),
    "url component for a quick reply button": (
        [
            *order_components(payloads=()),
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [text("x")]},
        ],
        132012,
        "QUICK_REPLY button, not url",
    ),
    "image in the body": (
        order_components(
            body=[text("Ana"), {"type": "image", "image": {"link": "https://a.example/i.png"}}]
        ),
        132012,
        "body parameters are text, currency, date_time, not image",
    ),
    "image in a text header": (
        order_components(header=[{"type": "image", "image": {"link": "https://a.example/i.png"}}]),
        132012,
        "header parameters are text",
    ),
    "quick_reply component for the phone button": (
        [
            *order_components(payloads=()),
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "3",
                "parameters": [{"type": "payload", "payload": "x"}],
            },
        ],
        132012,
        "PHONE_NUMBER button, not quick_reply",
    ),
    "parameter_name in a positional template": (
        order_components(body=[text("Ana", "name"), text("Monday", "day")]),
        132012,
        "POSITIONAL",
    ),
    "header too long once filled": (
        order_components(header=[text("#" + "9" * 60)]),
        132005,
        "at most 60",
    ),
    "body too long once filled": (
        order_components(body=[text("x" * 1000), text("Monday")]),
        132005,
        "at most 1024",
    ),
}


@pytest.mark.parametrize("case", MISMATCHES)
async def test_parameters_that_do_not_fit_the_template(bench: Bench, case: str) -> None:
    components, code, words = MISMATCHES[case]
    await bench.approved(definition())

    response = await bench.send(template_payload(components=components))

    error = assert_meta_error(response, code, 400)
    assert words in error["error_data"]["details"], error["error_data"]["details"]
    assert await bench.inbox() == []


async def test_a_fixed_url_button_takes_no_parameter(bench: Bench) -> None:
    await bench.approved(LOCATION)
    place = {"type": "location", "location": {"latitude": 1, "longitude": 2}}
    components = [
        {"type": "header", "parameters": [place]},
        {"type": "button", "sub_type": "url", "index": 0, "parameters": [text("x")]},
    ]

    response = await bench.send(template_payload("pickup_point", components, "en"))

    assert "fixed URL" in assert_meta_error(response, 132000, 400)["error_data"]["details"]


async def test_a_header_for_a_template_without_one_is_132000(bench: Bench) -> None:
    plain = {
        "name": "plain",
        "language": "en",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hello there"}],
    }
    await bench.approved(plain)

    response = await bench.send(
        template_payload("plain", [{"type": "header", "parameters": [text("x")]}], "en")
    )
    fixed = await bench.send(
        template_payload("hello_world", [{"type": "header", "parameters": [text("x")]}])
    )

    assert "no header" in assert_meta_error(response, 132000, 400)["error_data"]["details"]
    assert "0 variable(s)" in assert_meta_error(fixed, 132000, 400)["error_data"]["details"]


async def test_named_parameter_mistakes(bench: Bench) -> None:
    await bench.approved(NAMED)
    coupon = {
        "type": "button",
        "sub_type": "copy_code",
        "index": "0",
        "parameters": [{"type": "coupon_code", "coupon_code": "X"}],
    }
    header = {"type": "header", "parameters": [text("Ana", "first_name")]}

    unnamed = await bench.send(
        template_payload(
            "welcome_named",
            [header, {"type": "body", "parameters": [text("a"), text("b")]}, coupon],
            "en",
        )
    )
    wrong_name = await bench.send(
        template_payload(
            "welcome_named",
            [
                header,
                {"type": "body", "parameters": [text("a", "code"), text("b", "when")]},
                coupon,
            ],
            "en",
        )
    )
    no_coupon = await bench.send(
        template_payload(
            "welcome_named",
            [header, {"type": "body", "parameters": [text("a", "code"), text("b", "day")]}],
            "en",
        )
    )

    assert (
        "give a parameter_name" in assert_meta_error(unnamed, 132012, 400)["error_data"]["details"]
    )
    assert "'when'" in assert_meta_error(wrong_name, 132000, 400)["error_data"]["details"]
    assert "COPY_CODE" in assert_meta_error(no_coupon, 132000, 400)["error_data"]["details"]


# Shape errors Meta answers whatever the template: the send endpoint's usual codes.
SHAPES: dict[str, tuple[dict[str, Any], int, str]] = {
    "no name": ({"language": {"code": "en_US"}}, 131008, "template.name"),
    "no language": ({"name": "hello_world"}, 131008, "template.language"),
    "language as a string": ({"name": "hello_world", "language": "en_US"}, 100, "language"),
    "bad policy": (
        {"name": "hello_world", "language": {"code": "en_US", "policy": "fallback"}},
        131009,
        "policy",
    ),
    "unknown key": (
        {"name": "hello_world", "language": {"code": "en_US"}, "namespace": "x"},
        100,
        "template.namespace",
    ),
    "bad component type": (
        {"name": "h", "language": {"code": "en"}, "components": [{"type": "footer"}]},
        131009,
        "components[0].type",
    ),
    "sub_type on a body": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [{"type": "body", "sub_type": "url", "parameters": []}],
        },
        100,
        "sub_type",
    ),
    "unknown parameter type": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [{"type": "body", "parameters": [{"type": "emoji", "emoji": "x"}]}],
        },
        131009,
        "parameters[0].type",
    ),
    "empty text": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": " "}]}],
        },
        131008,
        "parameters[0].text",
    ),
    "caption on a header image": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {
                            "type": "image",
                            "image": {"link": "https://a.example/i.png", "caption": "c"},
                        }
                    ],
                }
            ],
        },
        100,
        "caption",
    ),
    "bad currency code": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {
                            "type": "currency",
                            "currency": {"fallback_value": "$1", "code": "usd", "amount_1000": 1},
                        }
                    ],
                }
            ],
        },
        131009,
        "ISO 4217",
    ),
    "amount not an integer": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {
                            "type": "currency",
                            "currency": {"fallback_value": "$1", "code": "USD", "amount_1000": 1.5},
                        }
                    ],
                }
            ],
        },
        100,
        "amount_1000",
    ),
    "button without sub_type": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [{"type": "button", "index": "0", "parameters": [text("x")]}],
        },
        131008,
        "sub_type",
    ),
    "button without index": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [{"type": "button", "sub_type": "url", "parameters": [text("x")]}],
        },
        131008,
        "index",
    ),
    "button index out of range": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {"type": "button", "sub_type": "url", "index": "10", "parameters": [text("x")]}
            ],
        },
        131009,
        "0 to 9",
    ),
    "two parameters on a button": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [text("x"), text("y")],
                }
            ],
        },
        131009,
        "exactly one parameter",
    ),
    "payload on a url button": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "payload", "payload": "x"}],
                }
            ],
        },
        131009,
        "takes a text parameter",
    ),
    "catalog button": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {"type": "button", "sub_type": "catalog", "index": "0", "parameters": [text("x")]}
            ],
        },
        131009,
        "not supported by the sandbox",
    ),
    "two body components": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [{"type": "body", "parameters": []}, {"type": "body", "parameters": []}],
        },
        131009,
        "one body component",
    ),
    "two components for one button": (
        {
            "name": "h",
            "language": {"code": "en"},
            "components": [
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [text("x")]},
                {"type": "button", "sub_type": "url", "index": 0, "parameters": [text("y")]},
            ],
        },
        131009,
        "two button components",
    ),
}


@pytest.mark.parametrize("case", SHAPES)
async def test_a_malformed_template_object_is_refused_before_any_lookup(
    bench: Bench, case: str
) -> None:
    body, code, words = SHAPES[case]

    response = await bench.send(payload_of("template", body))

    error = assert_meta_error(response, code, 400)
    assert words in error["error_data"]["details"], error["error_data"]["details"]
