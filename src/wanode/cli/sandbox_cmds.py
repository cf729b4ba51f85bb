"""`wanode handset ...`: act as a simulated customer on a running sandbox, through its control
panel (`/handsets/...`). Each command is one HTTP call; the sandbox does all the checking, so
the errors shown are its own.

`--number` (the business phone-number-id) may be left out when the sandbox has exactly one
number provisioned.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://127.0.0.1:8080/sandbox"

handset = typer.Typer(no_args_is_help=True, help="Act as a customer's handset on a running sandbox")
out = Console()
err = Console(stderr=True)

SandboxUrl = Annotated[
    str, typer.Option("--sandbox-url", help="Base URL of the sandbox's control panel")
]
Number = Annotated[
    str | None,
    typer.Option("--number", help="Business phone-number-id (default: the only one provisioned)"),
]
ReplyTo = Annotated[str | None, typer.Option(help="wamid of a business message to quote")]
WaId = Annotated[str, typer.Argument(help="The handset's WhatsApp id (phone number)")]
MessageId = Annotated[str, typer.Argument(help="wamid of the business message")]


@handset.command("send-text")
def send_text(
    wa_id: WaId,
    text: Annotated[str, typer.Argument()],
    number: Number = None,
    reply_to: ReplyTo = None,
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Send a text message to the business."""
    with _client(sandbox_url) as client:
        body = {"phone_number_id": _number(client, number), "text": text, "reply_to": reply_to}
        _show(_call(client, "POST", f"/handsets/{wa_id}/send", _present(body)))


@handset.command("send-media")
def send_media(
    wa_id: WaId,
    file: Annotated[Path | None, typer.Option(help="A file to send", exists=True)] = None,
    sample: Annotated[
        str | None, typer.Option(help="A sample of the sandbox's: photo.jpg, voice.ogg, ...")
    ] = None,
    mime_type: Annotated[
        str | None, typer.Option(help="The file's type (default: guessed)")
    ] = None,
    caption: Annotated[str | None, typer.Option()] = None,
    filename: Annotated[str | None, typer.Option(help="A document's file name")] = None,
    voice: Annotated[bool, typer.Option(help="Send audio as a voice note")] = False,
    number: Number = None,
    reply_to: ReplyTo = None,
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Send an image, audio, video, document or sticker: a file, or one of the samples."""
    if (file is None) == (sample is None):
        raise typer.BadParameter("give --file or --sample, one of the two")
    body: dict[str, Any] = {"sample": sample, "caption": caption, "filename": filename}
    if file is not None:
        body["data"] = base64.b64encode(file.read_bytes()).decode()
        body["filename"] = filename or file.name
        body["mime_type"] = mime_type or mimetypes.guess_type(file.name)[0]
        if body["mime_type"] is None:
            raise typer.BadParameter("cannot guess the file's type; give --mime-type")
    if voice:
        body["voice"] = True
    with _client(sandbox_url) as client:
        body.update(phone_number_id=_number(client, number), reply_to=reply_to)
        _show(_call(client, "POST", f"/handsets/{wa_id}/send-media", _present(body)))


@handset.command("send-location")
def send_location(
    wa_id: WaId,
    latitude: Annotated[float, typer.Argument()],
    longitude: Annotated[float, typer.Argument()],
    name: Annotated[str | None, typer.Option()] = None,
    address: Annotated[str | None, typer.Option()] = None,
    number: Number = None,
    reply_to: ReplyTo = None,
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Share a location with the business."""
    with _client(sandbox_url) as client:
        body = {
            "phone_number_id": _number(client, number),
            "latitude": latitude,
            "longitude": longitude,
            "name": name,
            "address": address,
            "reply_to": reply_to,
        }
        _show(_call(client, "POST", f"/handsets/{wa_id}/send-location", _present(body)))


@handset.command("send-contact")
def send_contact(
    wa_id: WaId,
    name: Annotated[str, typer.Argument(help="The contact's full name")],
    phone: Annotated[str, typer.Argument(help="The contact's phone number")],
    contact_wa_id: Annotated[
        str | None, typer.Option("--wa-id", help="The contact's WhatsApp id")
    ] = None,
    number: Number = None,
    reply_to: ReplyTo = None,
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Share a contact card with the business."""
    card_phone = _present({"phone": phone, "type": "CELL", "wa_id": contact_wa_id})
    card = {"name": {"formatted_name": name}, "phones": [card_phone]}
    with _client(sandbox_url) as client:
        body = {
            "phone_number_id": _number(client, number),
            "contacts": [card],
            "reply_to": reply_to,
        }
        _show(_call(client, "POST", f"/handsets/{wa_id}/send-contacts", _present(body)))


@handset.command("react")
def react(
    wa_id: WaId,
    message_id: Annotated[str, typer.Argument(help="wamid of the message to react to")],
    emoji: Annotated[str | None, typer.Argument(help="The emoji; leave out to remove")] = None,
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """React to a message of the conversation, or remove the reaction."""
    with _client(sandbox_url) as client:
        body = _present({"message_id": message_id, "emoji": emoji})
        _show(_call(client, "POST", f"/handsets/{wa_id}/react", body))


@handset.command("tap-button")
def tap_button(
    wa_id: WaId,
    message_id: MessageId,
    button_id: Annotated[str, typer.Argument(help="The reply button's id")],
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Tap a reply button of an interactive message."""
    with _client(sandbox_url) as client:
        body = {"message_id": message_id, "id": button_id}
        _show(_call(client, "POST", f"/handsets/{wa_id}/tap-button", body))


@handset.command("pick-row")
def pick_row(
    wa_id: WaId,
    message_id: MessageId,
    row_id: Annotated[str, typer.Argument(help="The list row's id")],
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Pick a row of a list message."""
    with _client(sandbox_url) as client:
        body = {"message_id": message_id, "id": row_id}
        _show(_call(client, "POST", f"/handsets/{wa_id}/pick-row", body))


@handset.command("tap-quick-reply")
def tap_quick_reply(
    wa_id: WaId,
    message_id: MessageId,
    index: Annotated[int | None, typer.Option(help="The button's position (0, 1, ...)")] = None,
    text: Annotated[str | None, typer.Option(help="The button's label")] = None,
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Tap a quick-reply button of a template message."""
    with _client(sandbox_url) as client:
        body = _present({"message_id": message_id, "index": index, "text": text})
        _show(_call(client, "POST", f"/handsets/{wa_id}/tap-quick-reply", body))


@handset.command("open-link")
def open_link(
    wa_id: WaId,
    url: Annotated[str, typer.Argument(help="https://wa.me/message/<code> or wa.me/<number>")],
    sandbox_url: SandboxUrl = DEFAULT_URL,
) -> None:
    """Open a click-to-chat link or scanned QR code, sending its prefilled text."""
    with _client(sandbox_url) as client:
        _show(_call(client, "POST", f"/handsets/{wa_id}/open", {"url": url}))


@handset.command("stop-reading")
def stop_reading(wa_id: WaId, sandbox_url: SandboxUrl = DEFAULT_URL) -> None:
    """Turn read receipts off: messages stop at delivered."""
    _configure(sandbox_url, wa_id, {"reads": False})


@handset.command("go-offline")
def go_offline(wa_id: WaId, sandbox_url: SandboxUrl = DEFAULT_URL) -> None:
    """Take the handset offline: messages wait at sent."""
    _configure(sandbox_url, wa_id, {"online": False})


@handset.command("go-online")
def go_online(wa_id: WaId, sandbox_url: SandboxUrl = DEFAULT_URL) -> None:
    """Bring the handset back online: waiting messages are delivered."""
    _configure(sandbox_url, wa_id, {"online": True})


@handset.command("change-identity")
def change_identity(wa_id: WaId, sandbox_url: SandboxUrl = DEFAULT_URL) -> None:
    """Give the handset a new identity key, as a new phone or a reinstall would."""
    with _client(sandbox_url) as client:
        _show(_call(client, "POST", f"/handsets/{wa_id}/identity", None))


@handset.command("inbox")
def inbox(wa_id: WaId, sandbox_url: SandboxUrl = DEFAULT_URL) -> None:
    """List the messages the handset received, oldest first."""
    with _client(sandbox_url) as client:
        entries = _call(client, "GET", f"/handsets/{wa_id}/messages", None)
    table = Table("id", "from", "type", "status", "message")
    for entry in entries:
        buttons = (entry.get("template") or {}).get("buttons", [])
        payloads = [f"{b['text']} -> {b['payload']}" for b in buttons if b.get("payload")]
        text = "\n".join([entry["text"], *(f"(payload {p})" for p in payloads)])
        table.add_row(entry["id"], entry["from"], entry["type"], entry["status"], text)
    out.print(table)


def _configure(sandbox_url: str, wa_id: str, settings: dict[str, Any]) -> None:
    with _client(sandbox_url) as client:
        _show(_call(client, "PUT", f"/handsets/{wa_id}", settings))


def _client(sandbox_url: str) -> httpx.Client:
    # Imported here: `--help` and the other commands start without the HTTP client.
    import httpx

    # The sandbox is usually local; proxy settings from the environment would not reach it.
    return httpx.Client(base_url=sandbox_url.rstrip("/"), timeout=10.0, trust_env=False)


def _number(client: httpx.Client, number: str | None) -> str:
    if number is not None:
        return number
    numbers = _call(client, "GET", "/numbers", None)
    if len(numbers) != 1:
        err.print(f"[red]{len(numbers)} business numbers are provisioned; choose one with --number")
        raise typer.Exit(2)
    found: str = numbers[0]["phone_number_id"]
    return found


def _call(client: httpx.Client, method: str, path: str, body: Any) -> Any:
    import httpx

    try:
        response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        err.print(f"[red]cannot reach the sandbox at {client.base_url}: {exc}")
        raise typer.Exit(1) from exc
    try:
        answer = response.json()
    except ValueError:
        answer = {"error": {"message": response.text or response.reason_phrase}}
    if response.is_error:
        message = answer.get("error", {}).get("message") if isinstance(answer, dict) else answer
        err.print(f"[red]{response.status_code}: {message}")
        raise typer.Exit(1)
    return answer


def _show(answer: Any) -> None:
    out.print_json(data=answer)


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}
