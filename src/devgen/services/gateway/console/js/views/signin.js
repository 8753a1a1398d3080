// Sign in, or create an account (which also creates the user's own workspace).

import { signIn } from "../account.js";
import { h } from "../dom.js";
import { alarm, announce } from "../status.js";

export function render(main, _route, shell) {
  const email = h("input", {
    id: "email",
    name: "email",
    type: "email",
    required: true,
    autocomplete: "username",
  });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    required: true,
    minlength: 8,
    autocomplete: "current-password",
    "aria-describedby": "password-hint",
  });
  const displayName = h("input", {
    id: "display-name",
    name: "display_name",
    autocomplete: "name",
    maxlength: 100,
  });
  const form = h(
    "form",
    { class: "stack narrow", "aria-labelledby": "signin-title" },
    h("label", { for: "email" }, "E-mail"),
    email,
    h("label", { for: "password" }, "Password"),
    password,
    h("p", { id: "password-hint", class: "hint" }, "At least 8 characters."),
    h("label", { for: "display-name" }, "Display name ", h("span", { class: "hint" }, "(new accounts, optional)")),
    displayName,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", value: "signin", class: "primary" }, "Sign in"),
      h("button", { type: "submit", value: "register" }, "Create account"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const create = event.submitter && event.submitter.value === "register";
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => (button.disabled = true));
    try {
      await signIn({
        email: email.value.trim(),
        password: password.value,
        displayName: displayName.value.trim(),
        create,
      });
      password.value = "";
      shell.redraw();
      announce(create ? "Account created; you are signed in." : "Signed in.");
      const wanted = window.location.hash;
      shell.navigate(!wanted || wanted === "#/signin" ? "#/new" : wanted);
    } catch (error) {
      alarm(error);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  });
  main.append(
    h(
      "section",
      { class: "view signin" },
      h("h1", { id: "signin-title" }, "Sign in to devgen"),
      h(
        "p",
        { class: "lead" },
        "Write a requirement; devgen analyses it into a spec and user stories, generates a " +
          "complete service, runs its tests in a sandbox and hands you the project with a report.",
      ),
      form,
      h("p", { class: "hint" }, "The platform's services and their API documentation: ", h("a", { href: "#/platform" }, "Platform"), "."),
    ),
  );
}
