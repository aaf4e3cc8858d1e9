"""The OpenAI Python SDK under openinference-instrumentation-openai.

Two runs in the session `sess-oi-1` of user `user-oi-9`:

1. `support_agent` (an AGENT span from OpenInference's own tracer) asks the model, which calls
   `lookup_order` (a TOOL span from `@tracer.tool`); the tool result goes back to the model in a
   streamed request with `stream_options.include_usage`, which answers.
2. `support_agent` again, with a question the model rejects (HTTP 400): the LLM span and the
   agent span end in error.
"""

import json

import openai
from openinference.instrumentation import TracerProvider, using_attributes
from openinference.instrumentation.openai import OpenAIInstrumentor
from openinference.semconv.trace import SpanAttributes

import harness

provider = TracerProvider(resource=harness.resource("compat-openinference"))
provider.add_span_processor(harness.batch_processor())
OpenAIInstrumentor().instrument(tracer_provider=provider)
tracer = provider.get_tracer("compat.openinference")

client = openai.OpenAI(max_retries=0)


@tracer.tool(name="lookup_order", description="Look up an order by id")
def lookup_order(order_id: str) -> dict:
    return harness.lookup_order_result(order_id)


def support_agent(question):
    with tracer.start_as_current_span("support_agent", openinference_span_kind="agent") as span:
        span.set_attribute(SpanAttributes.AGENT_NAME, "support_agent")
        span.set_input(question)
        messages = [
            {"role": "system", "content": harness.SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ]
        first = client.chat.completions.create(
            model=harness.MODEL,
            messages=messages,
            tools=[harness.LOOKUP_ORDER_TOOL],
            temperature=0,
        )
        message = first.choices[0].message
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls or []:
            result = lookup_order(**json.loads(call.function.arguments))
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
            )
        stream = client.chat.completions.create(
            model=harness.MODEL,
            messages=messages,
            tools=[harness.LOOKUP_ORDER_TOOL],
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        answer = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        span.set_output(answer)
        return answer


def main():
    with using_attributes(session_id="sess-oi-1", user_id="user-oi-9"):
        print(support_agent(harness.QUESTION))
        try:
            support_agent(harness.FAILING_QUESTION)
            raise SystemExit("the failing question did not fail")
        except openai.BadRequestError as e:
            print("failed as planned:", e)
    provider.shutdown()


if __name__ == "__main__":
    main()
