"""Contacts messages: an array of contact cards (cloud-api.md §1.2).

The card count is a CONFLICT in the reference: Meta's OpenAPI document allows 1..5, its docs
up to 257. The sandbox imitates the live platform, which follows its docs: 257.
`addresses`, `emails` and `urls` take a `type` of HOME or WORK; a phone's `type` is free text
(CELL, MAIN, IPHONE, ...).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from wanode.sandbox.config import SandboxConfig
from wanode.sandbox.rules.errors import MetaError
from wanode.sandbox.rules.fields import array, choice, obj, optional_string, string
from wanode.sandbox.rules.kinds.content import Content

MAX_CONTACTS = 257
HOME_WORK = ("HOME", "WORK")

_CARD = ("name", "addresses", "birthday", "emails", "org", "phones", "urls")
_NAME_PARTS = ("first_name", "last_name", "middle_name", "suffix", "prefix")
_ORG = ("company", "department", "title")
# Each list of a card: its items' keys, the key every item needs, the free-text keys.
_LISTS: dict[str, tuple[tuple[str, ...], str | None, tuple[str, ...]]] = {
    "addresses": (
        ("street", "city", "state", "zip", "country", "country_code", "type"),
        None,
        ("street", "city", "state", "zip", "country"),
    ),
    "emails": (("email", "type"), "email", ()),
    "phones": (("phone", "type", "wa_id"), "phone", ("type", "wa_id")),
    "urls": (("url", "type"), "url", ()),
}
_COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def check(body: Any, config: SandboxConfig) -> Content:
    cards = array(body, "contacts", min_items=1, max_items=MAX_CONTACTS)
    shown = [_card(card, f"contacts[{index}]") for index, card in enumerate(cards)]
    return Content("[contacts] " + "; ".join(shown))


def _card(value: Any, path: str) -> str:
    """Check one card; returns its name and phone numbers, as the inbox shows them."""
    card = obj(value, path, _CARD, required=("name",))
    name = obj(
        card["name"], f"{path}.name", ("formatted_name", *_NAME_PARTS), required=("formatted_name",)
    )
    formatted_name = string(name["formatted_name"], f"{path}.name.formatted_name")
    for part in _NAME_PARTS:
        optional_string(name.get(part), f"{path}.name.{part}")
    items = {key: _list(card, key, path) for key in _LISTS}
    if "org" in card:
        org = obj(card["org"], f"{path}.org", _ORG)
        for part in _ORG:
            optional_string(org.get(part), f"{path}.org.{part}")
    birthday = optional_string(card.get("birthday"), f"{path}.birthday")
    if birthday is not None and not _is_date(birthday):
        raise MetaError(131009, f"{path}.birthday: {birthday!r} is not a date written YYYY-MM-DD")
    phones = [str(phone["phone"]) for phone in items["phones"]]
    return f"{formatted_name} ({', '.join(phones)})" if phones else formatted_name


def _list(card: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    keys, required, free_text = _LISTS[key]
    checked = []
    for index, value in enumerate(array(card.get(key, []), f"{path}.{key}")):
        at = f"{path}.{key}[{index}]"
        item = obj(value, at, keys, required=() if required is None else (required,))
        if required is not None:
            string(item[required], f"{at}.{required}")
        for name in free_text:
            optional_string(item.get(name), f"{at}.{name}")
        if "type" in item and "type" not in free_text:
            choice(item["type"], f"{at}.type", HOME_WORK)
        code = optional_string(item.get("country_code"), f"{at}.country_code")
        if code is not None and not _COUNTRY_CODE.fullmatch(code):
            raise MetaError(131009, f"{at}.country_code: {code!r} is not a two-letter ISO code")
        checked.append(item)
    return checked


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:  # 2023-02-30
        return False
    return True
