"""The OpenAI Agents SDK under openinference-instrumentation-openai-agents.

The SDK talks to the fake LLM through its chat-completions model, except where noted. Two runs,
for user `user-agents-2` in session `sess-agents-1` (set with OpenInference's `using_attributes`):

1. workflow `support workflow`: `triage_agent` hands off to `refund_agent` (a sub-agent), which
   calls the function tool `lookup_order`, then answers.
2. workflow `cancel workflow`: `cancel_agent`, on the Responses API, calls `cancel_order`, which
   raises; the SDK turns the error into a tool result for the model, which answers anyway.
"""

import asyncio

from agents import (
    Agent,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
    set_default_openai_api,
    set_default_openai_client,
)
from openai import AsyncOpenAI
from openinference.instrumentation import TracerProvider, using_attributes
from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

import harness

provider = TracerProvider(resource=harness.resource("compat-openai-agents"))
provider.add_span_processor(harness.batch_processor())
# Replaces the SDK's own exporter (to OpenAI's dashboard) with OpenInference's processor.
OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)

set_default_openai_api("chat_completions")
set_default_openai_client(AsyncOpenAI(max_retries=0), use_for_tracing=False)


@function_tool
def lookup_order(order_id: str) -> dict:
    """Look up an order by id."""
    return harness.lookup_order_result(order_id)


@function_tool
def cancel_order(order_id: str, reason: str = "") -> str:
    """Cancel an order."""
    raise RuntimeError(f"order {order_id} has shipped and can no longer be cancelled")


refund_agent = Agent(
    name="refund_agent",
    instructions="You look up orders and handle refunds.",
    model=harness.MODEL,
    tools=[lookup_order],
)
triage_agent = Agent(
    name="triage_agent",
    instructions="Send order questions to the refund agent.",
    model=harness.MODEL,
    handoffs=[refund_agent],
)
# This one talks to the Responses API, the SDK's default model interface.
cancel_agent = Agent(
    name="cancel_agent",
    instructions="You cancel orders.",
    model=OpenAIResponsesModel(model=harness.MODEL, openai_client=AsyncOpenAI(max_retries=0)),
    tools=[cancel_order],
)


async def main():
    with using_attributes(session_id="sess-agents-1", user_id="user-agents-2"):
        result = await Runner.run(
            triage_agent,
            harness.QUESTION,
            run_config=RunConfig(workflow_name="support workflow", group_id="sess-agents-1"),
        )
        print(result.final_output)
        result = await Runner.run(
            cancel_agent,
            "Please cancel order A-17.",
            run_config=RunConfig(workflow_name="cancel workflow", group_id="sess-agents-1"),
        )
        print(result.final_output)
    provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
