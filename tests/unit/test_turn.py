"""The SQLite turn: one holder at a time; urgent waiters (the API's accept) are served before
the others, each class in arrival order; a cancelled waiter neither keeps nor loses the turn."""

from __future__ import annotations

import asyncio

import pytest

from wanode.store._turn import Turn

pytestmark = pytest.mark.asyncio


async def _holder(turn: Turn, name: str, order: list[str], *, urgent: bool = False) -> None:
    await turn.acquire(urgent=urgent)
    try:
        order.append(name)
        await asyncio.sleep(0)
    finally:
        turn.release()


async def test_urgent_waiters_go_first_each_class_in_arrival_order() -> None:
    turn, order = Turn(), []
    await turn.acquire()
    tasks = [
        asyncio.create_task(_holder(turn, "engine-1", order)),
        asyncio.create_task(_holder(turn, "engine-2", order)),
        asyncio.create_task(_holder(turn, "api-1", order, urgent=True)),
        asyncio.create_task(_holder(turn, "engine-3", order)),
        asyncio.create_task(_holder(turn, "api-2", order, urgent=True)),
    ]
    await asyncio.sleep(0.01)
    assert order == []  # nobody runs while the turn is held
    turn.release()
    await asyncio.gather(*tasks)
    assert order == ["api-1", "api-2", "engine-1", "engine-2", "engine-3"]
    assert not turn.held


async def test_a_cancelled_waiter_leaves_the_queue_and_the_turn_goes_on() -> None:
    turn, order = Turn(), []
    await turn.acquire()
    gone = asyncio.create_task(_holder(turn, "gone", order, urgent=True))
    stays = asyncio.create_task(_holder(turn, "stays", order))
    await asyncio.sleep(0.01)
    gone.cancel()
    await asyncio.sleep(0.01)
    turn.release()
    await stays
    assert order == ["stays"]
    assert gone.cancelled()
    assert not turn.held


async def test_a_waiter_cancelled_as_it_is_handed_the_turn_passes_it_on() -> None:
    turn, order = Turn(), []
    await turn.acquire()
    first = asyncio.create_task(_holder(turn, "first", order))
    second = asyncio.create_task(_holder(turn, "second", order))
    await asyncio.sleep(0.01)
    turn.release()  # hands the turn to `first`, which has not resumed yet
    first.cancel()
    await second
    assert order == ["second"]
    assert not turn.held


async def test_only_one_holder_at_a_time_under_many_tasks() -> None:
    turn, inside, most = Turn(), 0, 0

    async def work(i: int) -> None:
        nonlocal inside, most
        await turn.acquire(urgent=i % 3 == 0)
        try:
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1
        finally:
            turn.release()

    await asyncio.gather(*(work(i) for i in range(200)))
    assert most == 1
    assert not turn.held
