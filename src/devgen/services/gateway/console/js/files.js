// The generated project: a file tree (folders as disclosure widgets, files as buttons)
// and the chosen file, highlighted, with line numbers.

import { download } from "./api.js";
import { fill, h } from "./dom.js";
import { highlight, languageOf } from "./highlight.js";
import { alarm, announce } from "./status.js";

const HIGHLIGHT_LIMIT = 400000;
const FIRST_FILES = ["REPORT.md", "README.md"];

function tree(paths) {
  const root = { dirs: new Map(), files: [] };
  for (const file of paths) {
    const parts = file.path.split("/");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      if (!node.dirs.has(part)) node.dirs.set(part, { dirs: new Map(), files: [] });
      node = node.dirs.get(part);
    }
    node.files.push({ ...file, name: parts.at(-1) });
  }
  return root;
}

function branch(node, open, choose) {
  const folders = [...node.dirs.entries()].sort(([a], [b]) => a.localeCompare(b));
  const files = [...node.files].sort((a, b) => a.name.localeCompare(b.name));
  return h(
    "ul",
    { class: "tree" },
    folders.map(([name, child]) =>
      h("li", {}, h("details", { open }, h("summary", {}, `${name}/`), branch(child, false, choose))),
    ),
    files.map((file) => {
      const button = h("button", { type: "button", class: "file", "data-path": file.path, title: file.path }, file.name);
      button.addEventListener("click", () => choose(file, button));
      return h("li", {}, button);
    }),
  );
}

function codeView(text, language) {
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  const gutter = h("span", { class: "gutter", "aria-hidden": "true" }, lines.map((_, i) => `${i + 1}\n`).join(""));
  const code = h("code", { class: language ? `language-${language}` : "" });
  code.append(text.length <= HIGHLIGHT_LIMIT ? highlight(text, language) : text);
  return h("pre", { class: "code", tabindex: 0 }, gutter, code);
}

/** The project of `manifest` as a tree and a viewer; opens the report first. */
export function filesBlock(manifest) {
  const viewer = h("div", { class: "viewer", id: "file-viewer" }, h("p", { class: "muted" }, "Choose a file."));
  let current = null;

  async function choose(file, button, announceIt = true) {
    if (current) current.removeAttribute("aria-current");
    current = button;
    button.setAttribute("aria-current", "true");
    viewer.setAttribute("aria-busy", "true");
    try {
      const path = file.path.split("/").map(encodeURIComponent).join("/");
      const response = await download(`/api/v1/artifacts/${manifest.id}/files/${path}`);
      const text = await response.text();
      const language = languageOf(file.path);
      fill(
        viewer,
        h("h3", { class: "file-path" }, h("code", {}, file.path)),
        h("p", { class: "hint" }, `${file.size} bytes${language ? `, ${language}` : ""}`),
        codeView(text, language),
      );
      if (announceIt) announce(`Showing ${file.path}.`);
    } catch (error) {
      alarm(error);
    } finally {
      viewer.removeAttribute("aria-busy");
    }
  }

  const nav = h("nav", { class: "files-tree", "aria-label": "Project files" }, branch(tree(manifest.files), true, choose));
  const first = FIRST_FILES.map((name) => manifest.files.find((file) => file.path === name)).find(Boolean);
  if (first) {
    const button = nav.querySelector(`button[data-path="${CSS.escape(first.path)}"]`);
    choose(first, button, false);
  }
  return h("div", { class: "files" }, nav, viewer);
}
