// The console's shell: the header (workspace, role, sign-out), the menu and the router.
// Each view is a module loaded when first shown; `render(main, route)` draws it and may
// return a function that stops what it started (streams, timers) when the view is left.

import { account, loadAccount, mayAudit, restoreTheme, signOut, switchTenant } from "./account.js";
import { onSignedOut, signedIn } from "./api.js";
import { h, fill } from "./dom.js";
import { alarm, announce, clearStale, guarded } from "./status.js";

const VIEWS = {
  new: () => import("./views/generate.js"),
  runs: () => import("./views/history.js"),
  run: () => import("./views/run.js"),
  projects: () => import("./views/projects.js"),
  audit: () => import("./views/audit.js"),
  keys: () => import("./views/keys.js"),
  profile: () => import("./views/profile.js"),
  platform: () => import("./views/platform.js"),
  signin: () => import("./views/signin.js"),
};
const PUBLIC = new Set(["platform", "signin"]);

let leave = null;
let rendering = 0;

/** The route in the address: `#/runs/ID?x=1` → {name: "run", id: "ID", query}. */
function currentRoute() {
  const [path, search = ""] = window.location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search);
  if (parts[0] === "runs" && parts[1]) return { name: "run", id: parts[1], query };
  return { name: VIEWS[parts[0]] ? parts[0] : "new", id: null, query };
}

/** Show the route in the address (and so the view). */
function navigate(hash) {
  if (window.location.hash === hash) render();
  else window.location.hash = hash;
}

function showAccount() {
  const me = account.me;
  const box = document.getElementById("account");
  box.hidden = !me;
  document.querySelector('[data-needs="audit"]').hidden = !mayAudit();
  if (!me) return;
  const select = document.getElementById("tenant");
  const tenants = account.tenants.length ? account.tenants : [{ ...me.tenant, role: me.role }];
  fill(
    select,
    tenants.map((tenant) =>
      h(
        "option",
        { value: tenant.id, selected: tenant.id === me.tenant.id },
        `${tenant.name}${tenant.role ? ` (${tenant.role})` : ""}`,
      ),
    ),
  );
  select.disabled = tenants.length < 2;
  document.getElementById("role").textContent = me.role || (me.platform_admin ? "platform admin" : "—");
  document.getElementById("who").textContent = me.user.display_name || me.user.email;
}

function markCurrent(name) {
  const current = name === "run" ? "runs" : name;
  for (const link of document.querySelectorAll("#nav a[data-route]")) {
    if (link.dataset.route === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function render() {
  const ticket = ++rendering;
  const route = currentRoute();
  if (leave) {
    leave();
    leave = null;
  }
  const name = signedIn() || PUBLIC.has(route.name) ? route.name : "signin";
  markCurrent(name);
  closeMenu();
  clearStale();
  const main = document.getElementById("main");
  try {
    const view = await VIEWS[name]();
    if (ticket !== rendering) return;
    main.replaceChildren();
    leave = (await view.render(main, route, shell)) || null;
    const heading = main.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
    }
  } catch (error) {
    alarm(error);
  }
}

/** What views may ask of the shell. */
const shell = {
  navigate,
  /** Redraw the header from what `account` holds now. */
  redraw: showAccount,
  /** Re-read the account, then redraw the header. */
  async refresh() {
    await loadAccount();
    showAccount();
  },
};

function closeMenu() {
  document.getElementById("nav").classList.remove("open");
  document.getElementById("menu-toggle").setAttribute("aria-expanded", "false");
}

function wireShell() {
  const toggle = document.getElementById("menu-toggle");
  toggle.addEventListener("click", () => {
    const open = document.getElementById("nav").classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  document.getElementById("nav").addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      closeMenu();
      toggle.focus();
    }
  });
  document.getElementById("sign-out").addEventListener("click", async () => {
    await signOut();
    showAccount();
    announce("Signed out.");
    navigate("#/signin");
  });
  document.getElementById("tenant").addEventListener("change", (event) =>
    guarded(async () => {
      await switchTenant(event.target.value);
      showAccount();
      announce(`You now act in ${account.me.tenant.name} as ${account.me.role}.`);
      render();
    }),
  );
  onSignedOut((message) => {
    account.me = null;
    showAccount();
    alarm(message);
    render();
  });
  window.addEventListener("hashchange", render);
}

async function start() {
  restoreTheme();
  wireShell();
  if (signedIn()) {
    await guarded(loadAccount);
  }
  showAccount();
  await render();
}

start();
