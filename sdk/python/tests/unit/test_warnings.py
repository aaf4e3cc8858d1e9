"""A server that is down or rejects the key: one clear warning, never an exception."""

from __future__ import annotations

import logging
import socket

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import lemma


@pytest.fixture(autouse=True)
def reset_lemma():
    yield
    lemma.shutdown()


def lemma_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "lemma"]


def otel_export_errors(caplog):
    return [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry.exporter")]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_rejected_key_warns_once_then_again_after_recovery(make_receiver, caplog):
    caplog.set_level(logging.INFO)
    receiver = make_receiver(status=401)
    lemma.init(receiver.url, "wrong-key", tracer_provider=TracerProvider(), batch=False)

    for _ in range(3):
        with lemma.agent("a"):
            pass
    assert len(receiver.requests) == 3  # every span was tried, none raised
    endpoint = f"{receiver.url}/v1/traces"
    assert lemma_warnings(caplog) == [
        f"Lemma rejected the API key (HTTP 401) at {endpoint}: set LEMMA_API_KEY (or "
        "lemma.init(api_key=...)) to a key of this server, e.g. one from `lemma keys create`. "
        "Spans are dropped until then."
    ]
    assert otel_export_errors(caplog) == []  # OpenTelemetry's generic errors are replaced

    receiver.status = 200
    with lemma.tool("t"):
        pass
    receiver.status = 403
    with lemma.tool("t"):
        pass
    messages = lemma_warnings(caplog)
    assert messages[1] == f"Lemma: spans reach {endpoint} again."
    assert messages[2].startswith("Lemma rejected the API key (HTTP 403)")
    assert len(messages) == 3


def test_no_key_says_so(make_receiver, caplog):
    receiver = make_receiver(status=401)
    exporter = lemma.LemmaSpanExporter(receiver.url, None)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("s"):
        pass
    [message] = lemma_warnings(caplog)
    assert "requires an API key (HTTP 401) and none was given: set LEMMA_API_KEY" in message
    assert "authorization" not in receiver.requests[0][1]


def test_an_unreachable_server_warns_once(caplog):
    url = f"http://127.0.0.1:{closed_port()}"
    exporter = lemma.LemmaSpanExporter(url, "k", timeout=0.5)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for _ in range(2):
        with tracer.start_as_current_span("s"):
            pass
    [message] = lemma_warnings(caplog)
    assert message.startswith(f"Lemma is not reachable at {url}/v1/traces (")
    assert "Connection refused" in message
    assert message.endswith(
        "start it with `lemma serve`, or set LEMMA_URL to where it listens. Spans are dropped "
        "until it is reachable."
    )
    assert otel_export_errors(caplog) == []


def test_other_failures_keep_opentelemetry_s_own_message(make_receiver, caplog):
    receiver = make_receiver(status=400)
    exporter = lemma.LemmaSpanExporter(receiver.url, "k")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("s"):
        pass
    assert lemma_warnings(caplog) == []
    assert any("400" in m for m in otel_export_errors(caplog))


def test_flush_and_shutdown_with_the_server_down_do_not_raise(caplog, monkeypatch):
    # OpenTelemetry retries until this timeout (seconds); keep the test short.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1")
    lemma.init(f"http://127.0.0.1:{closed_port()}", "k", tracer_provider=TracerProvider())
    with lemma.agent("a"):
        pass
    assert lemma.flush(timeout=5) in (True, False)
    lemma.shutdown()
    assert len(lemma_warnings(caplog)) == 1
