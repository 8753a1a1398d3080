"""Driving the console in Debian's Chromium: launch flags, signing in, screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.helpers import PASSWORD, unique_email

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox (we run as root in CI), no GPU, and nothing that reaches out to Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Set to a directory (docs/console) to refresh the screenshots the README shows.
SCREENSHOTS_ENV = "CONSOLE_SCREENSHOTS"
PUBLISHED = frozenset(
    {
        "sign-in",
        "analysis",
        "run-live",
        "run-result",
        "files",
        "history",
        "audit",
        "api-keys",
        "profile-dark",
        "phone-menu",
    }
)


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).is_file():
        return (
            f"chromium is not installed at {CHROMIUM} (make chromium, or apt-get install chromium)"
        )
    return None


def shot(page: Page, directory: Path, name: str, *, focus: Locator | None = None) -> Path:
    """A full-page screenshot under the test's directory.

    With ``CONSOLE_SCREENSHOTS=docs/console`` the main screens are also written there as
    the window shows them, scrolled to ``focus`` (those are the README's pictures).
    """
    path = directory / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    published = os.environ.get(SCREENSHOTS_ENV)
    if published and name in PUBLISHED:
        if focus is not None:
            focus.evaluate("element => element.scrollIntoView({block: 'start'})")
        Path(published).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(published) / path.name)
    return path


def sign_up(page: Page, base_url: str, *, email: str | None = None) -> str:
    """Create an account through the sign-in screen; lands on New generation."""
    email = email or unique_email("browser")
    page.goto(f"{base_url}/#/new")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="New generation")).to_be_visible()
    return email


def sign_in(page: Page, base_url: str, email: str, where: str = "#/new") -> None:
    """Sign in through the sign-in screen, then open ``where``."""
    page.goto(f"{base_url}/{where}")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#account")).to_be_visible()


def open_view(page: Page, link: str, heading: str | None = None) -> None:
    """Open a view from the main menu and wait until it has finished drawing.

    The shell focuses a view's heading only once the view's ``render`` has resolved, so
    a focused heading means the form is the one that stays: filling fields before that
    can fill the view being left (its inputs match the same labels).
    """
    page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()
    title = page.locator("#main h1")
    expect(title).to_have_text(heading or link)
    expect(title).to_be_focused()
