"""lemma.metric() and Run.metric(), against a local server that answers as Lemma's REST API."""

from __future__ import annotations

import json
import math
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import lemma
from lemma import _setup

RUN_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class FakeApi:
    """Records metric posts; answers 201 with the event as stored, or `reply` when set."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.reply: tuple[int, Any] | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw)
                api.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, answer = api.reply or (201, {"metrics": [stored(self.path, body)]})
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

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


def stored(path: str, body: dict[str, Any]) -> dict[str, Any]:
    run_id = path.split("/")[4]
    return {"id": "m-1", "run_id": run_id, "time_unix_nano": 1_700_000_000_000_000_000, **body}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    for name in ("LEMMA_URL", "LEMMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    _setup._state.endpoint = None
    server = FakeApi()
    yield server
    lemma.shutdown()
    _setup._state.endpoint = None
    server.close()


def test_posts_the_event_with_the_key_from_init_and_returns_it(api: FakeApi) -> None:
    lemma.init(api.url, "secret-key", tracer_provider=TracerProvider(), batch=False)
    got = lemma.metric(RUN_ID, "quality", 0.3, comment="missed the refund rule", span_id="ab" * 8)
    [(path, headers, body)] = api.posts
    assert path == f"/api/v1/runs/{RUN_ID}/metrics"
    assert headers["authorization"] == "Bearer secret-key"
    assert headers["content-type"] == "application/json"
    assert body == {
        "name": "quality",
        "value": 0.3,
        "comment": "missed the refund rule",
        "source": "sdk",
        "span_id": "abababababababab",
    }
    assert got == lemma.Metric(
        id="m-1",
        run_id=RUN_ID,
        name="quality",
        value=0.3,
        time_unix_nano=1_700_000_000_000_000_000,
        span_id="abababababababab",
        comment="missed the refund rule",
        source="sdk",
    )


def test_still_uses_init_s_server_after_shutdown(api: FakeApi) -> None:
    lemma.init(api.url + "/", "k", tracer_provider=TracerProvider(), batch=False)
    lemma.shutdown()
    lemma.metric(RUN_ID, "resolved", True)
    assert api.posts[0][0] == f"/api/v1/runs/{RUN_ID}/metrics"


def test_without_init_reads_the_environment(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEMMA_URL", api.url)
    monkeypatch.setenv("LEMMA_API_KEY", "env-key")
    got = lemma.metric(RUN_ID, "label", "refund", source="user")
    [(_, headers, body)] = api.posts
    assert headers["authorization"] == "Bearer env-key"
    assert body == {"name": "label", "value": "refund", "source": "user"}
    assert got.value == "refund" and got.source == "user" and got.comment is None


def test_source_none_and_booleans_are_sent_as_given(api: FakeApi) -> None:
    lemma.init(api.url, None, tracer_provider=TracerProvider(), batch=False)
    lemma.metric(RUN_ID, "resolved", False, source=None)
    [(_, headers, body)] = api.posts
    assert "authorization" not in headers
    assert body == {"name": "resolved", "value": False}


def test_run_metric_uses_the_run_s_id(api: FakeApi, spans: Any) -> None:
    _setup._state.endpoint = (api.url, "k")
    with lemma.agent("a") as run:
        during = run.metric("thumbs_up", 1, source="user")
    after = run.metric("latency_ok", True)
    assert [p[0] for p in api.posts] == [f"/api/v1/runs/{run.run_id}/metrics"] * 2
    assert (during.run_id, during.value, after.name) == (run.run_id, 1, "latency_ok")


def test_a_refused_event_raises_with_the_server_s_message(api: FakeApi) -> None:
    _setup._state.endpoint = (api.url, "k")
    api.reply = (
        400,
        {"error": {"code": "bad_request", "message": "a text value must be at most 1000"}},
    )
    with pytest.raises(lemma.LemmaApiError) as raised:
        lemma.metric(RUN_ID, "label", "x" * 1001)
    assert str(raised.value) == "a text value must be at most 1000"
    assert (raised.value.status, raised.value.code) == (400, "bad_request")


def test_a_wrong_key_says_what_to_do(api: FakeApi) -> None:
    _setup._state.endpoint = (api.url, "wrong")
    api.reply = (401, {"error": {"code": "unauthorized", "message": "invalid API key"}})
    with pytest.raises(lemma.LemmaApiError) as raised:
        lemma.metric(RUN_ID, "resolved", True)
    assert raised.value.status == 401
    assert str(raised.value).startswith("invalid API key")
    assert "LEMMA_API_KEY" in str(raised.value)


def test_an_answer_that_is_not_lemma_s_still_raises(api: FakeApi) -> None:
    _setup._state.endpoint = (api.url, "k")
    api.reply = (502, b"<html>bad gateway</html>")
    with pytest.raises(lemma.LemmaApiError) as raised:
        lemma.metric(RUN_ID, "resolved", True)
    assert raised.value.status == 502
    assert "HTTP 502" in str(raised.value)


def test_an_unreachable_server_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _setup._state.endpoint = (f"http://127.0.0.1:{port}", "k")
    try:
        with pytest.raises(lemma.LemmaApiError) as raised:
            lemma.metric(RUN_ID, "resolved", True, timeout=2)
    finally:
        _setup._state.endpoint = None
    assert raised.value.status is None
    assert f"not reachable at http://127.0.0.1:{port}/api/v1/runs/" in str(raised.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_values_json_cannot_carry_are_refused_before_sending(api: FakeApi, value: float) -> None:
    _setup._state.endpoint = (api.url, "k")
    with pytest.raises(ValueError, match="finite"):
        lemma.metric(RUN_ID, "score", value)
    assert api.posts == []
