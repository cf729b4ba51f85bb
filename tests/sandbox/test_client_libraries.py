"""pywa (4.5) and heyoo, the Cloud API client libraries people use, unchanged but for their base
URL, against a sandbox served over real loopback HTTP (`tests.sandbox.live`): each sends every
kind of message it offers, uploads and downloads media, handles templates and marks messages
read, and every send is checked in the sandbox's receive log and the handset's inbox. pywa's own
webhook server (its Starlette routes, signature check on) receives the sandbox's webhooks, and
every update kind the sandbox emits (`every_kind`) parses into pywa's typed objects.

pywa kinds the sandbox does not offer (cloud-api.md leaves them out: commerce, Flows, calls,
and `request_contact_info`, which the reference does not list) are refused at once with 131009
naming the interactive type, and reach no handset (`test_pywa_kinds_the_sandbox_leaves_out_*`).
Carousels, groups and calls' own endpoints are not tried.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import heyoo
import httpx
import pytest
from pywa import WhatsApp, handlers
from pywa import types as pywa_types
from pywa.errors import WhatsAppError
from pywa.types import templates as t
from starlette.applications import Starlette
from tests.sandbox import every_kind
from tests.sandbox.bench import NUMBER, TEMPLATE_FIELD, USER
from tests.sandbox.live import LiveSandbox, live_config

from wanode.sandbox import sign
from wanode.sandbox.rules.bsuid import user_id

BSUID = user_id(USER, NUMBER.waba_id)


@dataclass
class Parsed:
    """What pywa's webhook handlers were given, from the threads pywa runs them on."""

    updates: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, _: WhatsApp, update: Any) -> None:
        with self.lock:
            self.updates.append(update)

    def of(self, kind: type) -> list[Any]:
        with self.lock:
            return [u for u in self.updates if isinstance(u, kind)]


@dataclass
class Stack:
    live: LiveSandbox
    parsed: Parsed
    panel: httpx.Client
    receiver: WhatsApp

    @property
    def samples(self) -> str:
        return f"{self.live.url}/samples"

    def sample(self, name: str) -> bytes:
        return self.panel.get(f"/samples/{name}").content

    def logged(self, wamid: str) -> dict[str, Any]:
        """The receive log's entry for `wamid`."""
        entries = [e for e in self.panel.get("/log").json() if e["wamid"] == wamid]
        assert len(entries) == 1, wamid
        entry: dict[str, Any] = entries[0]
        return entry

    def settled(self, sent: dict[str, str]) -> dict[str, dict[str, Any]]:
        """The handset's inbox entries for `sent` ({name: wamid}), once each has reached its
        last status: `read`, or `sent` for a reaction (Meta sends reactions no more)."""

        def entries() -> dict[str, dict[str, Any]]:
            inbox = {e["id"]: e for e in self.panel.get(f"/handsets/{USER}/messages").json()}
            return {name: inbox[wamid] for name, wamid in sent.items() if wamid in inbox}

        def done() -> bool:
            found = entries()
            return len(found) == len(sent) and all(
                e["status"] == ("sent" if e["type"] == "reaction" else "read")
                for e in found.values()
            )

        self.live.wait_for(done, what="every send to reach its last status")
        return entries()

    def inbound(self, text: str) -> str:
        """The handset writes `text` to the business; returns the inbound wamid."""
        response = self.panel.post(
            f"/handsets/{USER}/send", json={"phone_number_id": NUMBER.phone_number_id, "text": text}
        )
        assert response.status_code == 201, response.text
        wamid: str = response.json()["id"]
        return wamid


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    parsed = Parsed()
    server = Starlette()
    receiver = WhatsApp(
        phone_id=NUMBER.phone_number_id,
        token="unused-by-the-receiver",
        server=server,
        webhook_endpoint="/webhook",
        verify_token="verify-me",
        app_secret=NUMBER.app_secret,
        validate_updates=True,
    )
    for handler in (
        handlers.MessageHandler,
        handlers.CallbackButtonHandler,
        handlers.CallbackSelectionHandler,
        handlers.MessageStatusHandler,
        handlers.TemplateStatusUpdateHandler,
    ):
        receiver.add_handlers(handler(parsed))
    with (
        LiveSandbox(live_config(), NUMBER, server) as live,
        httpx.Client(base_url=live.url, timeout=10, trust_env=False) as panel,
    ):
        yield Stack(live, parsed, panel, receiver)


@pytest.fixture(scope="module")
def wa(stack: Stack) -> Iterator[WhatsApp]:
    """pywa's client; only its session's base URL is the sandbox's, as in `test_graph_pywa`."""
    session = httpx.Client(timeout=10, trust_env=False)
    client = WhatsApp(
        phone_id=NUMBER.phone_number_id,
        token=NUMBER.access_token,
        waba_id=NUMBER.waba_id,
        session=session,
        api_version="23.0",
    )
    session.base_url = httpx.URL(f"{stack.live.url}/v23.0")
    yield client
    session.close()


@pytest.fixture(scope="module")
def hey(stack: Stack) -> heyoo.WhatsApp:
    """heyoo's client with its three base URLs (v14 sends, v15 reads) pointed at the sandbox."""
    client = heyoo.WhatsApp(NUMBER.access_token, NUMBER.phone_number_id)
    base = f"{stack.live.url}/v23.0"
    client.base_url = client.v15_base_url = base
    client.url = f"{base}/{NUMBER.phone_number_id}/messages"
    return client


def test_pywa_sends_every_kind_it_offers(wa: WhatsApp, stack: Stack) -> None:
    photo = stack.sample("photo.jpg")
    uploaded = wa.upload_media(photo, mime_type="image/jpeg", filename="photo.jpg")
    greeting = wa.send_message(USER, "Hello", header="Shoes", footer="Blue Shoes Inc.")
    rows = [
        pywa_types.SectionRow("Tuesday", callback_data="tue", description="10 am"),
        pywa_types.SectionRow("Friday", callback_data="fri"),
    ]
    card = pywa_types.Contact(
        name=pywa_types.Contact.Name(formatted_name="Ann Lee", first_name="Ann"),
        phones=[pywa_types.Contact.Phone(phone="+1 650 555 0100", type="CELL")],
    )
    sent = {
        "text": greeting.id,
        "reply": wa.send_message(USER, "Re", reply_to_message_id=greeting.id).id,
        "buttons": wa.send_message(
            USER,
            "Still coming?",
            buttons=[
                pywa_types.Button("Yes", callback_data="yes"),
                pywa_types.Button("No", callback_data="no"),
            ],
        ).id,
        "list": wa.send_message(
            USER,
            "When?",
            buttons=pywa_types.SectionList("Days", [pywa_types.Section("Days", rows)]),
        ).id,
        "cta_url": wa.send_message(
            USER, "Our shop", buttons=pywa_types.URLButton("Open", "https://example.com")
        ).id,
        "location_request": wa.request_location(USER, "Where are you?").id,
        "image_link": wa.send_image(USER, f"{stack.samples}/photo.jpg", caption="Blue").id,
        "image_id": wa.send_image(USER, uploaded.id).id,
        "image_bytes": wa.send_image(USER, photo, mime_type="image/jpeg").id,
        "video": wa.send_video(USER, f"{stack.samples}/clip.mp4", caption="Clip").id,
        "audio": wa.send_audio(USER, f"{stack.samples}/voice.ogg").id,
        "voice": wa.send_voice(USER, f"{stack.samples}/voice.ogg").id,
        "document": wa.send_document(
            USER, f"{stack.samples}/invoice.pdf", filename="invoice.pdf", caption="Invoice"
        ).id,
        "sticker": wa.send_sticker(USER, f"{stack.samples}/sticker.webp").id,
        "location": wa.send_location(USER, 52.52, 13.405, name="Office", address="Berlin").id,
        "contacts": wa.send_contact(USER, card).id,
        "reaction": wa.send_reaction(USER, "👍", greeting.id).id,
        "unreaction": wa.remove_reaction(USER, greeting.id).id,
        "template": wa.send_template(
            USER, name="hello_world", language=t.TemplateLanguage.ENGLISH_US
        ).id,
    }
    expected_types = {
        "buttons": "interactive",
        "list": "interactive",
        "cta_url": "interactive",
        "location_request": "interactive",
        "reply": "text",
        "image_link": "image",
        "image_id": "image",
        "image_bytes": "image",
        "voice": "audio",
        "unreaction": "reaction",
    }
    logged = {name: stack.logged(wamid) for name, wamid in sent.items()}
    assert {name: e["type"] for name, e in logged.items()} == {
        name: expected_types.get(name, name) for name in sent
    }
    inbox = stack.settled(sent)
    payloads = {name: entry["payload"] for name, entry in inbox.items()}
    assert payloads["reply"]["context"] == {"message_id": greeting.id}
    interactive = ("buttons", "list", "cta_url", "location_request")
    assert [payloads[name]["interactive"]["type"] for name in interactive] == [
        "button",
        "list",
        "cta_url",
        "location_request_message",
    ]
    assert payloads["image_id"]["image"] == {"id": uploaded.id}
    assert payloads["voice"]["audio"].get("voice") is True
    assert payloads["unreaction"]["reaction"] == {"message_id": greeting.id, "emoji": ""}
    assert payloads["template"]["template"]["name"] == "hello_world"


def test_pywa_kinds_the_sandbox_leaves_out_are_refused_by_name(wa: WhatsApp, stack: Stack) -> None:
    inbox_before = len(stack.panel.get(f"/handsets/{USER}/messages").json())
    flow = pywa_types.FlowButton(
        title="Book",
        flow_id="1234567890",
        flow_action_type=pywa_types.FlowActionType.NAVIGATE,
        flow_action_screen="START",
    )
    section = pywa_types.ProductsSection(title="Shoes", skus=["blue-1", "red-1"])
    attempts = {
        "request_contact_info": lambda: wa.request_contact_info(USER, "Who are you?"),
        "catalog_message": lambda: wa.send_catalog(USER, body="Our shoes"),
        "product": lambda: wa.send_product(USER, catalog_id="1", sku="blue-1", body="This"),
        "product_list": lambda: wa.send_products(
            USER, catalog_id="1", title="Shoes", body="These", product_sections=[section]
        ),
        "flow": lambda: wa.send_message(USER, "Book a visit", buttons=flow),
        "call_permission_request": lambda: wa.send_message(
            USER, "May we call?", buttons=pywa_types.CallPermissionRequestButton()
        ),
        "voice_call": lambda: wa.send_message(
            USER, "Call us", buttons=pywa_types.VoiceCallButton(title="Call")
        ),
    }
    for kind, attempt in attempts.items():
        with pytest.raises(WhatsAppError) as refused:
            attempt()
        assert refused.value.code == 131009, kind
        assert f"'{kind}'" in (refused.value.details or ""), kind
    assert len(stack.panel.get(f"/handsets/{USER}/messages").json()) == inbox_before


def test_pywa_uploads_downloads_and_deletes_media(
    wa: WhatsApp, stack: Stack, tmp_path: Path
) -> None:
    pdf = stack.sample("invoice.pdf")
    media = wa.upload_media(pdf, mime_type="application/pdf", filename="invoice.pdf")
    url = wa.get_media_url(media.id)
    assert (url.mime_type, int(url.file_size)) == ("application/pdf", len(pdf))
    assert url.sha256 == hashlib.sha256(pdf).hexdigest()
    assert wa.get_media_bytes(url.url) == pdf
    path = wa.download_media(url=url.url, path=tmp_path, filename="copy.pdf")
    assert path.read_bytes() == pdf
    assert wa.delete_media(media.id).success is True
    with pytest.raises(WhatsAppError):
        wa.get_media_url(media.id)


def test_pywa_creates_lists_sends_and_deletes_a_template(wa: WhatsApp, stack: Stack) -> None:
    template = t.Template(
        name="order_ready",
        category=t.TemplateCategory.UTILITY,
        language=t.TemplateLanguage.ENGLISH_US,
        parameter_format=t.ParamFormat.POSITIONAL,
        components=[
            t.BodyText("Your order {{1}} is ready.", "A-17"),
            t.Buttons(buttons=[t.QuickReplyButton(text="Thanks")]),
        ],
    )
    created = wa.create_template(template)
    assert created.status in (t.TemplateStatus.PENDING, t.TemplateStatus.APPROVED)
    stack.live.wait_for(
        lambda: wa.get_template(created.id).status == t.TemplateStatus.APPROVED,
        what="the review",
    )
    listed = {found.name: found for found in wa.get_templates()}
    assert {"hello_world", "order_ready"} <= set(listed)
    assert listed["order_ready"].category == t.TemplateCategory.UTILITY
    sent = wa.send_template(
        USER,
        name="order_ready",
        language=t.TemplateLanguage.ENGLISH_US,
        params=[t.BodyText.params("A-42")],
    )
    entry = stack.settled({"template": sent.id})["template"]
    assert entry["text"].startswith("Your order A-42 is ready.")
    assert wa.delete_template("order_ready").success is True
    assert "order_ready" not in {found.name for found in wa.get_templates()}


def test_pywa_marks_read_and_shows_typing(wa: WhatsApp, stack: Stack) -> None:
    wamid = stack.inbound("Are you open?")
    assert wa.mark_message_as_read(wamid).success is True
    assert wa.indicate_typing(stack.inbound("Hello?")).success is True
    sent = {e["id"]: e for e in stack.panel.get(f"/handsets/{USER}/sent").json()}
    assert sent[wamid]["read"] is True


def test_heyoo_sends_every_kind_it_offers(
    hey: heyoo.WhatsApp, stack: Stack, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(stack.sample("photo.jpg"))
    uploaded = hey.upload_media(str(photo))
    assert uploaded is not None
    greeting = _wamid(hey.send_message("Hello", USER))
    card = {
        "name": {"formatted_name": "Ann Lee", "first_name": "Ann"},
        "phones": [{"phone": "+16505550100", "type": "CELL"}],
    }
    rows = [
        {"id": "tue", "title": "Tuesday", "description": "10 am"},
        {"id": "fri", "title": "Fri"},
    ]
    listing = {
        "header": "Days",
        "body": "When?",
        "footer": "Blue Shoes",
        "action": {"button": "Days", "sections": [{"title": "Days", "rows": rows}]},
    }
    reply_buttons = {
        "type": "button",
        "body": {"text": "Still coming?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
    }
    custom = {"messaging_product": "whatsapp", "type": "text", "text": {"body": "Custom"}}
    sent = {
        "text": greeting,
        "reply": _wamid(hey.reply_to_message(greeting, USER, "Re")),
        "reaction": _wamid(hey.send_reaction("👍", greeting, USER)),
        "template": _wamid(hey.send_template("hello_world", USER, components=[])),
        "location": _wamid(hey.send_location("-23.564", "-46.654", "Shop", "Rua 2", USER)),
        "image_link": _wamid(hey.send_image(f"{stack.samples}/photo.jpg", USER)),
        "image_id": _wamid(hey.send_image(uploaded["id"], USER, link=False)),
        "sticker": _wamid(hey.send_sticker(f"{stack.samples}/sticker.webp", USER)),
        "audio": _wamid(hey.send_audio(f"{stack.samples}/voice.ogg", USER)),
        "video": _wamid(hey.send_video(f"{stack.samples}/clip.mp4", USER)),
        "document": _wamid(hey.send_document(f"{stack.samples}/invoice.pdf", USER)),
        "contacts": _wamid(hey.send_contacts([card], USER)),
        "list": _wamid(hey.send_button(listing, USER)),
        "buttons": _wamid(hey.send_reply_button(reply_buttons, USER)),
        "custom": _wamid(hey.send_custom_json(custom, USER)),
    }
    kinds = {"reply": "text", "image_link": "image", "image_id": "image", "custom": "text"}
    kinds |= {"list": "interactive", "buttons": "interactive"}
    logged = {name: stack.logged(wamid)["type"] for name, wamid in sent.items()}
    assert logged == {name: kinds.get(name, name) for name in sent}
    inbox = stack.settled(sent)
    assert inbox["reply"]["payload"]["context"] == {"message_id": greeting}
    assert inbox["location"]["payload"]["location"]["name"] == "Shop"
    assert inbox["list"]["payload"]["interactive"]["type"] == "list"
    assert inbox["image_id"]["payload"]["image"]["id"] == uploaded["id"]


def test_heyoo_downloads_deletes_media_and_marks_read(
    hey: heyoo.WhatsApp, stack: Stack, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(stack.sample("clip.mp4"))
    uploaded = hey.upload_media(str(clip))
    assert uploaded is not None
    url = hey.query_media_url(uploaded["id"])
    assert url is not None
    saved = hey.download_media(url, "video/mp4", str(tmp_path / "copy"))
    assert saved is not None and Path(saved).read_bytes() == clip.read_bytes()
    assert hey.delete_media(uploaded["id"]) == {"success": True}
    assert hey.query_media_url(uploaded["id"]) is None
    wamid = stack.inbound("Read me")
    assert hey.mark_as_read(wamid) == {"success": True}
    sent = {e["id"]: e for e in stack.panel.get(f"/handsets/{USER}/sent").json()}
    assert sent[wamid]["read"] is True


def test_heyoo_reads_the_sandboxs_inbound_webhooks(hey: heyoo.WhatsApp, stack: Stack) -> None:
    """heyoo's webhook helpers (`get_message`, `get_mobile`...) on the bodies the sandbox posts."""
    stack.inbound("Heyoo, hello")
    location = {"phone_number_id": NUMBER.phone_number_id, "latitude": 1.5, "longitude": 2.5}
    assert stack.panel.post(f"/handsets/{USER}/send-location", json=location).status_code == 201

    def latest(kind: str) -> dict[str, Any] | None:
        for body in reversed(every_kind.bodies(list(stack.live.tap.deliveries))):
            if hey.is_message(body) and hey.get_message_type(body) == kind:
                return body
        return None

    stack.live.wait_for(lambda: latest("location") is not None, what="the location webhook")
    text = latest("text")
    assert text is not None
    assert hey.get_message(text) == "Heyoo, hello"
    assert (hey.get_mobile(text), hey.changed_field(text)) == (USER, "messages")
    assert hey.get_location(latest("location") or {}) == {"latitude": 1.5, "longitude": 2.5}


@pytest.fixture(scope="module")
def driven(stack: Stack) -> every_kind.Driven:
    """The sandbox made to emit every kind of webhook (`every_kind`), pywa's server getting each."""
    return every_kind.drive(stack.live)


def test_pywa_accepts_every_signed_webhook(driven: every_kind.Driven, stack: Stack) -> None:
    deliveries = list(stack.live.tap.deliveries)
    assert deliveries and {d.status for d in deliveries} == {200}
    every_kind.bodies(deliveries)  # each signed with the app secret pywa checks
    # pywa does check: a body signed with another secret is refused.
    body = deliveries[0].body
    assert stack.receiver.webhook_update_validator(body, deliveries[0].signature) is None
    refused = stack.receiver.webhook_update_validator(body, sign(body, "not-the-app-secret"))
    assert refused is not None and refused[1] in (401, 403)


def test_pywa_parses_every_update_kind(driven: every_kind.Driven, stack: Stack) -> None:
    """Each message, status and template event the sandbox posted became one typed pywa update
    (pywa logs and drops an update it fails to build, so a missing one is a parse failure)."""
    items = _items(every_kind.bodies(list(stack.live.tap.deliveries)))
    # pywa runs its handlers after answering; give them time, then say what is missing.
    deadline = time.monotonic() + 5
    while len(stack.parsed.updates) < len(items) and time.monotonic() < deadline:
        time.sleep(0.01)
    parsed = stack.parsed
    messages = {m.id: m for m in parsed.of(pywa_types.Message)}
    buttons = {b.id: b for b in parsed.of(pywa_types.CallbackButton)}
    selections = {s.id: s for s in parsed.of(pywa_types.CallbackSelection)}
    statuses = {(s.id, s.status.value) for s in parsed.of(pywa_types.MessageStatus)}
    events = [(u.template_id, u.new_status.value) for u in parsed.of(t.TemplateStatusUpdate)]
    for kind, item in items:
        if kind == "status":
            assert (item["id"], item["status"]) in statuses, item
        elif kind == "template":
            assert (str(item["message_template_id"]), item["event"]) in events, item
        elif item["type"] == "button" or item.get("interactive", {}).get("type") == "button_reply":
            assert buttons[item["id"]].from_user.wa_id == USER
        elif item["type"] == "interactive":
            assert selections[item["id"]].title == item["interactive"]["list_reply"]["title"]
        else:
            assert messages[item["id"]].type.value == item["type"], item
    assert len(parsed.updates) == len(items)

    # A closer look at the shapes pywa reads into fields of their own.
    by_kind = {
        every_kind.kinds_of_value("messages", {"messages": [item]}).pop(): item
        for kind, item in items
        if kind == "message"
    }
    bare = messages[by_kind["message:location-without-name"]["id"]].location
    assert (bare.latitude, bare.longitude, bare.name, bare.address) == (48.85, 2.35, None, None)
    removed = messages[by_kind["message:reaction-removed"]["id"]].reaction
    assert (removed.message_id, removed.emoji) == (driven.sent["text"], None)
    assert messages[by_kind["message:reaction"]["id"]].reaction.emoji == "❤️"
    assert messages[by_kind["message:audio+voice"]["id"]].voice is not None
    plain = selections[by_kind["message:interactive:list_reply-without-description"]["id"]]
    assert (plain.data, plain.description) == ("r2", None)
    described = selections[by_kind["message:interactive:list_reply"]["id"]]
    assert (described.data, described.description) == ("r1", "10 am")
    quick = buttons[by_kind["message:button"]["id"]]
    assert (quick.type, quick.data, quick.title) == (pywa_types.MessageType.BUTTON, "Yes", "Yes")
    assert messages[by_kind["message:contacts"]["id"]].contacts[0].name.formatted_name == "Ann Lee"
    assert {m.from_user.bsuid for m in messages.values()} == {BSUID}
    failed = {
        s.id: s.error.code
        for s in parsed.of(pywa_types.MessageStatus)
        if s.status == pywa_types.MessageStatusType.FAILED
    }
    assert {failed[driven.sent[n]] for n in ("ghost", "missing_image", "bad_reaction")} == {
        131026,
        131053,
        131009,
    }
    paused = [u for u in parsed.of(t.TemplateStatusUpdate) if u.new_status.value == "PAUSED"]
    assert paused and paused[0].other_info is not None
    rejected = [u for u in parsed.of(t.TemplateStatusUpdate) if u.new_status.value == "REJECTED"]
    assert rejected and rejected[0].reason is not None and rejected[0].reason.value == "SCAM"


def _items(bodies: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Each update in the bodies: ("message" | "status" | "template", its object)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for body in bodies:
        for entry in body["entry"]:
            for change in entry["changes"]:
                value = change["value"]
                if change["field"] == TEMPLATE_FIELD:
                    found.append(("template", value))
                found += [("message", m) for m in value.get("messages", [])]
                found += [("status", s) for s in value.get("statuses", [])]
    return found


def _wamid(answer: Any) -> str:
    assert isinstance(answer, dict) and "messages" in answer, answer
    wamid: str = answer["messages"][0]["id"]
    return wamid
