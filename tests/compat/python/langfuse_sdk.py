"""The Langfuse Python SDK (v3+, OpenTelemetry-based) and its OpenAI integration.

The SDK posts to `<base_url>/api/public/otel/v1/traces` with Basic auth `public_key:secret_key`;
Lemma accepts its key's public half and the key itself there.

One run, `support-request` (trace name set with `propagate_attributes`, with user `user-lf-3`,
session `sess-lf-1`, tags and metadata):

    support-agent (agent)
      chat-plan (generation, by langfuse.openai) → the model calls lookup_order
      lookup_order (tool)
      chat-answer (generation, by langfuse.openai, streamed with include_usage)
      notify-customer (span at level ERROR)
"""

import json

from langfuse import Langfuse, propagate_attributes
from langfuse.openai import OpenAI

import harness

langfuse = Langfuse(
    public_key=harness.public_key(),
    secret_key=harness.api_key(),
    base_url=harness.lemma_url(),
)
client = OpenAI(max_retries=0)


def support_agent(question):
    with langfuse.start_as_current_observation(
        as_type="agent", name="support-agent", input={"question": question}
    ) as root:
        with propagate_attributes(
            trace_name="support-request",
            user_id="user-lf-3",
            session_id="sess-lf-1",
            tags=["compat", "langfuse-sdk"],
            metadata={"tier": "gold"},
        ):
            messages = [
                {"role": "system", "content": harness.SYSTEM_PROMPT},
                {"role": "user", "content": question},
            ]
            first = client.chat.completions.create(
                name="chat-plan",
                model=harness.MODEL,
                messages=messages,
                tools=[harness.LOOKUP_ORDER_TOOL],
                temperature=0,
            )
            message = first.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls or []:
                args = json.loads(call.function.arguments)
                with langfuse.start_as_current_observation(
                    as_type="tool", name=call.function.name, input=args
                ) as tool:
                    result = harness.lookup_order_result(**args)
                    tool.update(output=result)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                )
            stream = client.chat.completions.create(
                name="chat-answer",
                model=harness.MODEL,
                messages=messages,
                tools=[harness.LOOKUP_ORDER_TOOL],
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
            answer = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            with langfuse.start_as_current_observation(
                as_type="span",
                name="notify-customer",
                input={"channel": "email", "order_id": "A-17"},
            ) as notify:
                notify.update(
                    output={"sent": False},
                    level="ERROR",
                    status_message="SMTP relay refused connection",
                )
            root.update(output={"answer": answer})
            return answer


def main():
    print(support_agent(harness.QUESTION))
    langfuse.shutdown()


if __name__ == "__main__":
    main()
