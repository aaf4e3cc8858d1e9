"""Run.signals() against a local server that takes OTLP exports and answers the signals route as
Lemma's REST API does (the end-to-end test asks a real Lemma)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import lemma
from lemma import _setup

FLAGGED = {
    "kind": "jailbreak_attempt",
    "severity": "critical",
    "source": "attribute",
    "span_id": "00f067aa0ba902b7",
    "explanation": "guard marked a span",
    "score": 0.93,
    "label": "attack",
    "tool_name": None,
    "tool_args": None,
    "repeats": 0,
    "first_tool_index": 0,
    "first_span_id": None,
}
LOOP = {
    "kind": "loop",
    "severity": "warning",
    "source": "rule",
    "span_id": "00f067aa0ba902b8",
    "explanation": "search was called 3 times in a row with the same arguments",
    "tool_name": "search",
    "tool_args": {"q": "refund"},
    "repeats": 3,
    "first_tool_index": 1,
    "first_span_id": "00f067aa0ba902b8",
}


class FakeLemma:
    """Records requests in order: OTLP exports (`POST`) and signal reads (`GET`), answered with
    `reply` when set, else with two signals."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.reply: tuple[int, Any] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, answer: Any) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append(("POST", self.path, {}))
                self._answer(200, {})

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append(("GET", self.path, headers))
                run_id = self.path.split("/")[4]
                self._answer(
                    *(
                        fake.reply
                        or (
                            200,
                            {
                                "run_id": run_id,
                                "in_progress": True,
                                "span_count": 2,
                                "evaluated_at": "2026-12-06T22:00:00Z",
                                "signals": [FLAGGED, LOOP],
                            },
                        )
                    )
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


@pytest.fixture
def fake() -> Iterator[FakeLemma]:
    server = FakeLemma()
    # Batched, as by default: spans that ended wait in the exporter until flushed.
    lemma.init(server.url, "lm_ingest", tracer_provider=TracerProvider(), batch=True)
    yield server
    lemma.shutdown()
    _setup._state.endpoint = None
    server.close()


def test_flushes_then_asks_and_reads_the_answer(fake: FakeLemma) -> None:
    with lemma.agent("checker") as run:
        with lemma.tool("search", arguments={"q": "refund"}):
            pass
        answer = run.signals()
        # The tool call was exported before the question; the run's own span was still open.
        [export, (method, path, headers)] = fake.requests
        assert export[:2] == ("POST", "/v1/traces")
        assert (method, path) == ("GET", f"/api/v1/runs/{run.run_id}/signals")
        assert headers["authorization"] == "Bearer lm_ingest"

    assert answer == lemma.RunSignals(
        run_id=run.run_id,
        in_progress=True,
        span_count=2,
        evaluated_at="2026-12-06T22:00:00Z",
        signals=[lemma.Signal(**FLAGGED), lemma.Signal(**LOOP)],
    )
    assert answer.critical == [lemma.Signal(**FLAGGED)]
    assert answer.signals[1].tool_args == {"q": "refund"}


def test_a_refusal_raises_with_the_server_s_message(fake: FakeLemma) -> None:
    message = 'run 4bf9 not found in project "default"'
    fake.reply = (404, {"error": {"code": "not_found", "message": message}})
    with lemma.agent("checker") as run:
        with pytest.raises(lemma.LemmaApiError) as raised:
            run.signals()
    error = raised.value
    assert (error.status, error.code, str(error)) == (404, "not_found", message)
