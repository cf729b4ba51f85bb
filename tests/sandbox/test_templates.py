"""Template management (cloud-api.md §3): create with Meta's rules, list, get, delete; the review
and the control panel's status changes, each announced by a signed status webhook."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest
from tests.sandbox.bench import NUMBER, Bench, assert_meta_error

from wanode.sandbox import BusinessNumber

WABA = NUMBER.waba_id
PATH = f"{WABA}/message_templates"

ORDER_UPDATE: dict[str, Any] = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{1}}",
            "example": {"header_text": ["#1234"]},
        },
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order ships on {{2}}. Thanks!",
            "example": {"body_text": [["Ana", "Monday"]]},
        },
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Track"},
                {"type": "QUICK_REPLY", "text": "Cancel"},
                {
                    "type": "URL",
                    "text": "Details",
                    "url": "https://shop.example/orders/{{1}}",
                    "example": ["1234"],
                },
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550100"},
            ],
        },
    ],
}


def definition(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(ORDER_UPDATE), **changes}


def component(definition: dict[str, Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in definition["components"] if c["type"] == kind)
    return found


async def test_a_template_is_created_pending_then_approved_by_review(bench: Bench) -> None:
    response = await bench.create_template(definition())

    assert response.status_code == 200
    created = response.json()
    assert set(created) == {"id", "status", "category"}
    assert created["status"] == "PENDING"
    assert created["category"] == "UTILITY"
    assert created["id"].isdigit()

    await bench.settle()

    [update] = bench.receiver.template_updates()
    assert update == {
        "event": "APPROVED",
        "message_template_id": int(created["id"]),
        "message_template_name": "order_update",
        "message_template_language": "en_US",
        "message_template_category": "UTILITY",
        "reason": "NONE",
    }
    [body] = bench.receiver.bodies
    assert body["object"] == "whatsapp_business_account"
    assert body["entry"][0]["id"] == WABA
    assert isinstance(body["entry"][0]["time"], int)
    assert body["entry"][0]["changes"][0]["field"] == "message_template_status_update"
    fetched = await bench.graph("GET", created["id"])
    assert fetched.json()["status"] == "APPROVED"


async def test_the_review_waits_for_the_configured_delay(bench: Bench) -> None:
    bench.sandbox.config = replace(bench.sandbox.config, template_review_delay=30.0)
    created = (await bench.create_template(definition())).json()

    fetched = (await bench.graph("GET", created["id"])).json()

    assert fetched["status"] == "PENDING"
    assert bench.receiver.template_updates() == []
    # Closing the bench cancels the pending review.


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("reject_me", "INVALID_FORMAT"),
        ("reject_scam", "SCAM"),
        ("reject_scam_offer", "SCAM"),
        ("reject_incorrect_category_promo", "INCORRECT_CATEGORY"),
        ("reject_tag_content_mismatch", "TAG_CONTENT_MISMATCH"),
        ("reject_promotional_x", "PROMOTIONAL"),
    ],
)
async def test_names_starting_reject_are_rejected_with_the_named_reason(
    bench: Bench, name: str, reason: str
) -> None:
    template_id = (await bench.create_template(definition(name=name))).json()["id"]
    await bench.settle()

    [update] = bench.receiver.template_updates()
    assert update["event"] == "REJECTED"
    assert update["reason"] == reason
    assert update["rejection_info"]["reason"] == reason
    assert update["rejection_info"]["recommendation"]
    fetched = await bench.graph("GET", template_id, params={"fields": "status,rejected_reason"})
    assert fetched.json() == {"id": template_id, "status": "REJECTED", "rejected_reason": reason}


async def test_the_graph_shows_the_normalised_template(bench: Bench) -> None:
    lower_case = definition(category="utility")
    for item in lower_case["components"]:
        item["type"] = item["type"].lower()
    component(lower_case, "header")["format"] = "text"
    template_id = await bench.approved(lower_case)

    fetched = (await bench.graph("GET", template_id)).json()

    assert fetched == {
        "id": template_id,
        "name": "order_update",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": ORDER_UPDATE["components"],
    }


async def test_the_list_filters_pages_and_picks_fields(bench: Bench) -> None:
    ids = [
        await bench.approved(definition(name=f"promo_{n}", category="MARKETING")) for n in range(3)
    ]
    spanish = await bench.approved(definition(name="promo_0", language="es"))
    rejected = await bench.approved(definition(name="reject_me"))

    everything = (await bench.graph("GET", PATH)).json()
    assert [t["name"] for t in everything["data"]] == [
        "hello_world",
        "promo_0",
        "promo_1",
        "promo_2",
        "promo_0",
        "reject_me",
    ]
    assert set(everything["paging"]["cursors"]) == {"before", "after"}

    by_name = (await bench.graph("GET", PATH, params={"name": "promo_0"})).json()["data"]
    assert [t["id"] for t in by_name] == [ids[0], spanish]
    by_language = (await bench.graph("GET", PATH, params={"language": "es"})).json()["data"]
    assert [t["id"] for t in by_language] == [spanish]
    by_status = (await bench.graph("GET", PATH, params={"status": "rejected"})).json()["data"]
    assert [t["id"] for t in by_status] == [rejected]
    marketing = (
        await bench.graph("GET", PATH, params={"category": "MARKETING", "fields": "name"})
    ).json()["data"]
    # Meta's sample, hello_world, is a MARKETING template too.
    assert marketing[1:] == [
        {"id": ids[0], "name": "promo_0"},
        {"id": ids[1], "name": "promo_1"},
        {"id": ids[2], "name": "promo_2"},
    ]
    assert marketing[0]["name"] == "hello_world"

    first = (await bench.graph("GET", PATH, params={"limit": "2", "fields": "name"})).json()
    assert [t["name"] for t in first["data"]] == ["hello_world", "promo_0"]
    after = first["paging"]["cursors"]["after"]
    second = (await bench.graph("GET", PATH, params={"limit": "2", "after": after})).json()
    assert [t["name"] for t in second["data"]] == ["promo_1", "promo_2"]
    before = second["paging"]["cursors"]["before"]
    back = (await bench.graph("GET", PATH, params={"limit": "2", "before": before})).json()
    assert back["data"][0]["name"] == "hello_world"
    empty = (await bench.graph("GET", PATH, params={"name": "nothing"})).json()
    assert empty == {"data": []}


async def test_every_new_waba_has_the_hello_world_sample(bench: Bench) -> None:
    [sample] = (await bench.graph("GET", PATH)).json()["data"]

    assert sample["name"] == "hello_world"
    assert sample["language"] == "en_US"
    assert sample["status"] == "APPROVED"
    assert [c["type"] for c in sample["components"]] == ["HEADER", "BODY", "FOOTER"]


async def test_bad_list_queries_are_100(bench: Bench) -> None:
    for query in ({"fields": "name,colour"}, {"limit": "0"}, {"limit": "x"}, {"after": "%%%"}):
        assert_meta_error(await bench.graph("GET", PATH, params=query), 100, 400)


async def test_deleting_by_name_removes_every_language(bench: Bench) -> None:
    english = await bench.approved(definition())
    spanish = await bench.approved(definition(language="es"))
    other = await bench.approved(definition(name="other"))

    response = await bench.graph("DELETE", PATH, params={"name": "order_update"})

    assert response.status_code == 200
    assert response.json() == {"success": True}
    left = [t["id"] for t in (await bench.graph("GET", PATH)).json()["data"]]
    assert english not in left and spanish not in left and other in left
    assert_meta_error(await bench.graph("GET", english), 100, 400)
    await bench.settle()
    deleted = [u for u in bench.receiver.template_updates() if u["event"] == "DELETED"]
    assert {u["message_template_language"] for u in deleted} == {"en_US", "es"}


async def test_deleting_with_hsm_id_removes_one_language(bench: Bench) -> None:
    english = await bench.approved(definition())
    spanish = await bench.approved(definition(language="es"))

    response = await bench.graph("DELETE", PATH, params={"name": "order_update", "hsm_id": spanish})

    assert response.json() == {"success": True}
    left = [t["id"] for t in (await bench.graph("GET", PATH)).json()["data"]]
    assert english in left and spanish not in left


async def test_delete_refusals(bench: Bench) -> None:
    template_id = await bench.approved(definition())
    assert_meta_error(await bench.graph("DELETE", PATH), 100, 400)
    assert_meta_error(await bench.graph("DELETE", PATH, params={"name": "nope"}), 100, 400)
    mismatch = {"name": "other_name", "hsm_id": template_id}
    assert_meta_error(await bench.graph("DELETE", PATH, params=mismatch), 100, 400)
    assert_meta_error(await bench.graph("DELETE", template_id), 100, 400)

    await bench.client.post(f"/templates/{template_id}/status", json={"status": "DISABLED"})
    disabled = await bench.graph("DELETE", PATH, params={"name": "order_update"})
    assert "DISABLED" in assert_meta_error(disabled, 100, 400)["error_data"]["details"]


async def test_an_approved_name_cannot_be_reused_for_30_days_after_deletion(
    bench: Bench,
) -> None:
    await bench.approved(definition())
    await bench.graph("DELETE", PATH, params={"name": "order_update"})

    again = await bench.create_template(definition())

    assert "30 days" in assert_meta_error(again, 100, 400)["error_data"]["details"]
    fresh = await bench.approved(definition(name="fresh"))
    await bench.client.post(f"/templates/{fresh}/status", json={"status": "REJECTED"})
    await bench.graph("DELETE", PATH, params={"name": "fresh"})  # never sent: reusable
    assert (await bench.create_template(definition(name="fresh"))).status_code == 200


async def test_a_name_exists_once_per_language(bench: Bench) -> None:
    await bench.approved(definition())

    again = await bench.create_template(definition())

    error = assert_meta_error(again, 100, 400)
    assert "already exists" in error["error_data"]["details"]
    assert (await bench.create_template(definition(language="pt_BR"))).status_code == 200


async def test_template_routes_need_the_wabas_token(bench: Bench) -> None:
    assert_meta_error(await bench.graph("GET", PATH, token="nope"), 190, 401)
    assert_meta_error(await bench.graph("GET", "999/message_templates"), 100, 400)
    other = BusinessNumber(
        phone_number_id="2",
        waba_id="3",
        display_phone_number="15550000002",
        access_token="tok2",
        app_secret="s2",
    )
    bench.sandbox.provision(other)
    assert_meta_error(await bench.graph("GET", PATH, token="tok2"), 100, 400)
    [hello] = (await bench.graph("GET", PATH)).json()["data"]
    assert_meta_error(await bench.graph("GET", hello["id"], token="tok2"), 100, 400)
    own = (await bench.graph("GET", "3/message_templates", token="tok2")).json()["data"]
    assert [t["name"] for t in own] == ["hello_world"]
    assert own[0]["id"] != hello["id"]


# Each case: a change to ORDER_UPDATE, and words the refusal's details must contain.
INVALID: dict[str, tuple[Any, str]] = {
    "no name": (lambda d: d.pop("name"), "name: is required"),
    "upper-case name": (lambda d: d.update(name="Order"), "lower-case"),
    "name with a dash": (lambda d: d.update(name="order-update"), "lower-case"),
    "name too long": (lambda d: d.update(name="a" * 513), "at most 512"),
    "bad language": (lambda d: d.update(language="english"), "locale"),
    "bad category": (lambda d: d.update(category="PROMO"), "category"),
    "bad parameter format": (lambda d: d.update(parameter_format="MIXED"), "parameter_format"),
    "unknown key": (lambda d: d.update(colour="red"), "colour: unknown parameter"),
    "no components": (lambda d: d.update(components=[]), "components"),
    "no body": (
        lambda d: d.update(components=[c for c in d["components"] if c["type"] != "BODY"]),
        "exactly one BODY",
    ),
    "two footers": (
        lambda d: d["components"].append({"type": "FOOTER", "text": "x"}),
        "at most one FOOTER",
    ),
    "carousel": (
        lambda d: d["components"].append({"type": "CAROUSEL", "cards": []}),
        "supports no other component",
    ),
    "header too long": (
        lambda d: component(d, "HEADER").update(text="x" * 61),
        "at most 60",
    ),
    "header on two lines": (
        lambda d: component(d, "HEADER").update(text="Order\n{{1}}"),
        "single line",
    ),
    "two header variables": (
        lambda d: component(d, "HEADER").update(text="{{1}} and {{2}}"),
        "at most one variable",
    ),
    "header variable without example": (
        lambda d: component(d, "HEADER").pop("example"),
        "header_text: is required",
    ),
    "bad header format": (
        lambda d: component(d, "HEADER").update(format="GIF"),
        "format",
    ),
    "image header without handle": (
        lambda d: d["components"].__setitem__(0, {"type": "HEADER", "format": "IMAGE"}),
        "header_handle",
    ),
    "location header with example": (
        lambda d: d["components"].__setitem__(
            0, {"type": "HEADER", "format": "LOCATION", "example": {"header_handle": ["h"]}}
        ),
        "takes no example",
    ),
    "body too long": (
        lambda d: component(d, "BODY").update(text="x" * 1025),
        "at most 1024",
    ),
    "body without its example": (
        lambda d: component(d, "BODY").pop("example"),
        "needs an example",
    ),
    "too few examples": (
        lambda d: component(d, "BODY").update(example={"body_text": [["Ana"]]}),
        "2 variables but 1 example",
    ),
    "variables with a gap": (
        lambda d: component(d, "BODY").update(
            text="Hi {{1}}, see {{3}} now", example={"body_text": [["a", "b"]]}
        ),
        "without gaps",
    ),
    "body starting with a variable": (
        lambda d: component(d, "BODY").update(
            text="{{1}}, your order ships on {{2}}.", example={"body_text": [["a", "b"]]}
        ),
        "start or end",
    ),
    "body ending with a variable": (
        lambda d: component(d, "BODY").update(
            text="Hi {{1}}, it ships {{2}}", example={"body_text": [["a", "b"]]}
        ),
        "start or end",
    ),
    "body only a variable": (
        lambda d: component(d, "BODY").update(text="{{1}}", example={"body_text": [["a"]]}),
        "start or end",
    ),
    "named variable in a positional template": (
        lambda d: component(d, "BODY").update(
            text="Hi {{name}}, ok {{1}} ok", example={"body_text": [["a", "b"]]}
        ),
        "named variable in a POSITIONAL template",
    ),
    "not a variable": (
        lambda d: component(d, "BODY").update(text="Hi {{First Name}} there"),
        "is not a variable",
    ),
    "footer too long": (lambda d: component(d, "FOOTER").update(text="x" * 61), "at most 60"),
    "footer variable": (
        lambda d: component(d, "FOOTER").update(text="Bye {{1}}"),
        "cannot hold variables",
    ),
    "no buttons": (lambda d: component(d, "BUTTONS").update(buttons=[]), "at least 1"),
    "eleven buttons": (
        lambda d: component(d, "BUTTONS").update(
            buttons=[{"type": "QUICK_REPLY", "text": f"b{n}"} for n in range(11)]
        ),
        "at most 10",
    ),
    "label too long": (
        lambda d: component(d, "BUTTONS")["buttons"][0].update(text="x" * 26),
        "at most 25",
    ),
    "interleaved quick replies": (
        lambda d: component(d, "BUTTONS")["buttons"].append({"type": "QUICK_REPLY", "text": "z"}),
        "grouped together",
    ),
    "three URL buttons": (
        lambda d: component(d, "BUTTONS").update(
            buttons=[{"type": "URL", "text": f"u{n}", "url": "https://a.example"} for n in range(3)]
        ),
        "at most 2 URL",
    ),
    "two phone buttons": (
        lambda d: component(d, "BUTTONS")["buttons"].append(
            {"type": "PHONE_NUMBER", "text": "Again", "phone_number": "+15550101"}
        ),
        "at most 1 PHONE_NUMBER",
    ),
    "URL variable without example": (
        lambda d: component(d, "BUTTONS")["buttons"][2].pop("example"),
        "example",
    ),
    "URL variable in the middle": (
        lambda d: component(d, "BUTTONS")["buttons"][2].update(url="https://a.example/{{1}}/x"),
        "at the very end",
    ),
    "URL not http": (
        lambda d: component(d, "BUTTONS")["buttons"][2].update(url="ftp://a.example/"),
        "not an http",
    ),
    "bad phone number": (
        lambda d: component(d, "BUTTONS")["buttons"][3].update(phone_number="call me"),
        "not a phone number",
    ),
    "coupon code too long": (
        lambda d: component(d, "BUTTONS").update(
            buttons=[{"type": "COPY_CODE", "example": "X" * 16}]
        ),
        "at most 15",
    ),
    "flow button": (
        lambda d: component(d, "BUTTONS").update(buttons=[{"type": "FLOW", "text": "Go"}]),
        "supports no other button",
    ),
    "OTP outside authentication": (
        lambda d: component(d, "BUTTONS").update(
            buttons=[{"type": "OTP", "otp_type": "COPY_CODE"}]
        ),
        "AUTHENTICATION",
    ),
}


@pytest.mark.parametrize("case", INVALID)
async def test_an_invalid_definition_is_100_naming_the_problem(bench: Bench, case: str) -> None:
    change, words = INVALID[case]
    invalid = definition()
    change(invalid)

    response = await bench.create_template(invalid)

    error = assert_meta_error(response, 100, 400)
    assert words in error["error_data"]["details"], error["error_data"]["details"]
    assert [t["name"] for t in (await bench.graph("GET", PATH)).json()["data"]] == ["hello_world"]


async def test_a_malformed_body_is_100(bench: Bench) -> None:
    response = await bench.client.post(
        f"/v23.0/{PATH}", content=b"{", headers={"Authorization": "Bearer tok"}
    )
    assert_meta_error(response, 100, 400)
    assert_meta_error(await bench.create_template(["x"]), 100, 400)  # type: ignore[arg-type]


NAMED: dict[str, Any] = {
    "name": "welcome_named",
    "language": "en",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Hello {{first_name}}",
            "example": {
                "header_text_named_params": [{"param_name": "first_name", "example": "Ana"}]
            },
        },
        {
            "type": "BODY",
            "text": "Your code {{code}} is valid until {{day}}. Enjoy!",
            "example": {
                "body_text_named_params": [
                    {"param_name": "code", "example": "SUMMER"},
                    {"param_name": "day", "example": "Friday"},
                ]
            },
        },
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SUMMER25"}]},
    ],
}


async def test_named_templates_take_named_examples(bench: Bench) -> None:
    assert (await bench.create_template(NAMED)).status_code == 200

    missing = copy.deepcopy(NAMED)
    missing["name"] = "welcome_missing"
    missing["components"][1]["example"]["body_text_named_params"].pop()
    error = assert_meta_error(await bench.create_template(missing), 100, 400)
    assert "one example for each of code, day" in error["error_data"]["details"]
    positional = copy.deepcopy(NAMED)
    positional["name"] = "welcome_positional"
    positional["components"][1]["text"] = "Your code {{1}} is valid. Enjoy!"
    error = assert_meta_error(await bench.create_template(positional), 100, 400)
    assert "positional variable in a NAMED template" in error["error_data"]["details"]


AUTHENTICATION: dict[str, Any] = {
    "name": "login_code",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy"}]},
    ],
}


async def test_authentication_templates_get_metas_fixed_text(bench: Bench) -> None:
    template_id = await bench.approved(AUTHENTICATION)

    components = (await bench.graph("GET", template_id)).json()["components"]

    assert components[0] == {
        "type": "BODY",
        "text": "*{{1}}* is your verification code. For your security, do not share this code.",
        "add_security_recommendation": True,
    }
    assert components[1] == {
        "type": "FOOTER",
        "text": "This code expires in 10 minutes.",
        "code_expiration_minutes": 10,
    }
    assert components[2]["buttons"] == [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy"}]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["components"][0].update(text="Your code is {{1}}."), "text: unknown"),
        (
            lambda d: d["components"].insert(0, {"type": "HEADER", "format": "TEXT", "text": "x"}),
            "no header",
        ),
        (lambda d: d["components"][1].update(code_expiration_minutes=91), "1 to 90"),
        (lambda d: d["components"].pop(), "one OTP button"),
        (
            lambda d: d["components"][2].update(buttons=[{"type": "QUICK_REPLY", "text": "x"}]),
            "exactly one OTP",
        ),
        (
            lambda d: d["components"][2]["buttons"][0].update(otp_type="ONE_TAP"),
            "name their app",
        ),
        (
            lambda d: d["components"][2]["buttons"][0].update(
                otp_type="ZERO_TAP", package_name="com.example", signature_hash="abc"
            ),
            "terms accepted",
        ),
    ],
)
async def test_authentication_template_rules(bench: Bench, change: Any, words: str) -> None:
    invalid = copy.deepcopy(AUTHENTICATION)
    change(invalid)

    error = assert_meta_error(await bench.create_template(invalid), 100, 400)

    assert words in error["error_data"]["details"], error["error_data"]["details"]


async def test_the_control_panel_pauses_disables_and_reinstates(bench: Bench) -> None:
    template_id = await bench.approved(definition())
    url = f"/templates/{template_id}/status"

    paused = await bench.client.post(url, json={"status": "PAUSED"})
    reinstated = await bench.client.post(url, json={"status": "APPROVED"})
    paused_again = await bench.client.post(url, json={"status": "PAUSED"})
    disabled = await bench.client.post(url, json={"status": "DISABLED"})
    await bench.settle()

    assert paused.status_code == 200
    assert paused.json()["status"] == "PAUSED"
    assert reinstated.json()["status"] == "APPROVED"
    assert paused_again.json()["status"] == "PAUSED"
    assert disabled.json()["status"] == "DISABLED"
    assert disabled.json()["waba_id"] == WABA
    updates = bench.receiver.template_updates()
    assert [u["event"] for u in updates] == ["APPROVED", "PAUSED", "APPROVED", "PAUSED", "DISABLED"]
    assert updates[1]["other_info"]["title"] == "FIRST_PAUSE"
    assert updates[2]["other_info"]["title"] == "UNPAUSE"
    assert updates[3]["other_info"]["title"] == "SECOND_PAUSE"
    assert isinstance(updates[4]["disable_info"]["disable_date"], int)
    assert "other_info" not in updates[0] and "other_info" not in updates[4]
    assert all(u["reason"] == "NONE" for u in updates)


async def test_the_control_panel_rejects_with_a_reason(bench: Bench) -> None:
    # Long enough to reject the template before the review runs, short enough to wait for.
    bench.sandbox.config = replace(bench.sandbox.config, template_review_delay=0.2)
    template_id = (await bench.create_template(definition())).json()["id"]
    url = f"/templates/{template_id}/status"

    rejected = await bench.client.post(url, json={"status": "REJECTED", "reason": "SCAM"})
    await bench.settle()

    assert rejected.json()["status"] == "REJECTED"
    assert rejected.json()["rejected_reason"] == "SCAM"
    [update] = bench.receiver.template_updates()
    assert (update["event"], update["reason"]) == ("REJECTED", "SCAM")
    # The review finds the template decided and leaves it alone.
    assert [t["status"] for t in (await bench.client.get("/templates")).json()][-1] == "REJECTED"


async def test_control_panel_refusals(bench: Bench) -> None:
    template_id = await bench.approved(definition())
    url = f"/templates/{template_id}/status"
    for body in (
        {"status": "GONE"},
        {"status": "PAUSED", "reason": "SCAM"},
        {"status": "REJECTED", "reason": "BORING"},
        {"status": "APPROVED", "colour": "red"},
        [],
    ):
        response = await bench.client.post(url, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["message"]
    assert (
        await bench.client.post("/templates/1/status", json={"status": "PAUSED"})
    ).status_code == 404
    await bench.client.post(url, json={"status": "REJECTED"})
    assert (await bench.client.post(url, json={"status": "PAUSED"})).status_code == 409


async def test_the_same_status_again_sends_no_webhook(bench: Bench) -> None:
    template_id = await bench.approved(definition())

    again = await bench.client.post(f"/templates/{template_id}/status", json={"status": "APPROVED"})
    await bench.settle()

    assert again.status_code == 200
    assert [u["event"] for u in bench.receiver.template_updates()] == ["APPROVED"]


async def test_the_control_panel_lists_every_template(bench: Bench) -> None:
    template_id = await bench.approved(definition())

    listed = (await bench.client.get("/templates")).json()

    assert [t["name"] for t in listed] == ["hello_world", "order_update"]
    assert listed[1]["id"] == template_id
    assert listed[1]["waba_id"] == WABA
    assert listed[1]["rejected_reason"] == "NONE"


async def test_status_webhooks_go_once_to_each_webhook_url_of_the_waba(bench: Bench) -> None:
    twin = BusinessNumber(**{**NUMBER.__dict__, "phone_number_id": "2", "access_token": "t2"})
    silent = BusinessNumber(
        **{**NUMBER.__dict__, "phone_number_id": "3", "access_token": "t3", "webhook_url": None}
    )
    bench.sandbox.provision(twin)
    bench.sandbox.provision(silent)

    await bench.approved(definition())

    assert len(bench.receiver.template_updates()) == 1
    # Sharing a WABA, the twin's token manages the same templates.
    names = [t["name"] for t in (await bench.graph("GET", PATH, token="t2")).json()["data"]]
    assert names == ["hello_world", "order_update"]
