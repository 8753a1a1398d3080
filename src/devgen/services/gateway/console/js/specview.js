// The spec as people read it: entities, rules, stories, and what will not be built.
// Used by the analysis of "New generation" and by a run's report.

import {
  assumptionsOf,
  entitiesOf,
  notImplementedOf,
  rulesOf,
  storiesOf,
} from "./analysis.js";
import { h, table } from "./dom.js";

/** The sentences that will not be implemented, with their reasons (prominent). */
export function notImplementedBlock(answer, { headingLevel = "h2" } = {}) {
  const items = notImplementedOf(answer);
  const heading = h(headingLevel, { id: "not-implemented-title" }, "Not implemented");
  if (!items.length) {
    return h(
      "section",
      { class: "callout ok", "aria-labelledby": "not-implemented-title", "data-testid": "not-implemented" },
      heading,
      h("p", {}, "Every sentence of the requirement was used."),
    );
  }
  return h(
    "section",
    { class: "callout warn", "aria-labelledby": "not-implemented-title", "data-testid": "not-implemented" },
    heading,
    h(
      "p",
      {},
      items.length === 1
        ? "This sentence will not be implemented:"
        : `These ${items.length} sentences will not be implemented:`,
    ),
    h(
      "ul",
      { class: "dropped" },
      items.map((item) =>
        h(
          "li",
          {},
          h("q", { class: "sentence" }, item.sentence),
          item.reason ? h("p", { class: "reason" }, h("strong", {}, "Why: "), item.reason) : null,
          item.suggestion ? h("p", { class: "suggestion" }, h("strong", {}, "Try: "), item.suggestion) : null,
        ),
      ),
    ),
  );
}

/** The rules as a table of entity, kind, description and fields. */
export function rulesBlock(spec, { headingLevel = "h2" } = {}) {
  const rules = rulesOf(spec);
  const implied = rules.length && rules.every((rule) => rule.origin === "constraint");
  return h(
    "section",
    { "aria-labelledby": "rules-title", "data-testid": "rules" },
    h(headingLevel, { id: "rules-title" }, `Rules (${rules.length})`),
    implied ? h("p", { class: "hint" }, "From the fields' constraints and the operations offered.") : null,
    table(
      ["entity", "kind", "rule", "fields"],
      rules.map((rule) => [
        rule.entity || "—",
        h("span", { class: "kind" }, rule.kind),
        rule.description,
        rule.fields.join(", "),
      ]),
      { empty: "No rules." },
    ),
  );
}

function entityBlock(entity) {
  const extras = [];
  if (entity.operations.length) extras.push(`Operations: ${entity.operations.join(", ")}`);
  if (entity.filters.length) extras.push(`filters: ${entity.filters.join(", ")}`);
  if (entity.sorting.length) extras.push(`sorting: ${entity.sorting.join(", ")}`);
  return h(
    "article",
    { class: "entity", "data-entity": entity.name },
    h("h3", {}, entity.name, entity.plural ? h("span", { class: "muted" }, ` /${entity.plural}`) : null),
    entity.description ? h("p", {}, entity.description) : null,
    table(
      ["field", "type", "required", "constraints"],
      [
        ...entity.fields.map((field) => [
          h("code", {}, field.name),
          field.type,
          field.required ? "yes" : "no",
          field.constraints,
        ]),
        ...entity.relations.map((relation) => [
          h("code", {}, `${relation.name}_id`),
          `→ ${relation.target}`,
          relation.required ? "yes" : "no",
          [relation.kind.replaceAll("_", "-"), relation.onDelete && `on delete ${relation.onDelete}`]
            .filter(Boolean)
            .join(", "),
        ]),
      ],
      { empty: "No fields." },
    ),
    extras.length ? h("p", { class: "hint" }, `${extras.join("; ")}.`) : null,
  );
}

/** Every entity with its fields and relations. */
export function entitiesBlock(spec) {
  const entities = entitiesOf(spec);
  return h(
    "section",
    { "aria-labelledby": "entities-title", "data-testid": "entities" },
    h("h2", { id: "entities-title" }, `Entities (${entities.length})`),
    h("div", { class: "entities" }, entities.map(entityBlock)),
  );
}

/** The user stories with their acceptance criteria, and the analyst's assumptions. */
export function storiesBlock(answer) {
  const stories = storiesOf(answer);
  const assumptions = assumptionsOf(answer);
  return h(
    "section",
    { "aria-labelledby": "stories-title", "data-testid": "stories" },
    h("h2", { id: "stories-title" }, `User stories (${stories.length})`),
    h(
      "ol",
      { class: "stories" },
      stories.map((story) =>
        h(
          "li",
          {},
          h(
            "details",
            {},
            h("summary", {}, h("strong", {}, story.id), " ", story.text, h("span", { class: "muted" }, ` (${story.criteria.length} criteria)`)),
            h("ul", { class: "criteria" }, story.criteria.map((c) => h("li", {}, h("span", { class: "muted" }, `${c.id} `), c.text))),
          ),
        ),
      ),
    ),
    assumptions.length
      ? h("div", {}, h("h3", {}, "Assumptions"), h("ul", {}, assumptions.map((a) => h("li", {}, a))))
      : null,
  );
}
