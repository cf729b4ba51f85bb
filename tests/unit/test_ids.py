"""Time-ordered ids (wanode.store.ids)."""

from __future__ import annotations

import time
import uuid

import pytest

from wanode.store import ids


@pytest.fixture(autouse=True)
def _fresh_clock_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's frozen or stepped-back clock must not leave later ids in its future."""
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)


def _ms(text: str) -> int:
    return uuid.UUID(text).int >> 80


def test_a_uuid7_is_a_version_7_uuid_of_now() -> None:
    before = time.time_ns() // 1_000_000
    text = ids.uuid7()
    after = time.time_ns() // 1_000_000
    value = uuid.UUID(text)
    assert str(value) == text and len(text) == 36
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before <= _ms(text) <= after + 1


def test_ids_sort_in_the_order_they_were_made() -> None:
    made = [ids.uuid7() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_a_millisecond_that_runs_out_of_counter_borrows_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = 1_800_000_000_000 * 1_000_000  # a clock that does not move
    monkeypatch.setattr(ids.time, "time_ns", lambda: frozen)
    made = [ids.uuid7() for _ in range(9_000)]  # more than one millisecond's 4,096
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert _ms(made[0]) == frozen // 1_000_000
    assert _ms(made[-1]) > _ms(made[0])


def test_a_clock_stepping_back_does_not_break_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_900_000_000_000 * 1_000_000]
    monkeypatch.setattr(ids.time, "time_ns", lambda: now[0])
    first = ids.uuid7()
    now[0] -= 5_000 * 1_000_000  # five seconds back
    assert ids.uuid7() > first


def test_the_random_part_differs() -> None:
    low = {uuid.UUID(ids.uuid7()).int & ((1 << 62) - 1) for _ in range(1_000)}
    assert len(low) == 1_000
