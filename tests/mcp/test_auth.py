"""Keys: a wrong or missing key is refused on both transports, and a key sees its own project
only."""

import asyncio
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import LEMMA_BIN, OTHER_KEY, OTHER_RUN, URL, all_runs, call, ids_in, ok, session

INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
    b'"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
)


def post_mcp(headers):
    req = urllib.request.Request(
        f"{URL}/mcp",
        data=INITIALIZE,
        method="POST",
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer lm_wrong"}, {"x-api-key": "lm_wrong"}, {"Authorization": "Token x"}],
)
def test_http_refuses_a_wrong_or_missing_key(headers):
    status, response_headers, body = post_mcp(headers)
    assert status == 401, body
    assert response_headers.get("www-authenticate", "").startswith("Bearer")
    assert b"API key" in body


def test_http_accepts_each_way_of_sending_a_key():
    key = os.environ["LEMMA_API_KEY"]
    for headers in [{"Authorization": f"Bearer {key}"}, {"x-api-key": key}]:
        status, _, body = post_mcp(headers)
        assert status == 200, body
        assert b'"serverInfo":{"name":"lemma"' in body


def test_the_sdk_client_is_refused_with_a_wrong_key():
    async def go():
        async with session("http", key="lm_wrong") as s:
            await s.list_tools()

    # The SDK reports the refused initialisation as a failed request rather than a status.
    with pytest.raises(BaseException) as refused:
        asyncio.run(go())
    assert "error response" in repr(refused.value) or "401" in repr(refused.value), repr(refused.value)


def test_stdio_with_a_wrong_key_answers_every_tool_with_the_refusal():
    is_error, text = call("stdio", "search_runs", {}, key="lm_wrong")
    assert is_error
    assert "refused the API key" in text and "LEMMA_API_KEY" in text


def test_stdio_without_a_key_exits_saying_what_to_set():
    env = {"PATH": os.environ.get("PATH", ""), "LEMMA_URL": URL}
    done = subprocess.run([LEMMA_BIN, "mcp"], env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert "LEMMA_API_KEY" in done.stderr
    assert done.stdout == "", "stdout carries only the protocol"


def test_stdio_with_the_server_down_says_so():
    env = {"LEMMA_URL": "http://127.0.0.1:9", "LEMMA_API_KEY": "x", "PATH": os.environ.get("PATH", "")}

    async def go():
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(command=LEMMA_BIN, args=["mcp"], env=env)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return await s.call_tool("search_runs", {})

    result = asyncio.run(go())
    assert result.is_error
    assert "could not reach Lemma at http://127.0.0.1:9" in result.content[0].text


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_key_sees_its_own_project_only(transport):
    assert ids_in(ok(transport, "search_runs", {}, key=OTHER_KEY)) == [OTHER_RUN]
    main_runs = {r["run_id"] for r in all_runs()}
    assert OTHER_RUN not in main_runs
    is_error, text = call(transport, "get_run", {"run_id": OTHER_RUN})
    assert is_error and "not found" in text
    some_main_run = sorted(main_runs)[0]
    is_error, text = call(transport, "get_run", {"run_id": some_main_run}, key=OTHER_KEY)
    assert is_error and "not found" in text
    is_error, text = call(transport, "add_metric", {"run_id": OTHER_RUN, "name": "x", "value": 1})
    assert is_error and "not found" in text.lower()
