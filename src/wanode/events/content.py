"""The typed payloads an inbound message can carry, one small value per shape (§4.4)."""

from __future__ import annotations

from dataclasses import dataclass

from wanode.events._node import Node


@dataclass(frozen=True)
class Media:
    """image, audio, video, document or sticker. `voice` is set for audio, `animated` for
    stickers, `filename` for documents; the media itself is fetched later by `id`."""

    id: str
    mime_type: str | None
    sha256: str | None
    caption: str | None
    filename: str | None
    url: str | None
    voice: bool | None
    animated: bool | None


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: str | None
    address: str | None
    url: str | None


@dataclass(frozen=True)
class ButtonReply:
    """A tap on a reply button of an interactive message."""

    id: str
    title: str


@dataclass(frozen=True)
class ListReply:
    """A row picked from an interactive list."""

    id: str
    title: str
    description: str | None


@dataclass(frozen=True)
class Reaction:
    """`emoji` is None when the user removed their reaction (Meta omits the key)."""

    message_id: str
    emoji: str | None


@dataclass(frozen=True)
class OrderItem:
    product_retailer_id: str
    quantity: int
    item_price: float
    currency: str


@dataclass(frozen=True)
class Order:
    catalog_id: str
    text: str
    items: tuple[OrderItem, ...]


@dataclass(frozen=True)
class SystemNotice:
    """A `system` message, e.g. `user_changed_number`; `new_wa_id` is the user's new id."""

    type: str
    body: str
    new_wa_id: str | None


def parse_media(node: Node) -> Media:
    return Media(
        id=node.string("id"),
        mime_type=node.opt_string("mime_type"),
        sha256=node.opt_string("sha256"),
        caption=node.opt_string("caption"),
        filename=node.opt_string("filename"),
        url=node.opt_string("url"),
        voice=node.opt_boolean("voice"),
        animated=node.opt_boolean("animated"),
    )


def parse_location(node: Node) -> Location:
    return Location(
        latitude=node.number("latitude"),
        longitude=node.number("longitude"),
        name=node.opt_string("name"),
        address=node.opt_string("address"),
        url=node.opt_string("url"),
    )


def parse_button_reply(node: Node) -> ButtonReply:
    return ButtonReply(id=node.string("id"), title=node.string("title"))


def parse_list_reply(node: Node) -> ListReply:
    return ListReply(
        id=node.string("id"),
        title=node.string("title"),
        description=node.opt_string("description"),
    )


def parse_reaction(node: Node) -> Reaction:
    return Reaction(message_id=node.string("message_id"), emoji=node.opt_string("emoji"))


def parse_order(node: Node) -> Order:
    return Order(
        catalog_id=node.string("catalog_id"),
        text=node.opt_string("text") or "",
        items=tuple(
            OrderItem(
                product_retailer_id=item.string("product_retailer_id"),
                quantity=item.integer("quantity"),
                item_price=item.number("item_price"),
                currency=item.string("currency"),
            )
            for item in node.objects("product_items")
        ),
    )


def parse_system(node: Node) -> SystemNotice:
    return SystemNotice(
        type=node.string("type"),
        body=node.opt_string("body") or "",
        new_wa_id=node.opt_string("wa_id"),
    )
