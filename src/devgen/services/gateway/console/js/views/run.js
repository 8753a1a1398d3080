// A run, live: its steps as a timeline fed by /runs/{id}/events, the test tally and the
// tail of the test output as they come, cancel; then its result. At most two streams are
// open: the run's events, and the test execution's output while the tests run.
//
// The last event seen and the event log are kept in sessionStorage, so a reload resumes
// the stream with Last-Event-ID where it stopped instead of replaying it.

import { ApiError, get, post } from "../api.js";
import { badge, fill, h, seconds, tally, when } from "../dom.js";
import { follow } from "../sse.js";
import { alarm, announce, guarded } from "../status.js";
import { showResult } from "../result.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const STEP_STATES = {
  started: "running",
  recovered: "running",
  succeeded: "succeeded",
  failed: "failed",
  retrying: "retrying",
  skipped: "skipped",
  cancelled: "cancelled",
};
const RUN_STATES = { started: "running", succeeded: "succeeded", failed: "failed", cancelled: "cancelled" };
// The steps whose sandbox execution is the generated tests (pytest); the contract step's
// execution is Schemathesis, whose output must not replace the tests' in "Test output".
const TEST_OUTPUT_STEPS = new Set(["test", "repair"]);
const LOG_LIMIT = 300;
const OUTPUT_LIMIT = 12000;
const REFRESH_DELAY_MS = 250;

function memoKey(runId) {
  return `devgen.run.${runId}`;
}

function readMemo(runId) {
  try {
    const memo = JSON.parse(window.sessionStorage.getItem(memoKey(runId)) || "null");
    if (memo && Array.isArray(memo.log)) return memo;
  } catch {
    // A damaged memo only costs a replay from the start.
  }
  return { seq: null, log: [] };
}

function stepTime(step) {
  if (step.duration_seconds !== null && step.duration_seconds !== undefined) {
    return seconds(step.duration_seconds);
  }
  return step.started_at ? `since ${new Date(step.started_at).toLocaleTimeString()}` : "";
}

function stepRow(step) {
  const retried = step.attempt > 1 || step.state === "retrying";
  const error = step.error ? step.error.message || step.error.code : null;
  return h(
    "li",
    { class: "step", "data-step": step.step, "data-state": step.state },
    h("span", { class: "step-name" }, step.step),
    badge(step.state),
    h("span", { class: "step-attempt" }, retried ? `attempt ${step.attempt} of ${step.max_attempts}` : ""),
    h("span", { class: "step-time" }, stepTime(step)),
    step.progress ? h("span", { class: "step-progress" }, step.progress) : null,
    error ? h("p", { class: "step-error" }, error) : null,
  );
}

function summaryList(run) {
  const tests = run.tests || {};
  const usage = run.usage || {};
  const rows = [
    ["Engine", run.engine],
    ["Workflow", run.workflow],
    ["Created", when(run.created_at)],
    ["Finished", when(run.finished_at)],
    ["Duration", seconds(run.duration_seconds)],
    ["Tests", h("span", { "data-testid": "tests-tally" }, tally(tests))],
    ["Coverage", tests.coverage_percent !== undefined ? `${tests.coverage_percent}%` : "—"],
    ["Tokens and cost", `${usage.total_tokens || 0} tokens, $${Number(usage.cost_usd || 0).toFixed(4)}`],
  ];
  return rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]);
}

export async function render(main, route, shell) {
  const runId = route.id;
  let run;
  try {
    run = await get(`/api/v1/runs/${encodeURIComponent(runId)}`);
  } catch (error) {
    main.append(
      h(
        "section",
        { class: "view" },
        h("h1", {}, "Run not found"),
        h("p", {}, error instanceof ApiError && error.status === 404 ? "There is no such run in this workspace." : error.message),
        h("p", {}, h("a", { href: "#/runs" }, "All runs")),
      ),
    );
    return undefined;
  }

  const memo = readMemo(runId);
  const stateBadge = h("span", { id: "run-state", "data-state": run.state }, badge(run.state));
  const streamState = h("p", { id: "stream-state", class: "hint" }, "");
  const steps = h("ol", { class: "timeline", id: "steps", "aria-labelledby": "steps-title" });
  const summary = h("dl", { class: "summary", id: "run-summary" });
  const errorBox = h("div", {});
  const cancelButton = h("button", { type: "button", id: "cancel-run", class: "danger" }, "Cancel run");
  const output = h("pre", { id: "test-output", class: "output", tabindex: 0, "aria-label": "Test output" });
  const outputSection = h("section", { hidden: true, "aria-labelledby": "output-title" }, h("h2", { id: "output-title" }, "Test output"), output);
  const eventLog = h("ol", { class: "event-log", id: "event-log" });
  const eventCount = h("span", {}, "");
  const result = h("div", { id: "result" });

  main.append(
    h(
      "section",
      { class: "view run" },
      h("div", { class: "run-head" }, h("h1", {}, "Run ", h("code", {}, runId.slice(0, 8))), stateBadge),
      run.requirement_excerpt ? h("p", { class: "excerpt" }, run.requirement_excerpt) : null,
      h("div", { class: "actions" }, cancelButton, h("a", { href: "#/runs", class: "button-link" }, "All runs")),
      errorBox,
      summary,
      h("section", { "aria-labelledby": "steps-title" }, h("h2", { id: "steps-title" }, "Steps"), streamState, steps),
      outputSection,
      h("details", { class: "events" }, h("summary", {}, "Events ", eventCount), eventLog),
      result,
    ),
  );

  let events = null;
  let outputStream = null;
  let outputExecution = null;
  let outputText = "";
  let refreshTimer = null;
  let resultShown = false;
  let announcedEnd = TERMINAL.has(run.state);
  const progress = {};

  // `fresh`: `run` is the server's answer, not patched from events (its artifact is known).
  function draw(fresh = false) {
    stateBadge.dataset.state = run.state;
    fill(stateBadge, badge(run.state));
    fill(summary, summaryList(run));
    const all = [...run.steps, ...(run.compensations || [])];
    fill(steps, all.map((step) => stepRow({ ...step, progress: progress[step.step] })));
    cancelButton.hidden = TERMINAL.has(run.state);
    cancelButton.disabled = Boolean(run.cancel_requested_at);
    fill(
      errorBox,
      run.error
        ? h("div", { class: "callout bad", id: "run-error" }, h("strong", {}, run.error.code || "Failed"), " ", run.error.message || "")
        : null,
    );
    if (fresh && TERMINAL.has(run.state) && !resultShown) {
      resultShown = true;
      showResult(result, run);
    }
  }

  async function refresh() {
    run = await get(`/api/v1/runs/${encodeURIComponent(runId)}`);
    draw(true);
    if (TERMINAL.has(run.state) && !announcedEnd) {
      announcedEnd = true;
      const outcome = { succeeded: "succeeded", failed: "failed", cancelled: "was cancelled" }[run.state];
      announce(`The run ${outcome}.${run.tests ? ` Tests: ${tally(run.tests)}.` : ""}`);
    }
    return run;
  }

  function scheduleRefresh() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => guarded(refresh), REFRESH_DELAY_MS);
  }

  function logLine(entry) {
    return h(
      "li",
      {},
      h("span", { class: "muted" }, `#${entry.seq} ${new Date(entry.at).toLocaleTimeString()} `),
      entry.type.replace(/^orchestrator\./, ""),
      entry.step ? ` · ${entry.step}` : "",
      entry.note ? ` — ${entry.note}` : "",
    );
  }

  function drawLog() {
    eventCount.textContent = `(${memo.log.length})`;
    fill(eventLog, memo.log.map(logLine));
  }

  function showOutput(text) {
    outputText = (outputText + text).slice(-OUTPUT_LIMIT);
    outputSection.hidden = false;
    output.textContent = outputText;
    output.scrollTop = output.scrollHeight;
  }

  function followOutput(executionId) {
    if (outputExecution === executionId) return;
    if (outputStream) outputStream.close();
    outputExecution = executionId;
    let ended = false;
    outputText = "";
    outputStream = follow(`/api/v1/executions/${encodeURIComponent(executionId)}/logs`, {
      onEvent(event) {
        if (event.type === "stdout" || event.type === "stderr") showOutput(event.data.text || "");
        if (event.type === "end") ended = true;
      },
      onState(state) {
        if (state === "failed") outputSection.hidden = !outputText;
      },
      isFinished: async () => ended || TERMINAL.has(run.state),
    });
  }

  function apply(event) {
    const kind = event.type.split(".").pop();
    if (event.type.startsWith("orchestrator.step.") && event.step) {
      const step = [...run.steps, ...(run.compensations || [])].find((s) => s.step === event.step);
      if (kind === "progress") {
        progress[event.step] = event.data.message || "";
        if (event.data.execution_id && event.step && !TERMINAL.has(run.state)) {
          const current = run.steps.find((s) => s.step === event.step);
          const tests = current && TEST_OUTPUT_STEPS.has(current.type);
          if (tests && !TERMINAL.has(current.state)) followOutput(event.data.execution_id);
        }
      } else if (step && STEP_STATES[kind]) {
        step.state = STEP_STATES[kind];
        if (event.data.attempt) step.attempt = event.data.attempt;
        if (event.data.duration_seconds !== undefined) step.duration_seconds = event.data.duration_seconds;
        if (kind === "started") step.started_at = event.created_at;
        delete progress[event.step];
      }
    } else if (event.type.startsWith("orchestrator.run.") && RUN_STATES[kind]) {
      run.state = RUN_STATES[kind];
    }
    draw();
  }

  function onEvent(event) {
    const body = event.data;
    if (!body || typeof body !== "object" || !body.type) return;
    memo.seq = event.id;
    memo.log.push({
      seq: body.seq,
      type: body.type,
      step: body.step,
      at: body.created_at,
      note: body.data && (body.data.message || body.data.reason || ""),
      execution: body.data && body.data.execution_id,
    });
    memo.log = memo.log.slice(-LOG_LIMIT);
    window.sessionStorage.setItem(memoKey(runId), JSON.stringify(memo));
    drawLog();
    apply(body);
    scheduleRefresh();
  }

  cancelButton.addEventListener("click", () =>
    guarded(async () => {
      cancelButton.disabled = true;
      run = await post(`/api/v1/runs/${encodeURIComponent(runId)}/cancel`);
      draw(true);
      announce("Cancelling: running steps are being stopped.");
    }).finally(() => {
      cancelButton.disabled = Boolean(run.cancel_requested_at) && !TERMINAL.has(run.state);
    }),
  );

  draw(true);
  drawLog();
  // After a reload while the tests run: their output stream comes back too.
  const running = run.steps.find((s) => s.state === "running" && TEST_OUTPUT_STEPS.has(s.type));
  const lastProgress = [...memo.log].reverse().find((entry) => entry.execution && entry.step === (running && running.step));
  if (running && lastProgress) followOutput(lastProgress.execution);

  const labels = { open: "Live.", reconnecting: "Connection lost; reconnecting…", closed: "" };
  events = follow(`/api/v1/runs/${encodeURIComponent(runId)}/events`, {
    lastEventId: memo.seq,
    onEvent,
    onState(state, error) {
      if (state === "failed") {
        alarm(error);
        streamState.textContent = "The live view stopped.";
        return;
      }
      streamState.textContent = state === "closed" && TERMINAL.has(run.state) ? `Finished ${when(run.finished_at)}.` : labels[state] || "";
      streamState.dataset.state = state;
    },
    isFinished: async () => TERMINAL.has((await refresh()).state),
  });

  return () => {
    window.clearTimeout(refreshTimer);
    events.close();
    if (outputStream) outputStream.close();
  };
}
