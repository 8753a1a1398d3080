// Server-sent events over fetch(): EventSource cannot send an Authorization header, and
// a token in the URL would end up in access logs. The stream is read with a ReadableStream
// and parsed as the HTML standard says; a lost connection is resumed with Last-Event-ID.

import { ApiError, authorizedFetch, failure } from "./api.js";

const MAX_BACKOFF_MS = 15000;

/** A parser fed with text chunks; `feed` returns the events completed so far. */
export function eventParser() {
  let buffer = "";
  let data = [];
  let type = "";
  let id = null;
  let retry = null;
  let pendingReturn = false;

  function line(text, events) {
    if (text === "") {
      if (data.length) events.push({ id, type: type || "message", data: data.join("\n") });
      data = [];
      type = "";
      return;
    }
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") type = value;
    else if (field === "id" && !value.includes("\0")) id = value;
    else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
  }

  return {
    feed(chunk) {
      const events = [];
      // A chunk ending in "\r" may be half of a "\r\n": its "\n" then opens the next chunk.
      let text = pendingReturn && chunk.startsWith("\n") ? chunk.slice(1) : chunk;
      pendingReturn = text.endsWith("\r");
      if (pendingReturn) text = `${text.slice(0, -1)}\n`;
      const lines = (buffer + text).split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const complete of lines) line(complete, events);
      return events;
    },
    get retry() {
      return retry;
    },
  };
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      window.clearTimeout(timer);
      resolve();
    });
  });
}

function retryAfter(response) {
  const value = Number(response.headers.get("Retry-After"));
  return Number.isFinite(value) && value > 0 ? value * 1000 : null;
}

/**
 * Follow the stream at `path` until `close()`, a final answer, or `isFinished()` says so
 * when the server ends the stream. `onEvent({id, type, data})` gets each event (data
 * parsed as JSON when it is); `onState(state, error)` hears "open", "reconnecting",
 * "closed" and "failed". Reconnects send the last event id seen as `Last-Event-ID`.
 */
export function follow(path, { lastEventId = null, onEvent, onState = () => {}, isFinished }) {
  const controller = new AbortController();
  let last = lastEventId;
  let backoff = 1000;

  async function readOnce() {
    const headers = { Accept: "text/event-stream" };
    if (last !== null && last !== undefined) headers["Last-Event-ID"] = String(last);
    const response = await authorizedFetch(path, {
      headers,
      cache: "no-store",
      signal: controller.signal,
    });
    if (response.status === 429 || response.status >= 500) {
      return { wait: retryAfter(response) };
    }
    if (!response.ok) throw failure(response, await response.json().catch(() => null));
    onState("open");
    const parser = eventParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { ended: true, retry: parser.retry };
      for (const event of parser.feed(value)) {
        if (event.id !== null) last = event.id;
        backoff = 1000;
        let data = event.data;
        try {
          data = JSON.parse(event.data);
        } catch {
          // Not JSON: give the text as it is.
        }
        onEvent({ id: event.id, type: event.type, data });
      }
    }
  }

  (async () => {
    while (!controller.signal.aborted) {
      let delay;
      try {
        const outcome = await readOnce();
        if (outcome.ended && (await isFinished())) break;
        // Ended early (a proxy, a re-authorisation): resume where it stopped.
        delay = outcome.wait ?? outcome.retry ?? 500;
      } catch (error) {
        if (controller.signal.aborted) break;
        if (error instanceof ApiError) {
          onState("failed", error);
          return;
        }
        delay = backoff;
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
      if (controller.signal.aborted) break;
      onState("reconnecting");
      await pause(delay, controller.signal);
    }
    onState("closed");
  })();

  return {
    close() {
      controller.abort();
    },
    get lastEventId() {
      return last;
    },
  };
}
