"""Trigger and Branch conditions, and `$(...)` variable resolution. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from wanode.flows import Scope, UnresolvedVariable, whatsapp_variables
from wanode.flows.conditions import InvalidCondition, evaluate, parse_condition
from wanode.flows.variables import as_text, canonical_output, payload_of, references

SCOPE = Scope(
    {"name": "Ana", "age": 42, "score": "7.5", "tags": ["a", "b"], "empty": ""},
    {"n2": {"send.gatewayTid": "tid-1", "send.response_data": [{"code": "1001"}]}},
    {"waId": "4915112340001", "message": "BOOK table for 2"},
)


def check(left: Any, op: str, right: Any = None, scope: Scope = SCOPE) -> bool:
    doc = {"left": left, "op": op}
    if right is not None:
        doc["right"] = right
    return evaluate(parse_condition(doc, "when"), scope)


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        ("$(name)", "equals", "Ana", True),
        ("$(name)", "equals", "ana", False),
        ("$(name)", "not_equals", "Bob", True),
        ("$(name)", "not_equals", "Ana", False),
        ("$(name)", "equals_ignore_case", "aNA", True),
        ("$(name)", "equals_ignore_case", "Anna", False),
        ("$(whatsapp.message)", "contains", "table", True),
        ("$(whatsapp.message)", "contains", "TABLE", False),
        ("$(whatsapp.message)", "not_contains", "chair", True),
        ("$(whatsapp.message)", "starts_with", "BOOK", True),
        ("$(whatsapp.message)", "starts_with", "table", False),
        ("$(whatsapp.message)", "ends_with", "for 2", True),
        ("$(whatsapp.message)", "ends_with", "BOOK", False),
        ("$(name)", "in", ["Bob", "Ana"], True),
        ("$(name)", "in", "Bob, Ana ,Cy", True),
        ("$(name)", "in", "Bob,Anna", False),
        ("$(name)", "not_in", ["Bob"], True),
        ("$(name)", "not_in", "Bob, Ana", False),
        ("$(age)", "in", [41, 42], True),
        ("$(age)", "gt", 41, True),
        ("$(age)", "gt", "42", False),
        ("$(age)", "gte", "42", True),
        ("$(age)", "lt", "42.5", True),
        ("$(age)", "lte", 41, False),
        ("$(score)", "gt", "7.25", True),
        ("$(score)", "lte", 7.5, True),
        ("10", "gt", "9", True),  # numbers, not text ("10" < "9" as text)
        ("$(age)", "between", [40, 50], True),
        ("$(age)", "between", "42, 42", True),
        ("$(age)", "between", "43,50", False),
        ("$(empty)", "is_empty", None, True),
        ("$(name)", "is_not_empty", None, True),
    ],
)
def test_operators(left: str, op: str, right: Any, expected: bool) -> None:
    assert check(left, op, right) is expected


@pytest.mark.parametrize("op", ["gt", "lt", "gte", "lte"])
def test_numeric_comparisons_of_non_numbers_are_false(op: str) -> None:
    assert check("$(name)", op, 1) is False
    assert check("5", op, "five") is False
    assert check("$(empty)", op, 0) is False


def test_between_needs_two_numeric_bounds() -> None:
    assert check("$(age)", "between", [40]) is False
    assert check("$(age)", "between", "low,high") is False
    assert check("$(name)", "between", [0, 100]) is False


@pytest.mark.parametrize(
    ("alias", "op"),
    [
        ("==", "equals"),
        ("!=", "not_equals"),
        (">", "gt"),
        ("<=", "lte"),
        ("equalsIgnoreCase", "equals_ignore_case"),
        ("starts with", "starts_with"),
        ("EndsWith", "ends_with"),
        ("not in", "not_in"),
    ],
)
def test_operator_aliases(alias: str, op: str) -> None:
    assert parse_condition({"left": "a", "op": alias, "right": "b"}, "when").op == op


def test_and_or_nesting() -> None:
    when = {
        "any": [
            {
                "all": [
                    {"left": "$(name)", "op": "equals", "right": "Ana"},
                    {"left": "$(age)", "op": "gte", "right": 18},
                ]
            },
            {"left": "$(whatsapp.message)", "op": "starts_with", "right": "VIP"},
        ]
    }
    condition = parse_condition(when, "when")
    assert evaluate(condition, SCOPE) is True
    young = Scope({"name": "Ana", "age": 12}, {}, {"message": "hi"})
    assert evaluate(condition, young) is False
    vip = Scope({"name": "Bob", "age": 12}, {}, {"message": "VIP please"})
    assert evaluate(condition, vip) is True
    nobody = Scope({"name": "Bob", "age": 30}, {}, {"message": "hello"})
    assert evaluate(condition, nobody) is False


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ("equals", "when"),
        ({"left": "a", "op": "resembles", "right": "b"}, "when.op"),
        ({"left": "a", "right": "b"}, "when.op"),
        ({"left": "a", "op": "equals"}, "when.right"),
        ({"left": True, "op": "equals", "right": "b"}, "when.left"),
        ({"left": "a", "op": "equals", "right": "b", "extra": 1}, "when.extra"),
        ({"all": []}, "when.all"),
        ({"all": [{"left": "a", "op": "??", "right": 1}]}, "when.all[0].op"),
        ({"all": [], "any": []}, "when"),
    ],
)
def test_invalid_conditions_name_the_field(doc: Any, field: str) -> None:
    with pytest.raises(InvalidCondition) as caught:
        parse_condition(doc, "when")
    assert caught.value.field == field


# Variables.


def test_resolution_in_text() -> None:
    assert SCOPE.text("Hi $(name), you are $(age); ref $(n2.send.gatewayTid)") == (
        "Hi Ana, you are 42; ref tid-1"
    )
    assert SCOPE.text("to $(whatsapp.waId)") == "to 4915112340001"
    assert SCOPE.text("no variables") == "no variables"
    assert SCOPE.text("$(tags)") == '["a","b"]'


def test_a_whole_reference_keeps_its_type() -> None:
    assert SCOPE.value("$(age)") == 42
    assert SCOPE.value("$(tags)") == ["a", "b"]
    assert SCOPE.value("$(n2.send.response_data)") == [{"code": "1001"}]
    assert SCOPE.value("age $(age)") == "age 42"
    assert SCOPE.value({"a": ["$(age)", "x $(name)"], "n": 3}) == {"a": [42, "x Ana"], "n": 3}


@pytest.mark.parametrize(
    "name", ["whatsapp.waId", "whatsapp.whatsappId", "whatsapp.WhatsAppID", "whatsapp.WAID"]
)
def test_whatsapp_id_is_an_alias_of_wa_id_in_any_case(name: str) -> None:
    assert canonical_output(name) == "whatsapp.waId"
    assert SCOPE.text(f"$({name})") == "4915112340001"


def test_node_whatsapp_outputs_resolve_case_insensitively() -> None:
    scope = Scope({}, {"n1": {"whatsapp.waId": "491"}}, {})
    assert scope.text("$(n1.whatsapp.whatsappid)") == "491"
    assert scope.text("$(n1.whatsapp.username)") == ""


def test_unresolved_variables() -> None:
    with pytest.raises(UnresolvedVariable) as missing_node:
        SCOPE.text("$(n9.send.gatewayTid)")
    assert missing_node.value.name == "n9.send.gatewayTid"
    assert "has not run yet" in str(missing_node.value)
    with pytest.raises(UnresolvedVariable):
        SCOPE.value("$(nobody)")
    # A node that ran but did not set this output resolves to "".
    assert SCOPE.text("[$(n2.send.sentDateTime)]") == "[]"


def test_references_and_as_text() -> None:
    assert references({"a": ["$(x) and $(n1.whatsapp.waId)"], "b": 3}) == [
        "x",
        "n1.whatsapp.waId",
    ]
    assert [as_text(v) for v in (None, True, False, 3, 2.5, {"k": 1})] == [
        "",
        "true",
        "false",
        "3",
        "2.5",
        '{"k":1}',
    ]


def test_whatsapp_variables_of_events() -> None:
    text = {
        "event": "MO",
        "waid": "4915112340001",
        "message": "hi",
        "username": "Ana",
        "tid": "wamid.1",
        "identityKeyHash": "h1",
        "type": "text",
    }
    found = whatsapp_variables(text)
    assert (found["waId"], found["message"], found["username"]) == ("4915112340001", "hi", "Ana")
    assert (found["transId"], found["identityHash"], found["type"]) == ("wamid.1", "h1", "text")
    postback = {"event": "postback", "waid": "4", "buttonPayload": "YES", "buttonText": "Yes"}
    assert whatsapp_variables(postback)["buttonPayload"] == "YES"
    assert payload_of(postback) == "YES"
    listed = {"event": "list", "listRowIdentifier": "r2", "listRowTitle": "Two"}
    assert payload_of(listed) == "r2"
    reply = {"event": "reply", "replyButtonIdentifier": "b1", "replyButtonTitle": "One"}
    assert payload_of(reply) == "b1"
    assert payload_of(text) == "hi"
    image = {
        "event": "MO",
        "type": "image",
        "attachments": '[{"url": "https://x/i.jpg", "mime_type": "image/jpeg", "caption": "c"}]',
    }
    found = whatsapp_variables(image)
    assert (found["attachmentType"], found["imageUrl"], found["caption"]) == (
        "image",
        "https://x/i.jpg",
        "c",
    )
