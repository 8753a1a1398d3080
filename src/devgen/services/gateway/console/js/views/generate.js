// New generation: a requirement (typed, pasted or an example), the engine, Analyse to see
// what will and will not be built, then Generate to start a run.

import { account, mayWrite } from "../account.js";
import { get, post } from "../api.js";
import { fill, h } from "../dom.js";
import { notImplementedOf, rulesOf, entitiesOf } from "../analysis.js";
import { entitiesBlock, notImplementedBlock, rulesBlock, storiesBlock } from "../specview.js";
import { alarm, announce } from "../status.js";

const DRAFT_KEY = "devgen.draft";

async function engines() {
  try {
    const templates = await get("/api/v1/codegen/templates");
    const found = new Set(templates.flatMap((template) => template.engines || []));
    return found.size ? [...found] : ["template"];
  } catch {
    return ["template"];
  }
}

async function examples() {
  try {
    const response = await fetch("/console/examples.json");
    return response.ok ? (await response.json()).data : [];
  } catch {
    return [];
  }
}

function counted(count, singular, plural = `${singular}s`) {
  return `${count} ${count === 1 ? singular : plural}`;
}

function summary(answer) {
  const entities = entitiesOf(answer.spec).length;
  const rules = rulesOf(answer.spec).length;
  const dropped = notImplementedOf(answer).length;
  return (
    `${answer.spec.name}: ${counted(entities, "entity", "entities")}, ${counted(rules, "rule")}, ` +
    (dropped ? `${counted(dropped, "sentence")} not implemented.` : "every sentence used.")
  );
}

export async function render(main, _route, shell) {
  const draft = JSON.parse(window.sessionStorage.getItem(DRAFT_KEY) || "{}");
  const requirement = h("textarea", {
    id: "requirement",
    name: "requirement",
    rows: 10,
    required: true,
    maxlength: 20000,
    spellcheck: "true",
    "aria-describedby": "requirement-hint",
  });
  requirement.value = draft.requirement || "";
  const exampleSelect = h("select", { id: "example" }, h("option", { value: "" }, "— write your own —"));
  const engineSelect = h("select", { id: "engine" });
  const projectName = h("input", { id: "project-name", maxlength: 100, autocomplete: "off" });
  projectName.value = draft.project || "";
  const analyzeButton = h("button", { type: "submit", value: "analyze" }, "Analyse");
  const generateButton = h("button", { type: "submit", value: "generate", class: "primary" }, "Generate");
  const result = h("div", { id: "analysis", class: "analysis" });

  const saveDraft = () =>
    window.sessionStorage.setItem(
      DRAFT_KEY,
      JSON.stringify({ requirement: requirement.value, project: projectName.value }),
    );
  requirement.addEventListener("input", saveDraft);
  projectName.addEventListener("input", saveDraft);

  const form = h(
    "form",
    { class: "stack", "aria-labelledby": "new-title" },
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "example" }, "Start from an example"), exampleSelect),
      h("div", { class: "field" }, h("label", { for: "engine" }, "Engine"), engineSelect),
      h(
        "div",
        { class: "field grow" },
        h("label", { for: "project-name" }, "Keep as a project ", h("span", { class: "hint" }, "(name, optional)")),
        projectName,
      ),
    ),
    h("label", { for: "requirement" }, "Requirement"),
    requirement,
    h(
      "p",
      { id: "requirement-hint", class: "hint" },
      "Plain English (“Each book has a title and an ISBN. ISBNs are unique.”), or a spec as YAML or JSON.",
    ),
    h("div", { class: "actions" }, analyzeButton, generateButton),
  );

  main.append(
    h(
      "section",
      { class: "view" },
      h("h1", { id: "new-title" }, "New generation"),
      form,
      result,
    ),
  );

  const [engineList, exampleList] = await Promise.all([engines(), examples()]);
  const preferred = (account.profile && account.profile.default_engine) || "template";
  fill(
    engineSelect,
    engineList.map((name) => h("option", { value: name, selected: name === preferred }, name)),
  );
  for (const example of exampleList) exampleSelect.append(h("option", { value: example.name }, example.name));
  exampleSelect.addEventListener("change", () => {
    const chosen = exampleList.find((example) => example.name === exampleSelect.value);
    if (!chosen) return;
    requirement.value = chosen.text;
    saveDraft();
    announce(`The ${chosen.name} example is in the requirement; analyse or generate it.`);
  });
  if (!mayWrite()) {
    generateButton.disabled = true;
    analyzeButton.disabled = true;
    result.append(h("p", { class: "callout" }, "Your role in this workspace can read, not generate."));
  }

  async function analyze() {
    result.setAttribute("aria-busy", "true");
    announce("Analysing…");
    try {
      const answer = await post("/api/v1/codegen/analyze", {
        requirement: requirement.value,
        // The hybrid engine generates with the template analyst's spec.
        engine: engineSelect.value === "llm" ? "llm" : "template",
      });
      fill(
        result,
        h("h2", { id: "analysis-title" }, "Analysis"),
        h("p", { class: "lead", "data-testid": "analysis-summary" }, summary(answer)),
        notImplementedBlock(answer),
        entitiesBlock(answer.spec),
        rulesBlock(answer.spec),
        storiesBlock(answer),
      );
      announce(`Analysis ready. ${summary(answer)}`);
    } catch (error) {
      fill(
        result,
        h(
          "section",
          { class: "callout bad" },
          h("h2", {}, "The requirement could not be analysed"),
          h("p", {}, error.message),
          (error.details && error.details.problems ? error.details.problems : []).map((problem) =>
            h("p", {}, h("code", {}, problem.path || "spec"), ` ${problem.message}`),
          ),
        ),
      );
      alarm(error);
    } finally {
      result.removeAttribute("aria-busy");
    }
  }

  async function generate() {
    announce("Starting the run…");
    const parameters = {
      requirement: requirement.value,
      engine: engineSelect.value,
      analyst: engineSelect.value === "llm" ? "llm" : "template",
    };
    try {
      let run;
      if (projectName.value.trim()) {
        const project = await post("/api/v1/projects", { name: projectName.value.trim(), ...parameters });
        run = await post(`/api/v1/projects/${project.id}/runs`, {});
      } else {
        run = await post("/api/v1/runs", parameters);
      }
      announce("The run started.");
      shell.navigate(`#/runs/${run.id}`);
    } catch (error) {
      alarm(error);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "analyze";
    const buttons = [analyzeButton, generateButton];
    buttons.forEach((button) => (button.disabled = true));
    (action === "generate" ? generate() : analyze()).finally(() =>
      buttons.forEach((button) => (button.disabled = false)),
    );
  });
}
