"""Template sends: binding parameters in the Messaging API shape (webex-connect.md §1.4) and in
the Cloud API shape (cloud-api.md §2), every error with its code (webex-connect.md §2.2) and
path, and every rendered payload checked against Meta's OpenAPI document."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from test_messages import TO
from tests.support.openapi import errors

from wanode.codes import DR_CODES, SYNC, dr_for_meta_code
from wanode.messages import (
    Envelope,
    Image,
    InvalidMessage,
    Location,
    TemplateMessage,
    Text,
    render_payload,
)
from wanode.messages.templates import (
    FAILURE_CODES,
    UNKNOWN_TEMPLATE_ID,
    CouponCode,
    Currency,
    DateTime,
    Failure,
    Otp,
    QuickReply,
    TemplateDefinition,
    UrlSuffix,
    bind_native,
    bind_webex,
    hydrate,
    parameter_names,
)
from wanode.messages.templates.message import hydrate_header

MISSING = SYNC.MANDATORY_MISSING
INVALID = SYNC.INVALID_VALUE
COUNT = "7804"
INACTIVE = "7805"
TOO_LONG = "7808"
HYDRATED = "7809"
POLICY = "7811"
BAD_URL = "7813"
MEDIA = "7814"
FORMAT = "7816"

CDN = "https://cdn.example.org"

# --- Meta's OpenAPI document, applied component by component ----------------------------------

_PARAMETER_SCHEMAS = {
    "text": "TextParameter",
    "currency": "CurrencyParameter",
    "date_time": "DateTimeParameter",
    "image": "ImageParameter",
    "video": "VideoParameter",
    "document": "DocumentParameter",
}
_BUTTON_PARAMETER_SCHEMAS = {"payload": "ButtonPayloadParameter", "text": "ButtonTextParameter"}
_COMPONENT_SCHEMAS = {
    "header": "HeaderComponent",
    "body": "BodyComponent",
    "button": "ButtonComponent",
}


def template_meta_errors(payload: dict[str, Any]) -> list[str]:
    """Violations of Meta's OpenAPI document by a template send payload.

    The document types `template.components` items as `TemplateComponent`, whose discriminator
    has no `oneOf`, so validating the "Message" schema checks neither the component kinds nor
    their parameters: each component and parameter is validated here against the schema its
    discriminator names. Three defects the reference lists (cloud-api.md §12) are worked around,
    each by checking the documented rule here instead:
    - the button `index` pattern `^[2-6, 11-14]$` is malformed: the index must be "0".."9"
      (cloud-api.md §2), then a value the pattern takes is validated in its place;
    - `sub_type` lacks `copy_code` and the button parameters lack `coupon_code`: the coupon
      parameter's shape is checked, then it is validated as a URL button;
    - `ParameterObject` lacks `location`: the location object is validated as a location
      message's, then a text parameter is validated in its place.
    """
    payload = copy.deepcopy(payload)
    found: list[str] = []
    for i, component in enumerate(payload["template"].get("components", [])):
        if component.get("type") == "button":
            assert re.fullmatch(r"[0-9]", component["index"]), component
            component["index"] = "2"
            if component.get("sub_type") == "copy_code":
                (parameter,) = component["parameters"]
                assert set(parameter) == {"type", "coupon_code"}, parameter
                assert parameter["type"] == "coupon_code"
                assert isinstance(parameter["coupon_code"], str)
                component["sub_type"] = "url"
                component["parameters"] = [{"type": "text", "text": parameter["coupon_code"]}]
        schemas = (
            _BUTTON_PARAMETER_SCHEMAS if component.get("type") == "button" else _PARAMETER_SCHEMAS
        )
        for j, parameter in enumerate(component.get("parameters", [])):
            if parameter.get("type") == "location":
                assert set(parameter) == {"type", "location"}
                location = {
                    "messaging_product": "whatsapp",
                    "recipient_type": "individual",
                    "to": TO,
                    "type": "location",
                }
                found += errors({**location, "location": parameter["location"]}, "Message")
                component["parameters"][j] = parameter = {"type": "text", "text": "location"}
            schema = schemas.get(parameter.get("type"), "ParameterObject")
            found += [f"components/{i}/parameters/{j}/{e}" for e in errors(parameter, schema)]
        schema = _COMPONENT_SCHEMAS.get(component.get("type"), "TemplateComponent")
        found += [f"components/{i}/{e}" for e in errors(component, schema)]
    return found + errors(payload, "Message")


def assert_valid(message: TemplateMessage) -> dict[str, Any]:
    payload = render_payload(message, TO)
    assert template_meta_errors(payload) == []
    return payload


# --- definitions -------------------------------------------------------------------------------


def definition(
    *components: dict[str, Any],
    category: str = "UTILITY",
    parameter_format: str = "POSITIONAL",
    language: str = "en_US",
    status: str = "APPROVED",
    name: str = "sample",
) -> TemplateDefinition:
    return TemplateDefinition.from_graph(
        {
            "id": "1689556908129832",
            "name": name,
            "language": language,
            "category": category,
            "parameter_format": parameter_format,
            "status": status,
            "components": list(components),
        }
    )


def body(text: str) -> dict[str, Any]:
    return {"type": "BODY", "text": text}


def buttons(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "BUTTONS", "buttons": list(items)}


def media_header(fmt: str) -> dict[str, Any]:
    return {"type": "HEADER", "format": fmt, "example": {"header_handle": ["4::x"]}}


QR_YES = {"type": "QUICK_REPLY", "text": "Yes"}
QR_NO = {"type": "QUICK_REPLY", "text": "No"}
TRACK = {"type": "URL", "text": "Track", "url": "https://example.org/t/{{1}}", "example": ["a"]}
CALL = {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15551234567"}

ORDER = definition(
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
    body("Hi {{1}}, your total is {{2}}, due {{3}}."),
    {"type": "FOOTER", "text": "Thanks"},
    buttons(TRACK, CALL),
)
ORDER_PARAMETERS: dict[str, Any] = {
    "headerText": "#42",
    "1": "Ann",
    "2": {"type": "currency", "currency_code": "EUR", "amount_1000": "1234500"},
    "3": {"type": "date_time", "timestamp": "1700000000", "fallback_value": "tomorrow"},
    "url_0": {"type": "url", "payload": "abc123"},
}
PROMO = definition(
    media_header("IMAGE"), body("New in, {{1}}!"), buttons(QR_YES, QR_NO), category="MARKETING"
)
PROMO_PARAMETERS: dict[str, Any] = {
    "image": {"link": f"{CDN}/new.jpg"},
    "1": "Ann",
    "quickReply": [
        {"button_text": "Yes", "payload": "PROMO_YES"},
        {"button_text": "No", "payload": "PROMO_NO"},
    ],
}
NAMED = definition(
    {"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
    body("Thanks {{first_name}}! Order {{order_id}} costs {{total}}."),
    buttons(TRACK),
    parameter_format="NAMED",
)
NAMED_PARAMETERS: dict[str, Any] = {
    "headerText": "335628",
    "first_name": "Pablo",
    "order_id": "335628",
    "total": {
        "type": "currency",
        "currency_code": "USD",
        "amount_1000": 9990,
        "fallback_value": "$9.99",
    },
    "url_0": {"type": "url", "payload": "335628"},
}
LOCATED = definition({"type": "HEADER", "format": "LOCATION"}, body("We moved!"))
COUPON = definition(
    body("Use the code below."),
    buttons(
        {"type": "URL", "text": "Shop", "url": "https://example.org/shop"},
        {"type": "COPY_CODE", "example": "X"},
    ),
    category="MARKETING",
)
AUTH_COPY = definition(
    {"type": "BODY", "add_security_recommendation": True},
    {"type": "FOOTER", "code_expiration_minutes": 10},
    buttons({"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}),
    category="AUTHENTICATION",
)
AUTH_ONE_TAP = definition(
    body("*{{1}}* is your verification code."),
    buttons(
        {
            "type": "OTP",
            "otp_type": "ONE_TAP",
            "autofill_text": "Autofill",
            "supported_apps": [
                {"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}
            ],
        }
    ),
    category="AUTHENTICATION",
)
AUTH_READ = definition(
    body("*{{1}}* is your verification code."),
    buttons(
        {
            "type": "URL",
            "text": "Copy code",
            "url": "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}",
        }
    ),
    category="AUTHENTICATION",
)
STATIC = definition({"type": "HEADER", "format": "TEXT", "text": "Hello"}, body("Plain text."))

CASES: dict[str, tuple[TemplateDefinition, dict[str, Any]]] = {
    "text header, currency, date_time, dynamic URL": (ORDER, ORDER_PARAMETERS),
    "image header, quick replies": (PROMO, PROMO_PARAMETERS),
    "video header": (
        definition(media_header("VIDEO"), body("Watch")),
        {"video": {"link": f"{CDN}/clip.mp4"}},
    ),
    "document header with filename": (
        definition(media_header("DOCUMENT"), body("Your invoice")),
        {"document": {"link": f"{CDN}/inv.pdf", "filename": "invoice-42.pdf"}},
    ),
    "office document header": (
        definition(media_header("DOCUMENT"), body("Your sheet")),
        {"document": {"link": f"{CDN}/report.xlsx"}},
    ),
    "location header": (
        LOCATED,
        {"location": {"latitude": 52.52, "longitude": 13.405, "name": "HQ", "address": "Berlin"}},
    ),
    "named": (NAMED, NAMED_PARAMETERS),
    "date_time without fallback": (
        definition(body("Due {{1}}")),
        {"1": {"type": "date_time", "timestamp": 1700000000}},
    ),
    "coupon code": (COUPON, {"couponCode": "SAVE10"}),
    "auth copy code": (AUTH_COPY, {"otp": {"type": "otp", "value": "123456"}}),
    "auth one tap": (AUTH_ONE_TAP, {"otp": {"type": "otp", "value": "A1B2C3"}}),
    "auth as read back": (AUTH_READ, {"otp": {"type": "otp", "value": "987654"}}),
    "no parameters": (STATIC, {}),
}


@pytest.mark.parametrize(("template", "parameters"), CASES.values(), ids=CASES.keys())
def test_every_case_renders_a_payload_meta_accepts(
    template: TemplateDefinition, parameters: dict[str, Any]
) -> None:
    message = bind_webex(template, parameters)
    assert message.kind == "template"
    assert_valid(message)
    assert set(message.parameters) == set(parameter_names(template))


@pytest.mark.parametrize(("template", "parameters"), CASES.values(), ids=CASES.keys())
def test_the_native_shape_reads_what_the_webex_shape_renders(
    template: TemplateDefinition, parameters: dict[str, Any]
) -> None:
    message = bind_webex(template, parameters)
    again = bind_native(template, message.content()["template"])
    assert again.content() == message.content()


def test_order_payload() -> None:
    payload = render_payload(bind_webex(ORDER, ORDER_PARAMETERS), TO)
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "sample",
            "language": {"code": "en_US", "policy": "deterministic"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ann"},
                        {
                            "type": "currency",
                            "currency": {
                                "fallback_value": "€1,234.50",
                                "code": "EUR",
                                "amount_1000": 1234500,
                            },
                        },
                        {"type": "date_time", "date_time": {"fallback_value": "tomorrow"}},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "abc123"}],
                },
            ],
        },
    }


def test_media_and_quick_reply_payload() -> None:
    components = bind_webex(PROMO, PROMO_PARAMETERS).content()["template"]["components"]
    assert components == [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": f"{CDN}/new.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ann"}]},
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": "PROMO_YES"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "1",
            "parameters": [{"type": "payload", "payload": "PROMO_NO"}],
        },
    ]


def test_named_parameters_carry_their_names() -> None:
    components = bind_webex(NAMED, NAMED_PARAMETERS).content()["template"]["components"]
    assert components[0]["parameters"] == [
        {"type": "text", "text": "335628", "parameter_name": "order_id"}
    ]
    assert [p["parameter_name"] for p in components[1]["parameters"]] == [
        "first_name",
        "order_id",
        "total",
    ]


def test_document_location_and_coupon_payloads() -> None:
    template, parameters = CASES["document header with filename"]
    header = bind_webex(template, parameters).content()["template"]["components"][0]
    assert header["parameters"] == [
        {"type": "document", "document": {"link": f"{CDN}/inv.pdf", "filename": "invoice-42.pdf"}}
    ]
    template, parameters = CASES["location header"]
    header = bind_webex(template, parameters).content()["template"]["components"][0]
    assert header["parameters"] == [
        {
            "type": "location",
            "location": {
                "latitude": "52.52",
                "longitude": "13.405",
                "name": "HQ",
                "address": "Berlin",
            },
        }
    ]
    components = bind_webex(COUPON, {"couponCode": "SAVE10"}).content()["template"]["components"]
    assert components == [
        {
            "type": "button",
            "sub_type": "copy_code",
            "index": "1",
            "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
        }
    ]


def test_a_template_without_variables_sends_no_components() -> None:
    template = bind_webex(STATIC, None).content()["template"]
    assert template == {"name": "sample", "language": {"code": "en_US", "policy": "deterministic"}}


@pytest.mark.parametrize(
    ("template", "code"),
    [(AUTH_COPY, "123456"), (AUTH_ONE_TAP, "A1B2C3"), (AUTH_READ, "987654")],
    ids=["copy code", "one tap", "as read back"],
)
def test_the_otp_goes_in_the_body_and_the_button(template: TemplateDefinition, code: str) -> None:
    message = bind_webex(template, {"otp": {"type": "otp", "value": code}})
    assert message.content()["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": code}]},
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": code}],
        },
    ]
    assert parameter_names(template) == ("otp",)


def test_the_otp_may_be_named_as_the_spec_names_it() -> None:
    # The spec: "For OTP, the parameter name is `OTP`"; the reference says `otp`. Both work.
    spec = bind_webex(AUTH_COPY, {"OTP": {"type": "otp", "value": "123456"}})
    assert spec == bind_webex(AUTH_COPY, {"otp": {"type": "otp", "value": "123456"}})
    with pytest.raises(InvalidMessage) as both:
        bind_webex(AUTH_COPY, {"otp": {"type": "otp", "value": "1"}, "OTP": {"type": "otp"}})
    assert (both.value.code, both.value.field) == ("7804", "OTP")
    # Errors name the parameter as it was written.
    with pytest.raises(InvalidMessage) as long:
        bind_webex(AUTH_COPY, {"OTP": {"type": "otp", "value": "1" * 16}})
    assert (long.value.code, long.value.field) == ("7808", "OTP.value")
    with pytest.raises(InvalidMessage) as typed:
        bind_webex(AUTH_COPY, {"OTP": "123456"})
    assert (typed.value.code, typed.value.field) == ("7816", "OTP")
    # Only an authentication code answers to `OTP`.
    with pytest.raises(InvalidMessage) as other:
        bind_webex(ORDER, {"OTP": {"type": "otp", "value": "1"}})
    assert (other.value.code, other.value.field) == ("7804", "OTP")


def test_envelope_options_reach_the_payload() -> None:
    envelope = Envelope(identity_key_hash="8VV+3a=", context_message_id="wamid.X")
    message = bind_webex(AUTH_COPY, {"otp": {"type": "otp", "value": "1"}}, envelope=envelope)
    payload = render_payload(message, TO, biz_opaque_callback_data="cb")
    assert payload["recipient_identity_key_hash"] == "8VV+3a="
    assert payload["context"] == {"message_id": "wamid.X"}
    assert payload["biz_opaque_callback_data"] == "cb"
    assert bind_native(AUTH_COPY, message.content()["template"], envelope=envelope) == message


def test_parameter_names() -> None:
    assert parameter_names(ORDER) == ("headerText", "1", "2", "3", "url_0")
    assert parameter_names(PROMO) == ("image", "1", "quickReply")
    assert parameter_names(NAMED) == ("headerText", "first_name", "order_id", "total", "url_0")
    assert parameter_names(LOCATED) == ("location",)
    assert parameter_names(COUPON) == ("couponCode",)
    assert parameter_names(STATIC) == ()


def test_values_can_be_built_directly() -> None:
    message = TemplateMessage(
        definition=ORDER,
        parameters={
            "headerText": "#42",
            "1": "Ann",
            "2": Currency("EUR", 1234500),
            "3": DateTime(1700000000),
            "url_0": UrlSuffix("abc123"),
        },
    )
    assert_valid(message)
    assert message == bind_webex(
        ORDER, {**ORDER_PARAMETERS, "3": {"type": "date_time", "timestamp": 1700000000}}
    )
    promo = TemplateMessage(
        definition=PROMO,
        parameters={
            "image": Image(link=f"{CDN}/new.jpg"),
            "1": "Ann",
            "quickReply": (QuickReply("PROMO_YES"), QuickReply("PROMO_NO")),
        },
    )
    assert promo.content() == bind_webex(PROMO, PROMO_PARAMETERS).content()
    assert_valid(TemplateMessage(definition=COUPON, parameters={"couponCode": CouponCode("A")}))
    assert_valid(TemplateMessage(definition=AUTH_COPY, parameters={"otp": Otp("42")}))
    located = TemplateMessage(definition=LOCATED, parameters={"location": Location(1.5, 2.5)})
    assert_valid(located)


# --- localised fallbacks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "currency", "moment"),
    [
        ("en_US", "€1,234.50", "Nov 14, 2023, 10:13:20\u202fPM"),
        ("de_DE", "1.234,50\xa0€", "14.11.2023, 22:13:20"),
        ("pt_BR", "€\xa01.234,50", "14 de nov. de 2023 22:13:20"),
        ("xx_YY", "€1,234.50", "Nov 14, 2023, 10:13:20\u202fPM"),  # unknown to Babel: en
    ],
)
def test_fallbacks_are_written_with_babel_in_the_templates_language(
    language: str, currency: str, moment: str
) -> None:
    template = definition(body("Total {{1}}, due {{2}}"), language=language)
    message = bind_webex(
        template,
        {
            "1": {"type": "currency", "currency_code": "EUR", "amount_1000": 1234500},
            "2": {"type": "date_time", "timestamp": 1700000000},
        },
    )
    parameters = message.content()["template"]["components"][0]["parameters"]
    assert parameters[0]["currency"]["fallback_value"] == currency
    assert parameters[1]["date_time"]["fallback_value"] == moment
    assert hydrate(template, message.parameters) == f"Total {currency}, due {moment}"


def test_given_fallbacks_are_sent_as_given() -> None:
    message = bind_webex(
        definition(body("Total {{1}}, due {{2}}"), language="de_DE"),
        {
            "1": {
                "type": "currency",
                "currency_code": "USD",
                "amount_1000": 9990,
                "fallback_value": "$9.99",
            },
            "2": {"type": "date_time", "timestamp": "0", "fallback_value": "today"},
        },
    )
    parameters = message.content()["template"]["components"][0]["parameters"]
    assert parameters[0]["currency"] == {
        "fallback_value": "$9.99",
        "code": "USD",
        "amount_1000": 9990,
    }
    assert parameters[1]["date_time"] == {"fallback_value": "today"}


def test_zero_decimal_currencies_are_rounded_by_the_locale() -> None:
    message = bind_webex(
        definition(body("{{1}}"), language="ja_JP"),
        {"1": {"type": "currency", "currency_code": "JPY", "amount_1000": 1500000}},
    )
    assert hydrate(message.definition, message.parameters) == "￥1,500"


# --- hydration ---------------------------------------------------------------------------------


def test_hydrate_fills_the_body_and_header() -> None:
    message = bind_webex(ORDER, ORDER_PARAMETERS)
    assert hydrate(ORDER, message.parameters) == "Hi Ann, your total is €1,234.50, due tomorrow."
    assert hydrate(ORDER, message) == hydrate(ORDER, message.parameters)
    assert hydrate_header(ORDER, message.parameters) == "Order #42"
    assert hydrate(ORDER, {"1": "Ann"}) == "Hi Ann, your total is {{2}}, due {{3}}."
    assert hydrate_header(PROMO, {}) is None
    assert hydrate(AUTH_READ, {"otp": Otp("123")}) == "*123* is your verification code."
    assert hydrate(AUTH_COPY, {"otp": Otp("123")}) == ""  # Meta writes the text


# --- errors: the Messaging API shape -----------------------------------------------------------


def rejected(template: TemplateDefinition, parameters: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as info:
        bind_webex(template, parameters)
    return info.value


def order(**changes: Any) -> dict[str, Any]:
    parameters = copy.deepcopy(ORDER_PARAMETERS)
    for key, value in changes.items():
        if value is None:
            del parameters[key]
        else:
            parameters[key] = value
    return parameters


CURRENCY = {"type": "currency", "currency_code": "EUR", "amount_1000": 1000}

ORDER_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    # count: missing and extra
    (order(**{"2": None}), "2", COUNT),
    (order(headerText=None), "headerText", COUNT),
    (order(url_0=None), "url_0", COUNT),
    (order(**{"4": "extra"}), "4", COUNT),
    (order(quickReply=[{"payload": "x"}]), "quickReply", COUNT),
    (order(image={"link": f"{CDN}/a.jpg"}, headerText=None), "image", FORMAT),
    # text values
    (order(**{"1": " "}), "1", MISSING),
    (order(**{"1": 5}), "1", FORMAT),
    (order(**{"1": ["Ann"]}), "1", FORMAT),
    (order(**{"1": {"type": "url", "payload": "x"}}), "1", FORMAT),
    (order(**{"1": {"text": "Ann"}}), "1", FORMAT),
    (order(**{"1": "a\nb"}), "1", POLICY),
    (order(**{"1": "a\r\nb"}), "1", POLICY),
    (order(**{"1": "a\tb"}), "1", POLICY),
    (order(**{"1": "a     b"}), "1", POLICY),
    (order(**{"2": {**CURRENCY, "fallback_value": "1\n000"}}), "2", POLICY),
    (order(headerText="a\nb"), "headerText", POLICY),
    # currency and date_time
    (order(**{"2": {**CURRENCY, "currency_code": "eur"}}), "2.currency_code", FORMAT),
    (order(**{"2": {**CURRENCY, "currency_code": "XYZ"}}), "2.currency_code", FORMAT),
    (order(**{"2": {**CURRENCY, "currency_code": None}}), "2.currency_code", MISSING),
    (order(**{"2": {**CURRENCY, "amount_1000": "12.5"}}), "2.amount_1000", FORMAT),
    (order(**{"2": {**CURRENCY, "amount_1000": True}}), "2.amount_1000", FORMAT),
    (order(**{"2": {**CURRENCY, "amount_1000": 2**31}}), "2.amount_1000", FORMAT),
    (order(**{"2": {**CURRENCY, "rate": 1}}), "2.rate", INVALID),
    (order(**{"2": {**CURRENCY, "fallback_value": " "}}), "2.fallback_value", INVALID),
    (order(**{"3": {"type": "date_time", "timestamp": "soon"}}), "3.timestamp", FORMAT),
    (order(**{"3": {"type": "date_time", "timestamp": -5}}), "3.timestamp", FORMAT),
    (order(**{"3": {"type": "date_time", "timestamp": 10**12}}), "3.timestamp", FORMAT),
    (order(**{"3": {"type": "date_time"}}), "3.timestamp", MISSING),
    # lengths: one value, then the filled-in text
    (order(**{"1": "x" * 1025}), "1", TOO_LONG),
    (order(headerText="x" * 61), "headerText", TOO_LONG),
    (order(headerText="x" * 55), "headerText", HYDRATED),
    (
        order(
            **{
                "1": "x" * 500,
                "3": {"type": "date_time", "timestamp": 0, "fallback_value": "y" * 500},
            }
        ),
        "",
        HYDRATED,
    ),
    # the URL suffix
    (order(url_0="abc"), "url_0", FORMAT),
    (order(url_0={"type": "text", "payload": "abc"}), "url_0", FORMAT),
    (order(url_0={"type": "url"}), "url_0.payload", MISSING),
    (order(url_0={"type": "url", "payload": "a b"}), "url_0.payload", BAD_URL),
    (order(url_0={"type": "url", "payload": "x" * 1980}), "url_0", BAD_URL),
    (order(url_0={"type": "url", "payload": "x", "extra": 1}), "url_0.extra", INVALID),
]


@pytest.mark.parametrize(("parameters", "field", "code"), ORDER_ERRORS)
def test_order_errors(parameters: dict[str, Any], field: str, code: str) -> None:
    error = rejected(ORDER, parameters)
    assert (error.field, error.code) == (field, code), error


def test_limits_are_inclusive() -> None:
    bind_webex(ORDER, order(headerText="x" * 54))  # "Order " + 54 = 60
    bind_webex(ORDER, order(**{"1": "a    b"}))  # 4 spaces in a row
    fixed = len("Hi , your total is 1, due 2.")
    parameters = order(**{"1": "x" * (1024 - fixed), "2": "1", "3": "2"})
    assert len(hydrate(ORDER, bind_webex(ORDER, parameters).parameters)) == 1024
    suffix = "x" * (2000 - len("https://example.org/t/"))
    bind_webex(ORDER, order(url_0={"type": "url", "payload": suffix}))


def test_missing_and_extra_name_the_template_variable() -> None:
    error = rejected(ORDER, order(**{"2": None}))
    assert "missing" in error.reason and "{{2}}" in error.reason
    error = rejected(ORDER, order(**{"4": "extra"}))
    assert "headerText, 1, 2, 3, url_0" in error.reason
    assert "it takes: none" in rejected(STATIC, {"headerText": "x"}).reason


def promo(**changes: Any) -> dict[str, Any]:
    parameters = copy.deepcopy(PROMO_PARAMETERS)
    for key, value in changes.items():
        if value is None:
            del parameters[key]
        else:
            parameters[key] = value
    return parameters


VIDEO = {"link": f"{CDN}/a.mp4"}

PROMO_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    (promo(image=f"{CDN}/new.jpg"), "image", FORMAT),
    (promo(image=None, video=VIDEO), "video", FORMAT),
    (promo(image=None, headerText="Hi"), "headerText", FORMAT),
    (promo(video=VIDEO), "video", COUNT),
    (promo(image=None), "image", COUNT),
    (promo(image={"link": f"{CDN}/new.gif"}), "image.link", MEDIA),
    (promo(image={"link": "ftp://cdn.example.org/new.jpg"}), "image.link", MEDIA),
    (promo(image={}), "image.link", MISSING),
    (promo(image={"url": f"{CDN}/new.jpg"}), "image.url", INVALID),
    (promo(image={"link": f"{CDN}/new.jpg", "filename": "a.jpg"}), "image.filename", INVALID),
    (promo(image={"link": f"{CDN}/new.jpg", "caption": "Hi"}), "image.caption", INVALID),
    (promo(quickReply={"payload": "x"}), "quickReply", FORMAT),
    (promo(quickReply="YES"), "quickReply", FORMAT),
    (promo(quickReply=[{"payload": "Y"}]), "quickReply", COUNT),
    (promo(quickReply=[{"payload": "Y"}] * 3), "quickReply", COUNT),
    (
        promo(quickReply=[{"payload": "Y"}, {"button_text": "Maybe", "payload": "N"}]),
        "quickReply[1].button_text",
        COUNT,
    ),
    (promo(quickReply=[{"payload": "Y"}, {"button_text": "No"}]), "quickReply[1].payload", MISSING),
    (promo(quickReply=[{"payload": "Y"}, "N"]), "quickReply[1]", INVALID),
    (promo(quickReply=None), "quickReply", COUNT),
]


@pytest.mark.parametrize(("parameters", "field", "code"), PROMO_ERRORS)
def test_media_header_and_quick_reply_errors(
    parameters: dict[str, Any], field: str, code: str
) -> None:
    error = rejected(PROMO, parameters)
    assert (error.field, error.code) == (field, code), error


def test_quick_replies_without_button_text_go_in_button_order() -> None:
    message = bind_webex(
        PROMO, {**PROMO_PARAMETERS, "quickReply": [{"payload": "A"}, {"payload": "B"}]}
    )
    payloads = [
        c["parameters"][0]["payload"] for c in message.content()["template"]["components"][2:]
    ]
    assert payloads == ["A", "B"]


@pytest.mark.parametrize(
    ("template", "parameters", "field", "code"),
    [
        (LOCATED, {"location": {"latitude": 100, "longitude": 0}}, "location.latitude", INVALID),
        (LOCATED, {"location": {"longitude": 0}}, "location.latitude", MISSING),
        (LOCATED, {"location": "Berlin"}, "location", FORMAT),
        (
            LOCATED,
            {"location": {"latitude": 1, "longitude": 2, "address": "x"}},
            "location.address",
            INVALID,
        ),
        (COUPON, {"couponCode": "X" * 16}, "couponCode", TOO_LONG),
        (COUPON, {"couponCode": "SAVE 10"}, "couponCode", FORMAT),
        (COUPON, {"couponCode": 10}, "couponCode", FORMAT),
        (COUPON, {"couponCode": ""}, "couponCode", MISSING),
        (AUTH_COPY, {"otp": {"type": "otp", "value": "1" * 16}}, "otp.value", TOO_LONG),
        (AUTH_COPY, {"otp": {"type": "otp", "value": "12 34"}}, "otp.value", FORMAT),
        (AUTH_COPY, {"otp": {"type": "otp", "value": ""}}, "otp.value", MISSING),
        (AUTH_COPY, {"otp": {"type": "otp"}}, "otp.value", MISSING),
        (AUTH_COPY, {"otp": "123456"}, "otp", FORMAT),
        (AUTH_COPY, {"otp": {"type": "url", "value": "1"}}, "otp", FORMAT),
        (AUTH_COPY, {}, "otp", COUNT),
        (AUTH_READ, {"otp": {"type": "otp", "value": "1"}, "1": "1"}, "1", COUNT),
        (
            AUTH_READ,
            {"otp": {"type": "otp", "value": "1"}, "url_0": {"type": "url", "payload": "1"}},
            "url_0",
            COUNT,
        ),
        (STATIC, [], "", INVALID),
    ],
)
def test_other_parameter_errors(
    template: TemplateDefinition, parameters: Any, field: str, code: str
) -> None:
    error = rejected(template, parameters)
    assert (error.field, error.code) == (field, code), error


def test_otp_of_15_characters_is_accepted() -> None:
    assert_valid(bind_webex(AUTH_COPY, {"otp": {"type": "otp", "value": "A" * 15}}))
    assert_valid(bind_webex(COUPON, {"couponCode": "B" * 15}))


# --- template status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("PENDING", "7849"),
        ("REJECTED", "7849"),
        ("IN_APPEAL", "7849"),
        ("LIMIT_EXCEEDED", "7849"),
        ("SOMETHING_NEW", "7849"),
        ("PENDING_DELETION", INACTIVE),
        ("DELETED", INACTIVE),
        ("ARCHIVED", INACTIVE),
        ("PAUSED", "7869"),
        ("DISABLED", "7868"),
    ],
)
def test_only_approved_templates_can_be_sent(status: str, code: str) -> None:
    template = definition(body("Hi {{1}}"), status=status)
    for bind, parameters in ((bind_webex, {"1": 5, "x": 1}), (bind_native, {"name": "other"})):
        with pytest.raises(InvalidMessage) as info:
            bind(template, parameters)
        assert (info.value.field, info.value.code) == ("template", code)
        assert "only APPROVED" in info.value.reason


def test_the_code_table() -> None:
    assert UNKNOWN_TEMPLATE_ID == "7108" == SYNC.INVALID_TEMPLATE_ID
    assert set(FAILURE_CODES) == set(Failure)
    for failure, code in FAILURE_CODES.items():
        assert DR_CODES[code].delivery_status == "Failed", failure
    # The same fault reported by WhatsApp maps to the same code (webex-connect.md §2.2).
    for meta, failure in (
        (132000, Failure.COUNT_MISMATCH),
        (132001, Failure.NOT_APPROVED),
        (132005, Failure.HYDRATED_TOO_LONG),
        (132007, Failure.CHARACTER_POLICY),
        (132012, Failure.FORMAT_MISMATCH),
        (132015, Failure.PAUSED),
        (132016, Failure.DISABLED),
    ):
        assert dr_for_meta_code(meta).code == FAILURE_CODES[failure]
    assert DR_CODES["7808"].description == "Template Param Length Too Long"
    assert DR_CODES["7805"].description == "Template Missing"


def test_template_messages_join_the_outbound_union() -> None:
    from wanode.messages import OutboundMessage

    assert TemplateMessage in OutboundMessage.__args__
    assert Text in OutboundMessage.__args__


def test_a_template_with_two_parameters_of_one_name_cannot_be_sent() -> None:
    clash = definition(
        {"type": "HEADER", "format": "LOCATION"}, body("At {{location}}"), parameter_format="NAMED"
    )
    error = rejected(clash, {})
    assert error.field == "location"


def test_direct_construction_checks_types() -> None:
    with pytest.raises(InvalidMessage) as info:
        TemplateMessage(definition="sample", parameters={})  # type: ignore[arg-type]
    assert info.value.field == "template"
    with pytest.raises(InvalidMessage) as info:
        TemplateMessage(definition=ORDER, parameters=[])  # type: ignore[arg-type]
    assert info.value.field == "parameters"
    with pytest.raises(InvalidMessage) as info:
        TemplateMessage(
            definition=PROMO,
            parameters={
                **bind_webex(PROMO, PROMO_PARAMETERS).parameters,
                "image": Image(link=f"{CDN}/a.jpg", caption="no"),
            },
        )
    assert (info.value.field, info.value.code) == ("image", FORMAT)
    with pytest.raises(InvalidMessage) as info:
        TemplateMessage(definition=AUTH_COPY, parameters={"otp": "123"})
    assert (info.value.field, info.value.code) == ("otp", FORMAT)
    with pytest.raises(InvalidMessage) as info:
        DateTime()
    assert info.value.field == "fallback_value"


# --- errors: the Cloud API shape ---------------------------------------------------------------

NATIVE_ORDER = bind_webex(ORDER, ORDER_PARAMETERS).content()["template"]


def native_rejected(template: TemplateDefinition, value: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as info:
        bind_native(template, value)
    return info.value


def edit(value: dict[str, Any], path: tuple[str | int, ...], new: Any) -> dict[str, Any]:
    """A copy of `value` with `path` set to `new` (deleted when `new` is ...)."""
    value = copy.deepcopy(value)
    target: Any = value
    for step in path[:-1]:
        target = target[step]
    if new is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return value


C = "components"

NATIVE_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    (edit(NATIVE_ORDER, ("name",), "other"), "name", INACTIVE),
    (edit(NATIVE_ORDER, ("language", "code"), "en_GB"), "language.code", INACTIVE),
    (edit(NATIVE_ORDER, ("language", "policy"), "fallback"), "language.policy", INVALID),
    (edit(NATIVE_ORDER, ("language",), ...), "language", MISSING),
    (edit(NATIVE_ORDER, ("namespace",), "x"), "namespace", INVALID),
    (edit(NATIVE_ORDER, (C,), {}), C, INVALID),
    (edit(NATIVE_ORDER, (C, 0, "type"), "footer"), "components[0].type", INVALID),
    (edit(NATIVE_ORDER, (C, 0, "sub_type"), "url"), "components[0].sub_type", INVALID),
    (edit(NATIVE_ORDER, (C, 0), ...), C, COUNT),
    (edit(NATIVE_ORDER, (C, 0, "parameters"), []), "components[0].parameters", COUNT),
    (
        edit(
            NATIVE_ORDER,
            (C, 0, "parameters", 0),
            {"type": "image", "image": {"link": f"{CDN}/a.jpg"}},
        ),
        "components[0].parameters[0]",
        FORMAT,
    ),
    (
        edit(NATIVE_ORDER, (C, 0, "parameters", 0, "text"), "x" * 61),
        "components[0].parameters[0]",
        TOO_LONG,
    ),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters"), NATIVE_ORDER[C][1]["parameters"][:2]),
        "components[1].parameters",
        COUNT,
    ),
    (
        edit(
            NATIVE_ORDER,
            (C, 1, "parameters"),
            [*NATIVE_ORDER[C][1]["parameters"], {"type": "text", "text": "x"}],
        ),
        "components[1].parameters[3]",
        COUNT,
    ),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 0), {"type": "payload", "payload": "x"}),
        "components[1].parameters[0]",
        FORMAT,
    ),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 0), {"text": "x"}),
        "components[1].parameters[0].type",
        MISSING,
    ),
    (edit(NATIVE_ORDER, (C, 1, "parameters", 0), "Ann"), "components[1].parameters[0]", INVALID),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 0, "text"), 5),
        "components[1].parameters[0].text",
        INVALID,
    ),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 0, "parameter_name"), "first"),
        "components[1].parameters[0].parameter_name",
        INVALID,
    ),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 0, "text"), "x" * 1025),
        "components[1].parameters[0]",
        TOO_LONG,
    ),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 0, "text"), "a\nb"),
        "components[1].parameters[0]",
        POLICY,
    ),
    (edit(NATIVE_ORDER, (C, 1, "parameters", 0, "text"), "x" * 1000), "components[1]", HYDRATED),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 1, "currency", "code"), "usd"),
        "components[1].parameters[1].currency.code",
        FORMAT,
    ),
    (
        edit(NATIVE_ORDER, (C, 1, "parameters", 1, "currency", "amount_1000"), ...),
        "components[1].parameters[1].currency.amount_1000",
        MISSING,
    ),
    (
        edit(
            NATIVE_ORDER,
            (C, 1, "parameters", 2, "date_time"),
            {"fallback_value": "x", "year": 1977},
        ),
        "components[1].parameters[2].date_time.year",
        INVALID,
    ),
    (edit(NATIVE_ORDER, (C, 1), NATIVE_ORDER[C][0]), "components[1].type", COUNT),
    (edit(NATIVE_ORDER, (C, 2), ...), C, COUNT),
    (edit(NATIVE_ORDER, (C, 2, "index"), 0), "components[2].index", INVALID),
    (edit(NATIVE_ORDER, (C, 2, "index"), "10"), "components[2].index", INVALID),
    (edit(NATIVE_ORDER, (C, 2, "index"), "5"), "components[2].index", COUNT),
    (edit(NATIVE_ORDER, (C, 2, "index"), ...), "components[2].index", MISSING),
    (edit(NATIVE_ORDER, (C, 2, "sub_type"), "quick_reply"), "components[2].sub_type", FORMAT),
    (edit(NATIVE_ORDER, (C, 2, "sub_type"), "flow"), "components[2].sub_type", FORMAT),
    (edit(NATIVE_ORDER, (C, 2, "index"), "1"), "components[2].sub_type", FORMAT),
    (edit(NATIVE_ORDER, (C, 2, "parameters"), []), "components[2].parameters", COUNT),
    (
        edit(NATIVE_ORDER, (C, 2, "parameters", 0), {"type": "payload", "payload": "x"}),
        "components[2].parameters[0].type",
        FORMAT,
    ),
    (
        edit(NATIVE_ORDER, (C, 2, "parameters", 0, "text"), "a b"),
        "components[2].parameters[0].text",
        BAD_URL,
    ),
    (
        edit(NATIVE_ORDER, (C,), [*NATIVE_ORDER[C], NATIVE_ORDER[C][2]]),
        "components[3].index",
        COUNT,
    ),
]


@pytest.mark.parametrize(("value", "field", "code"), NATIVE_ERRORS)
def test_native_errors(value: dict[str, Any], field: str, code: str) -> None:
    error = native_rejected(ORDER, value)
    assert (error.field, error.code) == (field, code), error


NATIVE_PROMO = bind_webex(PROMO, PROMO_PARAMETERS).content()["template"]
NATIVE_NAMED = bind_webex(NAMED, NAMED_PARAMETERS).content()["template"]
NATIVE_AUTH = bind_webex(AUTH_COPY, {"otp": {"type": "otp", "value": "123456"}}).content()[
    "template"
]
NATIVE_COUPON = bind_webex(COUPON, {"couponCode": "SAVE10"}).content()["template"]


@pytest.mark.parametrize(
    ("template", "value", "field", "code"),
    [
        (
            PROMO,
            edit(
                NATIVE_PROMO,
                (C, 0, "parameters", 0),
                {"type": "video", "video": {"link": f"{CDN}/a.mp4"}},
            ),
            "components[0].parameters[0]",
            FORMAT,
        ),
        (
            PROMO,
            edit(NATIVE_PROMO, (C, 0, "parameters", 0), {"type": "text", "text": "x"}),
            "components[0].parameters[0]",
            FORMAT,
        ),
        (
            PROMO,
            edit(NATIVE_PROMO, (C, 0, "parameters", 0, "image"), {"link": f"{CDN}/a.gif"}),
            "components[0].parameters[0].image.link",
            MEDIA,
        ),
        (
            PROMO,
            edit(
                NATIVE_PROMO,
                (C, 0, "parameters", 0, "image"),
                {"link": f"{CDN}/a.jpg", "caption": "x"},
            ),
            "components[0].parameters[0].image.caption",
            INVALID,
        ),
        (PROMO, edit(NATIVE_PROMO, (C, 3), ...), C, COUNT),
        (PROMO, edit(NATIVE_PROMO, (C,), NATIVE_PROMO[C][:2]), C, COUNT),
        (
            PROMO,
            edit(NATIVE_PROMO, (C, 2, "parameters", 0, "payload"), ""),
            "components[2].parameters[0].payload",
            MISSING,
        ),
        (
            PROMO,
            edit(NATIVE_PROMO, (C, 2, "parameters", 0), {"type": "text", "text": "x"}),
            "components[2].parameters[0].type",
            FORMAT,
        ),
        (
            NAMED,
            edit(NATIVE_NAMED, (C, 1, "parameters", 0, "parameter_name"), ...),
            "components[1].parameters[0].parameter_name",
            MISSING,
        ),
        (
            NAMED,
            edit(NATIVE_NAMED, (C, 1, "parameters", 0, "parameter_name"), "last_name"),
            "components[1].parameters[0].parameter_name",
            COUNT,
        ),
        (
            NAMED,
            edit(NATIVE_NAMED, (C, 1, "parameters", 1, "parameter_name"), "first_name"),
            "components[1].parameters[1]",
            COUNT,
        ),
        (
            NAMED,
            edit(NATIVE_NAMED, (C, 0, "parameters", 0, "parameter_name"), "first_name"),
            "components[0].parameters[0].parameter_name",
            COUNT,
        ),
        (
            NAMED,
            edit(NATIVE_NAMED, (C, 1, "parameters"), NATIVE_NAMED[C][1]["parameters"][1:]),
            "components[1].parameters",
            COUNT,
        ),
        (AUTH_COPY, edit(NATIVE_AUTH, (C,), NATIVE_AUTH[C][:1]), C, COUNT),
        (AUTH_COPY, edit(NATIVE_AUTH, (C,), NATIVE_AUTH[C][1:]), C, COUNT),
        (
            AUTH_COPY,
            edit(NATIVE_AUTH, (C, 1, "parameters", 0, "text"), "654321"),
            "components[1].parameters[0]",
            FORMAT,
        ),
        (
            AUTH_COPY,
            edit(NATIVE_AUTH, (C, 0, "parameters", 0, "text"), "1" * 16),
            "components[0].parameters[0].text",
            TOO_LONG,
        ),
        (
            AUTH_COPY,
            edit(NATIVE_AUTH, (C, 1, "parameters", 0, "text"), "12 34"),
            "components[1].parameters[0].text",
            FORMAT,
        ),
        (
            AUTH_COPY,
            edit(
                NATIVE_AUTH,
                (C, 0, "parameters", 0),
                {"type": "currency", "currency": {"code": "USD", "amount_1000": 1}},
            ),
            "components[0].parameters[0]",
            FORMAT,
        ),
        (AUTH_COPY, edit(NATIVE_AUTH, (C,), []), C, COUNT),
        (
            COUPON,
            edit(NATIVE_COUPON, (C, 0, "parameters", 0, "coupon_code"), "X" * 16),
            "components[0].parameters[0].coupon_code",
            TOO_LONG,
        ),
        (COUPON, edit(NATIVE_COUPON, (C, 0, "index"), "0"), "components[0].sub_type", FORMAT),
        (
            COUPON,
            edit(edit(NATIVE_COUPON, (C, 0, "index"), "0"), (C, 0, "sub_type"), "url"),
            "components[0]",
            COUNT,
        ),
        (
            COUPON,
            edit(NATIVE_COUPON, (C, 0, "sub_type"), "COPY_CODE") | {"name": "x"},
            "name",
            INACTIVE,
        ),
        (
            LOCATED,
            {
                "name": "sample",
                "language": {"code": "en_US"},
                C: [
                    {
                        "type": "header",
                        "parameters": [{"type": "location", "location": {"latitude": 1}}],
                    }
                ],
            },
            "components[0].parameters[0].location.longitude",
            MISSING,
        ),
        (
            STATIC,
            {
                "name": "sample",
                "language": {"code": "en_US"},
                C: [{"type": "body", "parameters": [{"type": "text", "text": "x"}]}],
            },
            "components[0].parameters[0]",
            COUNT,
        ),
        (
            STATIC,
            {
                "name": "sample",
                "language": {"code": "en_US"},
                C: [{"type": "header", "parameters": [{"type": "text", "text": "x"}]}],
            },
            "components[0].parameters",
            COUNT,
        ),
        (STATIC, "template", "", INVALID),
    ],
)
def test_native_errors_of_other_kinds(
    template: TemplateDefinition, value: Any, field: str, code: str
) -> None:
    error = native_rejected(template, value)
    assert (error.field, error.code) == (field, code), error


def test_native_accepts_metas_spellings() -> None:
    named = copy.deepcopy(NATIVE_NAMED)
    named[C][1]["parameters"].reverse()  # NAMED parameters go by name, in any order
    assert bind_native(NAMED, named).content() == bind_webex(NAMED, NAMED_PARAMETERS).content()
    upper = edit(NATIVE_COUPON, (C, 0, "sub_type"), "COPY_CODE")  # Meta's docs use upper case
    assert bind_native(COUPON, upper).content()["template"] == NATIVE_COUPON
    without_policy = edit(NATIVE_ORDER, ("language", "policy"), ...)
    assert bind_native(ORDER, without_policy).content()["template"] == NATIVE_ORDER
    by_id = edit(NATIVE_PROMO, (C, 0, "parameters", 0, "image"), {"id": "1234567890"})
    header = bind_native(PROMO, by_id).content()["template"][C][0]
    assert header["parameters"] == [{"type": "image", "image": {"id": "1234567890"}}]
    assert bind_native(STATIC, {"name": "sample", "language": {"code": "en_US"}}).content() == (
        bind_webex(STATIC, {}).content()
    )
