// A small Node app that reports to Sentori through the official @sentry/node SDK, unchanged.
// e2e/tests/sentry_sdks.rs runs it with SENTRY_DSN pointing at a real ingest and checks what the
// admin API shows. Its last line of output is a JSON object with the ids it sent.
import * as Sentry from "@sentry/node";

const sent = {};

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: "nodeshop@2.1.0",
  environment: "staging",
  tracesSampleRate: 1.0,
  debug: true,
});

function loadPrice(sku) {
  const prices = { apple: 3 };
  if (!(sku in prices)) throw new RangeError(`unknown sku ${sku}`);
  return prices[sku];
}

function checkout(sku) {
  try {
    return loadPrice(sku);
  } catch (err) {
    throw new Error(`no price for ${sku}`, { cause: err });
  }
}

Sentry.setTag("checkout.step", "payment");
Sentry.setTag("attempt", 3);
Sentry.setUser({ id: 4242 });

try {
  checkout("pear");
} catch (err) {
  sent.error_event_id = Sentry.captureException(err);
}

function reserve(sku) {
  return new TypeError(`${sku} is out of stock`);
}

// Every failure of a batch, as Promise.any rejects.
try {
  throw new AggregateError(
    [reserve("fig"), new RangeError("bad quantity", { cause: new Error("not a number") })],
    "reservation failed",
  );
} catch (err) {
  sent.group_event_id = Sentry.captureException(err);
}

sent.message_event_id = Sentry.captureMessage("node payment provider answered slowly", "warning");

await Sentry.startSpan({ name: "nightly-report", op: "task" }, async () => {
  await Sentry.startSpan({ name: "SELECT orders", op: "db.query" }, async () => {});
  await Sentry.startSpan({ name: "GET https://rates.example/today", op: "http.client" }, async () => {});
});

const flushed = await Sentry.flush(20000);
if (!flushed) {
  console.error("the SDK did not flush in time");
  process.exit(1);
}
console.log(JSON.stringify(sent));
