// The services behind this gateway, their health and their API documentation.

import { h, table } from "../dom.js";
import { guarded } from "../status.js";

const NOT_SERVICES = new Set(["database", "rate_limits"]);

export async function render(main) {
  const rows = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(
    h(
      "section",
      { class: "view" },
      h("h1", {}, "Platform"),
      h("p", {}, "Every service behind this gateway, its health and its API documentation (",
        h("a", { href: "/health" }, "/health"), ", ", h("a", { href: "/docs" }, "gateway API"), ")."),
      rows,
    ),
  );
  await guarded(async () => {
    const response = await fetch("/health", { headers: { Accept: "application/json" } });
    const health = await response.json();
    const services = Object.entries(health.dependencies).filter(([name]) => !NOT_SERVICES.has(name));
    rows.replaceChildren(
      h("p", {}, `Overall: ${health.status}, version ${health.version}.`),
      table(
        ["service", "status", "detail", "API"],
        services.map(([name, dependency]) => [
          name,
          h("span", { class: `badge state-${dependency.status === "ok" ? "succeeded" : "failed"}` }, dependency.status),
          dependency.detail || "",
          h("a", { href: `/services/${encodeURIComponent(name)}/docs` }, `${name} API`),
        ]),
        { caption: "Services" },
      ),
    );
  });
}
