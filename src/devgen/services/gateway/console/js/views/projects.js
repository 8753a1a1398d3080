// Projects: what the workspace wants generated, kept to be run again.

import { mayWrite } from "../account.js";
import { call, post, withQuery } from "../api.js";
import { h, table, when } from "../dom.js";
import { announce, guarded } from "../status.js";

const PAGE = 50;

export async function render(main, _route, shell) {
  const holder = h("div", { id: "projects" });
  let offset = 0;
  const more = h("button", { type: "button", hidden: true }, "Show more");
  const rows = [];

  function projectRow(project) {
    const run = h("button", { type: "button", disabled: !mayWrite() }, "Generate");
    run.addEventListener("click", () =>
      guarded(async () => {
        const started = await post(`/api/v1/projects/${project.id}/runs`, {});
        announce(`A run of ${project.name} started.`);
        shell.navigate(`#/runs/${started.id}`);
      }),
    );
    const remove = h("button", { type: "button", class: "danger", disabled: !mayWrite() }, "Delete");
    remove.addEventListener("click", () =>
      guarded(async () => {
        if (!window.confirm(`Delete the project ${project.name}? Its runs stay.`)) return;
        await call("DELETE", `/api/v1/projects/${project.id}`);
        announce(`${project.name} was deleted.`);
        await show(true);
      }),
    );
    return [
      h("strong", {}, project.name),
      project.engine,
      h("span", { class: "excerpt" }, (project.requirement || "(a spec)").slice(0, 140)),
      when(project.updated_at),
      h("div", { class: "actions" }, run, h("a", { href: `#/runs?project=${project.id}`, class: "button-link" }, "Runs"), remove),
    ];
  }

  let listing = 0;

  async function show(reset) {
    await guarded(async () => {
      if (reset) {
        rows.length = 0;
        offset = 0;
      }
      const ticket = ++listing;
      const envelope = await call("GET", withQuery("/api/v1/projects", { limit: PAGE, offset }));
      if (ticket !== listing) return; // a newer listing is on its way
      rows.push(...envelope.data.map(projectRow));
      offset += envelope.data.length;
      more.hidden = offset >= (envelope.metadata.total || 0);
      holder.replaceChildren(
        table(["project", "engine", "requirement", "updated", ""], rows, {
          empty: "No projects yet: give a project name in New generation to keep one.",
        }),
      );
    });
  }

  more.addEventListener("click", () => show(false));
  main.append(h("section", { class: "view" }, h("h1", {}, "Projects"), holder, more));
  await show(true);
}
