"""Messages in the GenAI form, from what users hold."""

from __future__ import annotations

import json
from dataclasses import dataclass

from lemma._messages import read_chat_completion, to_genai_messages


def test_text():
    assert to_genai_messages("hi", "user") == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]
    assert to_genai_messages(None, "user") == []


def test_openai_conversation_with_tool_calls():
    messages = [
        {"role": "system", "content": "You answer questions about orders."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Where is A-17?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "A-17"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'},
        {"role": "assistant", "content": "It shipped.", "name": "bot"},
    ]
    assert to_genai_messages(messages, "user") == [
        {
            "role": "system",
            "parts": [{"type": "text", "content": "You answer questions about orders."}],
        },
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Where is A-17?"},
                {"type": "uri", "modality": "image", "uri": "https://x/y.png"},
            ],
        },
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
        },
        {
            "role": "tool",
            "parts": [
                {"type": "tool_call_response", "id": "call_1", "response": {"status": "shipped"}}
            ],
        },
        {"role": "assistant", "parts": [{"type": "text", "content": "It shipped."}], "name": "bot"},
    ]


def test_genai_messages_pass_through_and_strings_in_lists():
    genai = {"role": "user", "parts": [{"type": "text", "content": "x"}]}
    assert to_genai_messages([genai, "plain"], "assistant") == [
        genai,
        {"role": "assistant", "parts": [{"type": "text", "content": "plain"}]},
    ]


def test_unknown_parts_are_kept():
    audio = {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}
    assert to_genai_messages({"role": "user", "content": [audio]}, "user") == [
        {"role": "user", "parts": [audio]}
    ]


@dataclass
class Message:
    role: str
    content: str


class FakeModel:
    """Stands for an OpenAI response object (a pydantic model)."""

    def __init__(self, data):
        self._data = data

    def model_dump(self, mode="python"):
        return self._data


COMPLETION = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Friday."},
        }
    ],
    "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
}


def test_objects_are_read_through_their_data():
    assert to_genai_messages([Message("user", "hi")], "user") == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]
    completion = read_chat_completion(FakeModel(COMPLETION))
    assert completion is not None
    assert completion.messages == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Friday."}],
            "finish_reason": "stop",
        }
    ]
    assert (completion.response_id, completion.model) == ("chatcmpl-1", "gpt-4o-mini-2024-07-18")
    assert (completion.input_tokens, completion.output_tokens) == (50, 20)
    assert completion.finish_reasons == ["stop"]
    assert read_chat_completion({"role": "user"}) is None
    assert json.dumps(completion.messages)
