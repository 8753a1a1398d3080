"""The run view shows the LLM roles' documents: brief, design and review, one section each.

``devgen up`` runs with every role on (``DEVGEN_LLM_ROLES=all``) against the stand-in,
which replays the helpdesk-sla-roles recording; the run is generated from the console.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import chromium_missing_reason, shot, sign_up
from tests.conftest import IN_CI
from tests.e2e.support import Process, all_in_one
from tests.llm_standin import LLMStandIn
from tests.llm_standin.recorded import Recording

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
PAGED = "Incidents with severity 1 page the on-call engineer"
QUESTION = "Who is on call, and how is the engineer paged (a pager service, e-mail, SMS)?"


@pytest.fixture(scope="module")
def recording() -> Recording:
    """The conversation the stand-in replays (one run's worth)."""
    return Recording.named("helpdesk-sla-roles")


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, recording: Recording) -> Iterator[str]:
    """``devgen up`` with the stand-in as its model and every role on; its base URL."""
    reason = chromium_missing_reason()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    with LLMStandIn() as standin:
        standin.replay(recording)
        process: Process = all_in_one(
            tmp_path_factory.mktemp("console-roles"),
            DEVGEN_LLM_PROVIDER="openai",
            DEVGEN_LLM_BASE_URL=standin.openai_base_url,
            DEVGEN_LLM_API_KEY=standin.api_key,
            DEVGEN_LLM_MODEL=standin.model,
            DEVGEN_LLM_MAX_RETRIES="0",
            DEVGEN_LLM_ROLES="all",
        )
        process.start()
        try:
            yield process.url
        finally:
            process.stop()


def test_the_run_view_shows_the_brief_the_design_and_the_review(
    page: Page, console_url: str, recording: Recording, tmp_path: Path
) -> None:
    sign_up(page, console_url)
    page.get_by_label("Requirement").fill((ROOT / recording.example).read_text("utf-8"))
    page.get_by_label("Engine").select_option("hybrid")
    page.get_by_role("button", name="Generate").click()
    expect(page).to_have_url(re.compile(r"#/runs/[0-9a-f-]{36}$"))
    expect(page.locator("#run-state")).to_have_attribute("data-state", "succeeded", timeout=300_000)

    brief = page.get_by_test_id("brief")
    expect(brief.get_by_role("heading", name="Product brief")).to_be_visible()
    expect(brief.get_by_test_id("open-questions")).to_contain_text(QUESTION)
    expect(brief.get_by_role("row", name=re.compile(r"R8\s+P1"))).to_be_visible()
    design = page.get_by_test_id("design")
    expect(design.locator(".mermaid-source")).to_contain_text("classDiagram")
    expect(design.locator(".mermaid-source")).to_contain_text("class Incident")
    expect(design.get_by_role("row", name=re.compile(r"POST\s+\/incidents "))).to_be_visible()
    review = page.get_by_test_id("review")
    expect(review).to_contain_text("Final verdict: approve after 2 review round(s).")
    expect(review.get_by_role("row", name=re.compile(r"^1\s+change"))).to_contain_text(
        "app/extensions/page_on_call.py"
    )
    # The model implemented the paging sentence: the report does not list it as missing.
    expect(page.get_by_test_id("not-implemented")).not_to_contain_text(PAGED)
    assert recording.done, recording.mismatches
    shot(page, tmp_path, "run-documents", focus=page.get_by_test_id("brief"))
