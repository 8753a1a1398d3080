// Building DOM without innerHTML: every text the API returns goes in as text, never markup.

/**
 * An element: h("a", {href: "#/runs", class: "link", onclick: fn}, "Runs", child…).
 * Keys starting with "on" add listeners; `class`, `text`, `dataset` and boolean
 * attributes (true / false) are handled; other keys become attributes.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      element.className = value;
    } else if (key === "text") {
      element.textContent = value;
    } else if (key === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** Replace what `element` holds with `children`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A table: `headers` are column titles, `rows` arrays of cells (text or nodes). */
export function table(headers, rows, { caption, empty = "Nothing yet." } = {}) {
  const body = rows.length
    ? rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))
    : [h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, empty))];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, body),
    ),
  );
}

/** A coloured label for a state (`succeeded`, `failed`, `running`, …). */
export function badge(state) {
  return h("span", { class: `badge state-${String(state).replace(/[^a-z_]/g, "")}` }, state);
}

/** "12 May 2026, 10:04:05" in the browser's locale; "—" for nothing. */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** "0.35 s", "1 min 12 s"; "—" for nothing. */
export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${Number(value).toFixed(value < 10 ? 2 : 1)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

/** "51 passed, 0 failed, 0 errors, 0 skipped" from a test summary (run or report). */
export function tally(tests) {
  if (!tests || tests.total === undefined) return "—";
  const parts = [`${tests.passed ?? 0} passed`, `${tests.failed ?? 0} failed`];
  parts.push(`${tests.error ?? 0} errors`, `${tests.skipped ?? 0} skipped`);
  return parts.join(", ");
}
