"""Span processors: the run context onto every span, and Lemma's export."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from ._context import AttributeValue, run_context_attributes


class RunContextProcessor(SpanProcessor):
    """Copies the run context (thread, user, session, environment, tags, metadata) onto every
    span that starts inside a run, whoever starts it (Lemma's helpers, OpenInference, the app),
    so each span can be found by them on its own. Attributes a span already has are kept.

    `defaults` apply where the run context has no value (e.g. `lemma.init(environment=...)`).
    """

    def __init__(self, defaults: dict[str, AttributeValue] | None = None) -> None:
        self._defaults = dict(defaults or {})

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        values = dict(self._defaults)
        values.update(run_context_attributes(parent_context))
        present = span.attributes or {}
        for key, value in values.items():
            if key not in present:
                span.set_attribute(key, value)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class LemmaSpanProcessor(SpanProcessor):
    """Lemma for a tracer provider: the run context on every span, and the spans exported to
    Lemma (batched, or one by one with `batch=False`)."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        batch: bool = True,
        defaults: dict[str, AttributeValue] | None = None,
    ) -> None:
        self.exporter = exporter
        self._context = RunContextProcessor(defaults)
        self._shut_down = False
        self._export: SpanProcessor = (
            BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        )

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._context.on_start(span, parent_context)
        self._export.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._export.on_end(span)

    def shutdown(self) -> None:
        if not self._shut_down:
            self._shut_down = True
            self._export.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._export.force_flush(timeout_millis)


class ProcessorGroup(SpanProcessor):
    """Several processors as one, shut down once: `lemma.shutdown()` and the provider's own
    shutdown at exit may both ask, and OpenTelemetry's exporters complain at the second."""

    def __init__(self, processors: Sequence[SpanProcessor]) -> None:
        self._processors = list(processors)
        self._shut_down = False

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._processors:
            processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all([p.force_flush(timeout_millis) for p in self._processors])
