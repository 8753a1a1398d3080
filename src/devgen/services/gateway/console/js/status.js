// Status messages for everyone: a polite live region for news, an assertive one for errors.

const STALE_MS = 2000;
let saidAt = 0;

/** Say `message` in the status bar (and to screen readers); clears an earlier error. */
export function announce(message) {
  saidAt = performance.now();
  document.getElementById("alert").textContent = "";
  document.getElementById("status").textContent = message;
}

/** Say that something went wrong; the message stays until the next one. */
export function alarm(error) {
  if (error && error.sessionEnded) return;
  const message = error instanceof Error ? error.message : String(error);
  const id = error && error.requestId ? ` (request ${error.requestId})` : "";
  saidAt = performance.now();
  document.getElementById("status").textContent = "";
  document.getElementById("alert").textContent = `${message}${id}`;
}

/** Clear messages said a while ago: a new view starts clean, unless it was just announced. */
export function clearStale() {
  if (performance.now() - saidAt < STALE_MS) return;
  document.getElementById("status").textContent = "";
  document.getElementById("alert").textContent = "";
}

/** Run `work`, turning a failure into an alarm; returns its result or undefined. */
export async function guarded(work) {
  try {
    return await work();
  } catch (error) {
    if (error && (error.name === "AbortError" || error.sessionEnded)) return undefined;
    alarm(error);
    return undefined;
  }
}
