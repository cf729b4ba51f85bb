"""The console's safety: CSRF tokens on every state-changing form, the session cookie's flags,
and a revoked key's sessions ending at once."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect
from tests.console.conftest import Console, sign_in


def _signed_in_client(console: Console, key: str, **headers: str) -> tuple[httpx.Client, str]:
    """An httpx client signed in to the console, and the session's CSRF token."""
    client = httpx.Client(base_url=console.url, headers=headers)
    form = client.get("/console/sign-in")
    pre = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert pre is not None
    answer = client.post(
        "/console/sign-in", data={"key": key, "csrf": pre.group(1), "next": "/console"}
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/console/compose")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert token is not None and token.group(1)
    return client, token.group(1)


def test_a_form_post_without_its_csrf_token_is_refused(console: Console) -> None:
    client, token = _signed_in_client(console, console.admin_key)
    try:
        form = {"app": console.app_id, "to": "+15550009999", "kind": "text", "body": "hi"}
        for sent in ({}, {"csrf": "not-the-token"}):
            answer = client.post("/console/compose", data={**form, **sent})
            assert answer.status_code == 403
            assert "CSRF" in answer.text
        answer = client.post("/console/keys", data={"name": "x", "scope": console.app_id})
        assert answer.status_code == 403
        # With the token the same post goes through to the API's checks (and is queued).
        answer = client.post("/console/compose", data={**form, "csrf": token})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/messages/")
        # The sign-in form has its own token: a post from another site cannot sign anyone in.
        bare = httpx.post(f"{console.url}/console/sign-in", data={"key": console.admin_key})
        assert bare.status_code == 403
        assert "wanode_console=" not in bare.headers.get("set-cookie", "")
    finally:
        client.close()


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(console: Console) -> None:
    with httpx.Client(base_url=console.url) as client:
        form = client.get("/console/sign-in")
        pre = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert pre is not None
        # uvicorn trusts X-Forwarded-Proto from 127.0.0.1, as from a TLS proxy in front.
        answer = client.post(
            "/console/sign-in",
            data={"key": console.admin_key, "csrf": pre.group(1)},
            headers={"X-Forwarded-Proto": "https"},
        )
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("wanode_console=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "secure", "path=/console"} <= flags
    assert console.admin_key not in cookie


def test_revoking_a_key_ends_its_console_session(
    new_page: Callable[..., Page], console: Console
) -> None:
    with console.api() as api:
        created = api.post("/v1/keys", json={"name": "short-lived", "app_id": console.app_id})
        assert created.status_code == 201
        key = created.json()
    page = new_page()
    sign_in(page, console, key["key"])
    expect(page.locator(".caller")).to_have_text(f"app {console.app_id}")
    with console.api() as api:
        assert api.delete(f"/v1/keys/{key['id']}").status_code == 204
    page.goto(f"{console.url}/console/messages")
    assert page.url.startswith(f"{console.url}/console/sign-in?next=")
    # An htmx request (a poll) is told to leave for the sign-in page rather than redirected.
    answer = page.request.get(
        f"{console.url}/console/overview/live", headers={"HX-Request": "true"}
    )
    assert answer.status == 401
    assert answer.headers["hx-redirect"].startswith("/console/sign-in")


def test_an_app_key_sees_its_own_app_only(new_page: Callable[..., Page], console: Console) -> None:
    with console.api() as api:
        other = api.post(
            "/v1/apps",
            json={
                "name": "Other shop",
                "phone_number_id": "1777000" + console.phone_number_id[-6:],
                "waba_id": "2777000" + console.phone_number_id[-6:],
                "access_token": "t",
                "app_secret": "s",
                "gateway": "sandbox",
            },
        )
        assert other.status_code == 201, other.text
    page = new_page()
    sign_in(page, console, console.app_key)
    page.goto(f"{console.url}/console/apps")
    expect(page.get_by_role("heading", name=re.compile("Default app"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Other shop"))).to_have_count(0)
    expect(page.get_by_role("heading", name="Register an app")).to_have_count(0)
