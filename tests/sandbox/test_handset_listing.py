"""The control panel's handset list (`GET /handsets`: most recently active first, paged with
cursors, filtered by business number) and what a handset's sent list says of each message
(`reply_to`, `media_id`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.sandbox.bench import AUTH, NUMBER, USER, Bench, Clock, Receiver, open_bench, text_payload

from wanode.sandbox import BusinessNumber
from wanode.sandbox.state import codec
from wanode.sandbox.state.handsets import SentEntry

PHONE = NUMBER.phone_number_id
SECOND = BusinessNumber(
    phone_number_id="222000000000002",
    display_phone_number="+1 555 000 0002",
    waba_id="322000000000002",
    access_token="token-second-number",
    app_secret="second-secret",
    webhook_url="http://hook.test/second",
)


async def _says(bench: Bench, wa_id: str, text: str, phone: str = PHONE) -> str:
    answer = await bench.client.post(
        f"/handsets/{wa_id}/send", json={"phone_number_id": phone, "text": text}
    )
    assert answer.status_code == 201, answer.json()
    wamid: str = answer.json()["id"]
    return wamid


async def _list(bench: Bench, **query: str) -> dict[str, Any]:
    answer = await bench.client.get("/handsets", params=query)
    assert answer.status_code == 200, answer.json()
    found: dict[str, Any] = answer.json()
    return found


async def test_handsets_are_listed_most_recently_active_first_and_paged() -> None:
    clock = Clock()
    async with open_bench(Receiver(NUMBER.app_secret), clock=clock) as bench:
        await bench.client.put("/handsets/351910000001", json={"name": "Never wrote"})
        await _says(bench, "351910000002", "first")
        clock.advance(60)
        await bench.send(text_payload("to the second", to="351910000003"))
        clock.advance(60)
        await _says(bench, "351910000002", "again")
        await bench.client.put("/handsets/351910000004", json={"online": False})
        await bench.settle()

        every = await _list(bench)
        assert [h["wa_id"] for h in every["data"]] == [
            "351910000002",
            "351910000003",
            "351910000004",  # never active: last, the newest met first
            "351910000001",
        ]
        first = every["data"][0]
        assert first == {
            "wa_id": "351910000002",
            "name": "User 0002",
            "last_activity": datetime.fromtimestamp(clock.now, UTC).isoformat(),
            "received": 0,
            "sent": 2,
            "online": True,
            "exists": True,
        }
        assert every["data"][1]["last_activity"] < first["last_activity"]
        assert every["data"][1]["received"] == 1
        assert every["data"][2]["online"] is False
        assert every["data"][3]["last_activity"] is None
        assert every["data"][3]["name"] == "Never wrote"

        page = await _list(bench, limit="2")
        assert [h["wa_id"] for h in page["data"]] == ["351910000002", "351910000003"]
        rest = await _list(bench, limit="2", after=page["paging"]["cursors"]["after"])
        assert [h["wa_id"] for h in rest["data"]] == ["351910000004", "351910000001"]
        back = await _list(bench, limit="2", before=rest["paging"]["cursors"]["before"])
        assert back["data"] == page["data"]


async def test_the_list_filters_by_business_number_and_refuses_bad_paging(bench: Bench) -> None:
    bench.sandbox.provision(SECOND)
    await _says(bench, "351910000011", "to the first")
    await _says(bench, "351910000012", "to the second", phone=SECOND.phone_number_id)
    await bench.send(text_payload("from the first", to="351910000013"))
    await bench.settle()
    first = await _list(bench, phone_number_id=PHONE)
    assert sorted(h["wa_id"] for h in first["data"]) == ["351910000011", "351910000013"]
    second = await _list(bench, phone_number_id=SECOND.phone_number_id)
    assert [h["wa_id"] for h in second["data"]] == ["351910000012"]
    assert await _list(bench, phone_number_id="999") == {"data": []}

    for query in ({"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"after": "bm9wZQ=="}):
        answer = await bench.client.get("/handsets", params=query)
        assert answer.status_code == 400
        assert answer.json()["error"]["message"]


async def test_the_sent_list_names_the_message_replied_to_and_the_media_sent(
    bench: Bench,
) -> None:
    response = await bench.send(text_payload("your parcel?"))
    question = response.json()["messages"][0]["id"]
    await bench.settle()
    text = await bench.client.post(
        f"/handsets/{USER}/send",
        json={"phone_number_id": PHONE, "text": "yes", "reply_to": question},
    )
    picture = await bench.act(
        "send-media", {"phone_number_id": PHONE, "sample": "photo.jpg", "reply_to": question}
    )
    reaction = await bench.act("react", {"message_id": question, "emoji": "👍"})
    plain = await _says(bench, USER, "bye")
    await bench.settle()
    sent = (await bench.client.get(f"/handsets/{USER}/sent")).json()
    assert [(s["id"], s["reply_to"]) for s in sent] == [
        (text.json()["id"], question),
        (picture.json()["id"], question),
        (reaction.json()["id"], question),
        (plain, None),
    ]
    assert [s["media_id"] is not None for s in sent] == [False, True, False, False]
    # The media id is the one the business fetches, as its webhook gave it.
    media_id = sent[1]["media_id"]
    webhook = next(m for m in bench.receiver.messages() if m["id"] == picture.json()["id"])
    assert webhook["image"]["id"] == media_id
    fetched = await bench.client.get(f"/v23.0/{media_id}", headers=AUTH)
    assert fetched.status_code == 200
    assert fetched.json()["mime_type"] == "image/jpeg"


def test_the_state_file_keeps_what_a_sent_message_replied_to_and_carried() -> None:
    sent = SentEntry("wamid.z", PHONE, "image", "[image] hi", 1.5, reply_to="wamid.q", media_id="9")
    assert codec.sent_from(codec.loads(codec.dumps(codec.sent_json(sent)))) == sent
    # A row written before these were kept reads back without them.
    old = {"wamid": "o", "phone_number_id": PHONE, "kind": "text", "text": "x", "sent_at": 1.0}
    assert codec.sent_from(old) == SentEntry("o", PHONE, "text", "x", 1.0)
