"""Signing in to the console: with a key, never with a wrong one, nothing without a session."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect
from tests.console.conftest import Console, sign_in


def test_a_key_signs_in_and_the_nav_shows_every_page(
    new_page: Callable[..., Page], console: Console
) -> None:
    page = new_page()
    sign_in(page, console)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    nav = page.get_by_role("navigation", name="Console")
    for label in ("Overview", "Messages", "Compose", "Templates", "Contacts", "Flows"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "wanode_console")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert console.admin_key not in cookie["value"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{console.url}/console/sign-in")
    assert [c for c in page.context.cookies() if c["name"] == "wanode_console"] == []
    page.goto(f"{console.url}/console")
    assert page.url.startswith(f"{console.url}/console/sign-in")


def test_a_wrong_key_is_refused(new_page: Callable[..., Page], console: Console) -> None:
    page = new_page()
    page.goto(f"{console.url}/console/sign-in")
    page.get_by_label("API key").fill("not-a-key-of-this-wanode")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That API key was refused: it is unknown or revoked."
    )
    assert [c for c in page.context.cookies() if c["name"] == "wanode_console"] == []
    page.goto(f"{console.url}/console")
    assert page.url.startswith(f"{console.url}/console/sign-in")


def test_a_page_without_a_session_redirects_to_sign_in_and_back(
    new_page: Callable[..., Page], console: Console
) -> None:
    page = new_page()
    page.goto(f"{console.url}/console/messages?status=read")
    assert page.url == f"{console.url}/console/sign-in?next=%2Fconsole%2Fmessages%3Fstatus%3Dread"
    page.get_by_label("API key").fill(console.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{console.url}/console/messages?status=read")
