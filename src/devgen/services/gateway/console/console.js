// The devgen console: plain DOM and fetch, no framework, no build step.
// Tokens stay in memory only: a reload signs you out, and nothing is left in storage.
"use strict";

const session = { accessToken: null, refreshToken: null };

function text(tag, value) {
  const element = document.createElement(tag);
  element.textContent = value;
  return element;
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.accessToken) headers.Authorization = `Bearer ${session.accessToken}`;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const message = payload && payload.error ? payload.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return payload;
}

async function loadServices() {
  const rows = document.getElementById("services");
  try {
    const response = await fetch("/health", { headers: { Accept: "application/json" } });
    const health = await response.json();
    rows.replaceChildren();
    for (const [name, dependency] of Object.entries(health.dependencies)) {
      if (name === "database" || name === "rate_limits") continue;
      const row = document.createElement("tr");
      row.append(text("td", name), text("td", dependency.status), text("td", dependency.detail || ""));
      const docs = document.createElement("td");
      const link = text("a", "docs");
      link.href = `/services/${encodeURIComponent(name)}/docs`;
      docs.append(link);
      row.append(docs);
      rows.append(row);
    }
  } catch (error) {
    rows.replaceChildren();
    const row = document.createElement("tr");
    const cell = text("td", `Could not read /health: ${error.message}`);
    cell.colSpan = 4;
    row.append(cell);
    rows.append(row);
  }
}

function showMessage(message, isError) {
  const element = document.getElementById("message");
  element.textContent = message;
  element.className = isError ? "error" : "";
}

async function showMe() {
  const { data } = await api("GET", "/api/v1/auth/me");
  document.getElementById("me-email").textContent = data.user.email;
  document.getElementById("me-tenant").textContent = data.tenant.name;
  document.getElementById("me-role").textContent = data.role || "—";
  document.getElementById("me-scopes").textContent = data.scopes.join(" ");
  document.getElementById("me").hidden = false;
  document.getElementById("login-form").hidden = true;
}

async function onSubmit(event) {
  event.preventDefault();
  const form = event.target;
  const action = event.submitter ? event.submitter.value : "login";
  const credentials = { email: form.email.value, password: form.password.value };
  try {
    if (action === "register") {
      await api("POST", "/api/v1/auth/register", credentials);
    }
    const { data } = await api("POST", "/api/v1/auth/login", credentials);
    session.accessToken = data.access_token;
    session.refreshToken = data.refresh_token;
    form.password.value = "";
    await showMe();
    showMessage(action === "register" ? "Account created; you are signed in." : "Signed in.", false);
  } catch (error) {
    showMessage(error.message, true);
  }
}

async function onLogout() {
  try {
    await api("POST", "/api/v1/auth/logout", {});
  } catch (error) {
    // The session ends here either way; the server's answer only matters for the message.
    showMessage(error.message, true);
  }
  session.accessToken = null;
  session.refreshToken = null;
  document.getElementById("me").hidden = true;
  document.getElementById("login-form").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login-form").addEventListener("submit", onSubmit);
  document.getElementById("logout").addEventListener("click", onLogout);
  loadServices();
});
