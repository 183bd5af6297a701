// Shared helpers of the client scenarios: read the environment, record
// each step's outcome, print one JSON document on stdout.
import fs from "node:fs";
import https from "node:https";

/** env returns the named variable, or fails when required and missing. */
export function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === "") {
    if (fallback !== undefined) return fallback;
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return v;
}

/** httpsAgent trusts the PEM file named by WC_CA, when set. */
export function httpsAgent() {
  const ca = process.env.WC_CA;
  return ca ? new https.Agent({ ca: fs.readFileSync(ca) }) : undefined;
}

const headerNames = [
  "location", "x-wp-total", "x-wp-totalpages", "link", "allow", "content-type",
  "x-wc-total", "x-wc-totalpages", "www-authenticate",
];

/** pickHeaders keeps the headers the Go tests assert on. */
export function pickHeaders(h) {
  const out = {};
  for (const n of headerNames) {
    const v = typeof h?.get === "function" ? h.get(n) : h?.[n];
    if (v !== undefined && v !== null) out[n] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

/** Recorder collects steps and prints them as {"steps":[...]}. */
export class Recorder {
  constructor() {
    this.steps = [];
  }
  add(name, status, headers, data) {
    const step = { name, status, headers: pickHeaders(headers), data };
    this.steps.push(step);
    return step;
  }
  fail(name, err) {
    const step = { name, status: 0, headers: {}, data: null, error: String(err?.stack || err) };
    this.steps.push(step);
    return step;
  }
  print() {
    process.stdout.write(JSON.stringify({ steps: this.steps }) + "\n");
  }
}
