// Audit: the workspace's records (newest first, filtered by action and outcome, a page at
// a time) and the verification of its hash chain. Owners and admins only.

import { ApiError, call, get, withQuery } from "../api.js";
import { badge, fill, h, table, when } from "../dom.js";
import { alarm, announce, guarded } from "../status.js";

const PAGE = 50;

function verdict(report) {
  if (!report.chains.length) {
    return h("p", { class: "callout ok", "data-valid": "true" }, "No records yet: nothing to verify.");
  }
  return h(
    "div",
    { class: `callout ${report.valid ? "ok" : "bad"}`, "data-valid": String(report.valid) },
    h("p", {}, h("strong", {}, report.valid ? "The audit chain is intact." : "The audit chain is broken.")),
    h(
      "ul",
      { class: "plain" },
      report.chains.map((chain) =>
        h(
          "li",
          {},
          `${chain.records} records (seq ${chain.first_seq ?? "—"} to ${chain.last_seq ?? "—"}), ` +
            `${chain.checkpoints_verified} signed checkpoints verified` +
            (chain.anchor_seq ? `, from the retention anchor at ${chain.anchor_seq}` : "") +
            ".",
          chain.broken ? h("p", {}, h("strong", {}, `At record ${chain.broken.seq}: `), chain.broken.reason) : null,
        ),
      ),
    ),
  );
}

function recordRow(record) {
  return [
    when(record.recorded_at),
    record.seq,
    h("code", {}, record.action),
    record.actor || "—",
    [record.resource_type, record.resource_id ? `${record.resource_id.slice(0, 8)}…` : ""].filter(Boolean).join(" "),
    badge(record.outcome === "success" ? "succeeded" : "failed"),
  ];
}

export async function render(main) {
  const verification = h("div", { id: "audit-verification", "aria-live": "polite" }, h("p", { class: "muted" }, "Verifying…"));
  const verifyButton = h("button", { type: "button", id: "verify-audit" }, "Verify again");
  const action = h("input", { id: "audit-action", placeholder: "e.g. orchestrator.run", maxlength: 200 });
  const outcome = h(
    "select",
    { id: "audit-outcome" },
    h("option", { value: "" }, "any"),
    h("option", { value: "success" }, "success"),
    h("option", { value: "failure" }, "failure"),
  );
  const holder = h("div", { id: "audit-records" });
  const more = h("button", { type: "button", hidden: true }, "Show more");
  const rows = [];
  let cursor = null;

  const filters = h(
    "form",
    { class: "row", "aria-label": "Filter audit records" },
    h("div", { class: "field grow" }, h("label", { for: "audit-action" }, "Action starts with"), action),
    h("div", { class: "field" }, h("label", { for: "audit-outcome" }, "Outcome"), outcome),
    h("div", { class: "field end" }, h("button", { type: "submit" }, "Filter")),
  );

  main.append(
    h(
      "section",
      { class: "view" },
      h("h1", {}, "Audit"),
      h("section", { "aria-labelledby": "verify-title" }, h("h2", { id: "verify-title" }, "Chain verification"), verification, verifyButton),
      h("section", { "aria-labelledby": "records-title" }, h("h2", { id: "records-title" }, "Records"), filters, holder, more),
    ),
  );

  async function verify() {
    try {
      fill(verification, verdict(await get("/api/v1/audit/verify")));
    } catch (error) {
      const forbidden = error instanceof ApiError && error.status === 403;
      fill(verification, h("p", { class: "callout" }, forbidden ? "Only the workspace's owners and admins can read its audit log." : error.message));
      if (!forbidden) alarm(error);
    }
  }

  let listing = 0;

  async function show(reset) {
    await guarded(async () => {
      const ticket = ++listing;
      const envelope = await call(
        "GET",
        withQuery("/api/v1/audit/events", { limit: PAGE, action: action.value.trim(), outcome: outcome.value, cursor: reset ? null : cursor }),
      );
      if (ticket !== listing) return; // a newer listing is on its way
      if (reset) rows.length = 0;
      rows.push(...envelope.data.map(recordRow));
      cursor = envelope.metadata.next_cursor || null;
      more.hidden = !cursor;
      holder.replaceChildren(table(["recorded", "seq", "action", "actor", "resource", "outcome"], rows, { empty: "No records match." }));
    });
  }

  verifyButton.addEventListener("click", async () => {
    await verify();
    announce("The audit chain was verified again.");
  });
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    show(true);
  });
  more.addEventListener("click", () => show(false));
  await Promise.all([verify(), show(true)]);
}
