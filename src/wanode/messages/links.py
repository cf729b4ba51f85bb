"""Link shortening and click tracking (the Messaging API's `options`, webex-connect.md §1.2).

`parse_options` reads the request's `options` object; `shorten` replaces the URLs of one
message with short links, each with its own code, and gives the links to store. Pure: the code
generator is passed in, and the short links' base URL is chosen by the caller from the domains
the operator allows (`short_link_base`).

What is rewritten:

- a text message's body: every `http://` or `https://` URL in it (trailing punctuation such as
  a full stop or a closing bracket is left out of the URL);
- a template's dynamic URL button whose URL, in the approved template, is the short-link base
  itself (`<domain>/l/{{1}}`): its parameter is then the target URL, and the code takes its
  place. Other URL buttons open the template's own site and are left alone.

The message's limits are checked again once its URLs are replaced. When a rewritten message
breaks one, `allowFallbackURL` sends the original message (its URLs as given, not tracked);
without it the request is refused.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from wanode.codes import SYNC
from wanode.messages.errors import InvalidMessage
from wanode.messages.templates import TemplateMessage
from wanode.messages.templates.components import Buttons, UrlButton
from wanode.messages.templates.message import SlotKind, slots
from wanode.messages.templates.values import UrlSuffix
from wanode.messages.text import Text

M = TypeVar("M")

# Where wanode serves its short links, under the chosen domain.
PATH: Final = "/l/"
# Short links live this long (webex-connect.md §1.2).
LIFETIME_SECONDS: Final = 180 * 24 * 3600
MAX_TAG = 256
# A code's length (72 random bits, URL-safe; engine/clicks.py makes them).
CODE_LENGTH: Final = 12

_OPTION_KEYS: Final = (
    "trackClicks",
    "shortenLinks",
    "domain",
    "tag1",
    "tag2",
    "allowFallbackURL",
)
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
# Left out of a URL's end: what a sentence puts after a link more often than a link ends with.
_TRAILING = ".,;:!?)]}*_~'\""


@dataclass(frozen=True)
class LinkOptions:
    """The request's `options`; `base` is the short links' base URL for its `domain`."""

    base: str
    track_clicks: bool = False
    shorten_links: bool = False
    tag1: str | None = None
    tag2: str | None = None
    allow_fallback: bool = False

    @property
    def active(self) -> bool:
        """Whether URLs are replaced: either flag turns short links on."""
        return self.track_clicks or self.shorten_links


@dataclass(frozen=True)
class ShortLink:
    """One URL of one message, behind `code`."""

    code: str
    url: str


def short_url(base: str, code: str) -> str:
    return f"{base}{PATH}{code}"


def normalise_base(value: str) -> str:
    """A domain as configured or requested: `host`, or a base URL; `https://` unless given."""
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    # Scheme and host are case-insensitive; a path (behind a proxy) is kept as written.
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"


def short_link_base(domain: str, allowed: Sequence[str]) -> str | None:
    """The allowed base URL `domain` names (the base itself, or its host), or None."""
    wanted = normalise_base(domain)
    host = urlsplit(wanted).netloc.lower()
    given_scheme = "://" in domain
    for base in allowed:
        if wanted == base or (not given_scheme and urlsplit(base).netloc.lower() == host):
            return base
    return None


def parse_options(value: Any, *, allowed: Sequence[str]) -> LinkOptions:
    """The `options` object, its domain checked against the `allowed` base URLs; field paths
    are relative to `options`."""
    if not isinstance(value, dict):
        raise InvalidMessage("", "must be an object")
    unknown = sorted(set(value) - set(_OPTION_KEYS))
    if unknown:
        raise InvalidMessage(unknown[0], f"is not an option; one of {', '.join(_OPTION_KEYS)}")
    domain = value.get("domain")
    if domain is None:
        raise InvalidMessage(
            "domain", "is mandatory when options is present", code=SYNC.MANDATORY_MISSING
        )
    if not isinstance(domain, str) or not domain.strip() or any(c.isspace() for c in domain):
        raise InvalidMessage("domain", "must be a domain name or a base URL")
    base = short_link_base(domain, allowed)
    if base is None:
        raise InvalidMessage(
            "domain",
            f"{domain!r} is not a short-link domain of this service "
            "(WANODE_SHORT_LINK_DOMAINS, or WANODE_PUBLIC_URL)",
        )
    flags = {}
    for key in ("trackClicks", "shortenLinks", "allowFallbackURL"):
        flag = value.get(key, False)
        if not isinstance(flag, bool):
            raise InvalidMessage(key, "must be true or false")
        flags[key] = flag
    tags = {}
    for key in ("tag1", "tag2"):
        tag = value.get(key)
        if tag is not None and (not isinstance(tag, str) or len(tag) > MAX_TAG):
            raise InvalidMessage(key, f"must be a string of at most {MAX_TAG} characters")
        tags[key] = tag or None
    return LinkOptions(
        base=base,
        track_clicks=flags["trackClicks"],
        shorten_links=flags["shortenLinks"],
        tag1=tags["tag1"],
        tag2=tags["tag2"],
        allow_fallback=flags["allowFallbackURL"],
    )


def find_urls(text: str) -> list[tuple[int, int]]:
    """The (start, end) of every http(s) URL in `text`."""
    found = []
    for match in _URL.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        if end - start > len("https://"):
            found.append((start, end))
    return found


def shorten(
    message: M, options: LinkOptions, new_code: Callable[[], str]
) -> tuple[M, list[ShortLink]]:
    """`message` with its URLs replaced by short links, and those links (none: unchanged).

    A rewritten message that breaks a limit raises its `InvalidMessage`, unless the options
    allow the fallback: then the message goes unchanged, with no short link.
    """
    if not options.active:
        return message, []
    try:
        if isinstance(message, Text):
            return _text(message, options, new_code)  # type: ignore[return-value]
        if isinstance(message, TemplateMessage):
            return _template(message, options, new_code)  # type: ignore[return-value]
    except InvalidMessage:
        if options.allow_fallback:
            return message, []
        raise
    return message, []


def check(message: M, options: LinkOptions) -> M:
    """The message as `shorten` would send it, codes aside: raises what `shorten` raises, so
    a request is refused before anything is queued."""
    return shorten(message, options, lambda: "x" * CODE_LENGTH)[0]


def _text(
    message: Text, options: LinkOptions, new_code: Callable[[], str]
) -> tuple[Text, list[ShortLink]]:
    body = message.body
    spans = find_urls(body)
    if not spans:
        return message, []
    links: list[ShortLink] = []
    parts: list[str] = []
    last = 0
    for start, end in spans:
        link = ShortLink(new_code(), body[start:end])
        links.append(link)
        parts.extend((body[last:start], short_url(options.base, link.code)))
        last = end
    parts.append(body[last:])
    try:
        return dataclasses.replace(message, body="".join(parts)), links
    except InvalidMessage as exc:
        raise InvalidMessage(
            "text.body", f"{exc.reason} once its links are shortened", code=exc.code
        ) from exc


def _template(
    message: TemplateMessage, options: LinkOptions, new_code: Callable[[], str]
) -> tuple[TemplateMessage, list[ShortLink]]:
    definition = message.definition
    found = definition.find(Buttons)
    if found is None:
        return message, []
    buttons = found[1].buttons
    prefix = short_url(options.base, "")
    parameters = dict(message.parameters)
    links: list[ShortLink] = []
    for slot in slots(definition):
        if slot.kind is not SlotKind.URL:
            continue
        button = buttons[slot.buttons[0]]
        value = parameters[slot.name]
        if not (
            isinstance(button, UrlButton)
            and button.url == prefix + "{{1}}"
            and isinstance(value, UrlSuffix)
            and find_urls(value.text) == [(0, len(value.text))]
        ):
            continue
        link = ShortLink(new_code(), value.text)
        links.append(link)
        parameters[slot.name] = UrlSuffix(link.code)
    if not links:
        return message, []
    return dataclasses.replace(message, parameters=parameters), links
