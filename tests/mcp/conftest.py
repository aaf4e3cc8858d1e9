"""Connections to Lemma's MCP server with the official MCP Python SDK, and Lemma's REST API to
check the tools' answers against.

crates/lemma-cli/tests/integration/mcp.rs starts a real `lemma serve` loaded with shared/fixtures and sets:
LEMMA_URL, LEMMA_API_KEY (the fixtures' project), LEMMA_OTHER_KEY and LEMMA_OTHER_RUN (a second
project and its one run), and LEMMA_BIN (the `lemma` binary, for `lemma mcp` over stdio).
"""

import asyncio
import contextlib
import datetime
import json
import os
import re
import urllib.parse
import urllib.request

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

URL = os.environ["LEMMA_URL"]
KEY = os.environ["LEMMA_API_KEY"]
OTHER_KEY = os.environ["LEMMA_OTHER_KEY"]
OTHER_RUN = os.environ["LEMMA_OTHER_RUN"]
LEMMA_BIN = os.environ["LEMMA_BIN"]

TRANSPORTS = ["stdio", "http"]
TOOLS = {
    "search_runs",
    "get_run",
    "get_span",
    "get_run_signals",
    "compare_experiments",
    "list_threads",
    "get_thread",
    "get_stats",
    "recent_errors",
    "add_metric",
}

RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")


@contextlib.asynccontextmanager
async def session(transport, key=KEY):
    """An initialised MCP client session with Lemma over `transport`."""
    if transport == "stdio":
        params = StdioServerParameters(
            command=LEMMA_BIN,
            args=["mcp"],
            env={"LEMMA_URL": URL, "LEMMA_API_KEY": key, "PATH": os.environ.get("PATH", "")},
        )
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                yield s
    else:
        async with httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            async with streamable_http_client(f"{URL}/mcp", http_client=http) as streams:
                async with ClientSession(streams[0], streams[1]) as s:
                    await s.initialize()
                    yield s


def call(transport, tool, args, key=KEY):
    """Calls one tool in a fresh session; returns (is_error, text)."""

    async def go():
        async with session(transport, key) as s:
            result = await s.call_tool(tool, args)
            assert len(result.content) == 1, result
            return bool(result.is_error), result.content[0].text

    return asyncio.run(go())


def ok(transport, tool, args, key=KEY):
    """The text of a tool call that must succeed."""
    is_error, text = call(transport, tool, args, key)
    assert not is_error, f"{tool} {args} failed: {text}"
    return text


def api(path, key=KEY, **query):
    """GET /api/v1/<path> from Lemma's REST API."""
    q = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    req = urllib.request.Request(
        f"{URL}/api/v1/{path}" + (f"?{q}" if q else ""),
        headers={"Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def all_runs(q=""):
    """Every run of the fixtures' project matching `q`, newest first."""
    runs, cursor = [], None
    while True:
        page = api("runs", q=q, limit=1000, cursor=cursor)
        runs += page["runs"]
        cursor = page["next_cursor"]
        if not cursor:
            return runs


def data_range():
    """`(from, to)` as RFC 3339 times: a day either side of the fixtures' runs. Ranges in the
    tests come from the data, never from the clock: the recorded traffic keeps its own
    timestamps, so "the last 7 days" would find it only while the recording is young."""
    runs = all_runs()
    starts = [r["start_time"] for r in runs]
    ends = [r["end_time"] for r in runs]
    day = datetime.timedelta(days=1)
    first = datetime.datetime.fromisoformat(min(starts).replace("Z", "+00:00")) - day
    last = datetime.datetime.fromisoformat(max(ends).replace("Z", "+00:00")) + day
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return first.strftime(fmt), last.strftime(fmt)


def runs_word(n):
    """How the tools count runs: "1 run", "2 runs"."""
    return f"{n} run" if n == 1 else f"{n} runs"


def ids_in(text):
    """The run IDs a run list names, in order (each line starts with one)."""
    return [m.group(0) for line in text.splitlines() if (m := RUN_ID.match(line))]


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param
