"""Entry points, pure: wa.me links (spec §5, cloud-api.md §10) and their QR codes."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from tests.support.qr import SVG_NS, decode_png, decode_svg

from wanode.entry_points import MAX_PREFILLED, MEDIA_TYPES, click_to_chat, deep_link, qr_image

LINK = "https://wa.me/message/4O4YGZEG3RIVE1"


def test_the_spec_example_link() -> None:
    text = "I'm interested in your car for sale"

    link = click_to_chat("15551234567", text)

    assert link == "https://wa.me/15551234567?text=I'm%20interested%20in%20your%20car%20for%20sale"


@pytest.mark.parametrize(
    "number", ["+1 555 123 4567", "+1 (555) 123-4567", "15551234567", "1-555-123-4567"]
)
def test_the_number_is_written_as_digits_only(number: str) -> None:
    assert click_to_chat(number) == "https://wa.me/15551234567"


def test_a_number_without_digits_is_refused() -> None:
    with pytest.raises(ValueError):
        click_to_chat("+")


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("a&b=c", "a%26b%3Dc"),
        ("1+1 #2?", "1%2B1%20%232%3F"),
        ("line\nbreak", "line%0Abreak"),
        ("Olá 👋", "Ol%C3%A1%20%F0%9F%91%8B"),
        ("100% (sure)!", "100%25%20(sure)!"),
    ],
)
def test_text_is_url_encoded(text: str, query: str) -> None:
    assert click_to_chat("4915112345678", text) == f"https://wa.me/4915112345678?text={query}"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=MAX_PREFILLED))
def test_any_text_reads_back_from_the_link(text: str) -> None:
    parts = urlsplit(click_to_chat("4915112345678", text))

    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/4915112345678")
    assert parse_qs(parts.query, keep_blank_values=True)["text"] == [text]


def test_deep_link() -> None:
    assert deep_link("4O4YGZEG3RIVE1") == LINK


def test_png_decodes_back_to_the_link() -> None:
    image = qr_image(LINK, "png")

    assert decode_png(image) == [LINK]
    opened = Image.open(io.BytesIO(image))
    assert opened.format == "PNG"
    # 10 pixels a module, a 4-module quiet zone on each side.
    size = segno.make(LINK, error="m").symbol_size(scale=10, border=4)
    assert opened.size == size


def test_svg_is_svg_and_decodes_back_to_the_link() -> None:
    image = qr_image(LINK, "svg")

    root = ET.fromstring(image)
    assert root.tag == f"{SVG_NS}svg"
    size = segno.make(LINK, error="m").symbol_size(scale=10, border=4)
    assert (int(root.attrib["width"]), int(root.attrib["height"])) == size
    assert image.startswith(b"<?xml")
    assert decode_svg(image) == [LINK]


@pytest.mark.parametrize("kind", ["png", "svg"])
@pytest.mark.parametrize(("scale", "border"), [(1, 0), (4, 2), (25, 8)])
def test_scale_and_border(kind: str, scale: int, border: int) -> None:
    image = qr_image(LINK, kind, scale=scale, border=border)

    expected = segno.make(LINK, error="m").symbol_size(scale=scale, border=border)
    if kind == "png":
        assert Image.open(io.BytesIO(image)).size == expected
        if scale > 1:
            assert decode_png(image) == [LINK]
    else:
        root = ET.fromstring(image)
        assert (int(root.attrib["width"]), int(root.attrib["height"])) == expected
        assert decode_svg(image) == [LINK]


def test_a_long_plain_link_still_decodes() -> None:
    link = click_to_chat("4915112345678", "é" * MAX_PREFILLED)

    assert decode_png(qr_image(link, "png")) == [link]
    assert decode_svg(qr_image(link, "svg")) == [link]


def test_unknown_kind() -> None:
    assert set(MEDIA_TYPES) == {"png", "svg"}
    with pytest.raises(ValueError):
        qr_image(LINK, "gif")
