"""Secrets at rest: access tokens, app secrets, verify tokens and subscription secrets are
stored encrypted on SQLite and PostgreSQL, everything still works with them, keys rotate, and
plaintext from before encryption is encrypted at start."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, MultiFernet
from tests.conftest import POSTGRES_URL, drop_schema
from tests.support.harness import running
from tests.support.receiver import Received, receiver

from wanode.cli.bootstrap import open_database
from wanode.config import Settings
from wanode.store import Database
from wanode.store import apps as app_queries
from wanode.store import subscriptions as sub_queries
from wanode.store.keyring import PREFIX, Keyring, SecretKeyError, seal_stored
from wanode.store.tables import apps, subscriptions

pytestmark = pytest.mark.asyncio

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
HANDSET = "447700900123"
APP_SECRETS = {
    "access_token": "EAAG-access-token-plain-1234567890",
    "app_secret": "app-secret-plain-0987654321",
    "verify_token": "verify-token-plain-abcdef",
}
SUB_SECRET = "subscription-secret-plain-ffff"


@dataclass
class Place:
    """Where a test's database lives, to open it again with other keys."""

    backend: str
    tmp_path: Path
    schema: str | None

    def open(self, keyring: Keyring | None = None) -> Database:
        if self.backend == "sqlite":
            return Database(f"sqlite+aiosqlite:///{self.tmp_path}/wanode.db", keyring=keyring)
        return Database(POSTGRES_URL, schema=self.schema, keyring=keyring)

    def settings(self, **values: Any) -> Settings:
        if self.backend == "sqlite":
            values["database_url"] = f"sqlite+aiosqlite:///{self.tmp_path}/wanode.db"
        else:
            values.update(database_url=POSTGRES_URL, database_schema=self.schema)
        return Settings(**values)


@pytest.fixture(params=["sqlite", "postgresql"])
async def place(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Place]:
    if request.param == "sqlite":
        yield Place("sqlite", tmp_path, None)
        return
    request.getfixturevalue("postgres_available")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    try:
        yield Place("postgresql", tmp_path, schema)
    finally:
        await drop_schema(schema)


async def stored(db: Database) -> list[str]:
    """Every stored secret as it is in the database, read around the named queries."""
    values: list[str] = []
    async with db.begin() as conn:
        for table, columns in ((apps, APP_SECRETS), (subscriptions, ("secret",))):
            rows = await conn.execute(sa.select(*(table.c[c] for c in columns)))
            values.extend(value for row in rows for value in row)
    return values


def assert_sealed(values: list[str], plaintexts: list[str]) -> None:
    assert values
    for value in values:
        assert value.startswith(PREFIX)
        assert not any(plain in value for plain in plaintexts)


async def add_app_and_subscription(db: Database) -> dict[str, Any]:
    async with db.begin() as conn:
        app = await app_queries.create_app(
            conn,
            name="Shop",
            phone_number_id="106540352242922",
            waba_id="102290129340398",
            display_phone_number="15550100002",
            gateway="cloud",
            **APP_SECRETS,
        )
        await sub_queries.create(
            conn, url="https://example.com/hook", app_id=None, events=None, secret=SUB_SECRET, at=0
        )
    return app


async def read_back(db: Database, app_id: str) -> tuple[dict[str, Any], list[str]]:
    async with db.begin() as conn:
        app = await app_queries.get_app(conn, app_id)
        subs = await sub_queries.list_all(conn)
    assert app is not None
    return app, [s["secret"] for s in subs]


def signed_by(secret: str, request: Received) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-hub-signature-256"], expected)


async def test_the_service_runs_on_encrypted_secrets(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = place.open(Keyring([KEY_A]))
    await db.migrate()
    try:
        async with receiver() as hook, running(db) as wn:
            default = wn.app
            created = await wn.client.post(
                "/v1/apps",
                json={
                    "phone_number_id": "106540352242922",
                    "waba_id": "102290129340398",
                    "gateway": "sandbox",
                    **APP_SECRETS,
                },
            )
            assert created.status_code == 201, created.text
            sub = await wn.client.post(
                "/v1/subscriptions", json={"url": hook.url + "/events", "secret": SUB_SECRET}
            )
            assert sub.status_code == 201, sub.text

            plaintexts = [
                *APP_SECRETS.values(),
                SUB_SECRET,
                *(default[c] for c in APP_SECRETS),
            ]
            assert_sealed(await stored(db), plaintexts)
            # The API shows no secret, in clear or encrypted.
            for path in ("/v1/apps", f"/v1/apps/{wn.app_id}", "/v1/subscriptions"):
                shown = (await wn.client.get(path)).text
                assert PREFIX not in shown and not any(p in shown for p in plaintexts), path

            # The apps are loaded (and decrypted) once; messages cost no decryption.
            decrypted: list[bytes] = []
            original = MultiFernet.decrypt

            def counting(self: MultiFernet, token: bytes | str, ttl: int | None = None) -> bytes:
                decrypted.append(b"")
                return original(self, token, ttl)

            monkeypatch.setattr(MultiFernet, "decrypt", counting)
            # Sent with the decrypted access token (the sandbox checks it); the statuses come
            # back in webhooks signed with the app secret and verified with the decrypted one.
            answers = [await wn.send_text(HANDSET, f"hello {i}") for i in range(10)]
            transids = [a.json()["response"][0]["transid"] for a in answers]
            for transid in transids:
                await wn.wait_status(transid, "read")
            assert len(decrypted) <= len(plaintexts)

            # An inbound message, signed with the app secret, forwarded to the subscriber
            # signed with the decrypted subscription secret.
            said = await wn.client.post(
                f"/sandbox/handsets/{HANDSET}/send",
                json={"phone_number_id": default["phone_number_id"], "text": "Open Sunday?"},
            )
            assert said.status_code == 201, said.text
            [event] = await hook.wait_for(1)
            assert event.json()["message"] == "Open Sunday?"
            assert signed_by(SUB_SECRET, event)

            # Webhook verification finds the app by its decrypted verify token.
            challenge = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
            ok = await wn.client.get(
                "/webhooks/whatsapp",
                params={**challenge, "hub.verify_token": APP_SECRETS["verify_token"]},
            )
            assert (ok.status_code, ok.text) == (200, "1158201444")
            stored_token = next(v for v in await stored(db) if v.startswith(PREFIX))
            for wrong in ("not-the-token", stored_token):
                refused = await wn.client.get(
                    "/webhooks/whatsapp", params={**challenge, "hub.verify_token": wrong}
                )
                assert refused.status_code == 403
    finally:
        await db.dispose()


async def test_keys_rotate(place: Place) -> None:
    db = place.open(Keyring([KEY_A]))
    await db.migrate()
    app = await add_app_and_subscription(db)
    values = await stored(db)
    await db.dispose()
    plaintexts = [*APP_SECRETS.values(), SUB_SECRET]
    assert_sealed(values, plaintexts)
    assert {Fernet(KEY_A).decrypt(v[len(PREFIX) :]).decode() for v in values} == set(plaintexts)

    # The new key first, the old one still there: both open, and rotation re-encrypts all.
    both = place.open(Keyring([KEY_B, KEY_A]))
    await both.migrate()
    async with both.begin() as conn:
        assert await seal_stored(conn, both.keyring, rotate=True) == len(plaintexts)
    rotated = await stored(both)
    await both.dispose()
    assert_sealed(rotated, plaintexts)
    assert {Fernet(KEY_B).decrypt(v[len(PREFIX) :]).decode() for v in rotated} == set(plaintexts)

    only_b = place.open(Keyring([KEY_B]))
    await only_b.migrate()
    opened, sub_secrets = await read_back(only_b, app["id"])
    await only_b.dispose()
    assert {c: opened[c] for c in APP_SECRETS} == APP_SECRETS
    assert sub_secrets == [SUB_SECRET]

    # The old key alone, or no key at all: a start-up error naming the setting.
    for keyring, says in ((Keyring([KEY_A]), "does not hold"), (None, "no key is configured")):
        stale = place.open(keyring)
        try:
            with pytest.raises(SecretKeyError) as caught:
                await stale.migrate()
        finally:
            await stale.dispose()
        message = str(caught.value)
        assert "WANODE_SECRET_KEY" in message and says in message
        assert not any(secret in message for secret in (KEY_A, KEY_B, *plaintexts))


async def test_plaintext_from_before_is_encrypted_at_start(place: Place) -> None:
    plain = place.open()
    await plain.migrate()
    app = await add_app_and_subscription(plain)
    assert sorted(await stored(plain)) == sorted([*APP_SECRETS.values(), SUB_SECRET])
    await plain.dispose()

    # Started as `wanode serve` starts: the key file (none yet) is created 0600.
    key_file = place.tmp_path / "keys" / "wanode.key"
    settings = place.settings(secret_key_file=str(key_file))
    db = open_database(settings)
    try:
        await db.migrate()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert_sealed(await stored(db), [*APP_SECRETS.values(), SUB_SECRET])
        opened, sub_secrets = await read_back(db, app["id"])
        assert {c: opened[c] for c in APP_SECRETS} == APP_SECRETS
        assert sub_secrets == [SUB_SECRET]
    finally:
        await db.dispose()

    # The key file gone: an error naming it, and no new key made over encrypted data.
    key_file.unlink()
    again = open_database(settings)
    try:
        with pytest.raises(SecretKeyError, match="WANODE_SECRET_KEY_FILE"):
            await again.migrate()
    finally:
        await again.dispose()
    assert not key_file.exists()


async def test_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/var/w.db")
        db = open_database(settings)
        try:
            await db.migrate()
            await add_app_and_subscription(db)
            names = ["w.db", "w.db-wal", "w.db-shm", "w.db.key"]
            modes = {n: stat.S_IMODE((tmp_path / "var" / n).stat().st_mode) for n in names}
        finally:
            await db.dispose()
        assert modes == dict.fromkeys(names, 0o600)

        # Files an older wanode (or a copy) left readable by others are tightened at start.
        for name in ("w.db", "w.db.key"):
            (tmp_path / "var" / name).chmod(0o644)
        db = open_database(settings)
        try:
            await db.migrate()
            async with db.begin() as conn:
                [app] = await app_queries.list_apps(conn)
        finally:
            await db.dispose()
        assert app["app_secret"] == APP_SECRETS["app_secret"]
        for name in ("w.db", "w.db.key"):
            assert stat.S_IMODE((tmp_path / "var" / name).stat().st_mode) == 0o600
    finally:
        os.umask(old)


async def test_a_wrong_key_never_yields_garbage(place: Place) -> None:
    """Reading an app whose secrets another key encrypted fails, naming the secret's column
    and row, not its value."""
    db = place.open(Keyring([KEY_A]))
    await db.migrate()
    app = await add_app_and_subscription(db)
    await db.dispose()
    other = place.open(Keyring([KEY_B]))
    try:
        async with other.begin() as conn:
            with pytest.raises(SecretKeyError, match=f"apps.access_token of {app['id']}"):
                await app_queries.get_app(conn, app["id"])
    finally:
        await other.dispose()
