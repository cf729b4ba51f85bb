"""Contacts messages: one or more contact cards.

At most `MAX_CONTACTS` (5) cards per message. cloud-api.md records a CONFLICT: Meta's OpenAPI
document allows 1..5, its docs up to 257 (advising fewer). The spec is silent, so we take the
stricter figure: a message of ours is then valid under both readings of Meta's rules.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from datetime import date
from functools import partial
from typing import Any, ClassVar

from wanode.codes import SYNC
from wanode.messages._fields import (
    at,
    choice,
    each,
    http_url,
    items,
    no_punctuation,
    obj,
    optional_text,
    text,
)
from wanode.messages.envelope import Message
from wanode.messages.errors import InvalidMessage

MAX_CONTACTS = 5
HOME_WORK = ("HOME", "WORK")
PHONE_TYPES = ("CELL", "MAIN", "IPHONE", "HOME", "WORK")

_COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _present(part: Any) -> dict[str, Any]:
    """The set fields of a flat card part; its field names are the Cloud API's."""
    values = {f.name: getattr(part, f.name) for f in fields(part)}
    return {name: value for name, value in values.items() if value is not None}


def _part(part_type: type[Any], value: Any) -> Any:
    """Parse a flat card part: keys are its field names, those without a default mandatory."""
    names = [f.name for f in fields(part_type)]
    required = [f.name for f in fields(part_type) if f.default is MISSING]
    return part_type(**obj(value, names, required=required))


@dataclass(frozen=True)
class Name:
    """`formatted_name` plus at least one name part, as Meta requires."""

    formatted_name: str
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None

    def __post_init__(self) -> None:
        text("formatted_name", self.formatted_name)
        parts = ("first_name", "last_name", "middle_name", "suffix", "prefix")
        for part in parts:
            optional_text(part, getattr(self, part))
        no_punctuation("prefix", self.prefix)
        no_punctuation("suffix", self.suffix)
        if all(getattr(self, part) is None for part in parts):
            raise InvalidMessage(
                "",
                f"needs one of {', '.join(parts)} besides formatted_name",
                code=SYNC.MANDATORY_MISSING,
            )


@dataclass(frozen=True)
class Address:
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2
    type: str | None = None

    def __post_init__(self) -> None:
        for part in ("street", "city", "state", "zip", "country", "country_code"):
            optional_text(part, getattr(self, part))
        if self.country_code is not None and not _COUNTRY_CODE.fullmatch(self.country_code):
            raise InvalidMessage("country_code", "must be a two-letter ISO country code")
        choice("type", self.type, HOME_WORK)


@dataclass(frozen=True)
class Email:
    email: str
    type: str | None = None

    def __post_init__(self) -> None:
        if not _EMAIL.fullmatch(text("email", self.email)):
            raise InvalidMessage("email", "must be an email address")
        choice("type", self.type, HOME_WORK)


@dataclass(frozen=True)
class Phone:
    phone: str
    type: str | None = None
    wa_id: str | None = None  # without it WhatsApp offers "Invite" instead of "Message"

    def __post_init__(self) -> None:
        text("phone", self.phone)
        choice("type", self.type, PHONE_TYPES)
        optional_text("wa_id", self.wa_id)


@dataclass(frozen=True)
class Url:
    url: str
    type: str | None = None

    def __post_init__(self) -> None:
        http_url("url", self.url)
        choice("type", self.type, HOME_WORK)


@dataclass(frozen=True)
class Org:
    company: str | None = None
    department: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        for part in ("company", "department", "title"):
            optional_text(part, getattr(self, part))


_LISTS: dict[str, type[Address | Email | Phone | Url]] = {
    "addresses": Address,
    "emails": Email,
    "phones": Phone,
    "urls": Url,
}


@dataclass(frozen=True)
class Contact:
    name: Name
    addresses: tuple[Address, ...] = ()
    birthday: str | None = None  # YYYY-MM-DD
    emails: tuple[Email, ...] = ()
    org: Org | None = None
    phones: tuple[Phone, ...] = ()
    urls: tuple[Url, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, Name):
            raise InvalidMessage("name", "must be a Name")
        if self.org is not None and not isinstance(self.org, Org):
            raise InvalidMessage("org", "must be an Org")
        for name, part_type in _LISTS.items():
            object.__setattr__(self, name, items(name, getattr(self, name), part_type))
        birthday = optional_text("birthday", self.birthday)
        if birthday is not None:
            _check_date("birthday", birthday)

    def render(self) -> dict[str, Any]:
        card: dict[str, Any] = {"name": _present(self.name)}
        for name in _LISTS:
            if getattr(self, name):
                card[name] = [_present(part) for part in getattr(self, name)]
        if self.birthday is not None:
            card["birthday"] = self.birthday
        if self.org is not None:
            card["org"] = _present(self.org)
        return card

    @classmethod
    def from_json(cls, value: Any) -> Contact:
        data = obj(value, ("name", *_LISTS, "birthday", "org"), required=("name",))
        with at("name"):
            name = _part(Name, data["name"])
        parts: dict[str, Any] = {}
        for key, part_type in _LISTS.items():
            with at(key):
                parts[key] = each(data.get(key, []), partial(_part, part_type))
        if "org" in data:
            with at("org"):
                parts["org"] = _part(Org, data["org"])
        return cls(name=name, birthday=data.get("birthday"), **parts)


def _check_date(field: str, value: str) -> None:
    try:
        if _DATE.fullmatch(value):
            date.fromisoformat(value)
            return
    except ValueError:
        pass
    raise InvalidMessage(field, "must be a real date written YYYY-MM-DD")


@dataclass(frozen=True)
class Contacts(Message):
    contacts: tuple[Contact, ...]

    kind: ClassVar[str] = "contacts"

    def __post_init__(self) -> None:
        cards = items("", self.contacts, Contact)
        if not cards:
            raise InvalidMessage(
                "", "at least one contact is mandatory", code=SYNC.MANDATORY_MISSING
            )
        if len(cards) > MAX_CONTACTS:
            raise InvalidMessage(
                "", f"has {len(cards)} contacts; at most {MAX_CONTACTS} are allowed"
            )
        object.__setattr__(self, "contacts", cards)

    def content(self) -> dict[str, Any]:
        return {"type": "contacts", "contacts": [card.render() for card in self.contacts]}

    @classmethod
    def from_json(cls, value: Any) -> Contacts:
        return cls(each(value, Contact.from_json))
