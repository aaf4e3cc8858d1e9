"""Chat messages in the OpenTelemetry GenAI form Lemma reads (`gen_ai.input.messages`).

The GenAI form is `[{"role": "user", "parts": [{"type": "text", "content": "..."}]}]`. Users
mostly hold OpenAI-style messages (`{"role", "content", "tool_calls", "tool_call_id"}`) or plain
strings, so those are converted; messages already in GenAI form (with `parts`) pass through, and
content parts this module does not know are kept as they are (Lemma reads most provider shapes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._encoding import to_plain

Message = dict[str, Any]


def to_genai_messages(messages: Any, default_role: str) -> list[Message]:
    """Messages of any supported shape as a GenAI message list.

    `messages` may be a string (one message of `default_role`), one message, a list of messages
    (strings among them), or an OpenAI chat completion (its choices' messages).
    """
    value = to_plain(messages)
    if value is None:
        return []
    if isinstance(value, str):
        return [_text_message(default_role, value)]
    if isinstance(value, dict):
        completion = read_chat_completion(value)
        if completion is not None:
            return completion.messages
        return [to_genai_message(value, default_role)]
    if isinstance(value, list):
        out: list[Message] = []
        for item in value:
            if isinstance(item, str):
                out.append(_text_message(default_role, item))
            elif isinstance(item, dict):
                out.append(to_genai_message(item, default_role))
        return out
    return [_text_message(default_role, json.dumps(value))]


def to_genai_message(message: dict[str, Any], default_role: str) -> Message:
    """One message (GenAI or OpenAI chat form) in GenAI form."""
    role = message.get("role") or default_role
    if isinstance(message.get("parts"), list):
        return dict(message, role=role)
    parts: list[dict[str, Any]] = []
    content = message.get("content")
    if role == "tool" or role == "function":
        parts.append(
            {
                "type": "tool_call_response",
                "id": message.get("tool_call_id"),
                "response": _maybe_json(_content_text(content)),
            }
        )
    else:
        parts.extend(_content_parts(content))
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict):
            parts.append(_tool_call_part(call))
    legacy_call = message.get("function_call")
    if isinstance(legacy_call, dict):
        parts.append(_tool_call_part({"function": legacy_call}))
    out: Message = {"role": "tool" if role == "function" else role, "parts": parts}
    if isinstance(message.get("name"), str) and role != "function":
        out["name"] = message["name"]
    if message.get("finish_reason") is not None:
        out["finish_reason"] = message["finish_reason"]
    return out


@dataclass
class ChatCompletion:
    """What an OpenAI chat completion says about the call."""

    messages: list[Message] = field(default_factory=list)
    response_id: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reasons: list[str] = field(default_factory=list)


def read_chat_completion(value: Any) -> ChatCompletion | None:
    """An OpenAI chat completion (object or dict) read into its parts; None for anything else."""
    body = to_plain(value)
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        return None
    completion = ChatCompletion(
        response_id=_str_or_none(body.get("id")), model=_str_or_none(body.get("model"))
    )
    for choice in body["choices"]:
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        if not isinstance(message, dict):
            continue
        converted = to_genai_message(message, "assistant")
        reason = choice.get("finish_reason")
        if isinstance(reason, str):
            converted["finish_reason"] = reason
            completion.finish_reasons.append(reason)
        completion.messages.append(converted)
    usage = body.get("usage")
    if isinstance(usage, dict):
        completion.input_tokens = _int_or_none(
            usage.get("prompt_tokens", usage.get("input_tokens"))
        )
        completion.output_tokens = _int_or_none(
            usage.get("completion_tokens", usage.get("output_tokens"))
        )
    return completion


def _text_message(role: str, text: str) -> Message:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    if isinstance(content, list):
        parts: list[dict[str, Any]] = []
        for item in content:
            if isinstance(item, str):
                parts.append({"type": "text", "content": item})
            elif isinstance(item, dict):
                parts.append(_content_part(item))
        return parts
    return [{"type": "text", "content": json.dumps(content)}]


def _content_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
        return {"type": "text", "content": part["text"]}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str) and not url.startswith("data:"):
            return {"type": "uri", "modality": "image", "uri": url}
    # Anything else (media, refusals, provider-specific parts) as the user gave it.
    return part


def _tool_call_part(call: dict[str, Any]) -> dict[str, Any]:
    nested = call.get("function")
    function: dict[str, Any] = nested if isinstance(nested, dict) else call
    return {
        "type": "tool_call",
        "id": call.get("id"),
        "name": function.get("name"),
        "arguments": _maybe_json(function.get("arguments")),
    }


def _content_text(content: Any) -> Any:
    """A tool result's content: text parts joined, anything else as it is."""
    if isinstance(content, list) and all(
        isinstance(p, dict) and isinstance(p.get("text"), str) for p in content
    ):
        return "".join(p["text"] for p in content)
    return content


def _maybe_json(value: Any) -> Any:
    """JSON in a string parsed (tool arguments and results usually are); else unchanged."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
