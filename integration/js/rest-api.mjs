// Drives the webhooks API with @woocommerce/woocommerce-rest-api 1.0.2.
//
// Environment: WC_URL (site base URL), WC_CK, WC_CS, WC_VERSION (wc/v1,
// wc/v2, wc/v3), WC_QS_AUTH=1 (keys in the query string over HTTPS),
// WC_CA (PEM file to trust), WC_DELIVERY_URL, WC_SCENARIO (crud | probe).
// Prints {"steps":[{name,status,headers,data}]}.
import pkg from "@woocommerce/woocommerce-rest-api";
import { env, httpsAgent, Recorder } from "./common.mjs";

const WooCommerceRestApi = pkg.default ?? pkg;
const agent = httpsAgent();
const api = new WooCommerceRestApi({
  url: env("WC_URL"),
  consumerKey: env("WC_CK"),
  consumerSecret: env("WC_CS"),
  version: env("WC_VERSION", "wc/v3"),
  queryStringAuth: process.env.WC_QS_AUTH === "1",
  axiosConfig: agent ? { httpsAgent: agent } : {},
});
const rec = new Recorder();

async function step(name, fn) {
  try {
    const res = await fn();
    return rec.add(name, res.status, res.headers, res.data);
  } catch (e) {
    if (e.response) return rec.add(name, e.response.status, e.response.headers, e.response.data);
    return rec.fail(name, e);
  }
}

async function crud() {
  const url = env("WC_DELIVERY_URL");
  const created = await step("create", () =>
    api.post("webhooks", { name: "npm hook", topic: "order.created", delivery_url: url }));
  const id = created.data?.id;
  if (!id) return;
  await step("get", () => api.get(`webhooks/${id}`));
  await step("list", () => api.get("webhooks", { per_page: 1, status: "active" }));
  await step("update", () => api.put(`webhooks/${id}`, { name: "npm renamed", status: "paused" }));
  const batch = await step("batch", () =>
    api.post("webhooks/batch", {
      create: [{ name: "npm batch", topic: "product.updated", delivery_url: url }],
      update: [{ id, status: "active" }],
    }));
  await step("deliveries", () => api.get(`webhooks/${id}/deliveries`));
  const batchID = batch.data?.create?.[0]?.id;
  if (batchID) await step("delete-batch-created", () => api.delete(`webhooks/${batchID}`, { force: true }));
  await step("delete", () => api.delete(`webhooks/${id}`, { force: true }));
  await step("get-deleted", () => api.get(`webhooks/${id}`));
}

async function probe() {
  await step("list", () => api.get("webhooks", { per_page: 1 }));
}

const scenario = env("WC_SCENARIO", "crud");
await (scenario === "probe" ? probe() : crud());
rec.print();
