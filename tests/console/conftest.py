"""The console's browser tests: one live wanode (as `wanode serve` builds it, in-process sandbox,
a temp SQLite database) on a free 127.0.0.1 port and one headless Chromium from the
distribution, shared by all the console's tests and stopped when they are done (`_Shared`).

Fixtures:
- `console`: the base URL, an admin API key, the default app's id and phone_number_id, a key of
  that app, and the sandbox's handset helpers (`handset_says`, `inbox`, `handset`).
- `signed_in`: a fresh browser context and page, signed in with the admin key.
- `browser`: the shared Chromium, for tests that make their own contexts.
- `screenshot(page, name)`: saves to tests/console/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from wanode.cli.bootstrap import build_service, ensure_defaults, open_database, provision_all
from wanode.cli.main import bounded_config
from wanode.config import Settings
from wanode.store import apps as app_queries

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
# The README's pictures: refreshed from a test run only when asked, so that running the tests
# never changes tracked files (`WANODE_DOC_SCREENSHOTS=1 make test`).
DOC_SCREENSHOTS = Path(__file__).parents[2] / "docs" / "console"


def publish(shot: Path, name: str) -> None:
    """Copy a screenshot to `docs/console/<name>` when WANODE_DOC_SCREENSHOTS is set."""
    if os.environ.get("WANODE_DOC_SCREENSHOTS"):
        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOC_SCREENSHOTS / name)


# Playwright's waits: long enough for a message's whole lifecycle in the sandbox (about 3 s).
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Console:
    url: str
    admin_key: str
    app_id: str
    phone_number_id: str
    app_key: str
    http: httpx.Client = field(repr=False)

    def api(self, key: str | None = None) -> httpx.Client:
        """A client of the live server's API with `key` (the admin key by default)."""
        return httpx.Client(base_url=self.url, headers={"key": key or self.admin_key})

    def handset_says(self, wa_id: str, text: str) -> str:
        """The simulated handset `wa_id` writes `text` to the default app's number; returns
        the inbound wamid once wanode has stored it (so the customer-care window is open)."""
        answer = self.http.post(
            f"/sandbox/handsets/{wa_id}/send",
            json={"phone_number_id": self.phone_number_id, "text": text},
        )
        answer.raise_for_status()
        wamid: str = answer.json()["id"]
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        with self.api() as api:
            while True:
                stored = api.get("/v1/inbound", params={"waid": wa_id}).json()["messages"]
                if any(m["wamid"] == wamid for m in stored):
                    return wamid
                assert time.monotonic() < deadline, f"wanode never stored the inbound {wamid}"
                time.sleep(0.05)

    def inbox(self, wa_id: str) -> list[dict[str, Any]]:
        """What the handset `wa_id` has received from the business."""
        answer = self.http.get(f"/sandbox/handsets/{wa_id}/messages")
        answer.raise_for_status()
        messages: list[dict[str, Any]] = answer.json()
        return messages

    def handset(self, wa_id: str, **settings: Any) -> dict[str, Any]:
        """Configure the handset `wa_id` (reads, online, exists, ...); returns its state."""
        answer = self.http.put(f"/sandbox/handsets/{wa_id}", json=settings)
        answer.raise_for_status()
        state: dict[str, Any] = answer.json()
        return state


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _LiveServer:
    """wanode as `wanode serve` starts it, served by uvicorn on a thread of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.failed: BaseException | None = None
        self.info: dict[str, str] = {}
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self._run, name="console-live-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not (self._server is not None and self._server.started):
            if self.failed is not None:
                raise RuntimeError("the live server failed to start") from self.failed
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live server did not start within 30 s")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(15)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.failed = exc

    async def _main(self) -> None:
        settings = self.settings
        db = open_database(settings)
        await db.migrate()
        first = await ensure_defaults(db, gateway="sandbox")
        assert first.new_key is not None
        async with db.begin() as conn:
            app_key = await app_queries.create_key(conn, "console-tests", app_id=first.app["id"])
        app, ctx = build_service(settings, db)
        if ctx.sandbox is not None:
            await provision_all(db, ctx.sandbox, settings)
        self.info = {
            "admin_key": first.new_key,
            "app_id": first.app["id"],
            "phone_number_id": first.app["phone_number_id"],
            "app_key": app_key,
        }
        config = bounded_config(app, settings, host=settings.host, port=settings.port)
        server = uvicorn.Server(config)
        self._server = server
        try:
            await server.serve()
        finally:
            await db.dispose()


class _Shared:
    """The live service and the browser, started by the first console test that asks for them
    and stopped once the console's tests are done (`pytest_runtest_teardown`), not at the end
    of the session: a service left running would keep its engine's loops busy through the rest
    of the suite, and while Playwright's sync driver runs the main thread has a running event
    loop, so the pytest-asyncio tests that come after could not start theirs."""

    def __init__(self) -> None:
        self.console: Console | None = None
        self._server: _LiveServer | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None

    def start_console(self) -> Console:
        if self.console is None:
            port = _free_port()
            self._tmp = tempfile.TemporaryDirectory(prefix="wanode-console-")
            settings = Settings(
                database_url=f"sqlite+aiosqlite:///{self._tmp.name}/wanode.db",
                secret_key=Fernet.generate_key().decode(),
                host="127.0.0.1",
                port=port,
                sandbox=True,
                log_level="warning",
            )
            self._server = _LiveServer(settings)
            self._server.start()
            url = f"http://127.0.0.1:{port}"
            http = httpx.Client(base_url=url, timeout=10)
            self.console = Console(url=url, http=http, **self._server.info)
        return self.console

    def start_browser(self) -> Browser:
        if self.browser is None:
            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        return self.browser

    def stop(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None
        if self.playwright is not None:
            self.playwright.stop()
            self.playwright = None
        if self.console is not None:
            self.console.http.close()
            self.console = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


_SHARED = _Shared()
_HERE = Path(__file__).parent


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # After the fixtures' own teardown (trylast): the pages are closed by then.
    if nextitem is None or _HERE not in Path(nextitem.path).parents:
        _SHARED.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _SHARED.stop()  # an interrupted run never reaches the last console test's teardown


@pytest.fixture
def console() -> Console:
    return _SHARED.start_console()


@pytest.fixture
def browser() -> Browser:
    return _SHARED.start_browser()


def sign_in(page: Page, console: Console, key: str | None = None) -> None:
    page.goto(f"{console.url}/console/sign-in")
    page.get_by_label("API key").fill(key or console.admin_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{console.url}/console")


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Pages in fresh browser contexts (no cookies), closed after the test."""
    contexts = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in(new_page: Callable[..., Page], console: Console) -> Page:
    page = new_page()
    sign_in(page, console)
    return page


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
