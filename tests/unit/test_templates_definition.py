"""Template definitions read from Meta's Graph JSON (cloud-api.md §3) and written back.

The GET items below follow the shapes of cloud-api.md §3.1/§3.2 (and Meta's documented
examples for the same endpoints): upper-case types, ids as strings, examples nested as Meta
nests them. Reading is lenient: nothing Meta may add makes it fail.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from wanode.codes import SYNC
from wanode.messages import InvalidMessage
from wanode.messages.templates import (
    Body,
    Buttons,
    CopyCodeButton,
    Footer,
    Header,
    HeaderFormat,
    OtherButton,
    OtpButton,
    OtpType,
    ParameterFormat,
    PhoneNumberButton,
    QuickReplyButton,
    SupportedApp,
    TemplateCategory,
    TemplateDefinition,
    TemplateQuality,
    TemplateStatus,
    UnknownComponent,
    UrlButton,
    variables,
)

# An item of GET /{waba_id}/message_templates (fields=name,status,category,language,components,
# parameter_format,quality_score,rejected_reason).
SEASONAL_PROMOTION: dict[str, Any] = {
    "name": "seasonal_promotion",
    "parameter_format": "POSITIONAL",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Our {{1}} is on!",
            "example": {"header_text": ["Summer Sale"]},
        },
        {
            "type": "BODY",
            "text": "Shop now through {{1}} and use code {{2}} to get {{3}} off of all "
            "merchandise.",
            "example": {"body_text": [["the end of August", "25OFF", "25%"]]},
        },
        {"type": "FOOTER", "text": "Use the buttons below to manage your marketing subscriptions"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Unsubscribe from Promos"},
                {"type": "QUICK_REPLY", "text": "Unsubscribe from All"},
            ],
        },
    ],
    "language": "en_US",
    "status": "APPROVED",
    "category": "MARKETING",
    "quality_score": {"score": "GREEN", "date": 1718000000},
    "rejected_reason": "NONE",
    "id": "546151681022936",
}

# An authentication template as GET returns it: Meta's body text, the expiry footer, and the
# OTP button listed as a URL button carrying the code.
AUTH_COPY_CODE_READ: dict[str, Any] = {
    "name": "verify_code",
    "parameter_format": "POSITIONAL",
    "components": [
        {
            "type": "BODY",
            "text": "*{{1}}* is your verification code. For your security, do not share this code.",
            "add_security_recommendation": True,
            "example": {"body_text": [["123456"]]},
        },
        {
            "type": "FOOTER",
            "text": "This code expires in 10 minutes.",
            "code_expiration_minutes": 10,
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Copy code",
                    "url": "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}",
                    "example": [
                        "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp123456"
                    ],
                }
            ],
        },
    ],
    "language": "en_US",
    "status": "APPROVED",
    "category": "AUTHENTICATION",
    "id": "1689556908129832",
}

# An authentication template in the create shape, ONE_TAP with the older flat app fields.
AUTH_ONE_TAP_CREATE: dict[str, Any] = {
    "name": "login_one_tap",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 5},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "OTP",
                    "otp_type": "ONE_TAP",
                    "text": "Copy Code",
                    "autofill_text": "Autofill",
                    "package_name": "com.example.luckyshrub",
                    "signature_hash": "K8a/AINcGX7",
                }
            ],
        },
    ],
}

NAMED_ORDER: dict[str, Any] = {
    "name": "order_confirmation",
    "language": "en_US",
    "category": "UTILITY",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{order_id}}",
            "example": {
                "header_text_named_params": [{"param_name": "order_id", "example": "335628"}]
            },
        },
        {
            "type": "BODY",
            "text": "Thank you, {{first_name}}! Your order {{order_id}} ships {{ship_date}}.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Pablo"},
                    {"param_name": "order_id", "example": "335628"},
                    {"param_name": "ship_date", "example": "May 1"},
                ]
            },
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://example.org/track/{{1}}",
                    "example": ["https://example.org/track/335628"],
                },
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001111"},
                {"type": "COPY_CODE", "example": "250FF"},
            ],
        },
    ],
}


def test_reads_a_listed_template() -> None:
    definition = TemplateDefinition.from_graph(SEASONAL_PROMOTION)
    assert definition.id == "546151681022936"
    assert definition.name == "seasonal_promotion"
    assert definition.language == "en_US"
    assert definition.category is TemplateCategory.MARKETING
    assert definition.parameter_format is ParameterFormat.POSITIONAL
    assert definition.status is TemplateStatus.APPROVED
    assert definition.quality is TemplateQuality.GREEN
    assert definition.rejected_reason is None  # Meta's "NONE"
    assert definition.header == Header(
        format=HeaderFormat.TEXT, text="Our {{1}} is on!", examples=(("1", "Summer Sale"),)
    )
    assert definition.body == Body(
        text="Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
        examples=(("1", "the end of August"), ("2", "25OFF"), ("3", "25%")),
    )
    assert definition.footer == Footer(
        text="Use the buttons below to manage your marketing subscriptions"
    )
    assert definition.buttons == (
        QuickReplyButton("Unsubscribe from Promos"),
        QuickReplyButton("Unsubscribe from All"),
    )
    assert definition.variables() == {"components[0]": ("1",), "components[1]": ("1", "2", "3")}


def test_reads_every_page_item_of_a_listing() -> None:
    page = {
        "data": [SEASONAL_PROMOTION, AUTH_COPY_CODE_READ, {**NAMED_ORDER, "id": "7"}],
        "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}},
    }
    names = [TemplateDefinition.from_graph(item).name for item in page["data"]]
    assert names == ["seasonal_promotion", "verify_code", "order_confirmation"]


def test_reads_an_authentication_template_as_listed() -> None:
    definition = TemplateDefinition.from_graph(AUTH_COPY_CODE_READ)
    assert definition.is_authentication
    assert definition.body is not None and definition.body.add_security_recommendation is True
    assert definition.footer == Footer(
        text="This code expires in 10 minutes.", code_expiration_minutes=10
    )
    (button,) = definition.buttons
    assert isinstance(button, UrlButton) and button.variables == ("1",)
    assert definition.variables() == {
        "components[0]": ("1",),
        "components[2].buttons[0]": ("1",),
    }


def test_reads_otp_buttons_flat_and_listed_apps() -> None:
    definition = TemplateDefinition.from_graph(AUTH_ONE_TAP_CREATE)
    assert definition.id is None
    assert definition.status is TemplateStatus.UNKNOWN  # not yet submitted
    (button,) = definition.buttons
    assert button == OtpButton(
        otp_type=OtpType.ONE_TAP,
        text="Copy Code",
        autofill_text="Autofill",
        supported_apps=(SupportedApp("com.example.luckyshrub", "K8a/AINcGX7"),),
    )
    listed = copy.deepcopy(AUTH_ONE_TAP_CREATE)
    otp = listed["components"][2]["buttons"][0]
    del otp["package_name"], otp["signature_hash"]
    otp["supported_apps"] = [
        {"package_name": "com.example.luckyshrub", "signature_hash": "K8a/AINcGX7"},
        {"package_name": "com.example.other", "signature_hash": "abcdefghijk"},
    ]
    (button,) = TemplateDefinition.from_graph(listed).buttons
    assert isinstance(button, OtpButton)
    assert [app.package_name for app in button.supported_apps] == [
        "com.example.luckyshrub",
        "com.example.other",
    ]


def test_reads_named_templates_and_every_button_kind() -> None:
    definition = TemplateDefinition.from_graph(NAMED_ORDER)
    assert definition.parameter_format is ParameterFormat.NAMED
    assert definition.header is not None
    assert definition.header.examples == (("order_id", "335628"),)
    assert definition.variables() == {
        "components[0]": ("order_id",),
        "components[1]": ("first_name", "order_id", "ship_date"),
        "components[2].buttons[0]": ("1",),
    }
    assert definition.buttons == (
        UrlButton("Track", "https://example.org/track/{{1}}", "https://example.org/track/335628"),
        PhoneNumberButton("Call us", "+15550001111"),
        CopyCodeButton("250FF"),
    )


@pytest.mark.parametrize("graph", [NAMED_ORDER, AUTH_ONE_TAP_CREATE], ids=["named", "auth"])
def test_to_graph_writes_the_create_request(graph: dict[str, Any]) -> None:
    written = TemplateDefinition.from_graph(graph).to_graph()
    expected = copy.deepcopy(graph)
    expected.setdefault("parameter_format", "POSITIONAL")
    if graph is AUTH_ONE_TAP_CREATE:
        otp = expected["components"][2]["buttons"][0]
        otp["supported_apps"] = [
            {"package_name": otp.pop("package_name"), "signature_hash": otp.pop("signature_hash")}
        ]
    assert written == expected


def test_to_graph_leaves_metas_texts_out_of_an_authentication_template() -> None:
    written = TemplateDefinition.from_graph(AUTH_COPY_CODE_READ).to_graph()
    assert written["components"][0] == {"type": "BODY", "add_security_recommendation": True}
    assert written["components"][1] == {"type": "FOOTER", "code_expiration_minutes": 10}
    assert "id" not in written and "status" not in written


def test_reads_media_and_location_headers() -> None:
    handle = "4::aW1hZ2UvanBlZw==:ARb8x"
    graph: dict[str, Any] = {}
    for fmt in ("IMAGE", "VIDEO", "DOCUMENT"):
        graph = {
            "name": "media_header",
            "language": "en",
            "category": "MARKETING",
            "components": [
                {"type": "HEADER", "format": fmt, "example": {"header_handle": [handle]}},
                {"type": "BODY", "text": "Hello"},
            ],
        }
        header = TemplateDefinition.from_graph(graph).header
        assert header == Header(format=HeaderFormat(fmt), handles=(handle,))
        assert header is not None and header.variables == ()
    graph["components"][0] = {"type": "HEADER", "format": "LOCATION"}
    assert TemplateDefinition.from_graph(graph).header == Header(format=HeaderFormat.LOCATION)


def test_lower_case_words_read_as_metas() -> None:
    graph = {
        "name": "lower",
        "language": "en",
        "category": "utility",
        "parameter_format": "named",
        "status": "approved",
        "components": [
            {"type": "header", "format": "text", "text": "Hi"},
            {"type": "body", "text": "Body"},
            {"type": "buttons", "buttons": [{"type": "quick_reply", "text": "Yes"}]},
        ],
    }
    definition = TemplateDefinition.from_graph(graph)
    assert definition.category is TemplateCategory.UTILITY
    assert definition.parameter_format is ParameterFormat.NAMED
    assert definition.status is TemplateStatus.APPROVED
    assert definition.header == Header(text="Hi")
    assert definition.buttons == (QuickReplyButton("Yes"),)


@pytest.mark.parametrize(
    "status",
    [
        "APPROVED",
        "PENDING",
        "REJECTED",
        "PAUSED",
        "DISABLED",
        "IN_APPEAL",
        "PENDING_DELETION",
        "DELETED",
        "ARCHIVED",
        "LIMIT_EXCEEDED",
    ],
)
def test_every_documented_status_is_known(status: str) -> None:
    assert TemplateStatus.of(status).value == status


def test_words_meta_adds_later_read_as_unknown() -> None:
    graph = {
        **SEASONAL_PROMOTION,
        "status": "SOMETHING_NEW",
        "category": "ENGAGEMENT",
        "parameter_format": "EMOJI",
        "quality_score": {"score": "PURPLE"},
        "rejected_reason": "INVALID_FORMAT",
    }
    definition = TemplateDefinition.from_graph(graph)
    assert definition.status is TemplateStatus.UNKNOWN
    assert definition.category is TemplateCategory.UNKNOWN
    assert definition.parameter_format is ParameterFormat.UNKNOWN
    assert definition.quality is TemplateQuality.UNKNOWN
    assert definition.rejected_reason == "INVALID_FORMAT"
    assert TemplateStatus.of(None) is TemplateStatus.UNKNOWN
    assert TemplateStatus.of(3) is TemplateStatus.UNKNOWN


def test_parts_wanode_does_not_model_are_kept_and_written_back() -> None:
    carousel = {"type": "CAROUSEL", "cards": [{"components": [{"type": "BODY", "text": "x"}]}]}
    flow = {"type": "FLOW", "text": "Book", "flow_id": "123", "navigate_screen": "START"}
    graph = copy.deepcopy(SEASONAL_PROMOTION)
    graph["components"].append(carousel)
    graph["components"][3]["buttons"].append(flow)
    definition = TemplateDefinition.from_graph(graph)
    unknown, other = definition.components[4], definition.buttons[2]
    assert isinstance(unknown, UnknownComponent) and unknown.type == "CAROUSEL"
    assert isinstance(other, OtherButton) and (other.type, other.text) == ("FLOW", "Book")
    written = definition.to_graph()
    assert written["components"][4] == carousel
    assert written["components"][3]["buttons"][2] == flow


@pytest.mark.parametrize(
    "graph",
    [
        {"name": "odd", "language": "en", "components": "not a list"},
        {"name": "odd", "language": "en", "components": [None, 5, "x", {"type": 7}]},
        {"name": "odd", "language": "en", "components": [{"type": "BODY", "text": 12}]},
        {
            "name": "odd",
            "language": "en",
            "components": [
                {"type": "HEADER", "format": None, "text": ["x"], "example": "nope"},
                {"type": "BODY", "example": {"body_text": "nope"}},
                {"type": "FOOTER", "code_expiration_minutes": "ten"},
                {"type": "BUTTONS", "buttons": [None, {"type": "URL", "example": [1, 2]}]},
                {"type": "BUTTONS", "buttons": {"type": "QUICK_REPLY"}},
            ],
            "id": 1689556908129832,
            "quality_score": "GREEN",
            "status": None,
            "previous_category": "MARKETING",
            "sub_category": "ORDER_DETAILS",
        },
        {
            "name": "odd",
            "language": "en",
            "components": [
                {"type": "HEADER", "format": "TEXT", "example": {"header_text_named_params": 5}},
                {"type": "BODY", "example": {"body_text_named_params": [{"param_name": 1}]}},
                {"type": "BUTTONS", "buttons": [{"type": "OTP", "supported_apps": [{}]}]},
            ],
        },
    ],
)
def test_odd_data_from_meta_reads_without_failing(graph: dict[str, Any]) -> None:
    definition = TemplateDefinition.from_graph(graph)
    assert definition.name == "odd"
    definition.to_graph()
    definition.variables()


def test_webhook_ids_are_numbers_and_read_as_strings() -> None:
    definition = TemplateDefinition.from_graph({**SEASONAL_PROMOTION, "id": 1689556908129832})
    assert definition.id == "1689556908129832"


@pytest.mark.parametrize(
    ("graph", "field", "code"),
    [
        ("not an object", "", SYNC.INVALID_VALUE),
        ({"language": "en"}, "name", SYNC.MANDATORY_MISSING),
        ({"name": "x"}, "language", SYNC.MANDATORY_MISSING),
        ({"name": 5, "language": "en"}, "name", SYNC.INVALID_VALUE),
        ({"name": " ", "language": "en"}, "name", SYNC.MANDATORY_MISSING),
    ],
)
def test_a_template_without_name_or_language_cannot_be_read(
    graph: Any, field: str, code: str
) -> None:
    with pytest.raises(InvalidMessage) as info:
        TemplateDefinition.from_graph(graph)
    assert (info.value.field, info.value.code) == (field, code)


def test_definitions_can_be_built_directly() -> None:
    definition = TemplateDefinition(
        name="hello",
        language="en_US",
        category="MARKETING",  # type: ignore[arg-type]
        components=[Body("Hi {{1}}", (("1", "Ann"),)), Buttons([QuickReplyButton("Stop")])],  # type: ignore[arg-type]
    )
    assert definition.category is TemplateCategory.MARKETING
    assert isinstance(definition.components, tuple)
    assert definition.buttons == (QuickReplyButton("Stop"),)
    with pytest.raises(InvalidMessage) as info:
        TemplateDefinition(
            name="x",
            language="en",
            category=TemplateCategory.UTILITY,
            components=("body",),  # type: ignore[arg-type]
        )
    assert info.value.field == "components[0]"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (None, ()),
        ("No variables", ()),
        ("{{2}} before {{1}}, then {{10}} and {{1}} again", ("1", "2", "10")),
        ("Hi {{first_name}}, {{order_id}} for {{first_name}}", ("first_name", "order_id")),
        ("Mixed {{name}} and {{1}}", ("name", "1")),
        ("Single braces {1} and {{ spaced }}", (" spaced ",)),
    ],
)
def test_variables_are_listed_in_send_order(text: str | None, names: tuple[str, ...]) -> None:
    assert variables(text) == names
