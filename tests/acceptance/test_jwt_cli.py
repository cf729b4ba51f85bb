"""`wanode keys service-secret` and `wanode keys jwt`, run as subprocesses: the token printed
verifies with the secret printed, by the reference's rules."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.test_cli import run
from tests.acceptance.test_keys_cli import add_app

from wanode.api import jwt_auth


def test_a_service_secret_and_a_jwt_from_the_cli(tmp_path: Path) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    app_id = add_app(tmp_path, "1065403522")
    no_secret = run(tmp_path, "keys", "jwt", "--app", app_id)
    assert no_secret.returncode == 2 and "service-secret" in no_secret.stderr
    made = run(tmp_path, "keys", "service-secret", "--app", app_id)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert app_id in made.stderr
    token = run(tmp_path, "keys", "jwt", "--app", app_id)
    assert token.returncode == 0, token.stderr
    claims = jwt_auth.verify(token.stdout.strip(), secret)
    assert claims["iss"] == app_id
    # A new secret: the old token no longer verifies with it.
    again = run(tmp_path, "keys", "service-secret", "--app", app_id)
    newer = again.stdout.strip().splitlines()[-1]
    assert newer != secret
    try:
        jwt_auth.verify(token.stdout.strip(), newer)
    except jwt_auth.InvalidToken:
        pass
    else:
        raise AssertionError("a token signed with the replaced secret verified")
    assert run(tmp_path, "keys", "jwt", "--app", "a_0").returncode == 2
