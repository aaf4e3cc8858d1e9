"""Carrying a run to another process or service: W3C `traceparent`, `tracestate` and `baggage`
(which holds the run context), in HTTP headers or environment variables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping

from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import attach, detach, get_current
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# Always W3C, whatever the app configured in OTEL_PROPAGATORS: these are Lemma's own carriers.
_PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
_FIELDS = ("traceparent", "tracestate", "baggage")


def inject(headers: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Adds `traceparent`, `tracestate` and `baggage` for the current span and run context to
    `headers` (a new dict when not given), and returns it: send them with a request to a
    service whose spans should nest under the current span."""
    carrier: MutableMapping[str, str] = {} if headers is None else headers
    _PROPAGATOR.inject(carrier, context=get_current())
    return carrier


def context_env() -> dict[str, str]:
    """The current span and run context as environment variables (`TRACEPARENT`,
    `TRACESTATE`, `BAGGAGE`), for a child process:

        subprocess.run(cmd, env={**os.environ, **lemma.context_env()})
    """
    return {key.upper(): value for key, value in inject({}).items()}


@contextlib.contextmanager
def continue_from(carrier: Mapping[str, str]) -> Iterator[None]:
    """Continues the run described by `carrier` (request headers, or `os.environ` in a child
    process; names in any case): inside the block, new spans are children of the caller's span
    and carry its run context.

        with lemma.continue_from(os.environ):
            handle(task)

    Without any of them in `carrier`, the block runs unchanged.
    """
    found = {key.lower(): value for key, value in carrier.items() if key.lower() in _FIELDS}
    if not found:
        yield
        return
    token = attach(_PROPAGATOR.extract(found, context=get_current()))
    try:
        yield
    finally:
        detach(token)
