"""What the end-to-end tests share: the REST API client and running scenario programs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios.py"
SCENARIO_TIMEOUT = 120
WAIT = 30.0


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: the end-to-end tests run against real servers started by "
            "`cargo test -p lemma-cli --test integration sdk_python::` (or set LEMMA_URL, LEMMA_API_KEY, "
            "LEMMA_URL_2 and OPENAI_BASE_URL yourself)",
            pytrace=False,
        )
    return value


class Api:
    """Lemma's REST API on one server."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url.rstrip("/")
        self.key = key

    def get(self, path: str) -> dict[str, Any] | None:
        """The JSON at `path`, or None for a 404."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.key}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def create_key(self, scope: str) -> str:
        """A new key of the project with `scope` (`ingest`, `read`, `admin`): its secret."""
        request = urllib.request.Request(
            self.url + "/api/v1/keys",
            data=json.dumps({"scope": scope}).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["secret"])

    def delete(self, path: str) -> int:
        """DELETE `path`; its HTTP status."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {self.key}"}, method="DELETE"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    def run(self, run_id: str, span_count: int) -> dict[str, Any]:
        """`{run, spans}` once the run has all `span_count` spans (waiting for them a while)."""
        deadline = time.monotonic() + WAIT
        body = None
        while time.monotonic() < deadline:
            body = self.get(f"/api/v1/runs/{run_id}")
            if body is not None and body["run"]["span_count"] >= span_count:
                assert body["run"]["span_count"] == span_count, outline(body)
                return body
            time.sleep(0.1)
        found = outline(body) if body else "no such run"
        raise AssertionError(f"run {run_id} did not get {span_count} spans; it has: {found}")

    def thread(self, thread_id: str, run_count: int) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        body = None
        while time.monotonic() < deadline:
            body = self.get(f"/api/v1/threads/{urllib.parse.quote(thread_id)}")
            if body is not None and body["thread"]["run_count"] >= run_count:
                return body
            time.sleep(0.1)
        raise AssertionError(f"thread {thread_id} did not get {run_count} runs: {body}")


def outline(body: dict[str, Any]) -> str:
    """The span tree of a run, one span a line, for failure messages."""
    spans = body["spans"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {s["span_id"] for s in spans}
    for s in sorted(spans, key=lambda s: s["start_time_unix_nano"]):
        parent = s.get("parent_span_id") if s.get("parent_span_id") in ids else None
        children.setdefault(parent, []).append(s)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in children.get(parent, []):
            lines.append(f"{'  ' * depth}{s['name']} [{s['kind']}] {s.get('status')}")
            walk(s["span_id"], depth + 1)

    walk(None, 0)
    return "\n" + "\n".join(lines)


class Scenario:
    """What one scenario program printed."""

    def __init__(self, result: dict[str, Any], stderr: str) -> None:
        self.result = result
        self.stderr = stderr

    def __getitem__(self, key: str) -> Any:
        return self.result[key]


def run_program(args: list[str], env: dict[str, str] | None = None) -> Scenario:
    """Runs a Python program to completion; its last line of output is its JSON result."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run(
        [sys.executable, *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT,
    )
    assert done.returncode == 0, (
        f"{args} failed ({done.returncode})\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"{args} printed nothing\nstderr:\n{done.stderr}"
    return Scenario(json.loads(lines[-1]), done.stderr)
