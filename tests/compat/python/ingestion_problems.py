"""Apps that send spans the way broken setups do, with the real OpenTelemetry SDK and OTLP
exporter, for the ingestion health tests (crates/lemma-cli/tests/integration/ingestion.rs).

Usage: ingestion_problems.py SCENARIO. Prints the trace id (the run id) it wrote.

* unexported-parent  a parent process that exports nothing hands its context to a child
                     process (TRACEPARENT), whose spans name a parent that never arrives
* killed             a process that exports its finished spans, then is killed (SIGKILL)
                     before its root span ends; its spans ended ten minutes ago
* skewed             a child span timed by a host whose clock is 3 s behind its parent's
* duplicate          one model call recorded by two instrumentations
* child              (internal) the child process of unexported-parent
"""

import os
import signal
import subprocess
import sys
import time

from harness import batch_processor, resource
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.trace import TracerProvider

MINUTE = 60 * 1_000_000_000


def exporting(service):
    provider = TracerProvider(resource=resource(service))
    provider.add_span_processor(batch_processor())
    return provider


def trace_id(span):
    return format(span.get_span_context().trace_id, "032x")


def unexported_parent():
    # No processor: the parent's spans go nowhere, as in a service not set up to export.
    tracer = TracerProvider(resource=resource("gateway")).get_tracer("gateway")
    with tracer.start_as_current_span("handle request") as span:
        carrier = {}
        inject(carrier)
        env = dict(os.environ, TRACEPARENT=carrier["traceparent"])
        subprocess.run([sys.executable, __file__, "child"], env=env, check=True)
        print(trace_id(span))


def child():
    provider = exporting("worker")
    tracer = provider.get_tracer("worker")
    parent = extract({"traceparent": os.environ["TRACEPARENT"]})
    with tracer.start_as_current_span("worker job", context=parent):
        with tracer.start_as_current_span("worker step"):
            pass
    provider.shutdown()


def killed():
    provider = exporting("batch-job")
    tracer = provider.get_tracer("batch-job")
    start = time.time_ns() - 10 * MINUTE
    root = tracer.start_span("nightly batch", start_time=start)
    ctx = trace.set_span_in_context(root)
    for i in range(3):
        step = tracer.start_span(f"item {i}", context=ctx, start_time=start + i * 1_000_000)
        step.end(end_time=start + (i + 1) * 1_000_000)
    provider.force_flush()
    print(trace_id(root), flush=True)
    # Killed before the root ends (and so before it could be exported).
    os.kill(os.getpid(), signal.SIGKILL)


def skewed():
    provider = exporting("api")
    tracer = provider.get_tracer("api")
    with tracer.start_as_current_span("checkout") as parent:
        started = parent.start_time
        # The downstream host's clock is 3 s behind this one.
        child = tracer.start_span("charge card", start_time=started - 3_000_000_000)
        child.end(end_time=started - 2_900_000_000)
        print(trace_id(parent))
    provider.shutdown()


def duplicate():
    provider = exporting("assistant")
    tracer = provider.get_tracer("assistant")
    call = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
    }
    with tracer.start_as_current_span("assistant turn") as root:
        # A framework's span of the call, and inside it the provider SDK's span of the same.
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes=call):
            with tracer.start_as_current_span("openai.chat", attributes=call):
                pass
        print(trace_id(root))
    provider.shutdown()


SCENARIOS = {
    "unexported-parent": unexported_parent,
    "child": child,
    "killed": killed,
    "skewed": skewed,
    "duplicate": duplicate,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
