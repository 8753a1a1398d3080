// API keys: create one (its secret is shown once), list them, revoke one.

import { account } from "../account.js";
import { call, get, post } from "../api.js";
import { fill, h, table, when } from "../dom.js";
import { announce, guarded } from "../status.js";

const SCOPES = ["read", "write", "admin"];

export async function render(main) {
  const name = h("input", { id: "key-name", required: true, maxlength: 100, autocomplete: "off" });
  const expires = h("input", { id: "key-expires", type: "date" });
  const mine = new Set((account.me && account.me.scopes) || []);
  const scopeBoxes = SCOPES.map((scope) =>
    h(
      "label",
      { class: "check" },
      h("input", { type: "checkbox", name: "scope", value: scope, checked: scope === "read", disabled: !mine.has(scope) }),
      ` ${scope}`,
    ),
  );
  const secretBox = h("div", { id: "key-secret", "aria-live": "polite" });
  const holder = h("div", { id: "keys" });
  const form = h(
    "form",
    { class: "stack narrow", "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, "New key"),
    h("label", { for: "key-name" }, "Name"),
    name,
    h("fieldset", {}, h("legend", {}, "Scopes"), scopeBoxes),
    h("label", { for: "key-expires" }, "Expires ", h("span", { class: "hint" }, "(optional)")),
    expires,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create key")),
  );

  let listing = 0;

  async function list() {
    await guarded(async () => {
      const ticket = ++listing;
      const keys = await get("/api/v1/api-keys?limit=100");
      if (ticket !== listing) return; // a newer listing is on its way
      holder.replaceChildren(
        table(
          ["name", "prefix", "scopes", "created", "expires", "last used", ""],
          keys.map((key) => {
            const revoke = h("button", { type: "button", class: "danger", disabled: Boolean(key.revoked_at) }, key.revoked_at ? "Revoked" : "Revoke");
            revoke.addEventListener("click", () =>
              guarded(async () => {
                if (!window.confirm(`Revoke the key ${key.name}? Anything using it stops working.`)) return;
                await call("DELETE", `/api/v1/api-keys/${key.id}`);
                announce(`The key ${key.name} was revoked.`);
                await list();
              }),
            );
            return [key.name, h("code", {}, key.prefix), key.scopes.join(" "), when(key.created_at), when(key.expires_at), when(key.last_used_at), revoke];
          }),
          { empty: "No keys." },
        ),
      );
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const scopes = [...form.querySelectorAll('input[name="scope"]:checked')].map((box) => box.value);
      const body = { name: name.value.trim(), scopes };
      if (expires.value) body.expires_at = new Date(`${expires.value}T00:00:00Z`).toISOString();
      const key = await post("/api/v1/api-keys", body);
      const secret = h("code", { class: "secret", id: "key-secret-value" }, key.secret);
      const copy = h("button", { type: "button" }, "Copy");
      copy.addEventListener("click", () =>
        navigator.clipboard.writeText(key.secret).then(
          () => announce("The secret is on the clipboard."),
          () => announce("Copying failed: select the secret and copy it yourself."),
        ),
      );
      fill(
        secretBox,
        h(
          "div",
          { class: "callout warn" },
          h("p", {}, h("strong", {}, `The secret of ${key.name}, shown this once:`)),
          h("p", {}, secret, " ", copy),
          h("p", { class: "hint" }, "Use it as Authorization: Bearer <secret>. devgen keeps only its hash."),
        ),
      );
      name.value = "";
      announce(`The key ${key.name} was created; copy its secret now.`);
      await list();
    });
  });

  main.append(
    h(
      "section",
      { class: "view" },
      h("h1", {}, "API keys"),
      h("p", {}, "A key acts for you in this workspace, with at most your role's scopes."),
      form,
      secretBox,
      h("h2", {}, "Your keys"),
      holder,
    ),
  );
  await list();
}
