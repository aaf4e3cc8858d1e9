"""Across processes: traceparent and baggage out, and continued on the other side."""

from __future__ import annotations

import os

import lemma


def test_headers_round_trip(spans):
    with lemma.agent("caller", thread_id="thread-1", tags=["a"], metadata={"plan": "gold"}) as run:
        with lemma.tool("call_service") as t:
            headers = lemma.inject({"Content-Type": "application/json"})
            caller_span_id = t.span_id

    assert headers["Content-Type"] == "application/json"
    assert headers["traceparent"].startswith(f"00-{run.run_id}-{caller_span_id}-")
    assert "lemma.thread_id=thread-1" in headers["baggage"]

    # The other side (headers as a web framework may spell them).
    received = {k.title(): v for k, v in headers.items()}
    with lemma.continue_from(received):
        assert lemma.current_run_id() == run.run_id
        with lemma.agent("callee") as callee:
            with lemma.tool("inner"):
                pass

    span = [s for s in spans.all() if s.attributes.get("lemma.agent.name") == "callee"][0]
    assert format(span.parent.span_id, "016x") == caller_span_id
    assert callee.run_id == run.run_id
    inner = spans.attrs("execute_tool inner")
    assert inner["lemma.thread_id"] == "thread-1"
    assert inner["lemma.tags"] == ("a",)
    assert inner["lemma.metadata.plan"] == "gold"


def test_environment_variables_round_trip(spans, monkeypatch):
    with lemma.agent("parent", user_id="user 1; special=chars") as run:
        env = lemma.context_env()
    assert set(env) == {"TRACEPARENT", "BAGGAGE"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with lemma.continue_from(os.environ):
        with lemma.tool("child_step"):
            pass
    child = spans.named("execute_tool child_step")
    assert format(child.context.trace_id, "032x") == run.run_id
    assert format(child.parent.span_id, "016x") == run.span_id
    assert child.attributes["lemma.user_id"] == "user 1; special=chars"


def test_nothing_to_continue_from(spans):
    with lemma.continue_from({"Content-Type": "text/plain"}):
        assert lemma.current_run_id() is None
        with lemma.agent("fresh") as run:
            pass
    assert spans.named("ai.agent.run").parent is None
    assert lemma.inject() == {} and lemma.context_env() == {}
    assert run.run_id
