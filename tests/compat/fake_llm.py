#!/usr/bin/env python3
"""A deterministic stand-in for the OpenAI API, for the compatibility scenarios.

Standard library only. It answers `POST /v1/chat/completions` (plain and streamed, with
`stream_options.include_usage`) and `POST /v1/responses` (not streamed), enough for the OpenAI
SDKs, the Vercel AI SDK's OpenAI provider and the OpenAI Agents SDK.

The conversation logic is fixed, so every scenario knows what it will see:

* If the request offers tools, the model calls the first offered tool that the conversation has
  not called yet, with the arguments in TOOL_ARGUMENTS. Tool call ids are `call_<name>_<n>`,
  where n counts the tool calls already in the conversation, from 1.
* Once every offered tool was called (or when no tool is offered), it answers ANSWER.
* A request whose last user message contains "FAIL" is rejected with 400, like a bad request.

Usage is fixed too: input tokens are 50 plus 30 for each tool result in the conversation, output
tokens are 12 for a tool call and 20 for a text answer. The lookup-then-answer conversation thus
costs 50/12 then 80/20, 130/32 in all.

Run: `python3 fake_llm.py [--port N]`. The first line printed is `fake LLM listening on
http://127.0.0.1:PORT`; point clients at `http://127.0.0.1:PORT/v1`.
"""

import argparse
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "Order A-17 has shipped and will arrive on Friday."

# Arguments the model passes to each tool it knows; any other tool is called with {}.
TOOL_ARGUMENTS = {
    "lookup_order": {"order_id": "A-17"},
    "cancel_order": {"order_id": "A-17", "reason": "late"},
}

CREATED = 1767225600  # 2026-01-01T00:00:00Z, so answers do not depend on the clock

_ids = itertools.count(1)
_ids_lock = threading.Lock()


def next_response_id(prefix):
    with _ids_lock:
        return f"{prefix}-fake{next(_ids):04d}"


def text_of(content):
    """The text of a message's content, whatever shape the client used."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return str(content)


class Decision:
    """What the model does next: call a tool, answer, or fail."""

    def __init__(self, tool=None, call_id=None, arguments=None, text=None, error=None):
        self.tool = tool
        self.call_id = call_id
        self.arguments = arguments
        self.text = text
        self.error = error


def decide(offered_tools, called_tools, tool_results, last_user_text):
    if "FAIL" in last_user_text:
        return Decision(error="The fake model was asked to fail (FAIL in the user message).")
    for name in offered_tools:
        if name not in called_tools:
            return Decision(
                tool=name,
                call_id=f"call_{name}_{len(called_tools) + 1}",
                arguments=json.dumps(TOOL_ARGUMENTS.get(name, {}), separators=(",", ":")),
            )
    return Decision(text=ANSWER)


def usage_for(decision, tool_results):
    prompt = 50 + 30 * tool_results
    completion = 12 if decision.tool else 20
    return prompt, completion


# ---- chat completions ----


def chat_decision(body):
    offered = []
    for t in body.get("tools") or []:
        fn = t.get("function") or {}
        if fn.get("name"):
            offered.append(fn["name"])
    called, results, last_user = [], 0, ""
    for m in body.get("messages") or []:
        role = m.get("role")
        if role == "assistant":
            for tc in m.get("tool_calls") or []:
                called.append((tc.get("function") or {}).get("name"))
        elif role == "tool":
            results += 1
        elif role == "user":
            last_user = text_of(m.get("content"))
    d = decide(offered, called, results, last_user)
    return d, results


def chat_completion(body):
    d, results = chat_decision(body)
    if d.error:
        return 400, error_body(d.error)
    prompt, completion = usage_for(d, results)
    message = {"role": "assistant", "content": None, "refusal": None}
    if d.tool:
        message["tool_calls"] = [
            {
                "id": d.call_id,
                "type": "function",
                "function": {"name": d.tool, "arguments": d.arguments},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = d.text
        finish = "stop"
    return 200, {
        "id": next_response_id("chatcmpl"),
        "object": "chat.completion",
        "created": CREATED,
        "model": body.get("model", "gpt-4o-mini"),
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def chat_completion_chunks(body):
    """The streamed form of chat_completion: a list of chunk objects."""
    d, results = chat_decision(body)
    prompt, completion = usage_for(d, results)
    rid = next_response_id("chatcmpl")
    model = body.get("model", "gpt-4o-mini")

    def chunk(delta, finish=None):
        return {
            "id": rid,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": None if d.tool else "", "refusal": None})]
    if d.tool:
        half = len(d.arguments) // 2
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": d.call_id,
                            "type": "function",
                            "function": {"name": d.tool, "arguments": d.arguments[:half]},
                        }
                    ]
                }
            )
        )
        chunks.append(
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": d.arguments[half:]}}]})
        )
        chunks.append(chunk({}, "tool_calls"))
    else:
        words = d.text.split(" ")
        for i, w in enumerate(words):
            chunks.append(chunk({"content": w if i == 0 else " " + w}))
        chunks.append(chunk({}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append(
            {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )
    return chunks


# ---- responses ----


def responses_decision(body):
    offered = [
        t.get("name")
        for t in body.get("tools") or []
        if t.get("type") == "function" and t.get("name")
    ]
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    called, results, last_user = [], 0, ""
    for item in items or []:
        kind = item.get("type")
        if kind == "function_call":
            called.append(item.get("name"))
        elif kind == "function_call_output":
            results += 1
        elif item.get("role") == "user":
            last_user = text_of(item.get("content"))
    d = decide(offered, called, results, last_user)
    return d, results


def response_object(body):
    d, results = responses_decision(body)
    if d.error:
        return 400, error_body(d.error)
    prompt, completion = usage_for(d, results)
    rid = next_response_id("resp")
    if d.tool:
        output = [
            {
                "type": "function_call",
                "id": "fc_" + d.call_id,
                "call_id": d.call_id,
                "name": d.tool,
                "arguments": d.arguments,
                "status": "completed",
            }
        ]
    else:
        output = [
            {
                "type": "message",
                "id": "msg_" + rid,
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": d.text, "annotations": []}],
            }
        ]
    return 200, {
        "id": rid,
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "model": body.get("model", "gpt-4o-mini"),
        "instructions": body.get("instructions"),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
    }


def error_body(message):
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake LLM: " + (fmt % args) + "\n")

    def do_GET(self):
        if self.path.rstrip("/") in ("", "/health"):
            return self.send_json(200, {"ok": True})
        self.send_json(404, error_body(f"no route GET {self.path}"))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.send_json(400, error_body("the body is not JSON"))
        path = self.path.split("?")[0].rstrip("/")
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                d, _ = chat_decision(body)
                if d.error:
                    return self.send_json(400, error_body(d.error))
                return self.send_sse(chat_completion_chunks(body))
            return self.send_json(*chat_completion(body))
        if path.endswith("/responses"):
            if body.get("stream"):
                return self.send_json(
                    400, error_body("streaming is not supported by the fake Responses API")
                )
            return self.send_json(*response_object(body))
        self.send_json(404, error_body(f"no route POST {self.path}"))

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, chunks):
        data = (
            b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
            + b"data: [DONE]\n\n"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(f"fake LLM listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
