"""lemma.proxy(): the session body built from the current span and run context, and the session
created and ended against a local server that answers as Lemma's REST API."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider

import lemma
from lemma import _setup
from lemma._proxy import session_body

TOKEN = "lps_0123456789abcdef"


class Request:
    def __init__(
        self, method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


class FakeApi:
    """Records requests; creates sessions as Lemma does (201), ends each once (204, then 404).
    `reply[method]`, when set, answers that method instead."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.reply: dict[str, tuple[int, Any]] = {}
        self.live: set[str] = set()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> Request:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                api.requests.append(request)
                return request

            def _answer(self, status: int, answer: Any) -> None:
                data = b"" if answer is None else answer
                if not isinstance(data, bytes):
                    data = json.dumps(answer).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self._record()
                if "POST" in api.reply:
                    self._answer(*api.reply["POST"])
                    return
                api.live.add(TOKEN)
                self._answer(201, created(api.url, TOKEN))

            def do_DELETE(self) -> None:
                request = self._record()
                if "DELETE" in api.reply:
                    self._answer(*api.reply["DELETE"])
                    return
                token = request.path.rsplit("/", 1)[-1]
                if token in api.live:
                    api.live.discard(token)
                    self._answer(204, None)
                else:
                    self._answer(
                        404, {"error": {"code": "not_found", "message": "no such session"}}
                    )

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def created(url: str, token: str) -> dict[str, Any]:
    """Lemma's 201 answer for a session."""
    openai = f"{url}/proxy/session/{token}/openai/v1"
    anthropic = f"{url}/proxy/session/{token}/anthropic"
    return {
        "token": token,
        "expires_at": "2026-12-06T20:00:00Z",
        "base_urls": {"openai": openai, "anthropic": anthropic},
        "env": {"OPENAI_BASE_URL": openai, "ANTHROPIC_BASE_URL": anthropic},
    }


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    for name in ("LEMMA_URL", "LEMMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    server = FakeApi()
    _setup._state.endpoint = (server.url, "secret-key")
    yield server
    _setup._state.endpoint = None
    server.close()


def traceparent_of(span: trace.Span) -> str:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-01"


# ---- the body ----


def test_the_body_names_the_current_span_and_the_run_s_thread_and_user(spans: Any) -> None:
    with lemma.agent("planner", thread_id="t-1", user_id="u-1") as run:
        body = session_body(ttl_seconds=600)
        assert body == {
            "traceparent": traceparent_of(run.otel_span),
            "thread_id": "t-1",
            "user_id": "u-1",
            "ttl_seconds": 600,
        }
        assert body["traceparent"] == f"00-{run.run_id}-{run.span_id}-01"
        # Inside a step of the run, the step is the parent.
        with lemma.tool("delegate") as step:
            assert session_body()["traceparent"] == f"00-{run.run_id}-{step.span_id}-01"


def test_given_thread_and_user_win_over_the_run_s(spans: Any) -> None:
    with lemma.run_context(thread_id="t-outer", user_id="u-outer"):
        with lemma.agent("planner"):
            body = session_body(thread_id="t-given")
    assert (body["thread_id"], body["user_id"]) == ("t-given", "u-outer")
    assert session_body(Context(), thread_id="t", user_id="u") == {
        "thread_id": "t",
        "user_id": "u",
    }


def test_without_a_current_span_no_traceparent_is_sent() -> None:
    assert session_body() == {}
    assert session_body(ttl_seconds=60) == {"ttl_seconds": 60}
    # The run context alone (no span) still names the thread.
    with lemma.run_context(thread_id="t-1"):
        assert session_body() == {"thread_id": "t-1"}
    # An invalid span context is no parent either.
    with trace.use_span(trace.INVALID_SPAN):
        assert "traceparent" not in session_body()


def test_a_plain_opentelemetry_span_is_a_parent_too(tracer_provider: TracerProvider) -> None:
    with tracer_provider.get_tracer("app").start_as_current_span("handler") as span:
        assert session_body() == {"traceparent": traceparent_of(span)}
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", traceparent_of(span))


@pytest.mark.parametrize("flags, sent", [(0x01, "01"), (0x03, "01"), (0x00, "00"), (0x02, "00")])
def test_only_the_sampled_flag_is_sent(flags: int, sent: str) -> None:
    remote = trace.SpanContext(
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=trace.TraceFlags(flags),
    )
    ctx = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    assert session_body(ctx) == {
        "traceparent": f"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{sent}"
    }


# ---- the session ----


def test_a_block_creates_the_session_and_ends_it(api: FakeApi, spans: Any) -> None:
    with lemma.agent("planner", thread_id="t-1", user_id="u-1") as run:
        with lemma.proxy(ttl_seconds=3600) as session:
            assert [r.method for r in api.requests] == ["POST"]
    post, delete = api.requests
    assert post.path == "/api/v1/proxy/sessions"
    assert post.headers["authorization"] == "Bearer secret-key"
    assert post.headers["content-type"] == "application/json"
    assert post.body == {
        "traceparent": f"00-{run.run_id}-{run.span_id}-01",
        "thread_id": "t-1",
        "user_id": "u-1",
        "ttl_seconds": 3600,
    }
    assert (delete.method, delete.path, delete.body) == (
        "DELETE",
        f"/api/v1/proxy/sessions/{TOKEN}",
        None,
    )
    assert delete.headers["authorization"] == "Bearer secret-key"

    assert session.token == TOKEN
    assert session.expires_at == "2026-12-06T20:00:00Z"
    assert session.openai_base_url == f"{api.url}/proxy/session/{TOKEN}/openai/v1"
    assert session.anthropic_base_url == f"{api.url}/proxy/session/{TOKEN}/anthropic"
    assert session.env == {
        "OPENAI_BASE_URL": session.openai_base_url,
        "ANTHROPIC_BASE_URL": session.anthropic_base_url,
    }
    assert isinstance(session, lemma.ProxySession)
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.token = "other"  # type: ignore[misc]
    assert "secret-key" not in repr(session)
    assert dataclasses.asdict(session) == {
        "token": TOKEN,
        "expires_at": "2026-12-06T20:00:00Z",
        "openai_base_url": session.openai_base_url,
        "anthropic_base_url": session.anthropic_base_url,
        "env": session.env,
    }
    assert session == lemma.ProxySession.from_json(created(api.url, TOKEN))


def test_the_session_s_env_reaches_a_child_process(api: FakeApi) -> None:
    with lemma.proxy() as session:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os; print(os.environ['OPENAI_BASE_URL'], os.environ['ANTHROPIC_BASE_URL'])",
            ],
            env={**os.environ, **session.env},
            capture_output=True,
            text=True,
            check=True,
        )
    assert out.stdout.split() == [session.openai_base_url, session.anthropic_base_url]


def test_init_s_url_and_key_else_the_environment(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    lemma.init(api.url + "/v1/traces", "init-key", tracer_provider=TracerProvider(), batch=False)
    try:
        with lemma.proxy():
            pass
    finally:
        lemma.shutdown()
        _setup._state.endpoint = None
    monkeypatch.setenv("LEMMA_URL", api.url + "/")
    monkeypatch.setenv("LEMMA_API_KEY", "env-key")
    with lemma.proxy():
        pass
    assert [(r.method, r.path, r.headers["authorization"]) for r in api.requests] == [
        ("POST", "/api/v1/proxy/sessions", "Bearer init-key"),
        ("DELETE", f"/api/v1/proxy/sessions/{TOKEN}", "Bearer init-key"),
        ("POST", "/api/v1/proxy/sessions", "Bearer env-key"),
        ("DELETE", f"/api/v1/proxy/sessions/{TOKEN}", "Bearer env-key"),
    ]


def test_start_and_close_twice_is_harmless(api: FakeApi) -> None:
    session = lemma.proxy(user_id="u-9").start()
    assert api.requests[0].body == {"user_id": "u-9"}
    # Closed on the server it was created on, whatever Lemma's URL is by then.
    _setup._state.endpoint = ("http://127.0.0.1:9", "other-key")
    session.close()
    session.close()  # already ended: Lemma answers 404, which is fine
    assert [r.method for r in api.requests] == ["POST", "DELETE", "DELETE"]
    assert {r.headers["authorization"] for r in api.requests} == {"Bearer secret-key"}


def test_a_refused_session_raises_with_the_server_s_reason(api: FakeApi) -> None:
    api.reply["POST"] = (
        400,
        {"error": {"code": "bad_request", "message": "ttl_seconds must be at most 604800"}},
    )
    with pytest.raises(lemma.LemmaApiError) as raised:
        with lemma.proxy(ttl_seconds=10**7):
            pytest.fail("the block must not run")
    assert str(raised.value) == "ttl_seconds must be at most 604800"
    assert (raised.value.status, raised.value.code) == (400, "bad_request")
    assert [r.method for r in api.requests] == ["POST"]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_says_what_to_do(api: FakeApi, status: int) -> None:
    api.reply["POST"] = (status, {"error": {"code": "unauthorized", "message": "invalid API key"}})
    with pytest.raises(lemma.LemmaApiError) as raised:
        lemma.proxy().start()
    assert raised.value.status == status
    assert str(raised.value).startswith("invalid API key")
    assert "LEMMA_API_KEY" in str(raised.value)


def test_a_proxy_that_is_not_available_raises_503(api: FakeApi) -> None:
    api.reply["POST"] = (
        503,
        {"error": {"code": "unavailable", "message": "the LLM proxy is not enabled"}},
    )
    with pytest.raises(lemma.LemmaApiError) as raised:
        lemma.proxy().start()
    assert (raised.value.status, raised.value.code) == (503, "unavailable")


@pytest.mark.parametrize(
    "answer",
    [
        {"token": TOKEN},
        {"token": TOKEN, "expires_at": "x", "base_urls": {"openai": 1, "anthropic": "a"}},
        b"not json",
    ],
)
def test_an_answer_that_is_not_a_session_raises(api: FakeApi, answer: Any) -> None:
    api.reply["POST"] = (201, answer)
    with pytest.raises(lemma.LemmaApiError, match="unexpected answer from .*/proxy/sessions"):
        lemma.proxy().start()


def test_without_env_in_the_answer_it_is_made_from_the_base_urls() -> None:
    data = created("http://lemma", TOKEN)
    del data["env"]
    session = lemma.ProxySession.from_json(data)
    assert session.env == {
        "OPENAI_BASE_URL": f"http://lemma/proxy/session/{TOKEN}/openai/v1",
        "ANTHROPIC_BASE_URL": f"http://lemma/proxy/session/{TOKEN}/anthropic",
    }


def test_an_unreachable_server_raises_on_create() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _setup._state.endpoint = (f"http://127.0.0.1:{port}", "k")
    try:
        with pytest.raises(lemma.LemmaApiError) as raised:
            lemma.proxy(timeout=2).start()
    finally:
        _setup._state.endpoint = None
    assert raised.value.status is None
    assert f"not reachable at http://127.0.0.1:{port}/api/v1/proxy/sessions" in str(raised.value)


def test_a_failure_to_end_the_session_is_a_warning(
    api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.reply["DELETE"] = (500, {"error": {"code": "internal", "message": "disk full"}})
    with caplog.at_level(logging.WARNING, logger="lemma"):
        with lemma.proxy() as session:
            pass
    [record] = [r for r in caplog.records if r.name == "lemma"]
    assert f"could not end proxy session {TOKEN} (disk full)" in record.getMessage()
    assert session.expires_at in record.getMessage()
    # Called by hand, close() raises.
    with pytest.raises(lemma.LemmaApiError) as raised:
        session.close()
    assert raised.value.status == 500


def test_an_error_in_the_block_still_ends_the_session(api: FakeApi) -> None:
    with pytest.raises(RuntimeError, match="sub-agent failed"):
        with lemma.proxy():
            raise RuntimeError("sub-agent failed")
    assert [r.method for r in api.requests] == ["POST", "DELETE"]


def test_ending_an_already_ended_session_is_silent(
    api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="lemma"):
        with lemma.proxy() as session:
            session.close()
    assert [r.method for r in api.requests] == ["POST", "DELETE", "DELETE"]
    assert [r for r in caplog.records if r.name == "lemma"] == []


def test_nested_blocks_of_one_request_end_their_own_sessions(api: FakeApi) -> None:
    request = lemma.proxy()
    with request as outer:
        with request as inner:
            assert inner is not outer
        assert [r.method for r in api.requests] == ["POST", "POST", "DELETE"]
    assert [r.method for r in api.requests] == ["POST", "POST", "DELETE", "DELETE"]


def test_async_with_reads_the_task_s_span(api: FakeApi, spans: Any) -> None:
    async def main() -> tuple[str, str, lemma.ProxySession]:
        async with lemma.agent("async_planner", thread_id="t-async") as run:
            async with lemma.proxy() as session:
                return run.run_id, run.span_id, session

    run_id, span_id, session = asyncio.run(main())
    post, delete = api.requests
    assert post.body == {"traceparent": f"00-{run_id}-{span_id}-01", "thread_id": "t-async"}
    assert (delete.method, delete.path) == ("DELETE", f"/api/v1/proxy/sessions/{TOKEN}")
    assert session.token == TOKEN
