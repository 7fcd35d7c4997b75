// A small app bundled and minified by esbuild, stamped with debug ids by
// `sentry-cli sourcemaps inject`, and run under @sentry/node, which reports
// the debug ids of the loaded bundle in the event's debug_meta.
// e2e/tests/sentry_cli.rs runs it; its last line of output is a JSON object
// with the id of the event it sent.
import * as Sentry from "@sentry/node";
import { checkout } from "./checkout.js";

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: process.env.APP_RELEASE,
  defaultIntegrations: false,
});

async function main() {
  const sent = {};
  try {
    checkout(["apple", "pear"]);
  } catch (err) {
    sent.error_event_id = Sentry.captureException(err);
  }
  if (!(await Sentry.flush(20000))) {
    console.error("the SDK did not flush in time");
    process.exit(1);
  }
  console.log(JSON.stringify(sent));
}

main();
