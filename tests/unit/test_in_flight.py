"""`InFlight`: the bounds on work a loop starts and does not wait for, and when it wakes it."""

from __future__ import annotations

import asyncio

import pytest

from wanode.engine.in_flight import InFlight

pytestmark = pytest.mark.asyncio


async def test_room_and_keys_bound_what_starts_and_a_freed_slot_wakes_a_starved_loop() -> None:
    woken: list[int] = []
    gate = asyncio.Event()
    flight = InFlight(3, per_key=2, wake=lambda: woken.append(1), name="t")

    async def work() -> None:
        await gate.wait()

    assert flight.room(2) == 2  # nothing in flight: all of it
    flight.start(work(), key="a")
    flight.start(work(), key="a")
    assert flight.full_keys() == ["a"]
    assert flight.room(5) == 1  # one slot left of three: the loop is starved
    flight.start(work(), key="b")
    assert (len(flight), flight.room(1)) == (3, 0)
    assert woken == []
    gate.set()
    await flight.drain()
    # The first task to end woke the loop once; the others found it awake already.
    assert (len(flight), flight.full_keys(), woken) == (0, [], [1])


async def test_a_loop_that_had_room_is_not_woken() -> None:
    woken: list[int] = []
    flight = InFlight(10, wake=lambda: woken.append(1), name="t")

    async def work() -> None:
        await asyncio.sleep(0)

    assert flight.room(5) == 5
    flight.start(work())
    await flight.drain()
    assert woken == []


async def test_an_empty_pass_with_work_in_flight_is_woken_by_its_end() -> None:
    woken: list[int] = []
    flight = InFlight(10, wake=lambda: woken.append(1), name="t")
    flight.found_nothing()  # nothing in flight: nothing to wait for
    gate = asyncio.Event()

    async def work() -> None:
        await gate.wait()

    flight.start(work())
    flight.found_nothing()
    gate.set()
    await flight.drain()
    assert woken == [1]
