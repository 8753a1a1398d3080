"""One ``devgen up`` and one Chromium per module of browser tests, a fresh context each.

The browser tests run together on one pytest worker (their modules are marked
``xdist_group("browser")``), so the platform starts once; each test gets its own
context (empty sessionStorage, so nobody is signed in) and fails on any uncaught
error in the page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, chromium_missing_reason
from tests.conftest import IN_CI
from tests.e2e.support import Process, all_in_one

# Registration hashes a password and a run's first step may wait for the machine: the
# default 5 s is too short on a loaded CI host. These are deadlines, not sleeps.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``devgen up`` on a free port with its own data; its base URL."""
    reason = chromium_missing_reason()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    process: Process = all_in_one(
        tmp_path_factory.mktemp("console"),
        # Reloads of identity's signing keys every 2 s, so the console's sign-ins, refreshes
        # and sign-outs all come after some (a reload once broke a sign-in after idle time).
        DEVGEN_SIGNING_KEY_RELOAD_SECONDS="2",
    )
    process.start()
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser(console_url: str) -> Iterator[Browser]:
    """Headless Chromium from the distribution (no `playwright install`).

    Module-scoped, not session-scoped: while Playwright's sync API is active its event
    loop is this thread's, and the asyncio tests that the same worker runs next need it
    gone.
    """
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile: no tokens, downloads allowed, a desktop-sized window."""
    opened = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    opened.set_default_timeout(30_000)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab; the test fails if the console throws an uncaught error in it."""
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    assert not errors, f"the console threw: {errors}"
