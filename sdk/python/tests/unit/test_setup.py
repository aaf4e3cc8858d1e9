"""init(), span_processor(), flush() and shutdown(), against a local OTLP receiver."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import lemma


@pytest.fixture(autouse=True)
def reset_lemma(monkeypatch):
    for name in ("LEMMA_URL", "LEMMA_API_KEY", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    yield
    lemma.shutdown()


def test_init_exports_to_lemma_with_the_key(receiver):
    provider = TracerProvider()
    lemma.init(receiver.url, "secret-key", tracer_provider=provider, batch=False)
    with lemma.agent("a"):
        with lemma.tool("t"):
            pass
    assert lemma.flush(timeout=5)
    assert receiver.span_names() == ["execute_tool t", "ai.agent.run"]
    path, headers, _ = receiver.requests[0]
    assert path == "/v1/traces"
    assert headers["authorization"] == "Bearer secret-key"
    assert headers["content-type"] == "application/x-protobuf"


def test_init_reads_the_environment_and_batches(receiver, monkeypatch):
    monkeypatch.setenv("LEMMA_URL", receiver.url + "/")
    monkeypatch.setenv("LEMMA_API_KEY", "env-key")
    lemma.init(tracer_provider=TracerProvider())
    with lemma.agent("a"):
        pass
    assert receiver.requests == []  # batched: nothing sent yet
    assert lemma.flush(timeout=5)
    assert receiver.span_names() == ["ai.agent.run"]
    assert receiver.requests[0][1]["authorization"] == "Bearer env-key"


def test_dual_export_sends_the_same_spans_to_both(receiver, make_receiver):
    other = InMemorySpanExporter()
    second = make_receiver()
    lemma.init(
        receiver.url,
        "k",
        tracer_provider=TracerProvider(),
        also_export_to=[other, second.url],
        batch=False,
    )
    with lemma.agent("a", thread_id="t-1"):
        pass
    lemma.flush(timeout=5)
    assert [s.name for s in other.get_finished_spans()] == ["ai.agent.run"]
    assert other.get_finished_spans()[0].attributes["lemma.thread_id"] == "t-1"
    assert receiver.span_names() == ["ai.agent.run"] == second.span_names()


def test_dual_export_to_a_backend_that_wants_credentials_sends_its_headers(
    receiver, make_receiver
):
    second = make_receiver()
    lemma.init(
        receiver.url,
        "k",
        tracer_provider=TracerProvider(),
        also_export_to=[(second.url, {"Authorization": "Bearer other-backend"})],
        batch=False,
    )
    with lemma.agent("a"):
        pass
    lemma.flush(timeout=5)
    assert second.span_names() == ["ai.agent.run"]
    assert second.requests[0][1]["authorization"] == "Bearer other-backend"
    assert receiver.requests[0][1]["authorization"] == "Bearer k"


def test_dual_export_refuses_what_it_cannot_send_to():
    with pytest.raises(TypeError, match=r"\(url, headers\) pairs"):
        lemma.init("http://127.0.0.1:9", "k", tracer_provider=TracerProvider(),
                   also_export_to=[("http://x", "Bearer k")])


def test_span_processor_joins_an_existing_provider(receiver):
    provider = TracerProvider()
    mine = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(mine))
    provider.add_span_processor(lemma.span_processor(receiver.url, "k", batch=False))
    tracer = provider.get_tracer("app")
    with lemma.continue_from({}):
        pass
    from opentelemetry.baggage import set_baggage
    from opentelemetry.context import attach, detach

    token = attach(set_baggage("lemma.thread_id", "from-baggage"))
    try:
        with tracer.start_as_current_span("app.request"):
            pass
    finally:
        detach(token)
    assert receiver.span_names() == ["app.request"]
    # The run context is written at start, so the app's own exporter gets it too.
    assert mine.get_finished_spans()[0].attributes["lemma.thread_id"] == "from-baggage"


def test_service_name_and_environment_on_a_provider_lemma_creates(receiver, monkeypatch):
    # The global provider is the test suite's; pretend there is none so init creates one.
    from lemma import _setup

    created = {}

    def fake_get():
        return created.get("provider") or object()

    def fake_set(provider):
        created["provider"] = provider

    monkeypatch.setattr(_setup.trace, "get_tracer_provider", fake_get)
    monkeypatch.setattr(_setup.trace, "set_tracer_provider", fake_set)
    lemma.init(receiver.url, "k", service_name="orders-bot", environment="staging", batch=False)
    with lemma.tool("t"):
        pass
    lemma.flush()
    resource = receiver.resource_attributes()
    assert resource["service.name"] == "orders-bot"
    assert resource["deployment.environment.name"] == "staging"
    spans = created["provider"]  # the provider Lemma made is the one it exports from
    assert spans is not None
    assert receiver.span_names() == ["execute_tool t"]


def test_default_environment_on_every_span(receiver):
    memory = InMemorySpanExporter()
    lemma.init(
        receiver.url,
        "k",
        environment="prod",
        tracer_provider=TracerProvider(),
        also_export_to=[memory],
        batch=False,
    )
    with lemma.agent("a", environment="canary"):
        with lemma.tool("t"):
            pass
    with lemma.tool("outside"):
        pass
    envs = {s.name: s.attributes.get("lemma.environment") for s in memory.get_finished_spans()}
    assert envs == {
        "execute_tool t": "canary",
        "ai.agent.run": "canary",
        "execute_tool outside": "prod",
    }


def test_second_init_is_ignored(receiver, caplog):
    lemma.init(receiver.url, "k", tracer_provider=TracerProvider(), batch=False)
    lemma.init("http://127.0.0.1:9", "other", tracer_provider=TracerProvider(), batch=False)
    assert "already called" in caplog.text
    with lemma.tool("t"):
        pass
    assert receiver.span_names() == ["execute_tool t"]
