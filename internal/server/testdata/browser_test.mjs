// Drives the web page in Debian's chromium through playwright-core:
// node browser_test.mjs URL SCREENSHOT USER_DATA_DIR
// playwright-core is found in $PLAYWRIGHT_DIR (scripts/browser-deps.sh).
// Prints one JSON line with what it saw; exits non-zero on failure.
import { createRequire } from "node:module";
import path from "node:path";

const [url, shot, userData] = process.argv.slice(2);
const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, "node_modules") + "/");
const { chromium } = require("playwright-core");

const ctx = await chromium.launchPersistentContext(userData, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1000, height: 760 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { errors: [] };
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on("pageerror", (e) => result.errors.push(String(e)));
  const requests = [];
  const external = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(url)) external.push(r.url());
    if (r.method() === "POST") requests.push({ url: r.url(), body: JSON.parse(r.postData() || "{}") });
  });
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 20000 });
  result.model = await page.textContent("#model");
  await page.click("summary");
  await page.fill("#maxtok", "120");

  // Count how often the reply's text changes while it streams in.
  async function ask(text) {
    const n = await page.locator(".msg.assistant").count();
    await page.fill("#input", text);
    await page.evaluate(() => {
      window.__updates = 0;
      new MutationObserver((ms) => {
        for (const m of ms) for (const node of m.addedNodes) {
          if (node.classList && node.classList.contains("assistant")) {
            new MutationObserver(() => { window.__updates++; }).observe(node, { childList: true, characterData: true, subtree: true });
          }
        }
      }).observe(document.getElementById("log"), { childList: true });
    });
    await page.press("#input", "Enter");
    const reply = page.locator(".msg.assistant").nth(n);
    await page.waitForFunction((i) => {
      const r = document.querySelectorAll(".msg.assistant")[i];
      return (r && r.dataset.done === "1") || document.querySelector(".msg.error");
    }, n, { timeout: 30000 });
    const err = await page.locator(".msg.error").count();
    if (err) throw new Error("page shows an error: " + await page.locator(".msg.error").first().textContent());
    return { text: await reply.textContent(), updates: await page.evaluate(() => window.__updates) };
  }
  result.first = await ask("Tell me a story about a little dog.");
  result.second = await ask("What happened next?");
  const chats = requests.filter((r) => r.url.endsWith("/v1/chat/completions"));
  result.turns = chats.map((r) => r.body.messages.length);
  result.stream = chats.every((r) => r.body.stream === true);
  await page.screenshot({ path: shot, fullPage: true });

  await page.click("#tab-translate");
  await page.selectOption("#src-lang", "eng_Latn");
  await page.selectOption("#tgt-lang", "deu_Latn");
  await page.fill("#src", "The cat sat on the mat.");
  await page.click("#go");
  await page.waitForSelector("#out[data-done='1']", { timeout: 30000 });
  result.translation = await page.textContent("#out");
  const tr = requests.find((r) => r.url.endsWith("/api/translate"));
  result.translateRequest = tr ? tr.body : null;
  result.languages = await page.locator("#tgt-lang option").count();
  await page.screenshot({ path: shot.replace(/\.png$/, "-translate.png"), fullPage: true });
  result.external = external;
} catch (e) {
  result.errors.push(String(e.stack || e));
} finally {
  await ctx.close();
}
console.log(JSON.stringify(result));
process.exit(result.errors.length ? 1 : 0);
