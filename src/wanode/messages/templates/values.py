"""The values a send gives a template's variables, each checked when built.

Text variables (header and body) take a plain string, a `Currency` or a `DateTime`; a media
header takes an `Image`, `Video` or `Document` and a location header a `Location` (the session
message types, reused); buttons take a `UrlSuffix`, the `QuickReply` payloads, an `Otp` or a
`CouponCode`. Paths in errors are relative to the value (`code`, `amount_1000`...).

Localised fallbacks: Cloud API always shows a currency's or date-time's `fallback_value`
(cloud-api.md §2). When the caller gives none, wanode writes one with Babel in the template's
language (`en_US` -> the en_US locale; a language Babel does not know falls back to `en`):
- currency: `format_currency(amount_1000 / 1000, code)`, e.g. `$1,234.50`, `1.234,50 €`;
- date_time: the Unix timestamp as a UTC date and time in the locale's medium format, e.g.
  `Nov 14, 2023, 10:13:20 PM`, `14.11.2023, 22:13:20`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency, is_currency

from wanode.messages._fields import optional_text, text
from wanode.messages.errors import InvalidMessage
from wanode.messages.location import Location
from wanode.messages.media import Document, Image, Video
from wanode.messages.templates.failures import Failure, code_for

MAX_CODE = 15  # OTP and coupon codes (webex-connect.md §1.4, cloud-api.md §3.1)
INT32 = range(-(2**31), 2**31)  # Meta's OpenAPI types amount_1000 as int32
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z

_FALLBACK_LOCALE = "en"


@dataclass(frozen=True)
class Currency:
    """An amount in an ISO 4217 currency, `amount_1000` being the amount times 1000."""

    code: str
    amount_1000: int
    fallback_value: str | None = None

    def __post_init__(self) -> None:
        mismatch = code_for(Failure.FORMAT_MISMATCH)
        currency = text("code", self.code)
        if not (len(currency) == 3 and currency.isascii() and currency.isupper()):
            raise InvalidMessage("code", "must be an ISO 4217 code such as USD", code=mismatch)
        if not is_currency(currency):
            raise InvalidMessage("code", f"{currency} is not an ISO 4217 currency", code=mismatch)
        amount = self.amount_1000
        if isinstance(amount, bool) or not isinstance(amount, int) or amount not in INT32:
            raise InvalidMessage(
                "amount_1000", "must be a whole number (the amount times 1000)", code=mismatch
            )
        optional_text("fallback_value", self.fallback_value)

    def display(self, language: str) -> str:
        if self.fallback_value is not None:
            return self.fallback_value
        amount = Decimal(self.amount_1000) / 1000
        return str(format_currency(amount, self.code, locale=locale(language)))


@dataclass(frozen=True)
class DateTime:
    """A moment: Unix seconds (the Messaging API's `timestamp`), or only the text to show.

    WhatsApp shows the `fallback_value` alone; a Cloud API send gives only that, so the
    timestamp is optional when a fallback is given.
    """

    timestamp: int | None = None
    fallback_value: str | None = None

    def __post_init__(self) -> None:
        stamp = self.timestamp
        if stamp is None:
            text("fallback_value", self.fallback_value)
            return
        if isinstance(stamp, bool) or not isinstance(stamp, int) or not 0 <= stamp <= MAX_TIMESTAMP:
            raise InvalidMessage(
                "timestamp",
                "must be Unix seconds (a whole number from 0)",
                code=code_for(Failure.FORMAT_MISMATCH),
            )
        optional_text("fallback_value", self.fallback_value)

    def display(self, language: str) -> str:
        if self.fallback_value is not None or self.timestamp is None:
            return str(self.fallback_value)
        moment = datetime.fromtimestamp(self.timestamp, UTC)
        return str(format_datetime(moment, format="medium", tzinfo=UTC, locale=locale(language)))


@dataclass(frozen=True)
class UrlSuffix:
    """What a dynamic URL button's `{{1}}` becomes."""

    text: str

    def __post_init__(self) -> None:
        suffix = text("text", self.text)
        if any(c.isspace() or not c.isprintable() for c in suffix):
            raise InvalidMessage(
                "text",
                "must not contain spaces or control characters: it ends a URL",
                code=code_for(Failure.INVALID_URL),
            )


@dataclass(frozen=True)
class QuickReply:
    """The payload a quick-reply tap sends back; `button_text`, if given, names the button."""

    payload: str
    button_text: str | None = None

    def __post_init__(self) -> None:
        text("payload", self.payload)
        optional_text("button_text", self.button_text)


@dataclass(frozen=True)
class Otp:
    """An authentication template's one-time code: at most 15 characters, no spaces."""

    code: str

    def __post_init__(self) -> None:
        _code("code", self.code)


@dataclass(frozen=True)
class CouponCode:
    """The code a marketing template's copy-code button copies: at most 15 characters."""

    code: str

    def __post_init__(self) -> None:
        _code("code", self.code)


def _code(field: str, value: object) -> None:
    given = text(field, value)
    if len(given) > MAX_CODE:
        raise InvalidMessage(
            field,
            f"is {len(given)} characters; at most {MAX_CODE} are allowed",
            code=code_for(Failure.PARAM_TOO_LONG),
        )
    if any(c.isspace() or not c.isprintable() for c in given):
        raise InvalidMessage(
            field, "must not contain spaces", code=code_for(Failure.FORMAT_MISMATCH)
        )


TextValue = str | Currency | DateTime
HeaderMedia = Image | Video | Document
Parameter = (
    TextValue | HeaderMedia | Location | UrlSuffix | tuple[QuickReply, ...] | Otp | CouponCode
)


def display(value: TextValue, language: str) -> str:
    """How a text variable's value reads in the delivered message."""
    return value if isinstance(value, str) else value.display(language)


def locale(language: str) -> Locale:
    """The Babel locale of a template language (`en_US`, `pt_BR`, `zh_CN`...), `en` if unknown."""
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(_FALLBACK_LOCALE)
