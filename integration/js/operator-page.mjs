// Drives the operator page in Debian's chromium with playwright-core:
// open it (Basic credentials after the 401 challenge), list the webhooks,
// pause one, redeliver a delivery, and take screenshots (phone and desktop).
//
// Environment: PAGE_URL, WC_CK, WC_CS, PAUSE_ID, REDELIVER_WEBHOOK,
// REDELIVER_ID, SHOT_PHONE, SHOT_DESKTOP; CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { env, Recorder } from "./common.mjs";

const rec = new Recorder();
const url = env("PAGE_URL");
const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});

async function hooks(page) {
  return page.$$eval("section.hook", (els) => els.map((e) => ({
    id: Number(e.dataset.webhookId),
    status: e.dataset.status,
    name: e.querySelector("h3").textContent,
    url: e.querySelector("dd a, dd .url")?.textContent,
    deliveries: [...e.querySelectorAll("tr.delivery")].map((r) => Number(r.dataset.deliveryId)),
  })));
}

async function notice(page) {
  return (await page.$eval(".notice", (e) => e.textContent).catch(() => "")).trim();
}

try {
  // Without credentials: the 401 challenge (a headless browser cannot
  // show the prompt, so the context's request API reads it).
  const anon = await browser.newContext({ ignoreHTTPSErrors: true });
  const ar = await anon.request.get(url);
  rec.add("anonymous", ar.status(), ar.headers(), null);
  await anon.close();

  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true,
    httpCredentials: { username: env("WC_CK"), password: env("WC_CS") },
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  });
  const page = await ctx.newPage();
  const jsErrors = [];
  page.on("pageerror", (e) => jsErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") jsErrors.push(m.text()); });

  const res = await page.goto(url);
  rec.add("open", res.status(), await res.allHeaders(), { hooks: await hooks(page), title: await page.title() });

  const pauseID = env("PAUSE_ID");
  await Promise.all([
    page.waitForNavigation(),
    page.click(`#webhook-${pauseID} button[data-action="pause"]`),
  ]);
  rec.add("pause", 200, {}, { notice: await notice(page), hooks: await hooks(page), url: page.url() });

  const wid = env("REDELIVER_WEBHOOK");
  const did = env("REDELIVER_ID");
  await page.click(`#webhook-${wid} details.deliveries summary`);
  const btn = `#webhook-${wid} tr.delivery[data-delivery-id="${did}"] button[data-action="redeliver"]`;
  await page.waitForSelector(btn, { state: "visible" });
  await Promise.all([page.waitForNavigation(), page.click(btn)]);
  rec.add("redeliver", 200, {}, { notice: await notice(page), url: page.url() });

  // Screenshots: the phone view with the deliveries open, then desktop.
  await page.click(`#webhook-${wid} details.deliveries summary`);
  await page.screenshot({ path: env("SHOT_PHONE"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: env("SHOT_DESKTOP"), fullPage: true });
  rec.add("screenshot", 200, {}, { jsErrors });
  await ctx.close();
} catch (err) {
  rec.fail("error", err);
} finally {
  await browser.close();
  rec.print();
}
