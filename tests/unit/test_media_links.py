"""Signed links to inbound media: absolute on the public base URL, expiring, bound to the media
id and the app's secret; inbound events carry them."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from wanode.config import Settings
from wanode.events import InboundMessage, parse_webhook
from wanode.notify.events import inbound_event
from wanode.notify.media_links import MediaLinks, media_links, token, valid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
SECRET = "an app secret"
SENT_AT = 1_767_225_600.0
LINKS = MediaLinks(base_url="https://wanode.example.org", ttl=3600)


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    [expires], [given] = query["expires"], query["token"]
    return f"{split.scheme}://{split.netloc}{split.path}", expires, given


def test_a_link_is_absolute_and_valid_until_it_expires() -> None:
    url = LINKS.url("1003383421387256", secret=SECRET, sent_at=SENT_AT)
    base, expires, given = parts(url)
    assert base == "https://wanode.example.org/v1/media/1003383421387256"
    assert expires == str(int(SENT_AT + 3600))
    assert valid("1003383421387256", expires, given, SECRET, now=SENT_AT)
    assert valid("1003383421387256", expires, given, SECRET, now=SENT_AT + 3600)
    assert not valid("1003383421387256", expires, given, SECRET, now=SENT_AT + 3601)
    # The same message always gives the same link: an event's body does not change on retry.
    assert LINKS.url("1003383421387256", secret=SECRET, sent_at=SENT_AT) == url


@pytest.mark.parametrize(
    ("media_id", "expires", "secret"),
    [
        ("1003383421387257", None, SECRET),  # another media id
        ("1003383421387256", str(int(SENT_AT + 7200)), SECRET),  # a later expiry
        ("1003383421387256", None, "another app's secret"),
        ("1003383421387256", "", SECRET),
        ("1003383421387256", "\uff11\uff12", SECRET),  # digits, but not ASCII ones
        ("1003383421387256", "9" * 5000, SECRET),
    ],
)
def test_a_token_is_bound_to_its_media_expiry_and_app(
    media_id: str, expires: str | None, secret: str
) -> None:
    _, signed_expiry, given = parts(LINKS.url("1003383421387256", secret=SECRET, sent_at=SENT_AT))
    assert not valid(
        media_id, signed_expiry if expires is None else expires, given, secret, now=SENT_AT
    )


def test_tokens_are_url_safe_and_compare_any_text() -> None:
    value = token("1", 2, SECRET)
    assert value.replace("-", "").replace("_", "").isalnum() and len(value) == 43
    assert not valid("1", "2", "é\udcff", SECRET, now=0)


def test_the_base_is_the_public_url_or_host_and_port() -> None:
    assert media_links(Settings(public_url="https://hooks.example.org/")).base_url == (
        "https://hooks.example.org"
    )
    local = media_links(Settings(host="127.0.0.1", port=9000, media_link_ttl=60))
    assert (local.base_url, local.ttl) == ("http://127.0.0.1:9000", 60)


def test_an_events_attachment_carries_the_link() -> None:
    body = json.loads((FIXTURES / "image.json").read_text())
    [message] = parse_webhook(body)
    assert isinstance(message, InboundMessage)
    sent_at = message.timestamp.timestamp()
    media_url = functools.partial(LINKS.url, secret=SECRET, sent_at=sent_at)
    event = inbound_event(message, app_id="a_1", media_url=media_url)
    [attachment] = json.loads(event["attachments"])
    base, expires, given = parts(attachment["url"])
    assert base == "https://wanode.example.org/v1/media/1003383421387256"
    assert valid("1003383421387256", expires, given, SECRET, now=sent_at + 60)
