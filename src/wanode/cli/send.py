"""`wanode send`: one message of any kind through a running wanode's Messaging API.

The options build the Messaging API's `channels.OTT-Messaging.wa` object, or with `--template`
its `message` block (a template named by id, or by name and `--lang`, with its parameters);
the service does all the validation, so the errors a user sees here are the API's, with their
field paths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    import httpx

out = Console()
err = Console(stderr=True)

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")


def wa_object(
    *,
    text: str | None = None,
    preview_url: bool = False,
    media: dict[str, str | None],
    media_id: str | None = None,
    media_kind: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    voice: bool = False,
    location: str | None = None,
    name: str | None = None,
    address: str | None = None,
    json_file: str | None = None,
    reply_to: str | None = None,
    identity_key_hash: str | None = None,
) -> dict[str, Any]:
    """The `wa` object for exactly one of: text, media link or id, location, a JSON file."""
    chosen = [
        label
        for label, given in (
            ("--text", text is not None),
            *((f"--{kind}", media.get(kind) is not None) for kind in MEDIA_KINDS),
            ("--media-id", media_id is not None),
            ("--location", location is not None),
            ("--json", json_file is not None),
        )
        if given
    ]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one of --text, --image, --audio, --video, --document, --sticker, "
            f"--media-id, --location, --json (got {', '.join(chosen) or 'none'})"
        )
    wa: dict[str, Any]
    if text is not None:
        wa = {
            "type": "text",
            "text": {"body": text, **({"preview_url": True} if preview_url else {})},
        }
    elif location is not None:
        wa = {"type": "location", "location": _location(location, name, address)}
    elif json_file is not None:
        wa = _load(json_file)
    else:
        kind, source = _media_source(media, media_id, media_kind)
        extras = {"caption": caption, "filename": filename, "voice": voice or None}
        wa = {"type": kind, kind: {**source, **{k: v for k, v in extras.items() if v is not None}}}
    if reply_to is not None:
        wa["context"] = {"message_id": reply_to}
    if identity_key_hash is not None:
        wa["identity_key_hash"] = identity_key_hash
    return wa


def _media_source(
    media: dict[str, str | None], media_id: str | None, media_kind: str | None
) -> tuple[str, dict[str, str]]:
    if media_id is not None:
        if media_kind not in MEDIA_KINDS:
            raise typer.BadParameter(
                f"--media-id needs --media-kind, one of {', '.join(MEDIA_KINDS)}"
            )
        return media_kind, {"id": media_id}
    kind, url = next((k, v) for k, v in media.items() if v is not None)
    return kind, {"url": url}


def _location(value: str, name: str | None, address: str | None) -> dict[str, Any]:
    latitude, sep, longitude = value.partition(",")
    try:
        place: dict[str, Any] = {"latitude": float(latitude), "longitude": float(longitude)}
    except ValueError:
        sep = ""
    if not sep:
        raise typer.BadParameter("--location takes LATITUDE,LONGITUDE, e.g. 52.52,13.405")
    place.update({k: v for k, v in (("name", name), ("address", address)) if v is not None})
    return place


def template_parameters(
    *,
    params: list[str],
    params_json: list[str],
    header_media: dict[str, str | None],
    filename: str | None = None,
    header_location: str | None = None,
    name: str | None = None,
    address: str | None = None,
    quick_replies: list[str],
    url_suffixes: list[str],
    otp: str | None = None,
    coupon: str | None = None,
) -> dict[str, Any]:
    """`message.parameters` of a template send, named as the Messaging API names them (README,
    Templates): `--param NAME=TEXT` and `--param-json NAME=JSON` for any parameter, and one
    option per kind of header or button parameter."""
    found: dict[str, Any] = {}

    def put(key: str, value: Any, option: str) -> None:
        if key in found:
            raise typer.BadParameter(f"{option}: parameter {key!r} is given twice")
        found[key] = value

    for item in params:
        key, value = _pair(item, "--param", "NAME=TEXT")
        put(key, value, "--param")
    for item in params_json:
        key, raw = _pair(item, "--param-json", "NAME=JSON")
        try:
            put(key, json.loads(raw), "--param-json")
        except ValueError as exc:
            raise typer.BadParameter(f"--param-json {key}: {exc}") from exc
    media = [(kind, link) for kind, link in header_media.items() if link is not None]
    if len(media) + (header_location is not None) > 1:
        raise typer.BadParameter("a template has one header: give one --header-* option")
    for kind, link in media:
        put(kind, {"link": link, **({"filename": filename} if filename else {})}, "--header")
    if header_location is not None:
        put("location", _location(header_location, name, address), "--header-location")
    if quick_replies:
        put("quickReply", [{"payload": payload} for payload in quick_replies], "--quick-reply")
    for item in url_suffixes:
        index, suffix = _pair(item, "--url-suffix", "INDEX=SUFFIX")
        if not index.isdigit():
            raise typer.BadParameter(f"--url-suffix {item!r}: INDEX is the button's index, 0-9")
        put(f"url_{index}", {"type": "url", "payload": suffix}, "--url-suffix")
    if otp is not None:
        put("otp", {"type": "otp", "value": otp}, "--otp")
    if coupon is not None:
        put("couponCode", coupon, "--coupon")
    return found


def _pair(item: str, option: str, shape: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise typer.BadParameter(f"{option} takes {shape}; got {item!r}")
    return key, value


def template_id(client: httpx.Client, app_id: str, template: str, lang: str | None) -> str:
    """The id of the app's template named `template` (in `lang`, when given); `template`
    itself when no template has that name and no language was given (it is then an id)."""
    query = {"appid": app_id, "name": template, **({"language": lang} if lang else {})}
    response = client.get("/v1/templates", params=query)
    if response.status_code != 200:
        err.print(response.text)
        raise typer.Exit(1)
    found = [t for t in response.json()["templates"] if t["status"] != "DELETED"]
    if len(found) == 1:
        return str(found[0]["id"])
    if found:
        languages = ", ".join(sorted(t["language"] for t in found))
        raise typer.BadParameter(
            f"template {template!r} exists in several languages ({languages}): give --lang"
        )
    if lang is not None:
        raise typer.BadParameter(
            f"app {app_id} has no template {template!r} in {lang} "
            "(`wanode templates list` shows them)"
        )
    return template


def _load(source: str) -> dict[str, Any]:
    try:
        raw = typer.get_text_stream("stdin").read() if source == "-" else Path(source).read_text()
        value = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"--json: {exc}") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("--json must hold a JSON object: the Messaging API's `wa` object")
    return value


def send(
    to: Annotated[str, typer.Option(help="WhatsApp id (phone number with country code)")],
    text: Annotated[str | None, typer.Option(help="Send a text with this body")] = None,
    preview_url: Annotated[bool, typer.Option(help="Preview the text's first URL")] = False,
    image: Annotated[str | None, typer.Option(help="Send the image at this URL")] = None,
    audio: Annotated[str | None, typer.Option(help="Send the audio at this URL")] = None,
    video: Annotated[str | None, typer.Option(help="Send the video at this URL")] = None,
    document: Annotated[str | None, typer.Option(help="Send the document at this URL")] = None,
    sticker: Annotated[str | None, typer.Option(help="Send the sticker at this URL")] = None,
    media_id: Annotated[str | None, typer.Option(help="Send uploaded media by its id")] = None,
    media_kind: Annotated[str | None, typer.Option(help="The kind of --media-id")] = None,
    caption: Annotated[str | None, typer.Option(help="Image, video or document caption")] = None,
    filename: Annotated[str | None, typer.Option(help="Document file name")] = None,
    voice: Annotated[bool, typer.Option(help="Send the audio as a voice note")] = False,
    location: Annotated[str | None, typer.Option(help="Send a location: LAT,LON")] = None,
    name: Annotated[str | None, typer.Option(help="Location name")] = None,
    address: Annotated[str | None, typer.Option(help="Location address")] = None,
    json_file: Annotated[
        str | None,
        typer.Option(
            "--json", help="A file (or - for stdin) holding the `wa` object: any kind, e.g. list"
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(help="Send this template: its name (with --lang if it has several) or id"),
    ] = None,
    lang: Annotated[str | None, typer.Option(help="The template's language, e.g. en_US")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A template parameter NAME=TEXT: headerText, 1, 2, first_name..."),
    ] = None,
    param_json: Annotated[
        list[str] | None,
        typer.Option(help='A template parameter NAME=JSON, e.g. 2={"type":"currency",...}'),
    ] = None,
    header_image: Annotated[str | None, typer.Option(help="Template image header URL")] = None,
    header_video: Annotated[str | None, typer.Option(help="Template video header URL")] = None,
    header_document: Annotated[
        str | None, typer.Option(help="Template document header URL (name: --filename)")
    ] = None,
    header_location: Annotated[
        str | None, typer.Option(help="Template location header LAT,LON (--name, --address)")
    ] = None,
    quick_reply: Annotated[
        list[str] | None,
        typer.Option(help="The payload of the template's next quick-reply button"),
    ] = None,
    url_suffix: Annotated[
        list[str] | None,
        typer.Option(help="INDEX=SUFFIX: the {{1}} of the dynamic URL button at INDEX"),
    ] = None,
    otp: Annotated[
        str | None, typer.Option(help="An AUTHENTICATION template's one-time code")
    ] = None,
    coupon: Annotated[str | None, typer.Option(help="The copy-code button's coupon code")] = None,
    reply_to: Annotated[str | None, typer.Option(help="Reply in context to this wamid")] = None,
    identity_key_hash: Annotated[
        str | None, typer.Option(help="Deliver only if the user's identity is unchanged")
    ] = None,
    app: Annotated[str | None, typer.Option(help="App id (default: the first app)")] = None,
    notify_url: Annotated[
        str | None, typer.Option(help="Where delivery reports are POSTed")
    ] = None,
    url: Annotated[str, typer.Option(help="wanode base URL")] = "http://127.0.0.1:8080",
    key: Annotated[str | None, typer.Option(envvar="WANODE_API_KEY", help="API key")] = None,
) -> None:
    """Send a message of any kind, or a template, through a running wanode's Messaging API."""
    if not key:
        raise typer.BadParameter("an API key is needed: --key or WANODE_API_KEY")
    parameters = template_parameters(
        params=param or [],
        params_json=param_json or [],
        header_media={"image": header_image, "video": header_video, "document": header_document},
        filename=filename,
        header_location=header_location,
        name=name,
        address=address,
        quick_replies=quick_reply or [],
        url_suffixes=url_suffix or [],
        otp=otp,
        coupon=coupon,
    )
    if template is not None:
        _send_template(
            template=template,
            lang=lang,
            parameters=parameters,
            others={
                "--text": text,
                "--image": image,
                "--audio": audio,
                "--video": video,
                "--document": document,
                "--sticker": sticker,
                "--media-id": media_id,
                "--location": location,
                "--json": json_file,
                "--reply-to": reply_to,
                "--caption": caption,
            },
            to=to,
            identity_key_hash=identity_key_hash,
            app=app,
            notify_url=notify_url,
            url=url,
            key=key,
        )
        return
    if parameters or lang is not None:
        raise typer.BadParameter("--lang, --param and the other template options need --template")
    wa = wa_object(
        text=text,
        preview_url=preview_url,
        media={
            "image": image,
            "audio": audio,
            "video": video,
            "document": document,
            "sticker": sticker,
        },
        media_id=media_id,
        media_kind=media_kind,
        caption=caption,
        filename=filename,
        voice=voice,
        location=location,
        name=name,
        address=address,
        json_file=json_file,
        reply_to=reply_to,
        identity_key_hash=identity_key_hash,
    )
    with _client(url, key) as client:
        body: dict[str, Any] = {
            "appid": app or first_app(client),
            "deliverychannel": "whatsapp",
            "destination": [{"waid": [to]}],
            "channels": {"OTT-Messaging": {"wa": wa}},
        }
        if notify_url:
            body["notifyurl"] = notify_url
        response = client.post("/resources/v1/messaging", json=body)
    _print(response)


def _send_template(
    *,
    template: str,
    lang: str | None,
    parameters: dict[str, Any],
    others: dict[str, Any],
    to: str,
    identity_key_hash: str | None,
    app: str | None,
    notify_url: str | None,
    url: str,
    key: str,
) -> None:
    given = [option for option, value in others.items() if value is not None]
    if given:
        raise typer.BadParameter(
            f"--template sends a template; {', '.join(given)} cannot go with it "
            "(a template's header, buttons and body come from the template and its parameters)"
        )
    with _client(url, key) as client:
        app_id = app or first_app(client)
        message: dict[str, Any] = {"template": template_id(client, app_id, template, lang)}
        if parameters:
            message["parameters"] = parameters
        body: dict[str, Any] = {
            "appid": app_id,
            "deliverychannel": "whatsapp",
            "destination": [{"waid": [to]}],
            "message": message,
        }
        if identity_key_hash is not None:
            body["channels"] = {"OTT-Messaging": {"wa": {"identity_key_hash": identity_key_hash}}}
        if notify_url:
            body["notifyurl"] = notify_url
        response = client.post("/resources/v1/messaging", json=body)
    _print(response)


def _client(url: str, key: str) -> httpx.Client:
    # Imported here: `--help` and the other commands start without the HTTP client.
    import httpx

    return httpx.Client(base_url=url, headers={"key": key}, timeout=10)


def _print(response: httpx.Response) -> None:
    out.print_json(json.dumps(response.json()))
    if response.status_code != 200:
        raise typer.Exit(1)


def first_app(client: httpx.Client) -> str:
    response = client.get("/v1/apps")
    if response.status_code != 200:
        err.print(response.text)
        raise typer.Exit(1)
    found = response.json()["apps"]
    if not found:
        err.print("no app registered; add one with `wanode apps add`")
        raise typer.Exit(1)
    return str(found[0]["id"])
