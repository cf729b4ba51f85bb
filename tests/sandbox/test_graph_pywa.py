"""pywa's own client, unchanged but for its base URL, against the in-process sandbox's phone-number
endpoints: every call answers and parses into pywa's typed objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pywa.types.others import Industry, UserIdentityChangeSettings
from pywa_async.client import WhatsApp
from tests.sandbox.bench import NUMBER, USER, Bench


@pytest.fixture
async def wa(bench: Bench) -> AsyncIterator[Any]:
    """pywa's async client; its session is pointed at the sandbox after construction, as the
    benchmark does (`wanode.bench.loads.pywa_peer`)."""
    session = httpx.AsyncClient(transport=httpx.ASGITransport(app=bench.sandbox.app))
    client = WhatsApp(
        phone_id=NUMBER.phone_number_id,
        token=NUMBER.access_token,
        waba_id=NUMBER.waba_id,
        session=session,
        api_version="23.0",
    )
    session.base_url = httpx.URL("http://sandbox/v23.0")
    try:
        yield client
    finally:
        await session.aclose()


async def test_pywa_reads_the_phone_number_and_the_wabas_numbers(wa: Any) -> None:
    number = await wa.get_business_phone_number()
    numbers = [n async for n in _items(await wa.get_business_phone_numbers())]

    assert number.id == NUMBER.phone_number_id
    assert number.display_phone_number == f"+{NUMBER.display_phone_number}"
    assert number.quality_rating == "GREEN"
    assert [n.id for n in numbers] == [NUMBER.phone_number_id]


async def test_pywa_reads_and_updates_the_business_profile(wa: Any) -> None:
    before = await wa.get_business_profile()
    updated = await wa.update_business_profile(
        about="Blue shoes", industry=Industry.RETAIL, websites=["https://example.com"]
    )
    after = await wa.get_business_profile()

    assert before.industry == Industry.OTHER
    assert updated.success is True
    assert (after.about, after.industry, after.websites) == (
        "Blue shoes",
        Industry.RETAIL,
        ("https://example.com",),
    )


async def test_pywa_turns_the_identity_check_on(wa: Any, bench: Bench) -> None:
    before = await wa.get_business_phone_number_settings()
    result = await wa.update_business_phone_number_settings(
        user_identity_change=UserIdentityChangeSettings(enable_identity_key_check=True)
    )
    after = await wa.get_business_phone_number_settings()

    assert before.user_identity_change.enable_identity_key_check is False
    assert result.success is True
    assert after.user_identity_change.enable_identity_key_check is True
    assert bench.sandbox.number_states.of(NUMBER.phone_number_id).identity_check is True


async def test_pywa_blocks_lists_and_unblocks_users(wa: Any) -> None:
    blocked = await wa.block_users([USER])
    listed = [user async for user in _items(await wa.get_blocked_users())]
    unblocked = await wa.unblock_users([USER])
    after = [user async for user in _items(await wa.get_blocked_users())]

    assert [user.wa_id for user in blocked.added_users] == [USER]
    assert blocked.errors is None
    assert [user.wa_id for user in listed] == [USER]
    assert [user.wa_id for user in unblocked.removed_users] == [USER]
    assert after == []


async def test_pywa_registers_the_number(wa: Any) -> None:
    assert (await wa.register_phone_number(pin="123456")).success is True


async def test_pywa_lists_templates_with_its_fields_and_summary(wa: Any) -> None:
    result = await wa.get_templates()
    templates = [template async for template in _items(result)]

    assert [t.name for t in templates] == ["hello_world"]
    assert result.total_count == 1
    assert result.message_template_limit == 250


async def _items(result: Any) -> AsyncIterator[Any]:
    """The items of a pywa `Result` page (sync or async iteration, as the version offers)."""
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
    else:
        for item in result:
            yield item
