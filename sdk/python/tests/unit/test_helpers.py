"""tool(), llm(), retrieval() and span(): names and attributes as the trace contract reads them."""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import StatusCode

import lemma


def test_decorated_tool(spans):
    @lemma.tool
    def lookup_order(order_id, include_items=False):
        return {"order_id": order_id, "status": "shipped"}

    lookup_order("A-17")
    assert spans.attrs("execute_tool lookup_order") == {
        "lemma.span.kind": "tool",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "lookup_order",
        "gen_ai.tool.call.arguments": json.dumps({"order_id": "A-17", "include_items": False}),
        "gen_ai.tool.call.result": json.dumps({"order_id": "A-17", "status": "shipped"}),
    }


def test_named_tool_with_call_id_and_kwargs(spans):
    @lemma.tool("search", call_id="call_9", description="Searches the docs")
    def search_docs(query, **options):
        return "three hits"

    search_docs("refund", limit=3)
    attrs = spans.attrs("execute_tool search")
    assert attrs["gen_ai.tool.call.id"] == "call_9"
    assert attrs["gen_ai.tool.description"] == "Searches the docs"
    assert json.loads(attrs["gen_ai.tool.call.arguments"]) == {"query": "refund", "limit": 3}
    assert attrs["gen_ai.tool.call.result"] == "three hits"


def test_tool_context_manager(spans):
    with lemma.tool("search", arguments={"q": "refund policy"}) as t:
        t.set_call_id("call_1")
        t.set_result(["doc-1", "doc-2"])
    attrs = spans.attrs("execute_tool search")
    assert attrs["gen_ai.tool.call.arguments"] == '{"q": "refund policy"}'
    assert attrs["gen_ai.tool.call.result"] == '["doc-1", "doc-2"]'
    assert attrs["gen_ai.tool.call.id"] == "call_1"


def test_tool_error(spans):
    @lemma.tool
    def cancel(order_id):
        raise PermissionError("orders that shipped cannot be cancelled")

    with pytest.raises(PermissionError):
        cancel("A-17")
    span = spans.named("execute_tool cancel")
    assert span.status.status_code == StatusCode.ERROR
    assert span.events[0].attributes["exception.type"] == "PermissionError"
    assert "gen_ai.tool.call.result" not in span.attributes


def test_tool_needs_a_name_outside_a_decorator():
    with pytest.raises(ValueError):
        with lemma.tool():
            pass


def test_llm_context_manager(spans):
    with lemma.llm(
        "gpt-4o-mini",
        provider="openai",
        input_messages=[{"role": "user", "content": "Where is A-17?"}],
        temperature=0,
        max_tokens=200,
    ) as call:
        call.set_output_messages({"role": "assistant", "content": "It shipped."})
        call.set_usage(50, 20, cache_read_tokens=10, reasoning_tokens=5)
        call.set_finish_reasons("stop")
        call.set_response(id="chatcmpl-1", model="gpt-4o-mini-2024-07-18")
    assert spans.attrs("chat gpt-4o-mini") == {
        "lemma.span.kind": "llm",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.temperature": 0.0,
        "gen_ai.request.max_tokens": 200,
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Where is A-17?"}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "It shipped."}]}]
        ),
        "gen_ai.usage.input_tokens": 50,
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.cache_read.input_tokens": 10,
        "gen_ai.usage.reasoning.output_tokens": 5,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    }


def test_llm_decorator_reads_an_openai_completion(spans):
    @lemma.llm("gpt-4o-mini", provider="openai")
    def call_model(messages, temperature=0):
        return {
            "id": "chatcmpl-7",
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {
                                    "name": "lookup_order",
                                    "arguments": '{"order_id":"A-17"}',
                                },
                            }
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 12},
        }

    call_model([{"role": "user", "content": "Where is A-17?"}])
    attrs = spans.attrs("chat gpt-4o-mini")
    assert json.loads(attrs["gen_ai.input.messages"])[0]["parts"][0]["content"] == "Where is A-17?"
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "lookup_order",
                    "arguments": {"order_id": "A-17"},
                }
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert attrs["gen_ai.usage.input_tokens"] == 50
    assert attrs["gen_ai.usage.output_tokens"] == 12
    assert attrs["gen_ai.response.id"] == "chatcmpl-7"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_llm_decorator_with_text(spans):
    @lemma.llm("local-model")
    async def complete(prompt):
        return "an answer"

    import asyncio

    asyncio.run(complete("a prompt"))
    attrs = spans.attrs("chat local-model")
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "a prompt"}]}
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "an answer"}]}
    ]
    assert "gen_ai.provider.name" not in attrs


def test_retrieval(spans):
    @lemma.retrieval("kb", top_k=2)
    def search(query):
        return [{"id": "doc-1", "score": 0.9, "content": "Refunds take 5 days."}]

    search("refund time")
    docs = json.dumps([{"id": "doc-1", "score": 0.9, "content": "Refunds take 5 days."}])
    assert spans.attrs("retrieval kb") == {
        "lemma.span.kind": "retrieval",
        "gen_ai.operation.name": "retrieval",
        "gen_ai.data_source.id": "kb",
        "gen_ai.request.top_k": 2,
        "lemma.input": "refund time",
        "gen_ai.retrieval.query.text": "refund time",
        "lemma.output": docs,
        "gen_ai.retrieval.documents": docs,
    }
    with lemma.retrieval(query="q") as r:
        r.set_documents(["d"])
    assert spans.attrs("retrieval")["gen_ai.retrieval.documents"] == '["d"]'


def test_generic_span(spans):
    @lemma.span(kind="guardrail")
    def check_policy(text, strict=True):
        return {"allowed": True}

    check_policy("hello", strict=False)
    assert spans.attrs("check_policy") == {
        "lemma.span.kind": "guardrail",
        "lemma.input": '{"text": "hello", "strict": false}',
        "lemma.output": '{"allowed": true}',
    }
    with lemma.span("plan", input="make a plan", attributes={"app.depth": 2}) as s:
        s.set_output("the plan")
    assert spans.attrs("plan") == {
        "lemma.span.kind": "span",
        "app.depth": 2,
        "lemma.input": "make a plan",
        "lemma.output": "the plan",
    }


def test_current_span_is_the_innermost_helper(spans):
    with lemma.agent("a") as run:
        assert lemma.current_span() is run
        with lemma.tool("t") as t:
            assert lemma.current_span() is t
            assert lemma.current_run() is run
        assert lemma.current_span() is run
    assert lemma.current_span() is None


def test_decorators_keep_the_function(spans):
    @lemma.tool
    def documented(x: int) -> int:
        """Doubles x."""
        return x * 2

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Doubles x."
    assert documented(2) == 4
