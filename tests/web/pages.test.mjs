// Steward's web pages in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
// playwright-core against `steward serve --demo` on a loopback port. Each page renders without
// console errors; signing in with the demo's printed token, following the fraud model to its
// lineage and clicking a node; a form post without the CSRF token refused; another tenant's
// model by URL a 404; axe-core finds no serious or critical violation on any page. Screenshots
// of each page go to target/web-screenshots/ for people to look at.
//
// Run: bash tests/web/run.sh (builds nothing; STEWARD_BIN names the binary, target/debug/steward
// by default). Fails, never skips, when Chromium or the binary is missing.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.resolve(process.env.STEWARD_BIN ?? path.join(ROOT, "target/debug/steward"));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "target/web-screenshots");

let server, base, token, dir, env, browser;
/** The EU incident's page, once the drift test has found it. */
let incidentUrl;

/** Starts `steward serve --demo` and reads its address and token from what it prints. */
async function startDemo() {
  dir = mkdtempSync(path.join(tmpdir(), "steward-web-"));
  env = {
    ...process.env,
    STEWARD_DATABASE_URL: `sqlite://${dir}/steward.db?mode=rwc`,
    STEWARD_CONFIG: path.join(dir, "steward.toml"),
  };
  writeFileSync(env.STEWARD_CONFIG, "");
  server = spawn(BIN, ["serve", "--demo", "--listen", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = readline.createInterface({ input: server.stdout });
  await new Promise((resolve, reject) => {
    server.on("exit", (code) => reject(new Error(`steward serve --demo exited (${code})`)));
    lines.on("line", (line) => {
      const at = line.match(/^Steward is running at (http:\/\/[^/]+)\//);
      if (at) base = at[1];
      const t = line.match(/^export STEWARD_TOKEN=(\S+)/);
      if (t) token = t[1];
      if (base && token) resolve();
    });
  });
}

/** A token of another tenant of the demo, minted with the server's development secret. */
function tokenOf(tenant) {
  return execFileSync(BIN, ["token", "--tenant", tenant, "--role", "viewer", "--sub", "browser-test"], {
    env,
  })
    .toString()
    .trim();
}

async function graphql(bearer, query) {
  const r = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query }),
  });
  const body = await r.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** A page that records console errors and failed requests; `check()` asserts there were none.
 * `p.expect404(url)` names a page the test opens expecting a 404 (the browser logs those). */
async function page(context) {
  const p = await context.newPage();
  const problems = [];
  const expected = new Set();
  p.expect404 = (url) => expected.add(url);
  p.on("console", (m) => {
    const intended = expected.has(m.location().url) && /status of 404/.test(m.text());
    if (m.type() === "error" && !intended) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  p.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  p.check = () => assert.deepEqual(problems, [], problems.join("\n"));
  return p;
}

/** axe-core on the page as it stands: no serious or critical violation. */
async function accessible(context, url, name) {
  // A context of its own that lets the axe script in past the pages' CSP, with the session.
  const p = await context.newPage();
  await p.goto(url);
  await p.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  const result = await p.evaluate(async () => await globalThis.axe.run());
  const bad = result.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`),
    [],
    `${name}: ${JSON.stringify(bad.map((v) => v.nodes.map((n) => n.html)), null, 1)}`,
  );
  await p.close();
}

async function shot(p, name) {
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  assert.ok(existsSync(BIN), `no steward binary at ${BIN}: cargo build -p steward-server`);
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium`);
  mkdirSync(SHOTS, { recursive: true });
  await startDemo();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

/** Signs in through the form, as a person would. */
async function signIn(p) {
  await p.goto(`${base}/ui/`);
  assert.match(p.url(), /\/ui\/sign-in$/);
  await shot(p, "sign-in");
  await p.fill("#token", token);
  await p.click("button[type=submit]");
  await p.waitForURL(`${base}/ui/`);
}

test("a user signs in, follows the fraud model to its lineage, and signs out", async () => {
  const context = await browser.newContext();
  const p = await page(context);
  await signIn(p);
  assert.equal(await p.textContent("h1"), "Models of acme");
  await shot(p, "overview");

  await p.click("text=fraud-detector");
  await p.waitForURL(/\/ui\/models\//);
  assert.equal(await p.textContent("h1"), "fraud-detector");
  assert.ok((await p.locator("table").first().locator("tbody tr").count()) >= 2, "versions listed");
  await shot(p, "model");

  await p.click("text=lineage of v2");
  await p.waitForURL(/\/ui\/lineage\?node=/);
  const focus = new URL(p.url()).searchParams.get("node");
  assert.ok(await p.locator("svg.lineage").isVisible());
  await shot(p, "lineage");
  // A node of the graph is a link: clicking one moves the focus to it, keeping the depth.
  const target = p.locator("svg.lineage a.node.data").first();
  await target.click();
  await p.waitForURL((u) => u.searchParams.get("node") !== focus);
  assert.equal(new URL(p.url()).searchParams.get("depth"), "2");
  assert.match(await p.getAttribute("svg.lineage a.node.focus", "class"), /data/);
  // The depth selector.
  await p.selectOption("#depth", "3");
  await p.click("text=Show");
  await p.waitForURL((u) => u.searchParams.get("depth") === "3");
  await shot(p, "lineage-focus");
  // The audit log: its signed checkpoint verified, an event's inclusion proved.
  await p.click("text=Audit log");
  await p.waitForURL(/\/ui\/audit/);
  assert.match(await p.textContent("dl.facts"), /verified with Steward's public key/);
  const proveHref = await p.locator("a", { hasText: /^check inclusion of / }).first().getAttribute("href");
  assert.match(proveHref, /prove=\d+/);
  await p.goto(`${base}${proveHref}`);
  const audit = await p.textContent("main");
  assert.match(audit, /Inclusion of event \d+: proved/, `${proveHref}: ${audit.slice(0, 600)}`);
  await shot(p, "audit");
  p.check();

  await p.click("text=Sign out");
  await p.waitForURL(/\/ui\/sign-in$/);
  await p.goto(`${base}/ui/`);
  assert.match(p.url(), /\/ui\/sign-in$/, "the session is gone");
  p.check();
  await context.close();
});

test("an owner documents a model and a governance officer prints its compliance report", async () => {
  const context = await browser.newContext();
  const p = await page(context);
  await signIn(p);
  // The tenant's report: every model, its gaps; the churn model is not documented yet.
  await p.click("text=Compliance");
  await p.waitForURL(/\/ui\/compliance$/);
  assert.match(await p.textContent("h1"), /Compliance report: tenant/);
  const tenant = await p.textContent("main");
  assert.match(tenant, /churn-predictor/);
  assert.match(tenant, /never documented/);
  await shot(p, "compliance-tenant");
  // The owner writes the churn model's documentation through the form.
  await p.goto(`${base}/ui/`);
  await p.click("text=churn-predictor");
  await p.waitForURL(/\/ui\/models\//);
  await p.click("text=intended use and limitations");
  await p.waitForURL(/\/documentation$/);
  await p.fill("#intended_use", "Weekly churn propensity for account managers' call lists.");
  await p.fill("#limitations", "Not for pricing or credit decisions.");
  await p.fill("#human_oversight", "Account managers decide whom to call.");
  await p.click("text=Save a new revision");
  await p.waitForURL(/\/compliance$/);
  const churn = await p.textContent("main");
  assert.match(churn, /Not for pricing or credit decisions\./);
  assert.doesNotMatch(churn, /never documented/);
  // The fraud model's report, printed: the print stylesheet drops the navigation, and Chromium
  // writes the PDF a person would get from the print dialog.
  await p.goto(`${base}/ui/`);
  await p.click("text=fraud-detector");
  await p.waitForURL(/\/ui\/models\//);
  await p.click("text=compliance report");
  await p.waitForURL(/\/compliance$/);
  const report = await p.textContent("main");
  assert.match(report, /Scores every card transaction/);
  assert.match(report, /EU AI Act Annex IV/);
  assert.match(report, /SR 11-7/);
  assert.match(report, /ISO\/IEC 42001 Annex A/);
  assert.match(report, /proven included/);
  await shot(p, "compliance-model");
  await p.emulateMedia({ media: "print" });
  assert.equal(await p.locator("header.bar").isVisible(), false, "no navigation on paper");
  const pdf = await p.pdf({ path: path.join(SHOTS, "compliance-fraud-detector.pdf"), format: "A4" });
  assert.equal(pdf.subarray(0, 5).toString(), "%PDF-");
  assert.ok(pdf.length > 20_000, `a PDF of ${pdf.length} bytes`);
  await p.emulateMedia({ media: "screen" });
  // The CSV download, with the session's cookie.
  const csv = await context.request.get(`${p.url()}?format=csv`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()["content-disposition"], /steward-compliance-acme-fraud-detector\.csv/);
  assert.match((await csv.text()).split("\n")[0], /^model,section,references,record,field,value/);
  p.check();
  await context.close();
});

test("a form posted without the session's CSRF token is refused", async () => {
  const context = await browser.newContext();
  const p = await page(context);
  await signIn(p);
  // The sign-out form with its token removed, submitted from the page itself.
  await p.evaluate(() => document.querySelector("input[name=csrf]").remove());
  const [response] = await Promise.all([
    p.waitForResponse((r) => r.url().endsWith("/ui/sign-out")),
    p.click("text=Sign out"),
  ]);
  assert.equal(response.status(), 403);
  assert.match(await p.textContent("main"), /security token is missing or stale/);
  // Still signed in.
  await p.goto(`${base}/ui/`);
  assert.equal(await p.textContent("h1"), "Models of acme");
  await context.close();
});

test("another tenant's model by URL is a 404, like a missing one", async () => {
  const data = await graphql(tokenOf("globex"), "{ models { nodes { id name } } }");
  const theirs = data.models.nodes[0];
  assert.ok(theirs, "the demo's globex tenant has a model");
  const context = await browser.newContext();
  const p = await page(context);
  await signIn(p);
  const missingUrl = `${base}/ui/models/018f0000-0000-7000-8000-000000000000`;
  p.expect404(`${base}/ui/models/${theirs.id}`);
  p.expect404(missingUrl);
  const other = await p.goto(`${base}/ui/models/${theirs.id}`);
  assert.equal(other.status(), 404);
  const otherText = await p.textContent("main");
  assert.ok(!otherText.includes(theirs.name));
  await shot(p, "not-found");
  const missing = await p.goto(missingUrl);
  assert.equal(missing.status(), 404);
  assert.equal(await p.textContent("main"), otherText);
  p.check();
  await context.close();
});

/** The drift page of the fraud model's version 3, from its model page. */
async function driftUrl(p, model) {
  await p.goto(model);
  await p.click("text=drift of v3");
  await p.waitForURL(/\/drift/);
  return p.url();
}

/** The demo deploys after its two-week replay: waits (at most 4 minutes) for the churn
 * model's endpoint to have its promotion. */
async function churnEndpoint() {
  for (let i = 0; i < 240; i++) {
    const data = await graphql(token, "{ endpoints { id name revision } }");
    const e = data.endpoints.find((e) => e.name === "churn-predictor-prod" && e.revision >= 2);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.fail("the demo never deployed churn-predictor-prod");
}

test("an SRE rolls the churn endpoint back through the form", async () => {
  const endpoint = await churnEndpoint();
  const context = await browser.newContext();
  const p = await page(context);
  await signIn(p);
  await p.goto(`${base}/ui/endpoints/${endpoint.id}`);
  assert.match(await p.textContent("dl.facts"), /v2 \(100%\)/);
  await shot(p, "endpoint");
  await p.selectOption("#to_revision", "1");
  await p.fill("#reason", "churn v2 underperforms on the new cohort");
  await p.click("text=Roll back now");
  await p.waitForURL((u) => u.hash === `#revision-${endpoint.revision + 1}`);
  assert.match(await p.textContent("dl.facts"), /v1 \(100%\)/);
  assert.match(await p.textContent("main"), /churn v2 underperforms on the new cohort/);
  await shot(p, "endpoint-rolled-back");
  // The API sees the same rollback.
  const data = await graphql(
    token,
    `{ rollbacks(endpointId: "${endpoint.id}") { revision { number reason } } }`,
  );
  assert.ok(data.rollbacks.some((r) => r.revision.reason === "churn v2 underperforms on the new cohort"));
  p.check();
  await context.close();
});

test("the fraud model's drift over time shows the EU shift and its incident", async () => {
  await churnEndpoint(); // the demo deploys once its two-week replay is done
  const context = await browser.newContext();
  const p = await page(context);
  await signIn(p);
  // The overview knows: the fraud model has an open incident and an evaluated window.
  const row = p.locator("tr", { hasText: "fraud-detector" });
  assert.equal(await row.locator(".health").textContent(), "incident");
  assert.match(await row.textContent(), /drift \d\.\d\d/);
  await p.click("text=fraud-detector");
  await p.waitForURL(/\/ui\/models\//);
  await p.click("text=drift of v3");
  await p.waitForURL(/\/drift/);
  const slices = await p.$$eval("#slice option", (os) => os.map((o) => o.value));
  const eu = slices.find((s) => /eu/i.test(s));
  assert.ok(eu, `an EU slice among ${slices}`);
  const features = await p.$$eval("#feature option", (os) => os.map((o) => o.value));
  let drifted = [];
  for (const f of features) {
    await p.selectOption("#slice", eu);
    await p.selectOption("#feature", f);
    await p.click("text=Show");
    await p.waitForURL((u) => u.searchParams.get("feature") === f);
    assert.ok((await p.locator("svg.chart").count()) >= 2, "the effect and composite charts");
    if ((await p.locator("svg.chart").first().locator("circle").count()) > 0) drifted.push(f);
  }
  assert.ok(drifted.length > 0, "some feature drifts in the EU slice");
  await p.selectOption("#feature", drifted[0]);
  await p.click("text=Show");
  await p.waitForURL((u) => u.searchParams.get("feature") === drifted[0]);
  // The EU incident opened during the replay is marked on the time axis.
  assert.ok((await p.locator("svg.chart").first().locator("line[stroke='#7a2e8e']").count()) > 0);
  // Performance from the delayed labels, with its confidence interval as a band.
  assert.equal(await p.locator("svg.chart").count(), 3, "drift, composite and performance");
  assert.ok((await p.locator("svg.chart path.band").count()) > 0, "the performance's band");
  assert.match(await p.textContent("main"), /Compared with the holdout's ROC AUC/);
  await shot(p, "drift");
  // The incident: its timeline, its actions, and through lineage what came of it.
  await p.click("h1 a");
  await p.waitForURL(/\/ui\/models\//);
  await p.locator("a[href^='/ui/incidents/']", { hasText: /eu/i }).first().click();
  await p.waitForURL(/\/ui\/incidents\//);
  incidentUrl = p.url();
  assert.match(await p.textContent("main"), /opened/);
  assert.ok((await p.locator("table").first().locator("tbody tr").count()) >= 1);
  await shot(p, "incident");
  await p.click("text=in lineage");
  await p.waitForURL(/\/ui\/lineage/);
  assert.ok((await p.locator("svg.lineage a.node.run").count()) >= 1, "the retraining run");
  await shot(p, "incident-lineage");
  p.check();
  await context.close();
});

test("every page passes axe-core without serious violations", async () => {
  const context = await browser.newContext({ bypassCSP: true });
  const p = await page(context);
  await p.goto(`${base}/ui/sign-in`);
  await accessible(context, `${base}/ui/sign-in`, "sign-in");
  await signIn(p);
  await p.click("text=fraud-detector");
  await p.waitForURL(/\/ui\/models\//);
  const model = p.url();
  await p.click("text=lineage of v2");
  await p.waitForURL(/\/ui\/lineage\?node=/);
  const endpoint = await churnEndpoint();
  for (const [name, url] of [
    ["endpoint", `${base}/ui/endpoints/${endpoint.id}`],
    ["drift", await driftUrl(p, model)],
    ...(incidentUrl ? [["incident", incidentUrl]] : []),
    ["overview", `${base}/ui/`],
    ["audit", `${base}/ui/audit?prove=1`],
    ["model", model],
    ["lineage", p.url()],
    ["compliance", `${model}/compliance`],
    ["tenant-compliance", `${base}/ui/compliance`],
    ["documentation", `${model}/documentation`],
    ["policies", `${base}/ui/policies`],
    ["not-found", `${base}/ui/nothing`],
  ]) {
    await accessible(context, url, name);
  }
  // A policy's page with a replay of its revision over the fraud model's recorded windows.
  await p.goto(`${base}/ui/policies`);
  const policyHref = await p.locator("main a[href^='/ui/policies/']").first().getAttribute("href");
  const modelId = model.split("/").pop();
  const replayUrl = `${base}${policyHref}?model=${modelId}`;
  await p.goto(replayUrl);
  assert.match(await p.textContent("main"), /decided otherwise than recorded|no decided window/);
  await shot(p, "policy-replay");
  await accessible(context, replayUrl, "policy");
  await context.close();
});
