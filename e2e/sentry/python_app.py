"""A small app that reports to Sentori through the official Python Sentry SDK, unchanged.

e2e/tests/sentry_sdks.rs runs it with SENTRY_DSN pointing at a real ingest
and checks what the admin API shows. It prints one JSON line with the ids it
sent, so the test knows what to look for; everything else is the SDK's own.
"""

import json
import os
import sys

import sentry_sdk

sent = {}


def before_send_transaction(event, hint):
    sent["trace_id"] = event["contexts"]["trace"]["trace_id"]
    return event


sentry_sdk.init(
    dsn=os.environ["SENTRY_DSN"],
    release="pyshop@1.4.2",
    environment="staging",
    traces_sample_rate=1.0,
    send_default_pii=False,
    debug=True,
    before_send_transaction=before_send_transaction,
)


def load_price(sku):
    prices = {"apple": 3}
    return prices[sku]


def checkout(sku):
    try:
        return load_price(sku)
    except KeyError as err:
        raise ValueError(f"no price for {sku}") from err


scope = sentry_sdk.get_isolation_scope()
scope.start_session()
sentry_sdk.set_tag("checkout.step", "payment")
sentry_sdk.set_tag("attempt", 3)
sentry_sdk.set_user({"id": 4242})

try:
    checkout("pear")
except ValueError:
    sent["error_event_id"] = sentry_sdk.capture_exception()



def reserve(sku):
    raise LookupError(f"{sku} is out of stock")


def reserve_all(skus):
    """Every failure of a batch, as asyncio.TaskGroup and trio raise them."""
    failures = []
    for sku in skus:
        try:
            reserve(sku)
        except LookupError as err:
            failures.append(err)
    try:
        int("x1")
    except ValueError as err:
        try:
            raise TypeError("quantity is not a number") from err
        except TypeError as typed:
            failures.append(ExceptionGroup("bad quantities", [typed]))
    raise ExceptionGroup("reservation failed", failures)


try:
    reserve_all(["fig", "kiwi"])
except ExceptionGroup:
    sent["group_event_id"] = sentry_sdk.capture_exception()

sent["message_event_id"] = sentry_sdk.capture_message("payment provider answered slowly", level="warning")

with sentry_sdk.start_transaction(op="task", name="nightly-report") as transaction:
    with transaction.start_child(op="db.query", description="SELECT orders") as span:
        span.set_data("db.system", "postgresql")
    with transaction.start_child(op="http.client", description="GET https://rates.example/today"):
        pass

scope.end_session()
sentry_sdk.flush(timeout=20)
print(json.dumps(sent), flush=True)
sys.exit(0)
