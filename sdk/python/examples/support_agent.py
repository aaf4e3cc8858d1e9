#!/usr/bin/env python3
"""A small customer-support agent traced into Lemma: a three-turn conversation (one thread),
with a knowledge-base search, an order lookup tool, model calls and a streamed last answer.

    lemma serve                                 # in another terminal; note the API key
    export LEMMA_API_KEY=lm_...                 # and LEMMA_URL if not http://127.0.0.1:4318
    python examples/support_agent.py

No model is needed: without OPENAI_BASE_URL a scripted model answers. With OPENAI_BASE_URL
(and the `openai` package), the model calls go to that OpenAI-compatible API, e.g. the fake one
the tests use: `python3 tests/compat/fake_llm.py --port 0`. Set OPENAI_MODEL to pick the model.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import lemma

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
SYSTEM = "You answer questions about orders. Look orders up before answering."
LOOKUP_ORDER = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order by id",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}
ORDERS = {"A-17": {"order_id": "A-17", "status": "shipped", "eta": "Friday"}}


# ---- the model: an OpenAI-compatible API, or a scripted stand-in ----


def openai_client() -> Any:
    if not os.environ.get("OPENAI_BASE_URL"):
        return None
    try:
        import openai
    except ImportError:
        sys.exit("OPENAI_BASE_URL is set but the openai package is not installed")
    return openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "sk-example"), max_retries=0)


CLIENT = openai_client()


@lemma.llm(MODEL, provider="openai")
def call_model(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
    """One model call; the decorator records the messages, and reads the returned completion
    for the answer, tokens, response id and finish reason."""
    if CLIENT is not None:
        return CLIENT.chat.completions.create(model=MODEL, messages=messages, tools=tools)
    return scripted_completion(messages)


def scripted_completion(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What a model would answer: look the order up first, then answer from the result."""
    result = next((m for m in reversed(messages) if m["role"] == "tool"), None)
    if result is None:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{uuid.uuid4().hex[:8]}",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "A-17"}'},
                }
            ],
        }
        finish, output_tokens = "tool_calls", 12
    else:
        order = json.loads(result["content"])
        text = f"Order {order['order_id']} has {order['status']} and will arrive on {order['eta']}."
        message = {"role": "assistant", "content": text}
        finish, output_tokens = "stop", 20
    return {
        "id": f"scripted-{uuid.uuid4().hex[:8]}",
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 40 + 10 * len(messages), "completion_tokens": output_tokens},
    }


def as_dict(completion: Any) -> dict[str, Any]:
    return completion if isinstance(completion, dict) else completion.model_dump()


# ---- the agent's tools ----


@lemma.retrieval("help-center", top_k=2)
def search_help_center(query: str) -> list[dict[str, Any]]:
    return [
        {"id": "kb-12", "title": "Shipping times", "content": "Orders ship within 2 days."},
        {"id": "kb-31", "title": "Tracking", "content": "Tracking links arrive by email."},
    ]


@lemma.tool(description="Look up an order by id")
def lookup_order(order_id: str) -> dict[str, Any]:
    return ORDERS.get(order_id, {"order_id": order_id, "status": "unknown"})


# ---- the agent ----


def answer(question: str) -> str:
    """Search, let the model call the tool, and return its final answer."""
    search_help_center(question)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question},
    ]
    for _ in range(4):
        choice = as_dict(call_model(messages, [LOOKUP_ORDER]))["choices"][0]
        message = choice["message"]
        if not message.get("tool_calls"):
            return message.get("content") or ""
        messages.append({k: v for k, v in message.items() if v is not None})
        for call in message["tool_calls"]:
            result = lookup_order(**json.loads(call["function"]["arguments"]))
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}
            )
    return "Sorry, I could not find out."


@lemma.agent("support_agent", user_id="customer-42", tags=["example"])
def support(question: str) -> str:
    """One turn of the conversation: one run."""
    return answer(question)


@lemma.agent("support_agent", user_id="customer-42", tags=["example"])
def support_streaming(question: str) -> Iterator[str]:
    """A turn whose answer streams word by word: the run stays open until the last word."""
    for i, word in enumerate(answer(question).split(" ")):
        yield word if i == 0 else " " + word


def main() -> None:
    as_json = "--json" in sys.argv[1:]
    lemma.init(service_name="support-agent-example")
    url = (os.environ.get("LEMMA_URL") or "http://127.0.0.1:4318").rstrip("/")
    thread_id = f"support-{uuid.uuid4().hex[:12]}"
    runs: list[str] = []

    # Every run started in this block belongs to the conversation's thread.
    with lemma.run_context(thread_id=thread_id):
        for question in ["Hi, where is my order A-17?", "When will it arrive?"]:
            reply = support(question)
            runs.append(lemma.last_run_id() or "")
            if not as_json:
                print(f"> {question}\n{reply}\n  run: {url}/runs/{runs[-1]}")

        question = "Can you confirm once more?"
        if not as_json:
            print(f"> {question}")
        for chunk in support_streaming(question):
            if not as_json:
                print(chunk, end="", flush=True)
        runs.append(lemma.last_run_id() or "")
    if not as_json:
        print(f"\n  run: {url}/runs/{runs[-1]}\nthread: {url}/threads/{thread_id}")

    lemma.shutdown()
    if as_json:
        # For the SDK's end-to-end test: every turn is search, model, tool, model under the agent.
        print(json.dumps({"runs": runs, "thread_id": thread_id, "span_counts": [5, 5, 5]}))


if __name__ == "__main__":
    main()
