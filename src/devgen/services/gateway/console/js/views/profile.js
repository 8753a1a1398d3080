// Profile: who you are here, your preferences (the theme applies at once), your workspaces.

import { account, savePreferences } from "../account.js";
import { post } from "../api.js";
import { h, table } from "../dom.js";
import { announce, guarded } from "../status.js";

const THEMES = [
  ["system", "As the system"],
  ["light", "Light"],
  ["dark", "Dark"],
];
const LANGUAGES = { en: "English", fr: "Français", de: "Deutsch", es: "Español", it: "Italiano", pt: "Português", ja: "日本語", zh: "中文" };
const ENGINES = ["template", "llm", "hybrid"];

export async function render(main, _route, shell) {
  const me = account.me;
  const profile = account.profile || { theme: "system", language: "en", default_engine: "template" };
  const themeChoices = THEMES.map(([value, label]) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "radio", name: "theme", value, checked: profile.theme === value }),
      ` ${label}`,
    ),
  );
  const language = h(
    "select",
    { id: "language", "aria-describedby": "language-hint" },
    Object.entries(LANGUAGES).map(([code, label]) => h("option", { value: code, selected: profile.language === code, lang: code }, label)),
  );
  const engine = h(
    "select",
    { id: "default-engine" },
    ENGINES.map((name) => h("option", { value: name, selected: profile.default_engine === name }, name)),
  );
  const preferences = h(
    "form",
    { class: "stack narrow", "aria-labelledby": "preferences-title" },
    h("h2", { id: "preferences-title" }, "Preferences"),
    h("fieldset", {}, h("legend", {}, "Theme"), themeChoices),
    h("label", { for: "language" }, "Language"),
    language,
    h("p", { id: "language-hint", class: "hint" }, "Kept with your profile; the console itself is in English for now."),
    h("label", { for: "default-engine" }, "Default engine"),
    engine,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save preferences")),
  );
  preferences.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const theme = preferences.querySelector('input[name="theme"]:checked').value;
      await savePreferences({ theme, language: language.value, default_engine: engine.value });
      announce("Preferences saved.");
    });
  });
  // Trying a theme shows it at once; saving keeps it.
  for (const radio of preferences.querySelectorAll('input[name="theme"]')) {
    radio.addEventListener("change", () => {
      document.documentElement.dataset.theme = radio.value;
    });
  }

  const workspaceName = h("input", { id: "workspace-name", required: true, maxlength: 100 });
  const workspaces = h(
    "form",
    { class: "stack narrow", "aria-labelledby": "new-workspace-title" },
    h("h3", { id: "new-workspace-title" }, "New workspace"),
    h("label", { for: "workspace-name" }, "Name"),
    workspaceName,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create workspace")),
  );
  workspaces.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const tenant = await post("/api/v1/tenants", { name: workspaceName.value.trim() });
      workspaceName.value = "";
      await shell.refresh();
      announce(`The workspace ${tenant.name} was created; switch to it in the header.`);
      shell.navigate("#/profile");
    });
  });

  main.append(
    h(
      "section",
      { class: "view" },
      h("h1", {}, "Profile"),
      h(
        "dl",
        { class: "summary", id: "me" },
        h("dt", {}, "Signed in as"),
        h("dd", { id: "me-email" }, me.user.email),
        h("dt", {}, "Name"),
        h("dd", {}, me.user.display_name || "—"),
        h("dt", {}, "Workspace"),
        h("dd", { id: "me-tenant" }, me.tenant.name),
        h("dt", {}, "Role"),
        h("dd", { id: "me-role" }, me.role || "—"),
        h("dt", {}, "Scopes"),
        h("dd", { id: "me-scopes" }, me.scopes.join(" ")),
        me.platform_admin ? [h("dt", {}, "Platform"), h("dd", {}, "administrator")] : null,
      ),
      preferences,
      h("h2", {}, "Workspaces"),
      table(
        ["workspace", "your role", ""],
        account.tenants.map((tenant) => [tenant.name, tenant.role, tenant.id === me.tenant.id ? "current" : ""]),
      ),
      workspaces,
    ),
  );
}
