"""`wanode secrets`, and what a user sees when the key does not match, run as subprocesses."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

WANODE = str(Path(sys.executable).with_name("wanode"))
SECRETS = {
    "WANODE_APP_ACCESS_TOKEN": "EAAG-cli-access-token",
    "WANODE_APP_SECRET": "cli-app-secret-value",
    "WANODE_APP_VERIFY_TOKEN": "cli-verify-me",
}


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WANODE_SECRET_KEY")}
    return subprocess.run(
        [WANODE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**environment, "WANODE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/w.db", **env},
        check=False,
    )


def stored(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "w.db") as conn:
        rows = conn.execute("SELECT access_token, app_secret, verify_token FROM apps").fetchall()
    return [value for row in rows for value in row]


def test_rotate_then_drop_the_old_key(tmp_path: Path) -> None:
    made = run(tmp_path, "secrets", "new-key")
    assert made.returncode == 0, made.stderr
    key_a, key_b = made.stdout.strip(), Fernet.generate_key().decode()
    Fernet(key_a.encode())  # a usable key

    added = run(
        tmp_path,
        "apps",
        "add",
        "--phone-number-id",
        "1065403522",
        "--waba-id",
        "1022901293",
        WANODE_SECRET_KEY=key_a,
        **SECRETS,
    )
    assert added.returncode == 0, added.stderr
    assert stat.S_IMODE((tmp_path / "w.db").stat().st_mode) == 0o600
    # With the key in the setting, no key file is made.
    assert not (tmp_path / "w.db.key").exists()
    before = stored(tmp_path)
    assert all(v.startswith("enc:v1:") for v in before)
    assert not any(s in v for v in before for s in SECRETS.values())

    rotated = run(tmp_path, "secrets", "rotate", WANODE_SECRET_KEY=f"{key_b},{key_a}")
    assert rotated.returncode == 0, rotated.stderr
    assert "3 stored secrets" in rotated.stderr
    after = stored(tmp_path)
    assert all(v.startswith("enc:v1:") for v in after) and set(after).isdisjoint(before)

    listed = run(tmp_path, "apps", "list", WANODE_SECRET_KEY=key_b)
    assert listed.returncode == 0, listed.stderr
    assert '"1065403522"' in listed.stdout

    for wrong in ({"WANODE_SECRET_KEY": key_a}, {}):
        refused = run(tmp_path, "apps", "list", **wrong)
        assert refused.returncode == 2, refused.stderr
        output = refused.stdout + refused.stderr
        assert "WANODE_SECRET_KEY" in output and "Traceback" not in output
        assert not any(v in output for v in (key_a, key_b, *SECRETS.values(), *after))
    # Without the setting, the default key file was not made over encrypted secrets.
    assert not (tmp_path / "w.db.key").exists()


def test_a_key_that_is_not_a_key_is_refused_without_echo(tmp_path: Path) -> None:
    typo = Fernet.generate_key().decode()[:-4] + "%%%="
    refused = run(tmp_path, "db", "upgrade", WANODE_SECRET_KEY=typo)
    assert refused.returncode == 2
    assert "WANODE_SECRET_KEY" in refused.stderr and "not a Fernet key" in refused.stderr
    assert typo not in refused.stdout + refused.stderr


def test_a_first_start_makes_a_private_key_file(tmp_path: Path) -> None:
    upgraded = run(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    key_file = tmp_path / "w.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_text().strip().encode())
    added = run(
        tmp_path, "apps", "add", "--phone-number-id", "1065403523", "--waba-id", "1", **SECRETS
    )
    assert added.returncode == 0, added.stderr
    assert all(v.startswith("enc:v1:") for v in stored(tmp_path))
