"""Reading QR codes back in tests: PNG through zxing-cpp, and segno's SVG rasterised by hand
(no SVG renderer is installed; segno draws every dark run as a 1-unit-wide horizontal line)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image, ImageDraw

SVG_NS = "{http://www.w3.org/2000/svg}"
_COMMAND = re.compile(r"([MmHhVvZz])([^MmHhVvZz]*)")
_SCALE = re.compile(r"scale\(([\d.]+)\)")


def decode_png(data: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def decode_svg(data: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(rasterise_svg(data))]


def rasterise_svg(data: bytes) -> Image.Image:
    root = ET.fromstring(data)
    assert root.tag == f"{SVG_NS}svg", root.tag
    image = Image.new("L", (int(root.attrib["width"]), int(root.attrib["height"])), 255)
    _draw(root, 1.0, ImageDraw.Draw(image))
    return image


def _draw(element: ET.Element, scale: float, draw: ImageDraw.ImageDraw) -> None:
    found = _SCALE.search(element.get("transform", ""))
    scale *= float(found[1]) if found else 1.0
    if element.tag == f"{SVG_NS}path" and element.get("stroke"):
        _lines(element.attrib["d"], scale, draw)
    for child in element:
        _draw(child, scale, draw)


def _lines(path: str, scale: float, draw: ImageDraw.ImageDraw) -> None:
    x = y = 0.0
    for command, args in _COMMAND.findall(path):
        numbers = [float(n) for n in args.replace(",", " ").split()]
        if command in "Mm":
            dx, dy = numbers
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
        elif command in "Hh":
            end = numbers[0] if command == "H" else x + numbers[0]
            box = (
                min(x, end) * scale,
                (y - 0.5) * scale,
                max(x, end) * scale - 1,
                (y + 0.5) * scale - 1,
            )
            draw.rectangle(box, fill=0)
            x = end
        else:
            raise AssertionError(f"unexpected SVG path command {command!r}")
