"""Link shortening, pure: `options` parsing, URLs found in text, messages rewritten."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from wanode.codes.webex import DELIVERED
from wanode.messages import InvalidMessage, TemplateDefinition, TemplateMessage, Text
from wanode.messages.links import (
    CODE_LENGTH,
    LinkOptions,
    check,
    find_urls,
    normalise_base,
    parse_options,
    short_link_base,
    shorten,
)
from wanode.messages.templates.values import UrlSuffix
from wanode.notify.clicks import Click, click_report, report_id
from wanode.notify.payload import delivery_report

ALLOWED = [normalise_base("go.example.test"), normalise_base("http://local.test:8080/")]
TRACK = LinkOptions(base="https://go.example.test", track_clicks=True)


def codes() -> Any:
    counter = itertools.count(1)
    return lambda: f"code{next(counter):08d}"


def urls(text: str) -> list[str]:
    return [text[start:end] for start, end in find_urls(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("no links here", []),
        ("see https://a.example/x.", ["https://a.example/x"]),
        (
            "(https://a.example/x) and http://b.example/?q=1&r=2!",
            [
                "https://a.example/x",
                "http://b.example/?q=1&r=2",
            ],
        ),
        ("HTTPS://A.example/Path, then", ["HTTPS://A.example/Path"]),
        ("only a scheme: https:// here", []),
        ("<https://a.example/x>", ["https://a.example/x"]),
        ("*https://a.example/bold*", ["https://a.example/bold"]),
        ("ftp://a.example/ is not followed", []),
    ],
)
def test_urls_found_in_text(text: str, found: list[str]) -> None:
    assert urls(text) == found


def test_normalised_bases() -> None:
    assert ALLOWED == ["https://go.example.test", "http://local.test:8080"]
    assert normalise_base(" HTTPS://Proxy.example/Go/ ") == "https://proxy.example/Go"


@pytest.mark.parametrize(
    ("domain", "base"),
    [
        ("go.example.test", "https://go.example.test"),
        ("GO.example.test", "https://go.example.test"),
        ("https://go.example.test/", "https://go.example.test"),
        ("http://go.example.test", None),  # a scheme given must match
        ("HTTPS://Go.Example.Test", "https://go.example.test"),
        ("local.test:8080", "http://local.test:8080"),
        ("http://local.test:8080", "http://local.test:8080"),
        ("evil.example", None),
        ("go.example.test.evil.example", None),
    ],
)
def test_the_domain_must_be_an_allowed_one(domain: str, base: str | None) -> None:
    assert short_link_base(domain, ALLOWED) == base


@pytest.mark.parametrize(
    ("options", "code", "field"),
    [
        ("yes", "7004", ""),
        ({"trackClicks": True}, "7003", "domain"),
        ({"domain": ""}, "7004", "domain"),
        ({"domain": 42}, "7004", "domain"),
        ({"domain": "evil.example"}, "7004", "domain"),
        ({"domain": "go.example.test", "trackClicks": 1}, "7004", "trackClicks"),
        ({"domain": "go.example.test", "allowFallbackURL": "true"}, "7004", "allowFallbackURL"),
        ({"domain": "go.example.test", "tag1": 5}, "7004", "tag1"),
        ({"domain": "go.example.test", "tag2": "x" * 257}, "7004", "tag2"),
        ({"domain": "go.example.test", "track": True}, "7004", "track"),
    ],
)
def test_bad_options_are_refused_with_their_field(options: Any, code: str, field: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_options(options, allowed=ALLOWED)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_options_parsed() -> None:
    options = parse_options(
        {
            "domain": "go.example.test",
            "shortenLinks": True,
            "tag1": "spring",
            "tag2": "",
            "allowFallbackURL": True,
        },
        allowed=ALLOWED,
    )
    assert options == LinkOptions(
        base="https://go.example.test",
        shorten_links=True,
        tag1="spring",
        tag2=None,
        allow_fallback=True,
    )
    assert options.active
    assert not parse_options({"domain": "go.example.test"}, allowed=ALLOWED).active


def test_a_text_gets_a_short_link_per_url() -> None:
    message = Text("A https://a.example/1, B https://b.example/2 and A https://a.example/1.")
    sent, links = shorten(message, TRACK, codes())
    assert sent.body == (
        "A https://go.example.test/l/code00000001, B https://go.example.test/l/code00000002 "
        "and A https://go.example.test/l/code00000003."
    )
    assert [(link.code, link.url) for link in links] == [
        ("code00000001", "https://a.example/1"),
        ("code00000002", "https://b.example/2"),
        ("code00000003", "https://a.example/1"),
    ]
    assert len(links[0].code) == CODE_LENGTH


def test_nothing_changes_without_a_flag_or_a_url() -> None:
    message = Text("see https://a.example/")
    assert shorten(message, LinkOptions(base=TRACK.base), codes()) == (message, [])
    plain = Text("no link")
    assert shorten(plain, TRACK, codes()) == (plain, [])


def test_limits_are_checked_after_rewriting() -> None:
    # 4000 characters and three 20-character URLs: 4063; with 41-character short links, 4126.
    message = Text("x" * 4000 + " https://a.example/01 https://b.example/02 https://c.example/03")
    assert len(message.body) <= 4096
    with pytest.raises(InvalidMessage) as caught:
        check(message, TRACK)
    assert caught.value.field == "text.body"
    assert "shortened" in caught.value.reason
    fallback = LinkOptions(base=TRACK.base, track_clicks=True, allow_fallback=True)
    assert shorten(message, fallback, codes()) == (message, [])


def _template(url: str) -> TemplateDefinition:
    return TemplateDefinition.from_graph(
        {
            "id": "1689556908129832",
            "name": "sale",
            "language": "en_US",
            "category": "MARKETING",
            "parameter_format": "POSITIONAL",
            "status": "APPROVED",
            "components": [
                {"type": "BODY", "text": "Sale on"},
                {
                    "type": "BUTTONS",
                    "buttons": [{"type": "URL", "text": "Shop", "url": url, "example": ["x"]}],
                },
            ],
        }
    )


def test_a_url_button_on_the_short_link_base_gets_a_code() -> None:
    message = TemplateMessage(
        _template("https://go.example.test/l/{{1}}"),
        {"url_0": UrlSuffix("https://shop.example/p?id=1")},
    )
    sent, links = shorten(message, TRACK, codes())
    assert sent.parameters["url_0"] == UrlSuffix("code00000001")
    assert [(link.code, link.url) for link in links] == [
        ("code00000001", "https://shop.example/p?id=1")
    ]


@pytest.mark.parametrize(
    ("url", "value"),
    [
        ("https://shop.example/orders/{{1}}", "42"),  # another site's button
        ("https://go.example.test/l/{{1}}", "AbCdEfGhIjKl"),  # a code already, not a URL
    ],
)
def test_other_url_buttons_are_left_alone(url: str, value: str) -> None:
    message = TemplateMessage(_template(url), {"url_0": UrlSuffix(value)})
    assert shorten(message, TRACK, codes()) == (message, [])


def test_the_clicked_report_is_a_dr_with_the_clicks_fields() -> None:
    message = {
        "transid": "t-1",
        "app_id": "a_1",
        "wa_id": "4915112345678",
        "destination": "+4915112345678",
        "destination_type": "waid",
        "correlationid": "c-1",
        "callback_data": None,
    }
    click = Click("clk_1", "code00000001", "t-1", True, "https://a.example/", "s", "x", None, 0.0)
    report = click_report(click, message)["deliveryInfoNotification"]
    sample = delivery_report(
        transid="t-1",
        waid=message["wa_id"],
        destination=message["destination"],
        dr=DELIVERED,
        identity_key_hash=None,
        correlationid="c-1",
        callback_data=None,
        occurred_at=datetime.fromtimestamp(0.0, UTC),
    )["deliveryInfoNotification"]
    assert list(report) == list(sample)
    info, dr_info = report["deliveryInfo"], sample["deliveryInfo"]
    assert list(info)[: len(dr_info)] == list(dr_info)
    assert info["timeStamp"] == dr_info["timeStamp"]
    assert (info["deliveryStatus"], info["Description"], info["code"]) == ("Clicked", "Clicked", "")
    assert (info["url"], info["shortUrl"], info["tag1"], info["tag2"]) == (
        "https://a.example/",
        "s",
        "x",
        "",
    )
    assert (report["correlationid"], report["callbackData"]) == ("c-1", "")
    queued = {"transid": "t-1", "status": "clicked", "body": {"deliveryInfoNotification": report}}
    assert report_id(queued) == "t-1:clicked:clk_1"
    assert report_id({"transid": "t-1", "status": "read", "body": {}}) == "t-1:read"
