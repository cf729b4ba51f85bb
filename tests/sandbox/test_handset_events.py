"""The sandbox's event hook (`wanode.sandbox.platform.events`): a subscription per handset gets
a notice for each inbox entry added, each status change and each settings change, in order,
without polling; a slow subscriber's bounded queue drops its oldest notices; closing ends it.
"""

from __future__ import annotations

import asyncio

from tests.sandbox.bench import NUMBER, USER, Bench, text_payload

from wanode.sandbox.platform.events import HandsetEvents, Notice

OTHER = "16505559876"


async def test_every_subscriber_of_a_handset_gets_its_notices_and_no_other_s() -> None:
    hub = HandsetEvents()
    first, second, stranger = hub.subscribe(USER), hub.subscribe(USER), hub.subscribe(OTHER)
    notice = Notice(USER, "settings")
    hub.publish(USER, "settings")
    assert await first.get() == notice
    assert await second.get() == notice
    assert stranger.pending() == []
    assert (hub.watchers(USER), hub.watchers(OTHER)) == (2, 1)
    first.close()
    async with second:
        pass
    assert hub.watchers(USER) == 0
    hub.publish(USER, "settings")  # nobody watches: nothing queued anywhere
    assert (first.pending(), second.pending(), stranger.pending()) == ([], [], [])


async def test_a_waiting_subscriber_wakes_on_the_next_notice() -> None:
    hub = HandsetEvents()
    subscription = hub.subscribe(USER)
    waiting = asyncio.create_task(subscription.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    hub.publish(USER, "status", "wamid.1", "read")
    assert await asyncio.wait_for(waiting, 1) == Notice(USER, "status", "wamid.1", "read")


async def test_a_slow_subscriber_loses_its_oldest_notices_not_the_newest() -> None:
    hub = HandsetEvents(queue_size=3)
    subscription = hub.subscribe(USER)
    for n in range(5):
        hub.publish(USER, "sent", f"wamid.{n}")
    assert subscription.dropped == 2
    assert [n.message_id for n in subscription.pending()] == ["wamid.2", "wamid.3", "wamid.4"]


async def test_closing_the_hub_ends_every_subscription_even_a_waiting_one() -> None:
    hub = HandsetEvents()
    subscription = hub.subscribe(USER)
    waiting = asyncio.create_task(subscription.get())
    await asyncio.sleep(0)
    hub.close()
    assert await asyncio.wait_for(waiting, 1) is None
    assert subscription.closed and hub.watchers(USER) == 0


async def test_the_platform_announces_a_conversation_as_it_happens(bench: Bench) -> None:
    async with bench.sandbox.events.subscribe(USER) as subscription:
        response = await bench.send(text_payload("hello"))
        wamid = response.json()["messages"][0]["id"]
        # Accepted is not yet in the inbox: the first notice comes with the first status.
        assert subscription.pending() == []
        assert await asyncio.wait_for(subscription.get(), 5) == Notice(USER, "inbox", wamid, "sent")
        assert await asyncio.wait_for(subscription.get(), 5) == Notice(
            USER, "status", wamid, "delivered"
        )
        assert await asyncio.wait_for(subscription.get(), 5) == Notice(
            USER, "status", wamid, "read"
        )

        answer = await bench.client.post(
            f"/handsets/{USER}/send",
            json={"phone_number_id": NUMBER.phone_number_id, "text": "thanks", "reply_to": wamid},
        )
        inbound = answer.json()["id"]
        assert subscription.pending() == [Notice(USER, "sent", inbound)]
        receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": inbound}
        marked = await bench.graph("POST", f"{NUMBER.phone_number_id}/messages", json=receipt)
        assert marked.json() == {"success": True}
        assert subscription.pending() == [Notice(USER, "status", inbound, "read")]

        await bench.client.put(f"/handsets/{USER}", json={"reads": False, "name": "Ana"})
        await bench.client.post(f"/handsets/{USER}/identity")
        assert subscription.pending() == [Notice(USER, "settings"), Notice(USER, "settings")]
        await bench.settle()
    assert bench.sandbox.events.watchers(USER) == 0


async def test_a_failed_message_is_announced_as_an_inbox_entry_with_its_status(
    bench: Bench,
) -> None:
    await bench.client.put(f"/handsets/{USER}", json={"exists": False})
    async with bench.sandbox.events.subscribe(USER) as subscription:
        response = await bench.send(text_payload("anyone?"))
        wamid = response.json()["messages"][0]["id"]
        assert await asyncio.wait_for(subscription.get(), 5) == Notice(
            USER, "inbox", wamid, "failed"
        )
        await bench.settle()
        assert subscription.pending() == []


async def test_closing_the_sandbox_ends_its_subscriptions(bench: Bench) -> None:
    subscription = bench.sandbox.events.subscribe(USER)
    waiting = asyncio.create_task(subscription.get())
    await asyncio.sleep(0)
    await bench.sandbox.aclose()
    assert await asyncio.wait_for(waiting, 1) is None
