// Drives the legacy webhooks API (/wc-api/v2, /wc-api/v3) with
// woocommerce-api 1.5.0.
//
// Environment: WC_URL, WC_CK, WC_CS, WC_VERSION (v2 | v3), WC_CA (PEM file
// to trust), WC_DELIVERY_URL, WC_SCENARIO (crud | probe).
// Prints {"steps":[{name,status,headers,data}]}.
import { createRequire } from "node:module";
import { env, httpsAgent, Recorder } from "./common.mjs";

const require = createRequire(import.meta.url);
const WooCommerceAPI = require("woocommerce-api");

const url = env("WC_URL");
const api = new WooCommerceAPI({
  url,
  consumerKey: env("WC_CK"),
  consumerSecret: env("WC_CS"),
  version: env("WC_VERSION", "v3"),
  agent: url.startsWith("https:") ? httpsAgent() : undefined,
});
const rec = new Recorder();

async function step(name, fn) {
  try {
    const res = await fn();
    let data = res.body;
    try {
      data = JSON.parse(res.body);
    } catch {
      // keep the raw text
    }
    return rec.add(name, res.statusCode, res.headers, data);
  } catch (e) {
    return rec.fail(name, e);
  }
}

async function crud() {
  const deliveryURL = env("WC_DELIVERY_URL");
  const created = await step("create", () =>
    api.postAsync("webhooks", { webhook: { name: "legacy hook", topic: "customer.created", delivery_url: deliveryURL } }));
  const id = created.data?.webhook?.id;
  if (!id) return;
  await step("get", () => api.getAsync(`webhooks/${id}`));
  await step("list", () => api.getAsync("webhooks"));
  await step("count", () => api.getAsync("webhooks/count"));
  await step("edit", () => api.putAsync(`webhooks/${id}`, { webhook: { name: "legacy renamed" } }));
  await step("deliveries", () => api.getAsync(`webhooks/${id}/deliveries`));
  await step("delete", () => api.deleteAsync(`webhooks/${id}`));
  await step("get-deleted", () => api.getAsync(`webhooks/${id}`));
}

async function probe() {
  await step("count", () => api.getAsync("webhooks/count"));
}

const scenario = env("WC_SCENARIO", "crud");
await (scenario === "probe" ? probe() : crud());
rec.print();
