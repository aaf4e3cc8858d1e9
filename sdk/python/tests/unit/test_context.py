"""The run context: set on the run, copied onto every span inside it."""

from __future__ import annotations

import threading

from opentelemetry import context as otel_context

import lemma

CONTEXT = {
    "lemma.thread_id": "thread-7",
    "lemma.user_id": "user-3",
    "lemma.session_id": "session-1",
    "lemma.environment": "staging",
    "lemma.tags": ("beta", "vip"),
    "lemma.metadata.plan": "gold",
    "lemma.metadata.seats": "4",
    "lemma.metadata.flags": '{"fast": true}',
}


def run_with_context(body):
    @lemma.agent(
        "support",
        thread_id="thread-7",
        user_id="user-3",
        session_id="session-1",
        environment="staging",
        tags=["beta", "vip"],
        metadata={"plan": "gold", "seats": 4, "flags": {"fast": True}},
    )
    def support(q):
        return body()

    return support("q")


def test_every_span_in_the_run_carries_the_context(spans, tracer_provider):
    def body():
        with lemma.llm("gpt-4o-mini"):
            with lemma.tool("lookup"):
                with tracer_provider.get_tracer("other-library").start_as_current_span("db.query"):
                    pass
        with lemma.retrieval("kb"):
            pass
        with lemma.span("guard", kind="guardrail"):
            pass

    run_with_context(body)
    names = {s.name for s in spans.all()}
    assert names == {
        "ai.agent.run",
        "chat gpt-4o-mini",
        "execute_tool lookup",
        "db.query",
        "retrieval kb",
        "guard",
    }
    for span in spans.all():
        got = {k: v for k, v in span.attributes.items() if k in CONTEXT}
        assert got == CONTEXT, span.name


def test_nothing_outside_a_run(spans):
    with lemma.tool("alone"):
        pass
    assert not any(k in CONTEXT for k in spans.attrs("execute_tool alone"))


def test_a_sub_agent_adds_to_the_context(spans):
    @lemma.agent("child", tags=["child-tag"], metadata={"step": "2"}, user_id="user-9")
    def child():
        with lemma.tool("inner"):
            pass

    @lemma.agent("parent", thread_id="t", tags=["root-tag"], metadata={"plan": "gold"})
    def parent():
        child()

    parent()
    inner = spans.attrs("execute_tool inner")
    assert inner["lemma.thread_id"] == "t"
    assert inner["lemma.user_id"] == "user-9"
    assert inner["lemma.tags"] == ("root-tag", "child-tag")
    assert inner["lemma.metadata.plan"] == "gold"
    assert inner["lemma.metadata.step"] == "2"
    root = [s for s in spans.all() if s.attributes.get("lemma.agent.name") == "parent"][0]
    assert "lemma.user_id" not in root.attributes


def test_explicit_span_attributes_are_kept(spans, tracer_provider):
    def body():
        with lemma.span("custom", attributes={"lemma.user_id": "someone-else"}):
            pass
        tracer = tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("app.span", attributes={"lemma.thread_id": "mine"}):
            pass

    run_with_context(body)
    assert spans.attrs("custom")["lemma.user_id"] == "someone-else"
    assert spans.attrs("app.span")["lemma.thread_id"] == "mine"
    assert spans.attrs("app.span")["lemma.user_id"] == "user-3"


def test_threads_started_with_the_context_nest(spans):
    def body():
        ctx = otel_context.get_current()

        def work():
            token = otel_context.attach(ctx)
            try:
                with lemma.tool("in_thread"):
                    pass
            finally:
                otel_context.detach(token)

        t = threading.Thread(target=work)
        t.start()
        t.join()

    run_with_context(body)
    span = spans.named("execute_tool in_thread")
    assert span.attributes["lemma.thread_id"] == "thread-7"
    assert spans.parent_of(span).name == "ai.agent.run"


def test_tags_json_is_what_baggage_holds(spans):
    seen = {}

    @lemma.agent("a", tags=["x,y", "z"])
    def run_it():
        seen.update(lemma.context_env())

    run_it()
    assert spans.attrs("ai.agent.run")["lemma.tags"] == ("x,y", "z")
    assert "lemma.tags=" in seen["BAGGAGE"]


def test_run_context_around_a_decorated_agent(spans):
    @lemma.agent("support")
    def support(q):
        with lemma.tool("t"):
            pass

    with lemma.run_context(thread_id="conv-9", user_id="u-1", tags=["web"]):
        support("q")
    support("again")  # outside: no context
    first, second = [s for s in spans.all() if s.name == "ai.agent.run"]
    assert first.attributes["lemma.thread_id"] == "conv-9"
    assert first.attributes["lemma.tags"] == ("web",)
    assert "lemma.thread_id" not in second.attributes
    tools = [s for s in spans.all() if s.name == "execute_tool t"]
    assert tools[0].attributes["lemma.user_id"] == "u-1"
    assert "lemma.user_id" not in tools[1].attributes
