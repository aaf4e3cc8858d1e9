"""Unit tests: spans go to an in-memory exporter through the global tracer provider, which has
Lemma's run-context processor as `init()` would set it up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import lemma

_exporter = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(lemma.RunContextProcessor())
_provider.add_span_processor(SimpleSpanProcessor(_exporter))
trace.set_tracer_provider(_provider)


class Spans:
    """The spans that ended during one test."""

    def all(self) -> list[ReadableSpan]:
        return list(_exporter.get_finished_spans())

    def named(self, name: str) -> ReadableSpan:
        found = [s for s in self.all() if s.name == name]
        assert len(found) == 1, (
            f"{len(found)} spans named {name!r} in {[s.name for s in self.all()]}"
        )
        return found[0]

    def attrs(self, name: str) -> dict[str, object]:
        return dict(self.named(name).attributes or {})

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        for other in self.all():
            if other.context.span_id == span.parent.span_id:
                return other
        return None


class Receiver:
    """A minimal OTLP/HTTP receiver: records requests, answers with `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def span_names(self) -> list[str]:
        names = []
        for _, _, body in self.requests:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    names.extend(s.name for s in scope_spans.spans)
        return names

    def resource_attributes(self) -> dict[str, str]:
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.requests[0][2])
        return {a.key: a.value.string_value for a in request.resource_spans[0].resource.attributes}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(status: int = 200) -> Receiver:
        made.append(Receiver(status))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def receiver(make_receiver: Callable[..., Receiver]) -> Receiver:
    return make_receiver()


@pytest.fixture
def spans() -> Iterator[Spans]:
    _exporter.clear()
    yield Spans()
    _exporter.clear()


@pytest.fixture
def tracer_provider() -> TracerProvider:
    """The global provider, for tests that start plain OpenTelemetry spans."""
    return _provider
