// The documents the LLM roles left (report.json's `documents`): the product brief with its
// open questions, the design (the Mermaid class diagram as source, the API, the file plan)
// and the review rounds. One section each; a run without roles says why it has none.

import { badge, h, table } from "./dom.js";

function problems(documents, document) {
  return (documents.problems || [])
    .filter((p) => p.document === document)
    .map((p) => h("p", { class: "callout bad" }, `No usable ${document}: ${p.message}`));
}

function section(id, title, body) {
  return h("section", { "aria-labelledby": `${id}-title`, "data-testid": id }, h("h3", { id: `${id}-title` }, title), body);
}

function briefSection(documents) {
  const brief = documents.brief;
  if (!brief && !problems(documents, "brief").length) return null;
  if (!brief) return section("brief", "Product brief", problems(documents, "brief"));
  const questions = brief.open_questions || [];
  return section("brief", "Product brief", [
    h("h4", {}, "Goals"),
    h("ul", {}, (brief.goals || []).map((goal) => h("li", {}, goal))),
    brief.user_stories && brief.user_stories.length
      ? [h("h4", {}, "User stories"), h("ul", {}, brief.user_stories.map((story) => h("li", {}, story)))]
      : null,
    h("h4", {}, "Requirements"),
    table(
      ["id", "priority", "requirement"],
      (brief.requirements || []).map((r) => [r.id, r.priority, r.text]),
      { empty: "No requirements." },
    ),
    h("h4", {}, "Open questions"),
    questions.length
      ? [
          h("p", { class: "callout" }, "The model could not settle these from the requirement, and devgen did not answer them: decide them, then say so in the requirement."),
          h(
            "ul",
            { "data-testid": "open-questions" },
            questions.map((q) => h("li", {}, q.question, q.context ? h("span", { class: "muted" }, ` (${q.context})`) : null)),
          ),
        ]
      : h("p", {}, "None: the product manager found nothing left open."),
  ]);
}

function designSection(documents) {
  const design = documents.design;
  if (!design && !problems(documents, "design").length) return null;
  if (!design) return section("design", "Design", problems(documents, "design"));
  return section("design", "Design", [
    h("h4", {}, "Data structures"),
    h("p", { class: "hint" }, "Mermaid class diagram (paste it into any Mermaid viewer to draw it):"),
    h("pre", { class: "output mermaid-source", tabindex: 0, "aria-label": "Class diagram, Mermaid source" }, design.class_diagram),
    h("h4", {}, "API"),
    table(
      ["method", "path", "what it does"],
      (design.apis || []).map((a) => [a.method, h("code", {}, a.path), a.summary || ""]),
    ),
    h("h4", {}, "File plan"),
    table(
      ["file", "purpose"],
      (design.files || []).map((f) => [h("code", {}, f.path), f.purpose || ""]),
    ),
    design.notes ? h("p", {}, design.notes) : null,
  ]);
}

function reviewSection(documents) {
  const review = documents.review;
  if (!review && !problems(documents, "review").length) return null;
  if (!review) return section("review", "Review", problems(documents, "review"));
  const rounds = review.rounds || [];
  return section("review", "Review", [
    h(
      "p",
      {},
      review.verdict ? ["Final verdict: ", badge(review.verdict), ` after ${rounds.length} review round(s).`] : "No verdict.",
      review.stopped ? ` Stopped: ${review.stopped}.` : "",
    ),
    problems(documents, "review"),
    table(
      ["round", "verdict", "reasons", "changes asked for", "changed by the engineer"],
      rounds.map((r) => [
        r.round,
        badge(r.verdict),
        h("ul", { class: "plain" }, (r.reasons || []).map((reason) => h("li", {}, reason))),
        h("ul", { class: "plain" }, (r.changes || []).map((c) => h("li", {}, h("code", {}, c.path), ` ${c.change}`))),
        (r.changed || []).join(", ") || "—",
      ]),
      { empty: "No review round ran." },
    ),
  ]);
}

/** The role documents of `report` (report.json), or why there are none. */
export function documentsBlock(report) {
  const documents = report.documents;
  if (!documents) return null;
  if (documents.note) {
    return h("section", { "aria-labelledby": "documents-title", "data-testid": "documents" }, h("h3", { id: "documents-title" }, "Role documents"), h("p", {}, documents.note));
  }
  return h("div", { "data-testid": "documents" }, briefSection(documents), designSection(documents), reviewSection(documents));
}
