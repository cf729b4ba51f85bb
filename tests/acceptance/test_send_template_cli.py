"""`wanode send --template`: the README's template flows from the CLI alone, against `wanode
serve` on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.acceptance.test_serve import HANDSET, WANODE, Service, serve
from tests.acceptance.test_templates_cli import wait_for
from tests.conftest import POSTGRES_URL, drop_schema, make_database

pytestmark = pytest.mark.acceptance

ORDER: dict[str, Any] = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{1}}",
            "example": {"header_text": ["#1234"]},
        },
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order ships on {{2}}.",
            "example": {"body_text": [["Ana", "Monday"]]},
        },
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Track"}]},
    ],
}
SHIPPED: dict[str, Any] = {
    "name": "parcel_shipped",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
        {
            "type": "BODY",
            "text": "Your parcel {{1}} is on its way.",
            "example": {"body_text": [["#42"]]},
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://shop.example/t/{{1}}",
                    "example": ["https://shop.example/t/42"],
                }
            ],
        },
    ],
}
LOGIN: dict[str, Any] = {
    "name": "login_code",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy"}]},
    ],
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The environment pointing `wanode serve` at a fresh database (SQLite: the default file)."""
    if request.param == "sqlite":
        yield {}
        return
    request.getfixturevalue("postgres_available")
    db, _url, schema = await make_database("postgresql", tmp_path)
    await db.dispose()
    assert schema is not None
    try:
        yield {"WANODE_DATABASE_URL": POSTGRES_URL, "WANODE_DATABASE_SCHEMA": schema}
    finally:
        await drop_schema(schema)


def send(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WANODE, "send", "--to", HANDSET, "--url", service.url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        # Wide enough that an error's text is not wrapped in its box.
        env={**os.environ, "WANODE_API_KEY": service.key, "COLUMNS": "250"},
        check=False,
    )


def approved(client: httpx.Client, service: Service, definition: dict[str, Any]) -> str:
    created = client.post("/v1/templates", json={"appid": service.app_id, **definition})
    assert created.status_code == 201, created.text
    template_id = str(created.json()["id"])
    wait_for(
        lambda: client.get(f"/v1/templates/{template_id}").json()["status"] == "APPROVED",
        f"{definition['name']} to be approved",
    )
    return template_id


def read(client: httpx.Client, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    transid = json.loads(done.stdout)["response"][0]["transid"]
    wait_for(
        lambda: client.get(f"/v1/messages/{transid}").json()["status"] == "read",
        f"{transid} to be read",
    )


async def test_templates_go_out_from_the_cli_alone(
    tmp_path: Path, database: dict[str, str]
) -> None:
    env = {**database, "WANODE_SANDBOX_TEMPLATE_REVIEW_DELAY": "0.1"}
    with serve(tmp_path, env=env) as service:
        scenario(service)


def scenario(service: Service) -> None:
    with httpx.Client(base_url=service.url, headers={"key": service.key}) as client:
        order_id = approved(client, service, ORDER)
        approved(client, service, SHIPPED)
        approved(client, service, LOGIN)

        # By name and language, as the README's flow writes it.
        read(
            client,
            send(
                service,
                "--template", "order_update", "--lang", "en_US",
                "--param", "headerText=#42", "--param", "1=Ana", "--param", "2=Monday",
                "--quick-reply", "TRACK_42",
            ),
        )  # fmt: skip
        # By id, a body value as JSON.
        read(
            client,
            send(
                service,
                "--template", order_id,
                "--param", "headerText=#43", "--param", "1=Bo",
                "--param-json", '2={"type": "date_time", "timestamp": 1767225600, '
                '"fallback_value": "Thursday"}',
                "--quick-reply", "TRACK_43",
            ),
        )  # fmt: skip
        # A media header and a dynamic URL button; an OTP by its option.
        read(
            client,
            send(
                service,
                "--template", "parcel_shipped",
                "--header-image", f"{service.url}/sandbox/samples/photo.jpg",
                "--param", "1=#44", "--url-suffix", "0=44",
            ),
        )  # fmt: skip
        read(client, send(service, "--template", "login_code", "--otp", "654321"))

        inbox = client.get(f"/sandbox/handsets/{HANDSET}/messages").json()
        first, second, third, fourth = (m["text"] for m in inbox[-4:])
        assert first.startswith("Order #42\nHi Ana, your order ships on Monday.")
        assert second.startswith("Order #43\nHi Bo, your order ships on Thursday.")
        assert "Your parcel #44 is on its way." in third
        assert fourth.startswith("*654321* is your verification code.")
        assert "https://shop.example/t/44" in json.dumps(inbox[-2])

        # The API's own errors come back with their code and field.
        missing = send(service, "--template", "order_update", "--param", "1=Ana")
        assert missing.returncode == 1
        error = json.loads(missing.stdout)["response"]
        assert error["code"] == "7804" and error["field"].startswith("message.parameters.")
        # The CLI's: an unknown name in a language, a message kind with a template, template
        # options without one.
        unknown = send(service, "--template", "order_update", "--lang", "de")
        assert unknown.returncode == 2 and "no template 'order_update' in de" in unknown.stderr
        mixed = send(service, "--template", "login_code", "--otp", "1", "--text", "hi")
        assert mixed.returncode == 2 and "--text cannot go with it" in mixed.stderr
        alone = send(service, "--text", "hi", "--param", "1=Ana")
        assert alone.returncode == 2 and "need --template" in alone.stderr
