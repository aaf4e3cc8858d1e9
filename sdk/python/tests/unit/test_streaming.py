"""Streams: a decorated generator's span stays open until the stream ends, and covers it."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import lemma

PAUSE = 0.05


def duration(span):
    return (span.end_time - span.start_time) / 1e9


def test_generator_agent_spans_the_whole_stream(spans):
    @lemma.agent("streamer")
    def stream(question):
        for word in ["Order ", "A-17 ", "shipped."]:
            time.sleep(PAUSE)
            yield word

    gen = stream("Where is A-17?")
    assert spans.all() == []  # nothing starts before the first item is asked for
    received = []
    for word in gen:
        # The consumer runs outside the run between items.
        assert lemma.current_run() is None
        assert spans.all() == []  # still open
        received.append(word)
        time.sleep(PAUSE)
    span = spans.named("ai.agent.run")
    assert received == ["Order ", "A-17 ", "shipped."]
    assert span.attributes["ai.agent.input"] == "Where is A-17?"
    assert span.attributes["ai.agent.output"] == "Order A-17 shipped."
    # Producing and consuming: 6 pauses, all inside the span.
    assert duration(span) >= 6 * PAUSE * 0.9


def test_spans_started_while_streaming_nest_under_the_run(spans):
    @lemma.tool
    def lookup(order_id):
        return {"status": "shipped"}

    @lemma.agent("streamer")
    def stream():
        yield "looking up"
        lookup("A-17")
        yield {"status": "shipped"}

    items = list(stream())
    run = spans.named("ai.agent.run")
    assert spans.named("execute_tool lookup").parent.span_id == run.context.span_id
    # Not all strings: the output is the list of items.
    assert json.loads(run.attributes["ai.agent.output"]) == items


def test_return_value_and_set_output_win_over_items(spans):
    @lemma.agent("returns")
    def returns():
        yield "a"
        return "summary"

    @lemma.agent("sets")
    def sets():
        yield "a"
        lemma.current_run().set_output({"final": True})
        yield "b"

    assert list(returns()) == ["a"]
    assert list(sets()) == ["a", "b"]
    outputs = {
        s.attributes["lemma.agent.name"]: s.attributes["ai.agent.output"] for s in spans.all()
    }
    assert outputs == {"returns": "summary", "sets": '{"final": true}'}


def test_error_mid_stream_is_recorded_and_re_raised(spans):
    @lemma.agent("streamer")
    def stream():
        yield "one"
        raise ConnectionError("the model hung up")

    got = []
    with pytest.raises(ConnectionError):
        for item in stream():
            got.append(item)
    assert got == ["one"]
    span = spans.named("ai.agent.run")
    assert span.status.status_code == StatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "ConnectionError"


def test_closing_early_ends_the_span_with_what_was_streamed(spans):
    closed = []

    @lemma.agent("streamer")
    def stream():
        try:
            yield "one"
            yield "two"
            yield "three"
        finally:
            closed.append(trace.get_current_span().is_recording())

    gen = stream()
    assert next(gen) == "one"
    gen.close()
    span = spans.named("ai.agent.run")
    assert span.attributes["ai.agent.output"] == "one"
    assert span.status.status_code == StatusCode.UNSET
    assert closed == [True]  # the generator's cleanup ran inside its span


def test_send_and_throw_pass_through(spans):
    @lemma.span("echo")
    def echo():
        received = []
        try:
            while True:
                value = yield len(received)
                received.append(value)
        except KeyError:
            yield "caught"
        return received

    gen = echo()
    assert next(gen) == 0
    assert gen.send("a") == 1
    assert gen.send("b") == 2
    assert gen.throw(KeyError("x")) == "caught"
    with pytest.raises(StopIteration):
        next(gen)
    assert json.loads(spans.named("echo").attributes["lemma.output"]) == ["a", "b"]


def test_async_generator_agent_spans_the_whole_stream(spans):
    @lemma.agent("async_streamer")
    async def stream(question):
        for word in ["Order ", "shipped."]:
            await asyncio.sleep(PAUSE)
            with lemma.tool("step"):
                pass
            yield word

    async def main():
        out = []
        async for word in stream("q"):
            assert lemma.current_run() is None
            assert not [s for s in spans.all() if s.name == "ai.agent.run"]
            out.append(word)
            await asyncio.sleep(PAUSE)
        return out

    assert asyncio.run(main()) == ["Order ", "shipped."]
    span = spans.named("ai.agent.run")
    assert span.attributes["ai.agent.output"] == "Order shipped."
    assert duration(span) >= 4 * PAUSE * 0.9
    steps = [s for s in spans.all() if s.name == "execute_tool step"]
    assert len(steps) == 2 and all(s.parent.span_id == span.context.span_id for s in steps)


def test_async_generator_error_is_recorded(spans):
    @lemma.agent("async_streamer")
    async def stream():
        yield 1
        raise RuntimeError("stream broke")

    async def main():
        async for _ in stream():
            pass

    with pytest.raises(RuntimeError):
        asyncio.run(main())
    assert spans.named("ai.agent.run").status.description == "stream broke"


def test_started_run_wraps_a_stream(spans):
    def tokens():
        yield "Hel"
        time.sleep(PAUSE)
        yield "lo"

    run = lemma.agent("chat", input="hi").start()
    out = "".join(run.stream(tokens()))
    assert out == "Hello"
    span = spans.named("ai.agent.run")
    assert span.attributes["ai.agent.output"] == "Hello"
    assert duration(span) >= PAUSE * 0.9


def test_started_llm_span_wraps_an_async_stream(spans):
    async def chunks():
        yield "Hi"
        yield " there"

    async def main():
        call = lemma.llm("gpt-4o-mini", input_messages="hello").start()
        return [c async for c in call.astream(chunks())]

    assert asyncio.run(main()) == ["Hi", " there"]
    attrs = spans.attrs("chat gpt-4o-mini")
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hi there"}]}
    ]
