// History: the workspace's runs, newest first, filtered by state (and project), a page at
// a time.

import { call, withQuery } from "../api.js";
import { badge, h, seconds, table, tally, when } from "../dom.js";
import { announce, guarded } from "../status.js";

const STATES = ["", "pending", "running", "succeeded", "failed", "cancelled"];
const PAGE = 20;

function runRow(run) {
  return [
    h("a", { href: `#/runs/${run.id}`, class: "run-link", "data-run": run.id }, when(run.created_at)),
    badge(run.state),
    run.engine,
    h("span", { class: "excerpt" }, run.requirement_excerpt || (run.project_id ? "(a project's spec)" : "—")),
    run.tests ? tally(run.tests) : "—",
    seconds(run.duration_seconds),
  ];
}

export async function render(main, route) {
  const projectId = route.query.get("project") || "";
  const stateSelect = h(
    "select",
    { id: "state-filter" },
    STATES.map((state) => h("option", { value: state, selected: state === (route.query.get("state") || "") }, state || "any state")),
  );
  const rows = [];
  const holder = h("div", { id: "runs" });
  const more = h("button", { type: "button", hidden: true }, "Show more");
  let cursor = null;

  let listing = 0;

  async function show(reset, { quiet = false } = {}) {
    await guarded(async () => {
      const url = withQuery("/api/v1/runs", {
        limit: PAGE,
        state: stateSelect.value,
        project_id: projectId,
        cursor: reset ? null : cursor,
      });
      const ticket = ++listing;
      const envelope = await call("GET", url);
      if (ticket !== listing) return; // a newer listing is on its way
      if (reset) rows.length = 0;
      rows.push(...envelope.data.map(runRow));
      cursor = envelope.metadata.next_cursor || null;
      more.hidden = !cursor;
      holder.replaceChildren(
        table(["started", "state", "engine", "requirement", "tests", "duration"], rows, {
          caption: projectId ? "Runs of one project" : "Runs of this workspace",
          empty: "No runs yet: start one from New generation.",
        }),
      );
      if (!quiet) announce(`${rows.length} run${rows.length === 1 ? "" : "s"} shown.`);
    });
  }
  stateSelect.addEventListener("change", () => show(true));
  more.addEventListener("click", () => show(false));
  main.append(
    h(
      "section",
      { class: "view" },
      h("h1", {}, "History"),
      h(
        "div",
        { class: "row" },
        h("div", { class: "field" }, h("label", { for: "state-filter" }, "State"), stateSelect),
        projectId ? h("p", {}, "One project's runs. ", h("a", { href: "#/runs" }, "All runs")) : null,
      ),
      holder,
      more,
    ),
  );
  await show(true, { quiet: true });
}
