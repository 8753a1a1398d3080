// Who is signed in: the user, their workspace and role, their preferences and workspaces.

import { accessToken, call, forgetTokens, get, keepTokens, post, signedIn } from "./api.js";

const THEME_KEY = "devgen.theme";
const THEMES = new Set(["light", "dark", "system"]);

/** What the views know about the user; filled by `loadAccount`. */
export const account = { me: null, profile: null, tenants: [] };

/** Apply a theme preference (`light`, `dark` or `system`) and remember it for this tab. */
export function applyTheme(theme) {
  const chosen = THEMES.has(theme) ? theme : "system";
  document.documentElement.dataset.theme = chosen;
  window.sessionStorage.setItem(THEME_KEY, chosen);
}

/** The theme this tab used last, applied before anything is fetched (no flash). */
export function restoreTheme() {
  applyTheme(window.sessionStorage.getItem(THEME_KEY) || "system");
}

/** Whether the user may read the workspace's audit log. */
export function mayAudit() {
  const me = account.me;
  return Boolean(me && (me.platform_admin || me.role === "owner" || me.role === "admin"));
}

/** Whether the user may start runs and create things (members and up). */
export function mayWrite() {
  return Boolean(account.me && account.me.scopes.includes("write"));
}

/** Read the user, their profile and their workspaces. */
export async function loadAccount() {
  const [me, profile, tenants] = await Promise.all([
    get("/api/v1/auth/me"),
    get("/api/v1/profiles/me").catch(() => null),
    get("/api/v1/tenants").catch(() => []),
  ]);
  account.me = me;
  account.profile = profile;
  account.tenants = tenants;
  if (profile) applyTheme(profile.theme);
  return account;
}

/** Register (when `create`) and sign in; keeps the tokens. */
export async function signIn({ email, password, displayName, create }) {
  if (create) {
    const body = { email, password };
    if (displayName) body.display_name = displayName;
    await post("/api/v1/auth/register", body, { anonymous: true });
  }
  keepTokens(await post("/api/v1/auth/login", { email, password }, { anonymous: true }));
  return loadAccount();
}

/** End this session at the server (best effort) and forget it here. */
export async function signOut() {
  if (signedIn()) {
    await call("POST", "/api/v1/auth/logout", { body: {} }).catch(() => null);
  }
  forgetTokens();
  account.me = null;
  account.profile = null;
  account.tenants = [];
}

/** Act in another workspace: a new token pair for it; the old session is ended. */
export async function switchTenant(tenantId) {
  const pair = await post("/api/v1/auth/switch-tenant", { tenant_id: tenantId });
  const previous = accessToken();
  keepTokens(pair);
  if (previous) {
    // The previous session is no longer needed: end it rather than leave it valid for 30 days.
    await fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${previous}`, "Content-Type": "application/json" },
      body: "{}",
    }).catch(() => null);
  }
  return loadAccount();
}

/** Save preferences (`theme`, `language`, `default_engine`); applies the theme. */
export async function savePreferences(changes) {
  account.profile = (await call("PATCH", "/api/v1/profiles/me", { body: changes })).data;
  applyTheme(account.profile.theme);
  return account.profile;
}
