// A small syntax highlighter for what devgen generates: Python, JSON, YAML, TOML, Markdown,
// Dockerfiles and "#"-comment files. Each language is a list of token rules joined into one
// regular expression; text between matches stays plain. Tokens become <span class="tok-…">,
// built with textContent, so a generated file can never inject markup.

const STRING_DOUBLE = String.raw`"(?:\\.|[^"\\\n])*"`;
const STRING_SINGLE = String.raw`'(?:\\.|[^'\\\n])*'`;
const NUMBER = String.raw`\b(?:0[xXoObB][\da-fA-F_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?j?)\b`;
const HASH_COMMENT = String.raw`(?<=^|\s)#[^\n]*`;

const PYTHON_KEYWORDS =
  "and as assert async await break case class continue def del elif else except finally " +
  "for from global if import in is lambda match nonlocal not or pass raise return try " +
  "while with yield";
const PYTHON_BUILTINS =
  "bool bytes cls dict Exception float int isinstance len list object print range self " +
  "set str super tuple type ValueError";
const DOCKER_INSTRUCTIONS =
  "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL RUN SHELL STOPSIGNAL USER " +
  "VOLUME WORKDIR";

const words = (list) => String.raw`\b(?:${list.split(" ").join("|")})\b`;

const LANGUAGES = {
  python: [
    ["comment", String.raw`#[^\n]*`],
    ["string", String.raw`[rRbBuUfF]{0,2}(?:"""[\s\S]*?"""|'''[\s\S]*?''')`],
    ["string", `[rRbBuUfF]{0,2}(?:${STRING_DOUBLE}|${STRING_SINGLE})`],
    ["decorator", String.raw`(?<=^[ \t]*)@[\w.]+`],
    ["title", String.raw`(?<=\b(?:def|class)[ \t]+)[A-Za-z_]\w*`],
    ["literal", words("True False None")],
    ["keyword", words(PYTHON_KEYWORDS)],
    ["builtin", words(PYTHON_BUILTINS)],
    ["number", NUMBER],
  ],
  json: [
    ["key", `${STRING_DOUBLE}(?=\\s*:)`],
    ["string", STRING_DOUBLE],
    ["literal", words("true false null")],
    ["number", String.raw`-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b`],
  ],
  yaml: [
    ["comment", HASH_COMMENT],
    ["keyword", String.raw`^(?:---|\.\.\.)$`],
    ["key", String.raw`(?<=^[ \t]*(?:- +)?)[^\s:#'"-][^:#\n]*?(?=:(?:[ \t]|$))`],
    ["string", `${STRING_DOUBLE}|${STRING_SINGLE}`],
    ["literal", String.raw`\b(?:true|false|null|yes|no|on|off)\b|~`],
    ["builtin", String.raw`[&*][\w-]+|![\w!]+`],
    ["number", NUMBER],
  ],
  toml: [
    ["comment", HASH_COMMENT],
    ["title", String.raw`^[ \t]*\[\[?[^\]\n]+\]\]?`],
    ["key", String.raw`(?<=^[ \t]*)[\w.\-"]+(?=[ \t]*=)`],
    ["string", String.raw`"""[\s\S]*?"""|'''[\s\S]*?'''|${STRING_DOUBLE}|${STRING_SINGLE}`],
    ["literal", words("true false")],
    ["number", NUMBER],
  ],
  markdown: [
    ["code", "^(?:```|~~~)[^\\n]*\\n[\\s\\S]*?^(?:```|~~~)[ \\t]*$"],
    ["title", String.raw`^#{1,6}[ \t][^\n]*`],
    ["comment", String.raw`^>[^\n]*`],
    ["keyword", String.raw`^[ \t]*(?:[-*+]|\d+\.)(?=[ \t])`],
    ["code", "`[^`\\n]+`"],
    ["strong", String.raw`\*\*[^*\n]+\*\*|__[^_\n]+__`],
    ["emphasis", String.raw`(?<![*\w])\*[^*\n]+\*(?!\*)|(?<!\w)_[^_\n]+_(?!\w)`],
    ["link", String.raw`!?\[[^\]\n]*\]\([^)\n]*\)`],
  ],
  docker: [
    ["comment", String.raw`^[ \t]*#[^\n]*`],
    ["keyword", String.raw`(?<=^[ \t]*)(?:${DOCKER_INSTRUCTIONS.split(" ").join("|")})\b`],
    ["string", `${STRING_DOUBLE}|${STRING_SINGLE}`],
    ["builtin", String.raw`\$\{?\w+\}?`],
  ],
  conf: [["comment", HASH_COMMENT]],
};

const COMPILED = {};

function compiled(language) {
  if (!COMPILED[language]) {
    const rules = LANGUAGES[language];
    COMPILED[language] = {
      classes: rules.map(([name]) => `tok-${name}`),
      pattern: new RegExp(rules.map(([, source]) => `(${source})`).join("|"), "gm"),
    };
  }
  return COMPILED[language];
}

/** The language to highlight a file in, from its path; null when none fits. */
export function languageOf(path) {
  const name = path.split("/").pop().toLowerCase();
  if (name === "dockerfile" || name.endsWith(".dockerfile")) return "docker";
  const extension = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1) : "";
  const byExtension = {
    py: "python",
    pyi: "python",
    json: "json",
    yaml: "yaml",
    yml: "yaml",
    toml: "toml",
    md: "markdown",
    markdown: "markdown",
    txt: "conf",
    ini: "conf",
    cfg: "conf",
    gitignore: "conf",
    dockerignore: "conf",
    env: "conf",
  };
  return byExtension[extension] || (name.startsWith(".") ? "conf" : null);
}

/** `text` as a fragment of plain text and token spans; plain text for unknown languages. */
export function highlight(text, language) {
  const fragment = document.createDocumentFragment();
  if (!LANGUAGES[language]) {
    fragment.append(text);
    return fragment;
  }
  const { classes, pattern } = compiled(language);
  pattern.lastIndex = 0;
  let position = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match[0] === "") {
      pattern.lastIndex += 1;
      continue;
    }
    if (match.index > position) fragment.append(text.slice(position, match.index));
    const group = match.findIndex((value, index) => index > 0 && value !== undefined);
    const span = document.createElement("span");
    span.className = classes[group - 1];
    span.textContent = match[0];
    fragment.append(span);
    position = match.index + match[0].length;
  }
  if (position < text.length) fragment.append(text.slice(position));
  return fragment;
}
