"""`/v1/contacts` and the profile queries behind it, on SQLite and PostgreSQL: create, update,
move, conflict, consent, delete, list, validation with field paths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support.harness import Harness, running

from wanode.contacts import OptInChange, Profile
from wanode.policy import OptInStatus
from wanode.store import Database
from wanode.store import contacts as contact_queries

pytestmark = pytest.mark.asyncio

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0
ADA = "4915112345678"
BOB = "447911123456"
EVE = "14155552671"


def at(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def put(wn: Harness, customer_id: str, body: Any, status: int = 200) -> dict[str, Any]:
    response = await wn.client.put(f"/v1/contacts/{customer_id}", json=body)
    assert response.status_code == status, response.text
    return dict(response.json())


async def error(wn: Harness, method: str, path: str, status: int, **kwargs: Any) -> dict[str, Any]:
    response = await wn.client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    return dict(response.json()["error"])


async def row(db: Database, wa_id: str) -> dict[str, Any] | None:
    async with db.begin() as conn:
        return await contact_queries.get(conn, wa_id)


async def test_create_get_update(db: Database) -> None:
    async with running(db, start_engine=False, clock=lambda: NOW) as wn:
        created = await put(
            wn,
            "c-1",
            {
                "waid": "+49 151 1234-5678",
                "name": "Ada",
                "optIn": {"status": "opted_in", "source": "web form"},
                "attributes": {"tier": "gold", "score": 7, "vip": True, "note": None},
            },
            status=201,
        )
        assert created == {
            "customerid": "c-1",
            "appid": None,
            "waid": ADA,
            "bsuid": None,  # no webhook has named one (tests/integration/test_bsuid_*)
            "name": "Ada",
            "optIn": {
                "status": "opted_in",
                "source": "web form",
                "optedInAt": at(NOW),
                "optedOutAt": None,
            },
            "lastInboundAt": None,
            "windowOpenUntil": None,
            "windowOpen": False,
            "identityKeyHash": None,
            "attributes": {"tier": "gold", "score": 7, "vip": True, "note": None},
            "createdAt": at(NOW),
            "updatedAt": at(NOW),
        }
        assert (await wn.client.get("/v1/contacts/c-1")).json() == created

        # Attributes are replaced as a whole; what is not given is left alone.
        updated = await put(wn, "c-1", {"waid": ADA, "attributes": {"tier": "silver"}})
        assert updated["attributes"] == {"tier": "silver"}
        assert (updated["name"], updated["optIn"]) == ("Ada", created["optIn"])


async def test_restating_a_profile_changes_nothing(db: Database) -> None:
    clock = [NOW]
    async with running(db, start_engine=False, clock=lambda: clock[0]) as wn:
        body = {"waid": ADA, "name": "Ada", "optIn": {"status": "opted_in"}}
        first = await put(wn, "c-1", body, status=201)
        clock[0] += HOUR
        again = await put(wn, "c-1", body)
        assert again == first  # the consent keeps its time, updatedAt stays


async def test_profile_of_a_number_that_wrote_in(db: Database) -> None:
    async with running(db, start_engine=False, clock=lambda: NOW) as wn:
        async with db.begin() as conn:
            await contact_queries.observe(
                conn,
                BOB,
                at=NOW - HOUR,
                profile_name="Bobby",
                identity_key_hash="h4sh",
                inbound_at=NOW - HOUR,
            )
        claimed = await put(wn, "c-2", {"waid": "+" + BOB}, status=201)
        assert claimed["name"] == "Bobby"
        assert claimed["identityKeyHash"] == "h4sh"
        assert claimed["lastInboundAt"] == at(NOW - HOUR)
        assert claimed["windowOpenUntil"] == at(NOW + 23 * HOUR)
        assert claimed["windowOpen"] is True
        assert claimed["createdAt"] == at(NOW - HOUR)


async def test_move_to_another_number(db: Database) -> None:
    async with running(db, start_engine=False, clock=lambda: NOW) as wn:
        await put(
            wn,
            "c-1",
            {"waid": ADA, "optIn": {"status": "opted_in"}, "attributes": {"tier": "gold"}},
            status=201,
        )
        moved = await put(wn, "c-1", {"waid": BOB, "name": "Ada"})
        assert moved["waid"] == BOB
        # Attributes belong to the customer and move; consent belongs to the number and stays.
        assert moved["attributes"] == {"tier": "gold"}
        assert moved["optIn"]["status"] == "unknown"
        old = await row(db, ADA)
        assert old is not None
        assert (old["customer_id"], old["attributes"], old["opt_in_status"]) == (
            None,
            None,
            "opted_in",
        )
        # The old number is free again.
        await put(wn, "c-9", {"waid": ADA}, status=201)


async def test_a_number_of_another_customer_is_a_conflict(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        await put(wn, "c-1", {"waid": ADA}, status=201)
        await put(wn, "c-2", {"waid": BOB}, status=201)
        for customer_id in ("c-2", "c-3"):
            problem = await error(
                wn, "PUT", f"/v1/contacts/{customer_id}", 409, json={"waid": "+" + ADA}
            )
            assert problem["code"] == "7004"
            assert problem["field"] == "waid"
            assert f"waid {ADA} belongs to customer id 'c-1'" in problem["message"]
        assert (await wn.client.get("/v1/contacts/c-2")).json()["waid"] == BOB
        assert (await wn.client.get("/v1/contacts/c-3")).status_code == 404


async def test_consent_statements(db: Database) -> None:
    async with running(db, start_engine=False, clock=lambda: NOW) as wn:
        body: dict[str, Any] = {"waid": ADA}
        opted_in = {"status": "opted_in", "source": "web form", "at": at(NOW - 48 * HOUR)}
        first = await put(wn, "c-1", {**body, "optIn": opted_in}, status=201)
        assert first["optIn"]["optedInAt"] == at(NOW - 48 * HOUR)

        opted_out = {"status": "opted_out", "source": "STOP keyword", "at": at(NOW - HOUR)}
        out = (await put(wn, "c-1", {**body, "optIn": opted_out}))["optIn"]
        assert out == {
            "status": "opted_out",
            "source": "STOP keyword",
            "optedInAt": at(NOW - 48 * HOUR),
            "optedOutAt": at(NOW - HOUR),
        }
        # An older statement than the decision on record changes nothing: re-sending the old
        # form data cannot undo the opt-out.
        stale = await put(wn, "c-1", {**body, "optIn": opted_in})
        assert stale["optIn"] == out
        # A newer one does, and without a time it is "now".
        again = await put(wn, "c-1", {**body, "optIn": {"status": "opted_in"}})
        assert again["optIn"] == {
            "status": "opted_in",
            "source": None,
            "optedInAt": at(NOW),
            "optedOutAt": at(NOW - HOUR),
        }


async def test_delete(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        await put(wn, "bare", {"waid": ADA, "attributes": {"a": "b"}}, status=201)
        await put(wn, "consented", {"waid": BOB, "optIn": {"status": "opted_out"}}, status=201)
        for customer_id in ("bare", "consented"):
            response = await wn.client.delete(f"/v1/contacts/{customer_id}")
            assert response.status_code == 204, response.text
            problem = await error(wn, "GET", f"/v1/contacts/{customer_id}", 404)
            assert problem["code"] == "7600"
            assert problem["field"] == "customerid"
            await error(wn, "DELETE", f"/v1/contacts/{customer_id}", 404)
        # A row holding only the profile goes; an opt-out outlives the profile that recorded it.
        assert await row(db, ADA) is None
        kept = await row(db, BOB)
        assert kept is not None
        assert (kept["customer_id"], kept["attributes"], kept["opt_in_status"]) == (
            None,
            None,
            "opted_out",
        )
        readded = await put(wn, "someone", {"waid": BOB}, status=201)
        assert readded["optIn"]["status"] == "opted_out"


async def test_list_pages(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        numbers = [ADA, BOB, EVE, "33612345678", "61412345678"]
        for i, number in enumerate(numbers):
            await put(wn, f"c-{i}", {"waid": number}, status=201)
        async with db.begin() as conn:
            await contact_queries.observe(conn, "819012345678", at=NOW)  # not a profile
        seen: list[str] = []
        after: str | None = None
        while True:
            params = {"limit": 2} | ({"after": after} if after else {})
            page = (await wn.client.get("/v1/contacts", params=params)).json()
            seen += [contact["customerid"] for contact in page["contacts"]]
            after = page["next"]
            if after is None:
                break
            assert len(page["contacts"]) == 2
        assert seen == [f"c-{i}" for i in range(5)]
        assert (await wn.client.get("/v1/contacts")).json()["next"] is None
        problem = await error(wn, "GET", "/v1/contacts", 400, params={"limit": 0})
        assert problem["field"] == "limit"


async def test_customer_ids_with_slashes_and_unicode(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        await put(wn, "crm%2F42", {"waid": ADA}, status=201)
        await put(wn, "kunde-ü", {"waid": BOB}, status=201)
        assert (await wn.client.get("/v1/contacts/crm%2F42")).json()["customerid"] == "crm/42"
        assert (await wn.client.get("/v1/contacts/kunde-ü")).json()["waid"] == BOB


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "7003", "waid"),
        ({"waid": 4915112345678}, "7004", "waid"),
        ({"waid": "12ab"}, "7004", "waid"),
        ({"waid": ""}, "7003", "waid"),
        ({"waid": ADA, "nam": "Ada"}, "7004", "nam"),
        ({"waid": ADA, "name": 5}, "7004", "name"),
        ({"waid": ADA, "name": "  "}, "7004", "name"),
        ({"waid": ADA, "optIn": "yes"}, "7004", "optIn"),
        ({"waid": ADA, "optIn": {}}, "7003", "optIn.status"),
        ({"waid": ADA, "optIn": {"status": "unknown"}}, "7004", "optIn.status"),
        ({"waid": ADA, "optIn": {"status": ["opted_in"]}}, "7004", "optIn.status"),
        ({"waid": ADA, "optIn": {"status": "opted_in", "why": 1}}, "7004", "optIn.why"),
        ({"waid": ADA, "optIn": {"status": "opted_in", "source": 1}}, "7004", "optIn.source"),
        ({"waid": ADA, "optIn": {"status": "opted_in", "at": "soon"}}, "7004", "optIn.at"),
        ({"waid": ADA, "optIn": {"status": "opted_in", "at": "2999-01-01"}}, "7004", "optIn.at"),
        ({"waid": ADA, "attributes": []}, "7004", "attributes"),
        ({"waid": ADA, "attributes": {"a": {"b": 1}}}, "7004", "attributes.a"),
        ({"waid": ADA, "attributes": {"a": "x" * 1001}}, "7004", "attributes.a"),
        ({"waid": ADA, "attributes": {"": 1}}, "7004", "attributes"),
    ],
)
async def test_validation_errors_name_the_field(
    db: Database, body: dict[str, Any], code: str, field: str
) -> None:
    async with running(db, start_engine=False) as wn:
        problem = await error(wn, "PUT", "/v1/contacts/c-1", 400, json=body)
        assert (problem["code"], problem["field"]) == (code, field), problem
        assert problem["message"].startswith(
            "Mandatory parameters missing: " if code == "7003" else "Invalid parameters/Values: "
        )
        assert (await wn.client.get("/v1/contacts/c-1")).status_code == 404


async def test_bad_requests(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        for method in ("PUT", "GET", "DELETE"):
            long_id = "x" * 129
            problem = await error(wn, method, f"/v1/contacts/{long_id}", 400, json={"waid": ADA})
            assert problem["field"] == "customerid"
            problem = await error(wn, method, "/v1/contacts/%20c-1", 400, json={"waid": ADA})
            assert "whitespace" in problem["message"]
        problem = await error(wn, "PUT", "/v1/contacts/c-1", 400, content=b"{nope")
        assert problem["code"] == "7000"
        problem = await error(wn, "PUT", "/v1/contacts/c-1", 401, json={}, headers={"key": ""})
        assert problem["code"] == "7002"


async def test_store_batches_apply_in_order(db: Database) -> None:
    """A batch sees its own earlier statements: moves free numbers for later rows, and two
    customers can trade numbers without tripping the unique index in between."""
    async with db.begin() as conn:
        await contact_queries.upsert_profiles(conn, [Profile("a", ADA), Profile("b", BOB)], now=NOW)
    async with db.begin() as conn:
        results = await contact_queries.upsert_profiles(
            conn,
            [
                Profile("a", EVE),  # frees ADA...
                Profile("b", ADA),  # ...for b, which frees BOB...
                Profile("a", BOB),  # ...for a
                Profile("c", ADA),  # taken by b in this very batch
                Profile("d", "33612345678", attributes={"k": "v"}),
                Profile("d", "33612345678", attributes={"k": "v"}),
            ],
            now=NOW + 1,
        )
    assert [str(r) if isinstance(r, contact_queries.WaIdTaken) else r for r in results] == [
        contact_queries.Outcome.UPDATED,
        contact_queries.Outcome.UPDATED,
        contact_queries.Outcome.UPDATED,
        "WA ID 4915112345678 belongs to customer id 'b'",
        contact_queries.Outcome.CREATED,
        contact_queries.Outcome.UNCHANGED,
    ]
    async with db.begin() as conn:
        resolved = await contact_queries.resolve_customer_ids(conn, ["a", "b", "c", "d", "a"])
        assert await contact_queries.resolve_customer_ids(conn, []) == {}
        eve = await contact_queries.get(conn, EVE)
    assert resolved == {"a": BOB, "b": ADA, "d": "33612345678"}
    assert eve is not None and eve["customer_id"] is None


async def test_set_opt_in(db: Database) -> None:
    async with db.begin() as conn:
        # A number nobody stored yet (an opt-out keyword from a stranger) is recorded too.
        assert await contact_queries.set_opt_in(conn, EVE, "opted_out", "STOP", NOW)
        # Statements older than the one on record change nothing, whatever they say.
        assert not await contact_queries.set_opt_in(conn, EVE, "opted_out", None, NOW - 5)
        assert not await contact_queries.set_opt_in(conn, EVE, "opted_in", "form", NOW - 5)
        assert await contact_queries.set_opt_in(conn, EVE, "opted_in", "form", NOW + 10)
        stored = await contact_queries.get(conn, EVE)
        with pytest.raises(ValueError, match="opted_in or opted_out"):
            await contact_queries.set_opt_in(conn, EVE, "unknown", None, NOW)
    assert stored is not None
    assert {
        k: stored[k] for k in ("opt_in_status", "opt_in_source", "opted_in_at", "opted_out_at")
    } == {
        "opt_in_status": "opted_in",
        "opt_in_source": "form",
        "opted_in_at": NOW + 10,
        "opted_out_at": NOW,
    }


async def test_upsert_profile_raises_on_conflict(db: Database) -> None:
    async with db.begin() as conn:
        created = await contact_queries.upsert_profile(
            conn,
            customer_id="a",
            wa_id=ADA,
            opt_in=OptInChange(OptInStatus.OPTED_IN, "form", NOW - 10),
            now=NOW,
        )
        assert created is contact_queries.Outcome.CREATED
        with pytest.raises(contact_queries.WaIdTaken) as taken:
            await contact_queries.upsert_profile(conn, customer_id="b", wa_id=ADA, now=NOW)
        assert (taken.value.wa_id, taken.value.customer_id) == (ADA, "a")
        profile = await contact_queries.get_by_customer_id(conn, "a")
    assert profile is not None and profile["opted_in_at"] == NOW - 10
