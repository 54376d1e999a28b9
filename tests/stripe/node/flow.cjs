// The short flow with the official Node SDK: node flow.cjs <node_modules dir> <url> <key>.
// Prints one JSON line per step; tests/stripe/test_node_sdk.py checks them.
const path = require("path");
const [modules, url, key] = process.argv.slice(2);
const Stripe = require(path.join(modules, "stripe"));
const where = new URL(url);
const stripe = new Stripe(key, {
  host: where.hostname, port: Number(where.port), protocol: "http", maxNetworkRetries: 0,
});
const say = (step, value) => console.log(JSON.stringify({ step, ...value }));

async function main() {
  const params = { amount: 2000, currency: "usd", payment_method: "pm_card_visa",
                   capture_method: "manual", confirm: true };
  const pi = await stripe.paymentIntents.create(params, { idempotencyKey: "node-1" });
  say("create", { status: pi.status, capturable: pi.amount_capturable });
  const again = await stripe.paymentIntents.create(params, { idempotencyKey: "node-1" });
  say("replay", { same: again.id === pi.id,
                  replayed: again.lastResponse.headers["idempotent-replayed"] || null });
  try {
    await stripe.paymentIntents.create({ ...params, amount: 2001 }, { idempotencyKey: "node-1" });
    say("mismatch", { raised: null });
  } catch (err) {
    say("mismatch", { raised: err.type });
  }
  const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1500 });
  say("capture", { status: captured.status, received: captured.amount_received });
  const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
  say("refund", { amount: refund.amount, status: refund.status });
  try {
    await stripe.paymentIntents.create({ amount: 900, currency: "usd", confirm: true,
                                         payment_method: "pm_card_chargeDeclined" });
    say("decline", { raised: null });
  } catch (err) {
    say("decline", { raised: err.type, decline_code: err.decline_code,
                     card_error: err instanceof Stripe.errors.StripeCardError });
  }
  const seen = [];
  for await (const item of stripe.paymentIntents.list({ limit: 1 })) seen.push(item.id);
  say("paging", { count: seen.length });
}

main().catch((err) => { say("crash", { message: String(err && err.message) }); process.exit(1); });
