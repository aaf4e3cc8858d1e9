"""agent(): the run's root span, its attributes, input and output, run ids, errors, nesting."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import lemma


def test_decorated_agent_writes_the_contract_attributes(spans):
    @lemma.agent("support_agent")
    def support(question):
        return {"answer": "shipped", "eta": "Friday"}

    assert support("Where is my order?") == {"answer": "shipped", "eta": "Friday"}

    span = spans.named("ai.agent.run")
    assert span.parent is None
    assert dict(span.attributes) == {
        "lemma.span.kind": "agent",
        "lemma.agent.name": "support_agent",
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "support_agent",
        "ai.agent.input": "Where is my order?",
        "ai.agent.output": json.dumps({"answer": "shipped", "eta": "Friday"}),
    }
    assert span.status.status_code == StatusCode.UNSET


def test_input_is_all_arguments_by_name_when_there_are_several(spans):
    class Bot:
        @lemma.agent("bot")
        def answer(self, question, *, language="en"):
            return "ok"

    Bot().answer("hi", language="fr")
    assert json.loads(spans.attrs("ai.agent.run")["ai.agent.input"]) == {
        "question": "hi",
        "language": "fr",
    }


def test_explicit_input_and_output_win(spans):
    @lemma.agent("a", input="the real question")
    def run_it(x):
        lemma.current_run().set_output("explicit")
        return "returned"

    assert run_it(1) == "returned"
    attrs = spans.attrs("ai.agent.run")
    assert attrs["ai.agent.input"] == "the real question"
    assert attrs["ai.agent.output"] == "explicit"


def test_none_records_no_output(spans):
    @lemma.agent("a")
    def nothing():
        return None

    nothing()
    attrs = spans.attrs("ai.agent.run")
    assert "ai.agent.input" not in attrs and "ai.agent.output" not in attrs


def test_run_ids_are_the_trace_id(spans):
    inside = {}

    @lemma.agent("a")
    def run_it():
        inside["current"] = lemma.current_run_id()
        inside["run"] = lemma.current_run().run_id
        return 1

    run_it()
    span = spans.named("ai.agent.run")
    expected = format(span.context.trace_id, "032x")
    assert inside == {"current": expected, "run": expected}
    assert lemma.last_run_id() == expected
    assert lemma.current_run_id() is None

    with lemma.agent("b", input="q") as run:
        assert run.run_id == lemma.current_run_id()
        assert run.span_id == format(trace.get_current_span().get_span_context().span_id, "016x")
        assert len(run.run_id) == 32 and len(run.span_id) == 16
    assert lemma.last_run_id() == run.run_id != expected


def test_nested_agents_are_sub_agents_of_the_same_run(spans):
    @lemma.agent("researcher")
    def research(topic):
        return f"notes on {topic}"

    @lemma.agent("planner")
    def plan(goal):
        return research(goal)

    plan("tides")
    planner = [s for s in spans.all() if s.attributes["lemma.agent.name"] == "planner"][0]
    researcher = [s for s in spans.all() if s.attributes["lemma.agent.name"] == "researcher"][0]
    assert researcher.name == planner.name == "ai.agent.run"
    assert researcher.parent.span_id == planner.context.span_id
    assert researcher.context.trace_id == planner.context.trace_id
    assert researcher.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert researcher.attributes["ai.agent.output"] == "notes on tides"


def test_an_exception_is_recorded_and_re_raised(spans):
    @lemma.agent("a")
    def broken(q):
        raise ValueError("the order service is down")

    with pytest.raises(ValueError, match="the order service is down"):
        broken("q")

    span = spans.named("ai.agent.run")
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "the order service is down"
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "the order service is down"
    assert "in broken" in event.attributes["exception.stacktrace"]
    assert span.end_time is not None


def test_context_manager_records_errors_once(spans):
    error = RuntimeError("boom")
    with pytest.raises(RuntimeError):
        with lemma.agent("a", input="q") as run:
            run.fail(error)  # recorded here, and not again when it leaves the block
            raise error
    span = spans.named("ai.agent.run")
    assert [e.name for e in span.events] == ["exception"]
    assert span.status.description == "boom"


def test_fail_without_raising_marks_the_run_and_the_block_ends_it(spans):
    with lemma.agent("a", input="q") as run:
        run.fail("the user gave up")
        assert not run.ended
        run.set_output("partial")
    span = spans.named("ai.agent.run")
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "the user gave up"
    assert span.events[0].attributes["exception.message"] == "the user gave up"
    assert span.attributes["ai.agent.output"] == "partial"


def test_fail_in_a_decorated_agent_keeps_its_return_value_as_the_output(spans):
    @lemma.agent("a")
    def answer(question):
        run = lemma.current_run()
        run.fail(ValueError("empty question"))
        assert not run.ended
        return "Please ask a question."

    assert answer("") == "Please ask a question."
    span = spans.named("ai.agent.run")
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "empty question"
    assert [e.name for e in span.events] == ["exception"]
    assert span.attributes["ai.agent.output"] == "Please ask a question."


def test_run_attributes_and_metadata(spans):
    with lemma.agent("a") as run:
        run.set_attribute("app.step_count", 3)
        run.set_attribute("app.config", {"retries": 2})
        run.set_metadata("plan", "gold")
        run.set_metadata({"seats": 4})
    attrs = spans.attrs("ai.agent.run")
    assert attrs["app.step_count"] == 3
    assert attrs["app.config"] == '{"retries": 2}'
    assert attrs["lemma.metadata.plan"] == "gold"
    assert attrs["lemma.metadata.seats"] == "4"


def test_async_function_and_async_with(spans):
    @lemma.agent("async_agent")
    async def answer(q):
        await asyncio.sleep(0)
        with lemma.tool("lookup", arguments={"q": q}) as t:
            t.set_result("found")
        return q.upper()

    async def main():
        result = await answer("hi")
        async with lemma.agent("other", input="x") as run:
            await asyncio.sleep(0)
            run.set_output("y")
        return result, lemma.last_run_id(), run.run_id

    result, last, other = asyncio.run(main())
    assert result == "HI"
    assert last == other
    tool = spans.named("execute_tool lookup")
    agent = [s for s in spans.all() if s.attributes.get("lemma.agent.name") == "async_agent"][0]
    assert tool.parent.span_id == agent.context.span_id
    assert agent.attributes["ai.agent.output"] == "HI"


def test_concurrent_tasks_keep_their_own_runs(spans):
    op = lemma.agent("worker")

    async def work(n):
        async with op as run:
            await asyncio.sleep(0.01 * (3 - n))
            with lemma.tool("step") as t:
                t.set_result(n)
            run.set_output(n)
            return run.run_id

    async def main():
        return await asyncio.gather(*(work(n) for n in range(3)))

    run_ids = asyncio.run(main())
    assert len(set(run_ids)) == 3
    for tool in [s for s in spans.all() if s.name == "execute_tool step"]:
        parent = spans.parent_of(tool)
        assert parent.attributes["ai.agent.output"] == tool.attributes["gen_ai.tool.call.result"]


def test_started_run_stays_open_until_complete(spans):
    run = lemma.agent("chat", input="q").start()
    assert lemma.current_run() is None  # start() does not make it current
    with run.activate():
        with lemma.tool("search") as t:
            t.set_result("r")
    assert spans.all()[0].name == "execute_tool search"
    assert not [s for s in spans.all() if s.name == "ai.agent.run"]
    run.complete("done")
    run.complete("again")  # a second call changes nothing
    span = spans.named("ai.agent.run")
    assert span.attributes["ai.agent.output"] == "done"
    assert spans.named("execute_tool search").parent.span_id == span.context.span_id


def test_started_run_fail_ends_it(spans):
    run = lemma.agent("chat").start()
    run.fail(TimeoutError("the model timed out"))
    span = spans.named("ai.agent.run")
    assert span.status.status_code == StatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "TimeoutError"


def test_plain_opentelemetry_spans_nest_inside(spans, tracer_provider):
    tracer = tracer_provider.get_tracer("app")

    @lemma.agent("a")
    def run_it():
        with tracer.start_as_current_span("app.step"):
            pass

    run_it()
    assert spans.named("app.step").parent.span_id == spans.named("ai.agent.run").context.span_id
