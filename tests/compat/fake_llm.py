#!/usr/bin/env python3
"""A deterministic stand-in for the OpenAI and Anthropic APIs, for the compatibility scenarios.

Standard library only. It answers `POST /v1/chat/completions` (plain and streamed, with
`stream_options.include_usage`), `POST /v1/responses` (plain and streamed) and
`POST /v1/embeddings`, enough for the OpenAI SDKs, the Vercel AI SDK's OpenAI provider and the
OpenAI Agents SDK; and Anthropic's `POST /v1/messages` (plain and streamed) for its SDKs.

The conversation logic is fixed, so every scenario knows what it will see:

* If the request offers tools, the model calls the first offered tool that the conversation has
  not called yet, with the arguments in TOOL_ARGUMENTS. Tool call ids are `call_<name>_<n>`,
  where n counts the tool calls already in the conversation, from 1.
* Once every offered tool was called (or when no tool is offered), it answers ANSWER.
* A request whose last user message contains "FAIL" is rejected with 400, like a bad request.
* For the LLM proxy's tests, the last user message can also ask for trouble: "SLOW" streams with
  0.3 s between chunks, "BREAK" cuts a stream off after its first chunks, and "HANG" waits 30 s
  before answering at all.

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
import time
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


def response_events(body):
    """The streamed form of response_object: (event name, data) pairs."""
    status, final = response_object(body)
    created = dict(final, status="in_progress", output=[], usage=None)
    events = [("response.created", {"type": "response.created", "response": created})]
    for item in final["output"]:
        if item["type"] == "message":
            for word in item["content"][0]["text"].split(" "):
                events.append(
                    (
                        "response.output_text.delta",
                        {"type": "response.output_text.delta", "delta": word + " "},
                    )
                )
    events.append(("response.completed", {"type": "response.completed", "response": final}))
    return events


# ---- embeddings ----


def embeddings(body):
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    data = [
        {"object": "embedding", "index": i, "embedding": [round(0.001 * (i + k), 3) for k in range(8)]}
        for i, _ in enumerate(texts or [])
    ]
    tokens = sum(len(str(t).split()) for t in texts or [])
    return 200, {
        "object": "list",
        "model": body.get("model", "text-embedding-3-small"),
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# ---- anthropic messages ----


def messages_decision(body):
    offered = [t.get("name") for t in body.get("tools") or [] if t.get("name")]
    called, results, last_user = [], 0, ""
    for m in body.get("messages") or []:
        content = m.get("content")
        blocks = content if isinstance(content, list) else []
        if m.get("role") == "assistant":
            called += [b.get("name") for b in blocks if b.get("type") == "tool_use"]
        elif m.get("role") == "user":
            results += sum(1 for b in blocks if b.get("type") == "tool_result")
            text = text_of(content)
            if text:
                last_user = text
    return decide(offered, called, results, last_user), results


def anthropic_message(body):
    d, results = messages_decision(body)
    if d.error:
        return 400, anthropic_error(d.error)
    prompt, completion = usage_for(d, results)
    if d.tool:
        content = [
            {"type": "text", "text": "Let me look that up."},
            {"type": "tool_use", "id": "toolu_" + d.call_id, "name": d.tool, "input": json.loads(d.arguments)},
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": d.text}]
        stop = "end_turn"
    return 200, {
        "id": next_response_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-haiku-4-5"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        # Anthropic counts cache reads apart from input_tokens.
        "usage": {
            "input_tokens": prompt - 10,
            "cache_read_input_tokens": 10,
            "cache_creation_input_tokens": 0,
            "output_tokens": completion,
        },
    }


def anthropic_events(body):
    """The streamed form of anthropic_message: (event name, data) pairs."""
    _, message = anthropic_message(body)
    usage = message["usage"]
    start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    events = [("message_start", {"type": "message_start", "message": start})]
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}))
            for word in block["text"].split(" "):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": word + " "}}))
        else:
            arguments = json.dumps(block["input"])
            half = len(arguments) // 2
            events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": dict(block, input={})}))
            for piece in (arguments[:half], arguments[half:]):
                events.append(("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None}, "usage": {"output_tokens": usage["output_tokens"]}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def anthropic_error(message):
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def last_user_text(body):
    if "messages" in body:
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        return text_of(users[-1].get("content")) if users else ""
    items = body.get("input")
    if isinstance(items, str):
        return items
    users = [i for i in items or [] if isinstance(i, dict) and i.get("role") == "user"]
    return text_of(users[-1].get("content")) if users else ""


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
        trouble = last_user_text(body) if isinstance(body, dict) else ""
        if "HANG" in trouble:
            time.sleep(30)
        if path.endswith("/chat/completions"):
            if body.get("stream"):
                d, _ = chat_decision(body)
                if d.error:
                    return self.send_json(400, error_body(d.error))
                chunks = [(None, c) for c in chat_completion_chunks(body)] + [(None, "[DONE]")]
                return self.send_sse(chunks, trouble)
            return self.send_json(*chat_completion(body))
        if path.endswith("/responses"):
            if body.get("stream"):
                status, final = response_object(body)
                if status != 200:
                    return self.send_json(status, final)
                return self.send_sse(response_events(body), trouble)
            return self.send_json(*response_object(body))
        if path.endswith("/embeddings"):
            return self.send_json(*embeddings(body))
        if path.endswith("/v1/messages"):
            status, message = anthropic_message(body)
            if status != 200 or not body.get("stream"):
                return self.send_json(status, message)
            return self.send_sse(anthropic_events(body), trouble)
        self.send_json(404, error_body(f"no route POST {self.path}"))

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, events, trouble=""):
        """Server-sent events in chunked transfer encoding, each event written and flushed on
        its own, as a real streaming API sends them."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n, (name, data) in enumerate(events):
            if "BREAK" in trouble and n == 3:
                # Cut off mid-answer, without the chunked body's end, as when a provider fails.
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            text = data if isinstance(data, str) else json.dumps(data)
            event = ((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
            if "SLOW" in trouble:
                time.sleep(0.3)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


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
