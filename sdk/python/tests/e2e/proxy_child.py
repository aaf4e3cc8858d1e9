"""A sub-agent nobody instrumented: no Lemma SDK, no OpenTelemetry, only the base URLs a proxy
session put in its environment (OPENAI_BASE_URL, ANTHROPIC_BASE_URL) and provider keys. It makes
its model calls with the real OpenAI and Anthropic SDKs, plain and streamed, and prints what it
got back as one JSON line.
"""

import json

import anthropic
import openai

TOOLS = [
    {
        "name": "lookup_order",
        "description": "Find an order.",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    }
]


def main() -> None:
    gpt = openai.OpenAI()
    question = [{"role": "user", "content": "Where is my order A-17?"}]
    plain = gpt.chat.completions.create(model="gpt-4o-mini", messages=question)
    streamed = gpt.chat.completions.create(
        model="gpt-4o-mini",
        messages=question,
        stream=True,
        stream_options={"include_usage": True},
    )
    streamed_text = "".join(
        chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices
    )

    claude = anthropic.Anthropic()
    tool_call = claude.messages.create(
        model="claude-haiku-4-5", max_tokens=256, tools=TOOLS, messages=question
    )
    with claude.messages.stream(
        model="claude-haiku-4-5", max_tokens=256, messages=question
    ) as stream:
        final = stream.get_final_message()

    print(
        json.dumps(
            {
                "openai": plain.choices[0].message.content,
                "openai_streamed": streamed_text,
                "anthropic_tool": [b.name for b in tool_call.content if b.type == "tool_use"],
                "anthropic_streamed": "".join(b.text for b in final.content if b.type == "text"),
                "anthropic_usage": final.usage.output_tokens,
            }
        )
    )


if __name__ == "__main__":
    main()
