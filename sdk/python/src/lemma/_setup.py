"""Setup: where spans go (`init`, `span_processor`), and `flush` / `shutdown`."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Tuple, Union

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from . import _attributes as attr
from ._context import AttributeValue
from ._exporter import LemmaSpanExporter, traces_endpoint
from ._processor import LemmaSpanProcessor, ProcessorGroup
from ._version import VERSION

logger = logging.getLogger("lemma")

DEFAULT_URL = "http://127.0.0.1:4318"

ExportDestination = Union[str, Tuple[str, Mapping[str, str]], SpanExporter, SpanProcessor]
"""Another place for spans: an OTLP/HTTP URL, an exporter, or a span processor."""


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # The provider `init()` set up or joined; None before `init()`.
        self.provider: TracerProvider | None = None
        self.owns_provider = False
        # Every processor Lemma added (init's and span_processor()'s), for flush and shutdown.
        self.processors: list[SpanProcessor] = []
        self.tracer: trace.Tracer | None = None
        # Where `init()` (else `span_processor()`) sends spans, for REST calls such as
        # `metric()`. Kept after `shutdown()`: metric events may be posted after the spans.
        self.endpoint: tuple[str, str | None] | None = None
        self.endpoint_from_init = False


_state = _State()


def init(
    url: str | None = None,
    api_key: str | None = None,
    *,
    service_name: str | None = None,
    environment: str | None = None,
    also_export_to: Iterable[ExportDestination] = (),
    tracer_provider: TracerProvider | None = None,
    batch: bool = True,
) -> None:
    """Send spans to Lemma.

    Args:
        url: Lemma's address; default `$LEMMA_URL`, else `http://127.0.0.1:4318`. Spans go to
            `{url}/v1/traces` over OTLP/HTTP (protobuf).
        api_key: the project's API key; default `$LEMMA_API_KEY`.
        service_name: the `service.name` resource attribute; default `$OTEL_SERVICE_NAME`, else
            the program's name. Only used when Lemma creates the tracer provider.
        environment: the default `lemma.environment` of every span (a run's own `environment`
            wins), also written as the `deployment.environment.name` resource attribute.
        also_export_to: more destinations for the same spans (dual export): OTLP/HTTP URLs,
            `(url, headers)` pairs for a backend that wants credentials (e.g.
            `("https://collector:4318", {"Authorization": "Bearer ..."})`; a plain URL sends
            only what `OTEL_EXPORTER_OTLP_HEADERS` holds), span exporters or span processors.
        tracer_provider: the app's tracer provider to add Lemma to. Without it, Lemma joins the
            global provider if the app already set an SDK one, else creates one and makes it
            the global provider, so other instrumentation (OpenInference, ...) nests under
            `agent()` too.
        batch: export in batches from a background thread (the default), or each span as it
            ends (`False`, for short scripts and tests).

    A second call while set up is ignored (with a warning). Nothing here raises for an
    unreachable server or a wrong key: the exporter logs one warning saying what to do.
    """
    with _state.lock:
        if _state.provider is not None:
            logger.warning("lemma.init() was already called; this call is ignored.")
            return
        url = url or os.environ.get("LEMMA_URL") or DEFAULT_URL
        if api_key is None:
            api_key = os.environ.get("LEMMA_API_KEY")
        provider, owns = _provider(tracer_provider, service_name, environment)
        defaults: dict[str, AttributeValue] | None = (
            {attr.ENVIRONMENT: environment} if environment else None
        )
        group = ProcessorGroup(
            [LemmaSpanProcessor(LemmaSpanExporter(url, api_key), batch=batch, defaults=defaults)]
            + [_processor_for(d, batch) for d in also_export_to]
        )
        provider.add_span_processor(group)
        _state.provider = provider
        _state.owns_provider = owns
        _state.processors.append(group)
        _state.tracer = provider.get_tracer("lemma", VERSION)
        _state.endpoint = (url, api_key)
        _state.endpoint_from_init = True


def span_processor(
    url: str | None = None, api_key: str | None = None, *, batch: bool = True
) -> SpanProcessor:
    """Lemma as a span processor, for a tracer provider the app already has:

        provider.add_span_processor(lemma.span_processor())

    It exports to Lemma (same defaults as `init`) and copies the run context onto every span.
    Lemma's helpers then use the global tracer provider (or the one given to `init`).
    `lemma.flush()` and `lemma.shutdown()` cover it too.
    """
    url = url or os.environ.get("LEMMA_URL") or DEFAULT_URL
    if api_key is None:
        api_key = os.environ.get("LEMMA_API_KEY")
    processor = LemmaSpanProcessor(LemmaSpanExporter(url, api_key), batch=batch)
    with _state.lock:
        _state.processors.append(processor)
        if not _state.endpoint_from_init:
            _state.endpoint = (url, api_key)
    return processor


def flush(timeout: float = 30.0) -> bool:
    """Export every span that has ended; True when all were handed over within `timeout`
    seconds (a server that is down makes it False, never an exception)."""
    with _state.lock:
        provider = _state.provider if _state.owns_provider else None
        processors = list(_state.processors)
    millis = int(timeout * 1000)
    if provider is not None:
        return bool(provider.force_flush(millis))
    return all([bool(p.force_flush(millis)) for p in processors])


def shutdown() -> None:
    """Flush, then stop exporting. Call it before the program exits (OpenTelemetry also does
    at exit, but a short script may end first). Lemma can be set up again with `init`."""
    with _state.lock:
        provider = _state.provider if _state.owns_provider else None
        processors = list(_state.processors)
        _reset_locked()
    if provider is not None:
        provider.shutdown()
        return
    for processor in processors:
        processor.shutdown()


def tracer() -> trace.Tracer:
    """The tracer Lemma's helpers use: from `init`'s provider, else the global one."""
    configured = _state.tracer
    if configured is not None:
        return configured
    return trace.get_tracer("lemma", VERSION)


def api_endpoint() -> tuple[str, str | None]:
    """Lemma's URL and API key for REST calls: those `init()` (else `span_processor()`) was
    given, else `$LEMMA_URL` (default `http://127.0.0.1:4318`) and `$LEMMA_API_KEY`."""
    with _state.lock:
        if _state.endpoint is not None:
            return _state.endpoint
    return os.environ.get("LEMMA_URL") or DEFAULT_URL, os.environ.get("LEMMA_API_KEY")


def _reset_locked() -> None:
    _state.provider = None
    _state.owns_provider = False
    _state.processors = []
    _state.tracer = None
    _state.endpoint_from_init = False


def _provider(
    given: TracerProvider | None, service_name: str | None, environment: str | None
) -> tuple[TracerProvider, bool]:
    """The provider to add Lemma to, and whether Lemma created it."""
    if given is not None:
        return given, False
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current, False
    resource = {
        attr.SERVICE_NAME: service_name or os.environ.get("OTEL_SERVICE_NAME") or _program()
    }
    if environment:
        resource[attr.DEPLOYMENT_ENVIRONMENT] = environment
    provider = TracerProvider(resource=Resource.create(resource))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        logger.warning(
            "lemma.init(): the app set a global tracer provider Lemma cannot add to; Lemma's "
            "helpers use their own, so other instrumentation will not nest under agent(). "
            "Pass tracer_provider= or use lemma.span_processor()."
        )
    return provider, True


def _processor_for(destination: ExportDestination, batch: bool) -> SpanProcessor:
    if isinstance(destination, SpanProcessor):
        return destination
    exporter: SpanExporter
    if isinstance(destination, str):
        exporter = OTLPSpanExporter(endpoint=traces_endpoint(destination))
    elif (
        isinstance(destination, tuple)
        and len(destination) == 2
        and isinstance(destination[0], str)
        and isinstance(destination[1], Mapping)
    ):
        url, headers = destination
        exporter = OTLPSpanExporter(endpoint=traces_endpoint(url), headers=dict(headers))
    elif isinstance(destination, SpanExporter):
        exporter = destination
    else:
        raise TypeError(
            "also_export_to takes OTLP/HTTP URLs, (url, headers) pairs, span exporters or "
            "span processors, "
            f"not {type(destination).__name__}"
        )
    return BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)


def _program() -> str:
    """The running program's name, for the default service name."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    if not argv0:
        return "python"
    path = Path(argv0)
    if path.stem == "__main__":
        return path.parent.name or "python"
    return path.stem
