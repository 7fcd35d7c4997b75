"""Sends one trace through the real OpenTelemetry Python SDK and its OTLP/HTTP exporter.

Run by e2e/tests/otlp_exporters.rs with the stack venv's python (the packages are
pinned in deploy/local/requirements.txt). Usage: python_exporter.py <endpoint> <token>.
Prints the trace id (32 hex digits) on success; exits non-zero when the export failed.
"""

import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode


class Recording(OTLPSpanExporter):
    """The real exporter; remembers whether every export succeeded."""

    failed = False

    def export(self, spans):
        result = super().export(spans)
        if result is not SpanExportResult.SUCCESS:
            Recording.failed = True
        return result


class CardDeclined(Exception):
    pass


def charge(amount):
    raise CardDeclined(f"card declined for {amount}")


def main():
    endpoint, token = sys.argv[1], sys.argv[2]
    exporter = Recording(
        endpoint=endpoint,
        headers={"Authorization": f"Bearer {token}"},
        compression=Compression.Gzip,
    )
    resource = Resource.create(
        {"service.name": "py-billing", "service.version": "4.2.0", "deployment.environment.name": "e2e"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("sentori.e2e.python", "1.0")

    with tracer.start_as_current_span("POST /pay", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "POST")
        root.set_attribute("http.response.status_code", 500)
        root.set_attribute("cart.sizes", [1, 2, 3])
        root.set_attribute("cart.ratio", 0.5)
        root.set_attribute("cart.gift", True)
        trace_id = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT) as query:
            query.set_attribute("db.system", "postgresql")
        # The SDK records the exception as an "exception" event with its
        # type, message and traceback, and sets the status to error.
        try:
            with tracer.start_as_current_span("charge card"):
                charge(42)
        except CardDeclined:
            root.set_status(Status(StatusCode.ERROR, "payment failed"))

    provider.shutdown()
    if Recording.failed:
        sys.exit("the OTLP export failed")
    print(trace_id)


if __name__ == "__main__":
    main()
