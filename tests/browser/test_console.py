"""The web console in a real browser: the main job from sign-up to the downloaded project."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser.support import DESKTOP, PHONE, open_view, shot, sign_in, sign_up
from tests.helpers import eventually_sync

# One worker runs them all (pytest -n 2 --dist loadgroup), so one platform serves them.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# The smallest example (2 entities, ~30 generated tests): the run is mostly its tests.
EXAMPLE = "todo"
FINAL = re.compile(r"^(succeeded|skipped)$")
NOT_READ = "Every member receives a birthday card signed by the librarians."


@dataclass
class WatchedRun:
    """A run generated and watched through the console, and what the browser saw."""

    email: str
    run_id: str
    seen_running: list[str] = field(default_factory=list)
    resumed_after: list[str] = field(default_factory=list)
    # The tab that watched it, left open on the finished run (what the live view kept).
    page: Page | None = None


def _events_requests(page: Page, into: list[str]) -> None:
    def record(request: Request) -> None:
        if request.url.endswith("/events"):
            into.append(request.headers.get("last-event-id", ""))

    page.on("request", record)


@pytest.fixture(scope="module")
def watched_run(
    browser: Browser, console_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WatchedRun]:
    """Sign up, generate the example, watch it live, reload mid-run, wait for the end.

    One run serves the tests that look at a run and its result: the pipeline (the
    generated tests in the sandbox) is most of the browser tests' time.
    """
    screenshots = tmp_path_factory.mktemp("watched-run")
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    email = sign_up(page, console_url)
    page.get_by_label("Start from an example").select_option(EXAMPLE)
    page.get_by_role("button", name="Generate").click()
    expect(page).to_have_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
    run_id = page.url.rsplit("/", 1)[-1]
    watched = WatchedRun(email, run_id)

    test_step = page.locator('[data-step="test"]')
    expect(test_step).to_have_attribute("data-state", "running", timeout=120_000)
    watched.seen_running = [
        step.get_attribute("data-step")
        for step in page.locator('.step[data-state="running"]').all()
    ]
    shot(page, screenshots, "run-live")

    _events_requests(page, watched.resumed_after)
    page.reload()
    expect(page.get_by_role("heading", name=re.compile("^Run "))).to_be_visible()
    for step in ("analyze", "generate", "validate", "test", "repair", "contract", "package"):
        expect(page.locator(f'[data-step="{step}"]')).to_have_attribute(
            "data-state", FINAL, timeout=240_000
        )
    expect(page.locator("#run-state")).to_have_attribute("data-state", "succeeded")
    expect(page.get_by_test_id("report")).to_be_visible()
    shot(page, screenshots, "run-result", focus=page.locator("#result-title"))
    watched.page = page
    yield watched
    context.close()


def test_signing_up_opens_new_generation_with_the_role_shown(page, console_url, tmp_path):
    page.goto(console_url)
    expect(page.get_by_role("heading", name="Sign in to devgen")).to_be_visible()
    shot(page, tmp_path, "sign-in")

    sign_up(page, console_url)

    expect(page.locator("#role")).to_have_text("owner")
    expect(page.get_by_label("Workspace", exact=True)).to_contain_text("workspace")
    expect(page.get_by_label("Engine")).to_have_value("template")
    shot(page, tmp_path, "new-generation")


def test_analysing_an_example_shows_its_spec_rules_and_what_will_not_be_implemented(
    page, console_url, tmp_path
):
    sign_up(page, console_url)
    page.get_by_label("Start from an example").select_option("library")
    requirement = page.get_by_label("Requirement")
    expect(requirement).to_have_value(re.compile("^A library lends books"))
    requirement.fill(requirement.input_value() + NOT_READ + "\n")

    page.get_by_role("button", name="Analyse").click()

    dropped = page.get_by_test_id("not-implemented")
    expect(dropped).to_contain_text("This sentence will not be implemented")
    expect(dropped).to_contain_text(NOT_READ.rstrip("."))
    expect(dropped).to_contain_text("nothing was built from it")
    for entity in ("book", "member", "loan"):
        expect(page.locator(f'[data-entity="{entity}"]')).to_be_visible()
    rules = page.get_by_test_id("rules")
    expect(rules.get_by_role("row", name=re.compile(r"book\s+unique.*isbn"))).to_be_visible()
    expect(rules.get_by_role("row", name=re.compile(r"member\s+unique.*email"))).to_be_visible()
    expect(rules).to_contain_text("authentication")
    # The rules the requirement states, next to those its constraints imply.
    expect(rules.get_by_role("row", name=re.compile(r"loan\s+compare.*due_date"))).to_be_visible()
    expect(rules.get_by_role("row", name=re.compile(r"loan\s+count_limit"))).to_be_visible()
    expect(page.get_by_test_id("stories")).to_contain_text("US-book-create")
    shot(page, tmp_path, "analysis", focus=page.locator("#analysis-title"))


def test_every_step_of_a_generated_run_reaches_its_final_state(watched_run):
    # The fixture waited, in the browser, for each step's row to show succeeded or skipped.
    assert "test" in watched_run.seen_running


def test_a_reload_mid_run_resumes_the_stream_after_the_last_event(watched_run):
    # The first stream after the reload asks for what came after the events already shown.
    assert watched_run.resumed_after, "the page opened no event stream after the reload"
    assert watched_run.resumed_after[0].isdigit()
    assert int(watched_run.resumed_after[0]) >= 4


def test_the_result_shows_the_report_and_a_highlighted_generated_file(
    page, console_url, watched_run, tmp_path
):
    sign_in(page, console_url, watched_run.email, f"#/runs/{watched_run.run_id}")
    expect(page.get_by_test_id("tests-tally")).to_contain_text(
        re.compile(r"[1-9]\d* passed, 0 failed")
    )
    criteria = page.get_by_test_id("criteria")
    expect(criteria).to_contain_text("AC-task-create")
    expect(criteria.locator(".state-failed")).to_have_count(0)
    expect(page.get_by_test_id("report").get_by_test_id("rules")).to_contain_text("one of")
    shot(page, tmp_path, "report")

    page.get_by_role("tab", name=re.compile("^Files")).click()
    page.get_by_role("navigation", name="Project files").get_by_role(
        "button", name="main.py"
    ).click()

    viewer = page.locator("#file-viewer")
    expect(viewer.get_by_role("heading")).to_have_text("app/main.py")
    expect(viewer.locator("code .tok-keyword").filter(has_text="def").first).to_be_visible()
    expect(viewer.locator("pre.code code")).to_contain_text("FastAPI(")
    shot(page, tmp_path, "files", focus=page.locator("#result-title"))


def test_the_artifact_downloads_as_a_zip_holding_the_report(
    page, console_url, watched_run, tmp_path
):
    sign_in(page, console_url, watched_run.email, f"#/runs/{watched_run.run_id}")

    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("^Download the project")).click()

    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{EXAMPLE}.zip"
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as archive:
        names = archive.namelist()
        assert "REPORT.md" in names
        assert archive.read("REPORT.md").decode().startswith("# ")
    shot(page, tmp_path, "downloaded")


def test_cancelling_a_run_of_a_new_project_stops_it(page, console_url, tmp_path):
    sign_up(page, console_url)
    page.get_by_label("Start from an example").select_option(EXAMPLE)
    page.get_by_label("Keep as a project").fill("Todo list")
    page.get_by_role("button", name="Generate").click()
    cancel = page.get_by_role("button", name="Cancel run")

    cancel.click()

    expect(page.locator("#run-state")).to_have_attribute("data-state", "cancelled", timeout=120_000)
    expect(cancel).to_be_hidden()
    expect(page.locator('.step[data-state="cancelled"]').first).to_be_visible()
    expect(page.locator("#run-error")).to_contain_text("CANCELLED")
    shot(page, tmp_path, "cancelled")
    open_view(page, "Projects")
    expect(
        page.locator("#projects").get_by_role("row", name=re.compile("^Todo list"))
    ).to_be_visible()


def test_switching_to_a_new_workspace_acts_there(page, console_url, tmp_path):
    sign_up(page, console_url)
    open_view(page, "Profile")
    page.get_by_label("Name", exact=True).fill("Acme")
    page.get_by_role("button", name="Create workspace").click()
    workspace = page.get_by_label("Workspace", exact=True)
    expect(workspace.locator("option")).to_have_count(2)

    workspace.select_option(label="Acme (owner)")

    expect(page.locator("#status")).to_have_text("You now act in Acme as owner.")
    expect(page.locator("#me-tenant")).to_have_text("Acme")
    expect(workspace).to_have_value(re.compile("[0-9a-f-]{36}"))
    shot(page, tmp_path, "workspace-switched")


def test_another_user_sees_none_of_the_first_users_runs(page, console_url, watched_run, tmp_path):
    sign_up(page, console_url)

    open_view(page, "History")
    expect(page.locator("#runs")).to_contain_text("No runs yet")
    expect(page.locator(f'[data-run="{watched_run.run_id}"]')).to_have_count(0)
    shot(page, tmp_path, "history-of-another-user")

    page.goto(f"{console_url}/#/runs/{watched_run.run_id}")
    expect(page.get_by_role("heading", name="Run not found")).to_be_visible()


def test_the_owner_sees_the_history_and_the_audit_chain_verified(
    page, console_url, watched_run, tmp_path
):
    sign_in(page, console_url, watched_run.email, "#/runs")
    expect(page.locator(f'[data-run="{watched_run.run_id}"]')).to_be_visible()
    shot(page, tmp_path, "history")

    open_view(page, "Audit")

    verification = page.locator("#audit-verification")
    expect(verification).to_contain_text("The audit chain is intact.")
    expect(verification.locator("[data-valid]")).to_have_attribute("data-valid", "true")
    page.get_by_label("Action starts with").fill("orchestrator.run")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-records")).to_contain_text("orchestrator.run.succeeded")
    shot(page, tmp_path, "audit")


def test_the_dark_theme_chosen_in_the_profile_follows_the_user(
    browser, page, console_url, tmp_path
):
    email = sign_up(page, console_url)
    open_view(page, "Profile")
    page.get_by_label("Dark").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#status")).to_have_text("Preferences saved.")

    # Another browser: nothing remembered locally, the theme comes from the profile.
    elsewhere = browser.new_context(viewport=DESKTOP)
    other = elsewhere.new_page()
    sign_in(other, console_url, email, "#/profile")

    expect(other.locator("html")).to_have_attribute("data-theme", "dark")
    expect(other.get_by_label("Dark")).to_be_checked()
    background = other.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(15, 18, 23)"
    shot(other, tmp_path, "profile-dark")
    elsewhere.close()


def test_an_api_key_secret_is_shown_once_and_the_key_can_be_revoked(page, console_url, tmp_path):
    sign_up(page, console_url)
    open_view(page, "API keys")
    page.get_by_label("Name", exact=True).fill("ci")

    page.get_by_role("button", name="Create key").click()

    expect(page.locator("#key-secret-value")).to_have_text(re.compile(r"^dgk_"))
    row = page.locator("#keys").get_by_role("row", name=re.compile("^ci "))
    expect(row).to_contain_text("read")
    shot(page, tmp_path, "api-keys")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(row.get_by_role("button", name="Revoked")).to_be_disabled()


def test_an_expired_access_token_is_refreshed_once_then_sign_in_comes_back(page, console_url):
    sign_up(page, console_url)
    tokens = page.evaluate("JSON.parse(sessionStorage.getItem('devgen.tokens'))")
    page.evaluate(
        "tokens => sessionStorage.setItem('devgen.tokens', JSON.stringify(tokens))",
        {"access": "expired", "refresh": tokens["refresh"]},
    )
    page.reload()
    expect(page.locator("#role")).to_have_text("owner")
    renewed = page.evaluate("JSON.parse(sessionStorage.getItem('devgen.tokens'))")
    assert renewed["access"] not in {"expired", tokens["access"]}

    page.evaluate(
        "tokens => sessionStorage.setItem('devgen.tokens', JSON.stringify(tokens))",
        {"access": "x", "refresh": "dgr_x"},
    )
    page.reload()

    expect(page.get_by_role("heading", name="Sign in to devgen")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("Your session has ended; sign in again.")
    assert page.evaluate("sessionStorage.getItem('devgen.tokens')") is None


def test_on_a_phone_the_menu_opens_from_a_button(browser, console_url, tmp_path):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_up(page, console_url)
    navigation = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(navigation).to_be_hidden()

    menu.click()

    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("link", name="History")).to_be_visible()
    shot(page, tmp_path, "phone-menu")
    navigation.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(navigation).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, tmp_path, "phone-history")
    context.close()


def test_the_keyboard_reaches_the_analysis_and_focus_is_visible(page, console_url):
    sign_up(page, console_url)
    page.get_by_label("Requirement").fill("A shop sells books. Each book has a title.")
    # The view is whole (its controls enabled) before the keyboard moves on from the text.
    expect(page.get_by_role("button", name="Analyse")).to_be_enabled()
    page.get_by_label("Requirement").focus()

    page.keyboard.press("Tab")

    expect(page.locator(":focus")).to_have_text("Analyse")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("analysis-summary")).to_contain_text("1 entity")


def _bearer(page: Page) -> dict[str, str]:
    """The Authorization header of the user signed in in ``page``'s tab."""
    tokens = page.evaluate("JSON.parse(sessionStorage.getItem('devgen.tokens'))")
    return {"Authorization": f"Bearer {tokens['access']}"}


def test_signing_out_brings_back_the_sign_in_form_and_forgets_the_token(page, console_url):
    sign_up(page, console_url)
    tokens = page.evaluate("JSON.parse(sessionStorage.getItem('devgen.tokens'))")

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Sign in to devgen")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Signed out.")
    expect(page.locator("#account")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('devgen.tokens')") is None
    # The session ended at the server too: its refresh token renews nothing.
    refreshed = page.request.post(
        f"{console_url}/api/v1/auth/refresh", data={"refresh_token": tokens["refresh"]}
    )
    assert refreshed.status == 401, refreshed.text()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to devgen")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_be_visible()
    expect(page.locator("#account")).to_be_hidden()


PLANNER = "A planner tracks projects. Each project has a name, a start date and a due date."
DATE_RULE = "The due date must be after the start date."


def test_editing_the_requirement_and_analysing_again_shows_the_new_rule(page, console_url):
    sign_up(page, console_url)
    requirement = page.get_by_label("Requirement")
    requirement.fill(PLANNER)
    page.get_by_role("button", name="Analyse").click()
    summary = page.get_by_test_id("analysis-summary")
    expect(summary).to_contain_text("1 entity, 0 rules")
    compare = page.get_by_test_id("rules").get_by_role(
        "row", name=re.compile(r"project\s+compare.*due_date")
    )
    expect(compare).to_have_count(0)

    requirement.fill(f"{PLANNER} {DATE_RULE}")
    page.get_by_role("button", name="Analyse").click()

    expect(summary).to_contain_text("1 entity, 1 rule")
    expect(compare).to_be_visible()
    expect(compare).to_contain_text("start_date")


def test_the_language_chosen_in_the_profile_is_kept_and_the_console_stays_english(
    browser, page, console_url
):
    email = sign_up(page, console_url)
    open_view(page, "Profile")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#status")).to_have_text("Preferences saved.")

    # Another browser: the choice comes from the profile, not from this tab.
    elsewhere = browser.new_context(viewport=DESKTOP)
    other = elsewhere.new_page()
    sign_in(other, console_url, email, "#/profile")

    language = other.get_by_label("Language")
    expect(language).to_have_value("fr")
    expect(language.locator("option:checked")).to_have_text("Français")
    expect(language.locator("option:checked")).to_have_attribute("lang", "fr")
    # What the console does with it so far: keeps it, and says it is in English.
    expect(other.locator("#language-hint")).to_contain_text("in English for now")
    expect(other.locator("html")).to_have_attribute("lang", "en")
    elsewhere.close()


AUDIT_PAGE = 50  # records per page in js/views/audit.js


def test_the_audit_log_shows_more_records_a_page_at_a_time(page, console_url):
    sign_up(page, console_url)
    headers = _bearer(page)
    # Each new API key is an audit record; with registration and sign-in, more than a page.
    for number in range(AUDIT_PAGE):
        created = page.request.post(
            f"{console_url}/api/v1/api-keys",
            data={"name": f"key-{number}", "scopes": ["read"]},
            headers=headers,
        )
        assert created.status == 201, created.text()
    eventually_sync(
        lambda: page.request.get(
            f"{console_url}/api/v1/audit/events?limit=100", headers=headers
        ).json()["data"],
        until=lambda records: (
            {"identity.user.registered", "identity.api_key.created"}
            <= {r["action"] for r in records}
            and sum(r["action"] == "identity.api_key.created" for r in records) == AUDIT_PAGE
        ),
        timeout=60,
        what="an audit record for the registration and every API key created",
    )

    open_view(page, "Audit")
    rows = page.locator("#audit-records tbody tr")
    more = page.get_by_role("button", name="Show more")
    expect(rows).to_have_count(AUDIT_PAGE)
    expect(page.locator("#audit-records")).not_to_contain_text("identity.user.registered")

    more.click()

    expect(rows.nth(AUDIT_PAGE)).to_be_visible()
    expect(page.locator("#audit-records")).to_contain_text("identity.user.registered")
    expect(more).to_be_hidden()
    # The second page follows the first: no record twice.
    seqs = rows.locator("td:nth-child(2)").all_text_contents()
    assert len(seqs) == len(set(seqs)) > AUDIT_PAGE


def test_the_tail_of_the_test_output_shows_what_pytest_printed(watched_run):
    # The tab that watched the run (reloaded mid-run) followed the tests' output stream,
    # and the contract step's Schemathesis output, which came after, did not replace it.
    output = watched_run.page.locator("#test-output")
    expect(output).to_be_visible()
    expect(output).to_contain_text(re.compile(r"\b[1-9]\d* passed in [\d.]+s"))
    expect(output).not_to_contain_text("API Operations")
    expect(output).not_to_contain_text(re.compile(r"\d+ failed"))


def test_the_result_shows_no_tokens_and_no_cost_for_the_template_engine(
    page, console_url, watched_run
):
    sign_in(page, console_url, watched_run.email, f"#/runs/{watched_run.run_id}")

    summary = page.locator("#run-summary")
    expect(summary.locator("dt", has_text="Tokens and cost")).to_be_visible()
    expect(summary).to_contain_text("0 tokens, $0.0000")
    cost = page.get_by_test_id("report").locator("section", has=page.locator("#engine-title"))
    expect(cost).to_contain_text("Engine template")
    expect(cost).to_contain_text("Tokens: 0 (0 in, 0 out); cost $0.0000.")


def test_the_history_filtered_by_state_shows_only_runs_in_that_state(
    page, console_url, watched_run
):
    sign_in(page, console_url, watched_run.email, "#/runs")
    headers = _bearer(page)
    started = page.request.post(
        f"{console_url}/api/v1/runs",
        data={"requirement": PLANNER, "engine": "template", "analyst": "template"},
        headers=headers,
    )
    assert started.status == 202, started.text()
    cancelled_id = started.json()["data"]["id"]
    cancel = page.request.post(f"{console_url}/api/v1/runs/{cancelled_id}/cancel", headers=headers)
    assert cancel.status == 202, cancel.text()
    eventually_sync(
        lambda: page.request.get(
            f"{console_url}/api/v1/runs/{cancelled_id}", headers=headers
        ).json()["data"]["state"],
        until=lambda state: state == "cancelled",
        timeout=120,
        what="the second run cancelled",
    )
    succeeded = page.locator(f'[data-run="{watched_run.run_id}"]')
    cancelled = page.locator(f'[data-run="{cancelled_id}"]')
    state = page.get_by_label("State")

    state.select_option("cancelled")

    expect(cancelled).to_be_visible()
    expect(succeeded).to_have_count(0)
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    state.select_option("succeeded")
    expect(succeeded).to_be_visible()
    expect(cancelled).to_have_count(0)
    state.select_option("failed")
    expect(page.locator("#runs")).to_contain_text("No runs yet")
    state.select_option("")
    expect(succeeded).to_be_visible()
    expect(cancelled).to_be_visible()
