"""traceloop-sdk (OpenLLMetry): its decorators and its OpenAI instrumentation.

Two runs, both for user `user-ollm-5` in session `conv-ollm-1`:

1. `support_workflow` (@workflow) → `support_agent` (@agent, inside `@conversation`) → the model
   calls `lookup_order` (@tool) → a streamed model call answers; then `format_answer` (@task).
2. `cancel_workflow` (@workflow) → `cancel_agent` (@agent): the model calls `cancel_order`
   (@tool), which raises; the tool, the agent and the workflow end in error.
"""

import json
import os

# Lemma has no metrics endpoint: keep the SDK from exporting metrics (it would log 404s).
os.environ.setdefault("TRACELOOP_METRICS_ENABLED", "false")

import openai  # noqa: E402
from traceloop.sdk import Traceloop  # noqa: E402
from traceloop.sdk.associations import AssociationProperty, Associations  # noqa: E402
from traceloop.sdk.decorators import agent, conversation, task, tool, workflow  # noqa: E402
from traceloop.sdk.instruments import Instruments  # noqa: E402

import harness  # noqa: E402

Traceloop.init(
    app_name="compat-openllmetry",
    api_endpoint=harness.lemma_url(),
    headers={"Authorization": f"Bearer {harness.api_key()}"},
    disable_batch=True,
    telemetry_enabled=False,
    instruments={Instruments.OPENAI},
)

client = openai.OpenAI(max_retries=0)

CANCEL_ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "cancel_order",
        "description": "Cancel an order",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "reason": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}


class OrderLocked(Exception):
    pass


@tool(name="lookup_order")
def lookup_order(order_id):
    return harness.lookup_order_result(order_id)


@tool(name="cancel_order")
def cancel_order(order_id, reason=None):
    raise OrderLocked(f"order {order_id} has shipped and can no longer be cancelled")


TOOLS = {"lookup_order": lookup_order, "cancel_order": cancel_order}


def chat(messages, tool_spec, stream=False):
    if not stream:
        return (
            client.chat.completions.create(
                model=harness.MODEL, messages=messages, tools=[tool_spec], temperature=0
            )
            .choices[0]
            .message
        )
    chunks = client.chat.completions.create(
        model=harness.MODEL,
        messages=messages,
        tools=[tool_spec],
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def tool_loop(question, tool_spec):
    messages = [
        {"role": "system", "content": harness.SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
    message = chat(messages, tool_spec)
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls or []:
        result = TOOLS[call.function.name](**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    return chat(messages, tool_spec, stream=True)


@agent(name="support_agent")
@conversation(conversation_id="conv-ollm-1")
def support_agent(question):
    return tool_loop(question, harness.LOOKUP_ORDER_TOOL)


@task(name="format_answer")
def format_answer(answer):
    return {"answer": answer}


@workflow(name="support_workflow")
def support_workflow(question):
    return format_answer(support_agent(question))


@agent(name="cancel_agent")
@conversation(conversation_id="conv-ollm-1")
def cancel_agent(question):
    return tool_loop(question, CANCEL_ORDER_TOOL)


@workflow(name="cancel_workflow")
def cancel_workflow(question):
    return cancel_agent(question)


def main():
    Associations.set(
        [
            (AssociationProperty.USER_ID, "user-ollm-5"),
            (AssociationProperty.SESSION_ID, "conv-ollm-1"),
        ]
    )
    print(support_workflow(harness.QUESTION))
    try:
        cancel_workflow("Please cancel order A-17.")
        raise SystemExit("cancel_order did not raise")
    except OrderLocked as e:
        print("failed as planned:", e)
    # disable_batch exports every span as it ends; Traceloop flushes the rest at exit.


if __name__ == "__main__":
    main()
