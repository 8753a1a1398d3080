// The public API over fetch: the user's tokens, one refresh on 401, errors from the envelope.
//
// Tokens live in sessionStorage: they survive a reload of this tab (a run being watched
// comes back) and die with it; no cookie is set, so no other site can send them.

const STORAGE_KEY = "devgen.tokens";
const signedOutListeners = new Set();
let tokens = readTokens();
let refreshing = null;

function readTokens() {
  try {
    const stored = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "null");
    return stored && stored.access ? stored : null;
  } catch {
    return null;
  }
}

/** An error answer of the API: `code`, `details` and `requestId` from its envelope. */
export class ApiError extends Error {
  constructor(status, envelope, fallback) {
    const error = (envelope && envelope.error) || {};
    super(error.message || fallback || `The server answered HTTP ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.code = error.code || `HTTP_${status}`;
    this.details = error.details || {};
    this.requestId = error.request_id || null;
  }
}

/**
 * The ApiError of a failed answer. `sessionEnded` marks a 401 after which the session is
 * gone: the sign-in screen is back and says why, so the caller has nothing to add.
 */
export function failure(response, envelope, { anonymous = false } = {}) {
  const error = new ApiError(response.status, envelope);
  error.sessionEnded = response.status === 401 && !anonymous && !signedIn();
  return error;
}

/** Whether a user is signed in in this tab. */
export function signedIn() {
  return tokens !== null;
}

/** The access token of this tab's session, or null. */
export function accessToken() {
  return tokens ? tokens.access : null;
}

/** Keep a token pair from sign-in, refresh or a tenant switch. */
export function keepTokens(pair) {
  tokens = { access: pair.access_token, refresh: pair.refresh_token };
  window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
}

/** Forget the tokens (sign-out, or a session that could not be renewed). */
export function forgetTokens() {
  tokens = null;
  window.sessionStorage.removeItem(STORAGE_KEY);
}

/** Call `listener(message)` when the session ends by itself (refresh refused). */
export function onSignedOut(listener) {
  signedOutListeners.add(listener);
}

function refreshOnce() {
  // One refresh at a time: every request that met the same expired token waits for it.
  if (!refreshing) {
    const used = tokens && tokens.refresh;
    refreshing = (async () => {
      if (!used) return false;
      const response = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: used }),
      });
      if (!response.ok) return false;
      keepTokens((await response.json()).data);
      return true;
    })()
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

function withToken(init) {
  const headers = new Headers(init.headers || {});
  if (tokens) headers.set("Authorization", `Bearer ${tokens.access}`);
  return { ...init, headers };
}

/**
 * fetch() with the user's token. A 401 is met with one refresh and one retry; when
 * that fails too, the tokens are forgotten and the sign-in screen comes back.
 */
export async function authorizedFetch(path, init = {}) {
  const sent = tokens && tokens.access;
  const response = await fetch(path, withToken(init));
  if (response.status !== 401 || !sent) return response;
  // Another request may have renewed the token meanwhile: then just try again with it.
  const renewed = (tokens && tokens.access !== sent) || (await refreshOnce());
  if (renewed) {
    const again = await fetch(path, withToken(init));
    if (again.status !== 401) return again;
  }
  forgetTokens();
  for (const listener of signedOutListeners) listener("Your session has ended; sign in again.");
  return response;
}

async function envelopeOf(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json().catch(() => null) : null;
}

/**
 * Call the API and return its `{data, metadata}`; throws an ApiError for an error answer.
 * `anonymous` sends no token (sign-in, registration).
 */
export async function call(method, path, { body, anonymous = false, signal } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = anonymous ? await fetch(path, init) : await authorizedFetch(path, init);
  const envelope = await envelopeOf(response);
  if (!response.ok) throw failure(response, envelope, { anonymous });
  return envelope;
}

/** The `data` of a GET. */
export async function get(path, options) {
  return (await call("GET", path, options)).data;
}

/** The `data` of a POST. */
export async function post(path, body, options) {
  const envelope = await call("POST", path, { ...options, body });
  return envelope ? envelope.data : null;
}

/** A path with its query string; empty values are left out. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** A file's bytes (an artifact's file or zip) as a Response that succeeded. */
export async function download(path, { signal } = {}) {
  const response = await authorizedFetch(path, { signal });
  if (!response.ok) throw failure(response, await envelopeOf(response));
  return response;
}
