// What the analyst said, in the shapes the views show. The only module that knows the
// analysis's and the report's fields: the spec is growing a rule language (rules per
// entity or per spec, each with a `kind`) and the answer a `not_implemented` list
// (sentence, reason, suggestion) next to today's `unparsed`; adapt here when they change.

const NO_LIMIT = { string: 255, email: 320, url: 2048 };
const PAST = { create: "created", update: "changed", delete: "deleted" };

function list(value) {
  return Array.isArray(value) ? value : [];
}

function text(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** A field's limits and options as words: "unique, 1–5, default 3". */
export function constraintsOf(field) {
  const parts = [];
  if (field.unique) parts.push("unique");
  if (field.min_value !== null && field.min_value !== undefined) {
    parts.push(
      field.max_value !== null && field.max_value !== undefined
        ? `${field.min_value}–${field.max_value}`
        : `≥ ${field.min_value}`,
    );
  } else if (field.max_value !== null && field.max_value !== undefined) {
    parts.push(`≤ ${field.max_value}`);
  }
  if (field.min_length) parts.push(`at least ${field.min_length} characters`);
  if (field.max_length && field.max_length !== NO_LIMIT[field.type]) {
    parts.push(`at most ${field.max_length} characters`);
  }
  if (list(field.values).length) parts.push(`one of ${field.values.join(", ")}`);
  if (field.default !== null && field.default !== undefined) parts.push(`default ${field.default}`);
  if (field.unit) parts.push(`in ${field.unit}`);
  if (field.read_only || field.server_managed) parts.push("set by the server");
  return parts.join(", ");
}

/** The entities of a spec with their fields, relations and operations. */
export function entitiesOf(spec) {
  return list(spec && spec.entities).map((entity) => ({
    name: entity.name,
    plural: entity.plural || "",
    description: entity.description || "",
    fields: list(entity.fields).map((field) => ({
      name: field.name,
      type: field.type,
      required: field.required !== false,
      constraints: constraintsOf(field),
    })),
    relations: list(entity.relations).map((relation) => ({
      name: relation.name,
      target: relation.target,
      kind: relation.kind || "many_to_one",
      required: relation.required !== false,
      onDelete: relation.on_delete || "",
    })),
    operations: list(entity.operations),
    filters: list(entity.filters),
    sorting: list(entity.sorting),
  }));
}

const DESCRIBED_ELSEWHERE = new Set(["kind", "type", "fields", "field", "entity", "id"]);

function describeRule(rule) {
  const words = rule.description || rule.text || rule.sentence || rule.summary;
  if (words) return text(words);
  // A kind this console does not know yet: show its settings as they are.
  return Object.entries(rule)
    .filter(([key]) => !DESCRIBED_ELSEWHERE.has(key))
    .map(([key, value]) => `${key}: ${text(value)}`)
    .join("; ");
}

function ruleOf(rule, entity) {
  const fields = list(rule.fields).length ? rule.fields : rule.field ? [rule.field] : [];
  return {
    entity: rule.entity || entity || "",
    kind: text(rule.kind || rule.type || "rule"),
    description: describeRule(rule),
    fields: fields.map(text),
    origin: "rule",
  };
}

function constraintRules(spec) {
  const rules = [];
  const add = (entity, kind, description, fields) =>
    rules.push({ entity, kind, description, fields, origin: "constraint" });
  const authMode = spec.auth ? spec.auth.mode : spec.auth_required ? "static_token" : "none";
  if (authMode === "static_token") add("", "authentication", "Every API route needs a bearer token.", []);
  if (authMode === "accounts") add("", "authentication", "Accounts: register, sign in, signed tokens.", []);
  for (const entity of list(spec.entities)) {
    for (const field of list(entity.fields)) {
      if (field.unique) add(entity.name, "unique", `No two ${entity.plural || entity.name} share a ${field.name}.`, [field.name]);
      const range = constraintsOf({ min_value: field.min_value, max_value: field.max_value });
      if (range) add(entity.name, "range", `${field.name} is ${range}.`, [field.name]);
      if (list(field.values).length) {
        add(entity.name, "one of", `${field.name} is one of ${field.values.join(", ")}.`, [field.name]);
      }
    }
    for (const relation of list(entity.relations)) {
      if (relation.on_delete && relation.on_delete !== "restrict") {
        const effect = relation.on_delete === "cascade" ? "deleted too" : "kept, without it";
        add(entity.name, "on delete", `When its ${relation.target} is deleted, a ${entity.name} is ${effect}.`, [relation.name]);
      }
    }
    const missing = ["create", "update", "delete"].filter(
      (operation) => entity.operations && !entity.operations.includes(operation),
    );
    if (missing.length) {
      const verbs = missing.map((operation) => PAST[operation]).join(" or ");
      add(entity.name, "operations", `${entity.plural || entity.name} cannot be ${verbs}.`, []);
    }
  }
  return rules;
}

/**
 * The rules of a spec: the ones its field constraints, auth and operations imply, then those
 * it states (`spec.rules`, `entity.rules`, any kind).
 */
export function rulesOf(spec) {
  if (!spec) return [];
  const stated = [
    ...list(spec.rules).map((rule) => ruleOf(rule, null)),
    ...list(spec.entities).flatMap((entity) =>
      list(entity.rules).map((rule) => ruleOf(rule, entity.name)),
    ),
  ];
  return [...constraintRules(spec), ...stated];
}

/**
 * The sentences that will not be implemented: `not_implemented` (sentence, reason,
 * suggestion) and today's `unparsed` (text, reason), without repeats. A run's report
 * says in `sentences` who implemented each one: a sentence the template or the hybrid
 * engine's model implemented is left out, whatever `unparsed` (the analyst's view,
 * before generation) says.
 */
export function notImplementedOf(answer) {
  if (!answer) return [];
  const implemented = new Set(
    list(answer.sentences)
      .filter((item) => item && item.implemented_by && item.implemented_by !== "none")
      .map((item) => text(item.sentence).trim()),
  );
  const seen = new Set();
  const items = [];
  const add = (sentence, reason, suggestion) => {
    const key = text(sentence).trim();
    if (!key || seen.has(key) || implemented.has(key)) return;
    seen.add(key);
    items.push({ sentence: key, reason: text(reason), suggestion: text(suggestion) });
  };
  for (const item of list(answer.not_implemented)) {
    if (typeof item === "string") add(item, "", "");
    else add(item.sentence || item.text, item.reason, item.suggestion);
  }
  for (const item of list(answer.dropped)) add(item.sentence || item.text, item.reason, item.suggestion);
  for (const item of list(answer.unparsed)) add(item.text || item.sentence, item.reason, item.suggestion);
  return items;
}

/** What the analyst assumed, as sentences. */
export function assumptionsOf(answer) {
  return list(answer && answer.assumptions).map((item) =>
    typeof item === "string" ? item : text(item.text || item.description || item),
  );
}

/** The user stories as sentences, each with its acceptance criteria. */
export function storiesOf(answer) {
  return list(answer && answer.user_stories).map((story) => ({
    id: story.id,
    text:
      story.text ||
      `As a ${story.as_a}, I want ${story.i_want} so that ${story.so_that}.`,
    criteria: list(story.acceptance_criteria).map((criterion) =>
      typeof criterion === "string"
        ? { id: criterion, text: "" }
        : { id: criterion.id, text: criterion.text || "", tests: list(criterion.test_ids) },
    ),
  }));
}
