"""The keyring of stored secrets: encrypt with the first key, decrypt with any, never twice,
never a key or a secret in an error."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from wanode.config import Settings
from wanode.store.keyring import PREFIX, Keyring, SecretKeyError, new_key

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
SECRET = "EAAG-some-access-token"


def test_a_sealed_value_is_prefixed_and_opens_to_the_value() -> None:
    ring = Keyring([KEY_A])
    sealed = ring.seal(SECRET)
    assert sealed.startswith(PREFIX) and SECRET not in sealed
    assert ring.seal(SECRET) != sealed  # a fresh IV each time
    assert Keyring([KEY_A]).open(sealed, what="x") == SECRET
    # A value that looks encrypted once opened is not opened again: it is returned as is.
    tricky = Keyring([KEY_A]).seal(PREFIX + "not a token")
    assert Keyring([KEY_A]).open(tricky, what="x") == PREFIX + "not a token"


def test_plaintext_is_read_as_it_is_and_written_as_it_is_without_keys() -> None:
    assert Keyring([KEY_A]).open(SECRET, what="x") == SECRET
    assert Keyring().seal(SECRET) == SECRET
    assert not Keyring().encrypts and Keyring([KEY_A]).encrypts


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old = Keyring([KEY_A]).seal(SECRET)
    both = Keyring.from_settings(f" {KEY_B} , {KEY_A} ", Path("unused"))
    assert both.open(old, what="x") == SECRET
    new = both.seal(SECRET)
    assert Keyring([KEY_B]).open(new, what="x") == SECRET
    with pytest.raises(SecretKeyError):
        Keyring([KEY_A]).open(new, what="x")
    assert both.reseal(old, what="x", rotate=False) is None
    rotated = both.reseal(old, what="x", rotate=True)
    assert rotated is not None and Keyring([KEY_B]).open(rotated, what="x") == SECRET


def test_errors_name_the_setting_and_the_secret_never_the_values() -> None:
    sealed = Keyring([KEY_A]).seal(SECRET)
    with pytest.raises(SecretKeyError) as wrong:
        Keyring([KEY_B]).open(sealed, what="apps.access_token of a_1")
    with pytest.raises(SecretKeyError) as missing:
        Keyring().open(sealed, what="apps.access_token of a_1")
    for caught in (wrong, missing):
        message = str(caught.value)
        assert "WANODE_SECRET_KEY" in message and "apps.access_token of a_1" in message
        assert KEY_A not in message and KEY_B not in message and SECRET not in message
    typo = KEY_A[:-3] + "!!="
    with pytest.raises(SecretKeyError, match="not a Fernet key") as bad:
        Keyring([typo])
    assert typo not in str(bad.value)


def test_the_key_file_is_made_0600_once_and_read_after(tmp_path: Path) -> None:
    path = tmp_path / "var" / "wanode.db.key"
    sealed = Keyring(key_file=path).seal(SECRET)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Keyring(key_file=path).open(sealed, what="x") == SECRET
    # One key a line, the first encrypting: a file rotates like the setting.
    path.write_text(f"{new_key()}\n# the old one\n{path.read_text()}")
    assert Keyring(key_file=path).open(sealed, what="x") == SECRET
    with pytest.raises(SecretKeyError, match="does not exist"):
        Keyring(key_file=tmp_path / "absent.key").open(sealed, what="x")


def test_the_key_file_defaults_beside_the_sqlite_database() -> None:
    sqlite = Settings(database_url="sqlite+aiosqlite:///data/w.db")
    assert sqlite.secret_key_path() == Path("data/w.db.key")
    postgres = Settings(database_url="postgresql+asyncpg://u@h/db")
    assert postgres.secret_key_path() == Path("var/wanode.key")
    chosen = Settings(database_url="postgresql+asyncpg://u@h/db", secret_key_file="/etc/k")
    assert chosen.secret_key_path() == Path("/etc/k")
    assert KEY_A not in repr(Settings(secret_key=KEY_A))
