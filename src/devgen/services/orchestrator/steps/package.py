"""``package``: the project and its report (Markdown and JSON) stored as one artifact."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from devgen.services.orchestrator.report import (
    JSON_NAME,
    MARKDOWN_NAME,
    build_report,
    render_markdown,
)
from devgen.services.orchestrator.steps.base import StepContext, StepOutcome

ARTIFACTS_PATH = "/api/v1/artifacts"


def _free_name(files: dict[str, str], name: str) -> str:
    # A generated project could have its own REPORT.md; ours then steps aside.
    return name if name not in files else f"devgen-{name}"


def _usage_total(context: StepContext) -> dict[str, Any]:
    total = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "cost_usd": 0.0}
    for finished in context.finished.values():
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            total[key] += int(finished.usage.get(key, 0) or 0)
        total["cost_usd"] = round(
            total["cost_usd"] + float(finished.usage.get("cost_usd", 0.0) or 0.0), 6
        )
    return total


async def report_for(context: StepContext, files: dict[str, str]) -> dict[str, Any]:
    """The run's report as the package step sees it (every earlier step finished)."""
    by_type = {step.type: step for step in context.finished.values()}
    generated = by_type.get("generate")
    engine = {"engine": context.params.engine}
    if generated is not None:
        engine |= await context.resolve(generated.output.get("generator")) or {}
    repair = by_type.get("repair")
    rounds = (await context.resolve(repair.output.get("iterations"))) if repair else None
    spec = await context.input("spec", None) or {}
    stories = await context.input("user_stories", None) or spec.get("user_stories") or []
    timings: list[Mapping[str, Any]] = [
        {
            "step": step.step,
            "type": step.type,
            "state": step.state,
            "attempts": step.attempts,
            "started_at": step.started_at,
            "finished_at": step.finished_at,
            "duration_seconds": step.duration_seconds,
        }
        for step in context.finished.values()
    ]
    return build_report(
        run={"id": str(context.run_id), "workflow": context.workflow},
        requirement=context.params.requirement,
        spec=spec or None,
        user_stories=stories,
        test_run=await context.input("test_run", None),
        diagnostics=await context.input("diagnostics", None) or [],
        unparsed=await context.input("unparsed", None) or [],
        assumptions=await context.input("assumptions", None) or [],
        engine=engine,
        usage=_usage_total(context),
        repair_rounds=rounds or [],
        timings=timings,
        files=files,
        extensions=await context.input("extensions", None),
        template_tests=await context.input("template_tests", None),
        contract=await context.input("contract", None),
        documents=await context.input("documents", None),
    )


class PackageStep:
    """Stores the artifact once per attempt (``Idempotency-Key``)."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Build the report and store project and report together."""
        files: dict[str, str] = dict(await context.input("files"))
        report = await report_for(context, files)
        markdown_name = _free_name(files, MARKDOWN_NAME)
        json_name = _free_name(files, JSON_NAME)
        stored = {
            **files,
            markdown_name: render_markdown(report),
            json_name: json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        }
        spec = report.get("spec") or {}
        summary = {
            "tests_passed": report["tests"]["all_passed"],
            "tests": report["tests"]["summary"],
            "coverage_percent": (report.get("coverage") or {}).get("percent"),
            "contract": {
                key: (report.get("contract") or {}).get(key)
                for key in ("passed", "failure_count", "server_errors", "summary_line")
            }
            if report.get("contract")
            else None,
            "criteria": report["criteria_summary"],
            "usage": report["usage"],
            "report": {"markdown": markdown_name, "json": json_name},
        }
        generator = report["engine"]
        artifact = await context.services.call(
            "storage",
            "POST",
            ARTIFACTS_PATH,
            json={
                "name": str(spec.get("name") or "generated-service")[:255],
                "files": stored,
                "spec": spec or None,
                "engine": str(generator.get("engine") or context.params.engine),
                "generator_version": str(generator.get("version") or "unknown"),
                "run_id": str(context.run_id),
                "metadata": summary,
            },
            idempotency_key=context.idempotency_key("artifact"),
        )
        return StepOutcome(
            output={
                "artifact_id": artifact["id"],
                "report": {
                    **summary,
                    "archive_sha256": artifact.get("archive_sha256"),
                    "download_url": artifact.get("download_url"),
                },
            }
        )
