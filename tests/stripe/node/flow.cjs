// The short flow with the official Node SDK: node flow.cjs <node_modules dir> <url> <key>.
// Prints one JSON line per step; tests/stripe/test_node_sdk.py checks them.
const http = require("http");
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
    const retried = await stripe.paymentIntents.confirm(err.payment_intent.id,
                                                        { payment_method: "pm_card_visa" });
    say("retry", { status: retried.status, error: retried.last_payment_error });
  }
  const seen = [];
  for await (const item of stripe.paymentIntents.list({ limit: 1 })) seen.push(item.id);
  say("paging", { count: seen.length });
  await webhook();
}

// A receiver on 127.0.0.1: the first delivery to it, verified by stripe.webhooks.constructEvent.
async function webhook() {
  let delivered;
  const arrived = new Promise((resolve) => { delivered = resolve; });
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      res.end("ok");
      delivered({ body: Buffer.concat(chunks), signature: req.headers["stripe-signature"] });
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const endpoint = await stripe.webhookEndpoints.create({
    url: `http://127.0.0.1:${receiver.address().port}/stripe`,
    enabled_events: ["payment_intent.succeeded"],
  });
  const paid = await stripe.paymentIntents.create({ amount: 700, currency: "usd", confirm: true,
                                                    payment_method: "pm_card_visa" });
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("no delivery in 15 s")), 15000));
  const { body, signature } = await Promise.race([arrived, timeout]);
  receiver.close();
  const event = stripe.webhooks.constructEvent(body, signature, endpoint.secret);
  let tamperedRefused = false;
  try {
    stripe.webhooks.constructEvent(Buffer.from(body.toString().replace("700", "701")),
                                   signature, endpoint.secret);
  } catch (err) {
    tamperedRefused = err.type === "StripeSignatureVerificationError";
  }
  say("webhook", { type: event.type, same: event.data.object.id === paid.id,
                   tampered_refused: tamperedRefused });
}

main().catch((err) => { say("crash", { message: String(err && err.message) }); process.exit(1); });
