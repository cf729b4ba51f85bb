"""`POST /v1/contacts/import` (the CSV import the CLI and the console use) and the contact search
of `GET /v1/contacts?q=`, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.harness import Harness, running

from wanode.store import Database
from wanode.store import apps as app_queries

pytestmark = pytest.mark.asyncio

CSV = """customerid,waid,name,opt_in,tier
i-1,+49 151 1234 7401,Ida Import,yes,gold
i-2,+4915112347402,,,
i-3,not a number,Bad,maybe,
"""


async def import_csv(
    wn: Harness, body: bytes | str, *, key: str | None = None, status: int = 200, **params: Any
) -> dict[str, Any]:
    headers = {"content-type": "text/csv"}
    if key is not None:
        headers["key"] = key
    response = await wn.client.post(
        "/v1/contacts/import", content=body, headers=headers, params=params
    )
    assert response.status_code == status, response.text
    return dict(response.json())


async def app_key(wn: Harness, app_id: str) -> str:
    async with wn.ctx.db.begin() as conn:
        return await app_queries.create_key(conn, "import", app_id=app_id)


async def test_good_rows_are_imported_and_each_bad_row_reported(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        dry = await import_csv(wn, CSV, dry_run="true")
        assert (dry["created"], dry["failed"]) == (2, 1)
        assert (await wn.client.get("/v1/contacts/i-1")).status_code == 404  # nothing written

        report = await import_csv(wn, CSV)
        assert {k: v for k, v in report.items() if k != "errors"} == {
            "rows": 3,
            "created": 2,
            "updated": 0,
            "unchanged": 0,
            "failed": 1,
        }
        assert [(e["row"], e["customerid"], e["field"]) for e in report["errors"]] == [
            (4, "i-3", "waid"),
            (4, "i-3", "opt_in"),
        ]
        ida = (await wn.client.get("/v1/contacts/i-1")).json()
        assert ida["waid"] == "4915112347401" and ida["name"] == "Ida Import"
        assert ida["optIn"]["status"] == "opted_in" and ida["attributes"] == {"tier": "gold"}

        again = await import_csv(wn, CSV.encode("utf-8-sig"))  # a spreadsheet's BOM too
        assert (again["created"], again["unchanged"], again["failed"]) == (0, 2, 1)


async def test_a_file_that_is_not_a_contacts_csv_is_refused_whole(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        missing = await import_csv(wn, "customerid,name\nx,y\n", status=400)
        assert missing["error"]["code"] == "7004" and missing["error"]["field"] == "file"
        assert "waid" in missing["error"]["message"]
        latin = await import_csv(
            wn, "customerid,waid\nJosé,4915112347409\n".encode("latin-1"), status=400
        )
        assert "UTF-8" in latin["error"]["message"]
        empty = await import_csv(wn, b"", status=400)
        assert empty["error"]["field"] == "file"
        listed = (await wn.client.get("/v1/contacts")).json()["contacts"]
        assert listed == []


async def test_an_app_key_imports_profiles_of_its_own_app(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        key = await app_key(wn, wn.app_id)
        report = await import_csv(wn, CSV, key=key)
        assert report["created"] == 2
        assert (await wn.client.get("/v1/contacts/i-1")).json()["appid"] == wn.app_id
        # An admin's profile (of no app) is not the app key's to change.
        await wn.client.put("/v1/contacts/admins", json={"waid": "+4915112347408"})
        taken = await import_csv(wn, "customerid,waid\nadmins,4915112347408\n", key=key)
        assert taken["failed"] == 1 and taken["errors"][0]["field"] == "customerid"
        other = await import_csv(wn, CSV, key=key, appid="a_another", status=403)
        assert other["error"]["field"] == "appid"


async def test_search_by_customer_id_name_or_number(db: Database) -> None:
    async with running(db, start_engine=False) as wn:
        for customer_id, waid, name in (
            ("ana-1", "+4915112347411", "Ana Lima"),
            ("bo_2", "+4915112347412", "Bo 100% Real"),
            ("cy-3", "+447911347413", None),
        ):
            body = {"waid": waid, **({"name": name} if name else {})}
            assert (await wn.client.put(f"/v1/contacts/{customer_id}", json=body)).is_success

        async def found(q: str) -> list[str]:
            response = await wn.client.get("/v1/contacts", params={"q": q})
            assert response.status_code == 200, response.text
            return [c["customerid"] for c in response.json()["contacts"]]

        assert await found("ANA") == ["ana-1"]
        assert await found("lima") == ["ana-1"]
        assert await found("+44 7911") == ["cy-3"]
        assert await found("347412") == ["bo_2"]
        assert await found("%") == ["bo_2"]  # LIKE's wildcards are literal
        assert await found("_") == ["bo_2"]
        assert await found("nobody") == []
        assert await found("") == ["ana-1", "bo_2", "cy-3"]
