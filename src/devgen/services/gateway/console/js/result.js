// A finished run's result: the report (from the artifact's report.json, with the LLM roles'
// documents), the generated project as a file tree with each file highlighted, and the
// download of its zip.

import { ApiError, download, get } from "./api.js";
import { documentsBlock } from "./documents.js";
import { badge, fill, h, seconds, table, tally } from "./dom.js";
import { filesBlock } from "./files.js";
import { notImplementedBlock, rulesBlock } from "./specview.js";
import { alarm, announce } from "./status.js";

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function saveZip(manifest) {
  const response = await download(`/api/v1/artifacts/${manifest.id}/download`);
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `${manifest.name}.zip`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file once the click is handled; free the memory after.
  window.setTimeout(() => URL.revokeObjectURL(url), 60000);
  announce(`Downloading ${manifest.name}.zip.`);
}

function shortTest(id) {
  return String(id).split("::").pop();
}

function criteriaBlock(report) {
  const counts = report.criteria_summary || {};
  return h(
    "section",
    { "aria-labelledby": "criteria-title", "data-testid": "criteria" },
    h("h3", { id: "criteria-title" }, "Acceptance criteria"),
    h(
      "p",
      {},
      `${counts.passed || 0} passed, ${counts.failed || 0} failed, ${counts.not_run || 0} not run, ` +
        `${counts.untested || 0} without a test.`,
    ),
    table(
      ["criterion", "", "status", "tests"],
      (report.acceptance_criteria || []).map((criterion) => [
        h("span", { class: "muted" }, criterion.id),
        criterion.text,
        badge(criterion.status),
        h(
          "ul",
          { class: "plain" },
          (criterion.tests || []).map((test) =>
            h("li", {}, h("code", { title: test.id }, shortTest(test.id)), " ", badge(test.outcome)),
          ),
        ),
      ]),
      { empty: "No acceptance criteria." },
    ),
  );
}

function detailsTable(title, headers, rows) {
  return h("details", {}, h("summary", {}, `${title} (${rows.length})`), table(headers, rows));
}

function reportBlock(report) {
  const tests = report.tests || {};
  const summary = tests.summary || {};
  const coverage = report.coverage || {};
  const usage = report.usage || {};
  const engine = report.engine || {};
  const validation = report.validation || { errors: 0, warnings: 0, diagnostics: [] };
  const percent = coverage.percent;
  return h(
    "div",
    { class: "report", "data-testid": "report" },
    h(
      "p",
      { class: `callout ${tests.all_passed ? "ok" : "bad"}` },
      h("strong", {}, tests.all_passed ? "The generated tests passed. " : "The generated tests did not pass. "),
      `${tally(summary)}.`,
      percent !== undefined && percent !== null
        ? [" Line coverage ", h("meter", { min: 0, max: 100, value: percent, "aria-label": "Line coverage" }), ` ${percent}%.`]
        : null,
    ),
    criteriaBlock(report),
    rulesBlock(report.spec, { headingLevel: "h3" }),
    notImplementedBlock(report, { headingLevel: "h3" }),
    documentsBlock(report),
    h(
      "section",
      { "aria-labelledby": "timings-title" },
      h("h3", { id: "timings-title" }, "Timings"),
      table(
        ["step", "type", "state", "attempts", "time"],
        (report.timings || []).map((t) => [t.step, t.type, badge(t.state), t.attempts, seconds(t.duration_seconds)]),
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "engine-title" },
      h("h3", { id: "engine-title" }, "Engine and cost"),
      h(
        "p",
        {},
        `Engine ${engine.engine || "—"}, generator ${engine.name || "—"} ${engine.version || ""}, ` +
          `template ${engine.template || "—"} (${engine.language || "—"}). ` +
          `Tokens: ${usage.total_tokens || 0} (${usage.input_tokens || 0} in, ${usage.output_tokens || 0} out); ` +
          `cost $${Number(usage.cost_usd || 0).toFixed(4)}.`,
      ),
    ),
    h("h3", {}, "Evidence"),
    detailsTable(
      "Test results",
      ["test", "outcome", "time", "message"],
      (tests.results || []).map((r) => [h("code", {}, r.id), badge(r.outcome), seconds(r.duration_seconds), r.message || ""]),
    ),
    detailsTable(
      "Coverage per file",
      ["file", "line coverage"],
      Object.entries(coverage.files || {}).map(([file, value]) => [h("code", {}, file), `${value}%`]),
    ),
    detailsTable(
      `Validation: ${validation.errors} errors, ${validation.warnings} warnings`,
      ["file", "line", "rule", "severity", "message"],
      (validation.diagnostics || []).slice(0, 200).map((d) => [d.file, d.line, d.rule, d.severity, d.message]),
    ),
    tests.output
      ? h("details", {}, h("summary", {}, "Test output (the end)"), h("pre", { class: "output", tabindex: 0 }, tests.output))
      : null,
  );
}

function tabs(panels) {
  const list = h("div", { role: "tablist", "aria-label": "Result", class: "tabs" });
  const buttons = panels.map(({ id, title }, index) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${id}`,
        "aria-controls": `panel-${id}`,
        "aria-selected": String(index === 0),
        tabindex: index === 0 ? 0 : -1,
      },
      title,
    ),
  );
  const bodies = panels.map(({ id, body }, index) =>
    h("div", { role: "tabpanel", id: `panel-${id}`, "aria-labelledby": `tab-${id}`, tabindex: 0, hidden: index !== 0 }, body),
  );
  const select = (index, focus) => {
    buttons.forEach((button, i) => {
      button.setAttribute("aria-selected", String(i === index));
      button.tabIndex = i === index ? 0 : -1;
      bodies[i].hidden = i !== index;
    });
    if (focus) buttons[index].focus();
  };
  buttons.forEach((button, index) => {
    button.addEventListener("click", () => select(index, false));
    button.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: 1, ArrowLeft: -1 };
      if (event.key in moves) {
        event.preventDefault();
        select((index + moves[event.key] + buttons.length) % buttons.length, true);
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        select(event.key === "Home" ? 0 : buttons.length - 1, true);
      }
    });
  });
  list.append(...buttons);
  return h("div", {}, list, bodies);
}

/** Show the result of the finished `run` in `container`. */
export async function showResult(container, run) {
  if (!run.artifact_id) {
    fill(container, run.state === "succeeded" ? h("p", {}, "The run stored no artifact.") : null);
    return;
  }
  let manifest;
  try {
    manifest = await get(`/api/v1/artifacts/${run.artifact_id}`);
  } catch (error) {
    const gone = error instanceof ApiError && error.status === 404;
    fill(container, h("p", { class: "callout" }, gone ? "The artifact is gone: a cancelled or failed run's artifacts are removed." : error.message));
    return;
  }
  let report = null;
  try {
    report = await (await download(`/api/v1/artifacts/${manifest.id}/files/report.json`)).json();
  } catch {
    // An artifact without a report still has its files.
  }
  const downloadButton = h(
    "button",
    { type: "button", id: "download-artifact", class: "primary" },
    `Download the project (.zip, ${size(manifest.archive_size)})`,
  );
  downloadButton.addEventListener("click", () => saveZip(manifest).catch(alarm));
  fill(
    container,
    h(
      "section",
      { class: "result", "aria-labelledby": "result-title" },
      h("div", { class: "run-head" }, h("h2", { id: "result-title" }, `Result: ${manifest.name}`), downloadButton),
      h("p", { class: "hint" }, `${manifest.file_count} files, ${size(manifest.total_size)}; SHA-256 of the zip ${manifest.archive_sha256.slice(0, 16)}…`),
      tabs([
        { id: "report", title: "Report", body: report ? reportBlock(report) : h("p", {}, "This artifact has no report.json.") },
        { id: "files", title: `Files (${manifest.file_count})`, body: filesBlock(manifest) },
      ]),
    ),
  );
}
