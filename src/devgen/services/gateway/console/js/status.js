// Status messages for everyone: a polite live region for news, an assertive one for errors.

/** Say `message` in the status bar (and to screen readers); clears an earlier error. */
export function announce(message) {
  document.getElementById("alert").textContent = "";
  document.getElementById("status").textContent = message;
}

/** Say that something went wrong; the message stays until the next one. */
export function alarm(error) {
  const message = error instanceof Error ? error.message : String(error);
  const id = error && error.requestId ? ` (request ${error.requestId})` : "";
  document.getElementById("status").textContent = "";
  document.getElementById("alert").textContent = `${message}${id}`;
}

/** Run `work`, turning a failure into an alarm; returns its result or undefined. */
export async function guarded(work) {
  try {
    return await work();
  } catch (error) {
    if (error && error.name === "AbortError") return undefined;
    alarm(error);
    return undefined;
  }
}
