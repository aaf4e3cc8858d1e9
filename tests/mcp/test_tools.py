"""Every tool, over stdio (`lemma mcp`) and Streamable HTTP (`/mcp`), checked against the REST
API's answers for the same data."""

import asyncio
import json
import re

from conftest import TOOLS, all_runs, api, call, data_range, ids_in, ok, runs_word, session

SPAN_ID = re.compile(r"#([0-9a-f]{16})$")


def only(runs):
    assert len(runs) == 1, [r["run_id"] for r in runs]
    return runs[0]


def test_lists_every_tool_with_a_description_and_schema(transport):
    async def go():
        async with session(transport) as s:
            return (await s.list_tools()).tools

    tools = {t.name: t for t in asyncio.run(go())}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description) > 80, tool.name
        schema = tool.input_schema
        assert schema["type"] == "object", tool.name
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    assert tools["get_run"].input_schema["required"] == ["run_id"]
    assert set(tools["get_span"].input_schema["required"]) == {"run_id", "span_id"}
    assert set(tools["add_metric"].input_schema["required"]) == {"run_id", "name", "value"}
    assert tools["get_run"].annotations.read_only_hint is True
    assert tools["add_metric"].annotations.read_only_hint is False


def test_search_runs_lists_what_the_api_lists(transport):
    every = [r["run_id"] for r in all_runs()]
    text = ok(transport, "search_runs", {"limit": 100})
    assert ids_in(text) == every
    assert text.startswith(f"{len(every)} runs, newest first:")

    failed = [r["run_id"] for r in all_runs("status:error")]
    assert failed, "the fixtures hold a failed run"
    text = ok(transport, "search_runs", {"query": "status:error"})
    assert ids_in(text) == failed
    assert "ERROR" in text and "OrderServiceDown" in text

    looping = only(all_runs("signal:loop"))
    text = ok(transport, "search_runs", {"query": "signal:loop"})
    assert ids_in(text) == [looping["run_id"]]
    assert "signal loop: read_file ×12" in text


def test_search_runs_pages_with_the_cursor(transport):
    every = [r["run_id"] for r in all_runs()]
    seen, args = [], {"limit": 3}
    while True:
        text = ok(transport, "search_runs", args)
        seen += ids_in(text)
        cursor = re.search(r'cursor="([^"]+)"', text)
        if not cursor:
            break
        args = {"limit": 3, "cursor": cursor.group(1)}
    assert seen == every


def test_get_run_reads_the_long_run_as_a_paged_transcript(transport):
    run = only(all_runs("agent:coding_agent"))
    pages, offset = [], 0
    while True:
        text = ok(
            transport,
            "get_run",
            {"run_id": run["run_id"], "max_chars": 4000, "offset": offset},
        )
        assert len(text) <= 4000, len(text)
        assert text.startswith(f"run {run['run_id']} · ")
        pages.append(text)
        more = re.search(r"ask with offset=(\d+)\n$", text)
        if not more:
            break
        assert int(more.group(1)) > offset
        offset = int(more.group(1))
    assert len(pages) >= 2, "a 222-span run does not fit 4000 characters"
    whole = "\n".join(pages)
    assert "User: Fix the failing billing tests in this repository." in whole
    assert "× 12 identical read_file calls" in whole
    assert "× 8 identical run_tests calls" in whole
    # The run's facts head the first page only.
    assert f"thread {run['thread_id']}" in pages[0].splitlines()[1]
    assert "signal loop: read_file ×12" in pages[0]
    assert all("signal loop" not in p for p in pages[1:])


def test_get_run_tree_names_every_span_it_shows(transport):
    run = only(all_runs("status:error"))
    spans = api(f"runs/{run['run_id']}")["spans"]
    text = ok(transport, "get_run", {"run_id": run["run_id"], "view": "tree"})
    lines = text.splitlines()
    assert "span tree" in lines[0] and "ERROR" in lines[0]
    shown = [m.group(1) for line in lines if (m := SPAN_ID.search(line))]
    assert sorted(shown) == sorted(s["span_id"] for s in spans)
    failed_tool = next(s for s in spans if s["kind"] == "tool")
    line = next(l for l in lines if l.endswith("#" + failed_tool["span_id"]))
    assert '{"order_id":"A-17"}' in line and "OrderServiceDown" in line

    long_run = only(all_runs("agent:coding_agent"))
    tree = ok(transport, "get_run", {"run_id": long_run["run_id"], "view": "tree", "max_chars": 100000})
    assert "× 12 identical read_file calls" in tree
    long_ids = {s["span_id"] for s in api(f"runs/{long_run['run_id']}")["spans"]}
    shown = [m.group(1) for line in tree.splitlines() if (m := SPAN_ID.search(line.split("  ×")[0]))]
    assert shown and set(shown) <= long_ids
    assert len(shown) < len(long_ids), "folded calls show one line"


def test_get_span_returns_the_span_whole_and_pages_it(transport):
    run = only(all_runs("status:error"))
    spans = api(f"runs/{run['run_id']}")["spans"]
    tool = next(s for s in spans if s["kind"] == "tool")
    text = ok(transport, "get_span", {"run_id": run["run_id"], "span_id": tool["span_id"], "max_chars": 100000})
    heading, body = text.split("\n", 1)
    assert heading == f"span {tool['span_id']} of run {run['run_id']}:"
    shown = json.loads(body)
    assert list(shown)[:3] == ["name", "kind", "span_id"]
    for key, value in tool.items():
        if value in (None, [], {}) or (key.startswith("dropped_") and value == 0):
            assert key not in shown, key
        else:
            assert shown[key] == value, key
    assert "OrderServiceDown" in shown["events"][0]["attributes"]["exception.stacktrace"]

    # Paged by character: the pages put back together are the same JSON.
    pieces, offset = [], 0
    while True:
        page = ok(
            transport,
            "get_span",
            {"run_id": run["run_id"], "span_id": tool["span_id"], "max_chars": 1000, "offset": offset},
        ).split("\n", 1)[1]
        more = re.search(r"\n… \d+ more characters .*offset=(\d+)\n$", page)
        pieces.append(page[: more.start()] if more else page)
        if not more:
            break
        offset = int(more.group(1))
    assert len(pieces) > 1
    assert json.loads("".join(pieces)) == shown


def test_threads_list_and_read_turn_by_turn(transport):
    threads = api("threads", limit=100)["threads"]
    text = ok(transport, "list_threads", {"limit": 100})
    listed = [line.split(" · ")[0] for line in text.splitlines()[1:]]
    assert listed == [t["thread_id"] for t in threads]
    assert "thread-42 · 2 runs (1 failed)" in text

    runs = api("threads/thread-42")["runs"]
    text = ok(transport, "get_thread", {"thread_id": "thread-42"})
    assert text.startswith("thread thread-42 · 2 runs · 1 failed")
    turns = re.findall(r"^turn (\d+) · .* · run ([0-9a-f]{32}) · ", text, re.M)
    assert turns == [("1", runs[0]["run_id"]), ("2", runs[1]["run_id"])]
    assert "  user: Where is my order A-17?" in text
    assert "  user: And where is order A-17 now?" in text
    assert "ERROR" in text.split("turn 2")[1]


def test_stats_agree_with_the_api(transport):
    start, end = data_range()
    stats = api("stats", **{"from": start, "to": end})
    t = stats["totals"]
    assert t["runs"] == len(all_runs()), "the range derived from the data holds every run"
    text = ok(transport, "get_stats", {"from": start, "to": end})
    assert f"{runs_word(t['runs'])} · {t['errors']} failed" in text
    assert f"tokens {t['total_tokens']} ({t['input_tokens']} in, {t['output_tokens']} out)" in text
    for agent in stats["by_agent"]:
        assert f"\n{agent['agent'] or '(no agent)'} · {agent['runs']} run" in text
    for model in stats["by_model"]:
        assert f"\n{model['model']}" in text and f"{model['total_tokens']} tokens" in text

    narrowed = api("stats", q="agent:coding_agent", **{"from": start, "to": end})["totals"]
    assert narrowed["runs"] == len(all_runs("agent:coding_agent")) > 0
    text = ok(transport, "get_stats", {"from": start, "to": end, "query": "agent:coding_agent", "series_bucket": "1d"})
    assert f"{runs_word(narrowed['runs'])} · " in text
    assert "Series (86400s buckets" in text


def test_recent_errors_group_failures_by_message(transport):
    since, _ = data_range()
    failed = api("spans", q=f"status:error since:{since}", limit=1000)["spans"]
    assert failed, "the fixtures hold failed spans"
    text = ok(transport, "recent_errors", {"since": since})
    assert f"in {len(failed)} failed spans" in text
    assert "OrderServiceDown: order service unavailable for A-17" in text
    assert "SMTP relay refused connection" in text
    # The coding run's eight run_tests failures are one kind of failure.
    assert re.search(r"1 run, 8 spans · .* in run_tests ×8", text), text
    examples = re.findall(r"e\.g\. run ([0-9a-f]{32}) span ([0-9a-f]{16})", text)
    failed_ids = {(s["trace_id"], s["span_id"]) for s in failed}
    assert examples and set(examples) <= failed_ids

    narrowed = ok(transport, "recent_errors", {"since": since, "query": "tool:lookup_order", "limit": 1})
    assert "OrderServiceDown" in narrowed and "run_tests" not in narrowed


def test_add_metric_attaches_and_can_be_searched(transport):
    run = only(all_runs("status:error"))
    name = f"mcp_resolved_{transport}"
    text = ok(
        transport,
        "add_metric",
        {"run_id": run["run_id"], "name": name, "value": False, "comment": "order service was down"},
    )
    assert f"{name}=false (mcp): order service was down" in text
    stored = [m for m in api(f"runs/{run['run_id']}/metrics")["metrics"] if m["name"] == name]
    assert len(stored) == 1
    assert (stored[0]["value"], stored[0]["source"]) == (False, "mcp")

    assert ids_in(ok(transport, "search_runs", {"query": f"metric.{name}=false"})) == [run["run_id"]]
    page = ok(transport, "get_run", {"run_id": run["run_id"]})
    assert f"metrics: {name}=false (mcp)" in page or f"; {name}=false (mcp)" in page

    # Before the run's spans exist: accepted, and found once they arrive (the metric tests
    # cover the arrival; here the event is stored under the ID).
    early = "0af7651916cd43dd8448eb211c80319c"
    ok(transport, "add_metric", {"run_id": early, "name": "score", "value": 0.5, "source": "judge"})
    assert api(f"runs/{early}/metrics")["metrics"][-1]["value"] == 0.5


def test_bad_arguments_are_tool_errors_that_say_how_to_fix_them(transport):
    cases = [
        ("get_run", {"run_id": "run-1"}, "32 hex characters"),
        ("get_run", {"run_id": "0af7651916cd43dd8448eb211c80319d", "view": "graph"}, "`transcript` or `tree`"),
        ("get_run", {"run_id": "0af7651916cd43dd8448eb211c80319d"}, "not found"),
        ("get_run", {"run_id": "0af7651916cd43dd8448eb211c80319d", "max_chars": 10}, "between 1000 and 100000"),
        ("search_runs", {"query": "status:"}, "position 7"),
        ("search_runs", {"limit": 0}, "`limit` must be between 1 and 100"),
        ("search_runs", {"qurey": "x"}, "qurey"),
        ("get_span", {"run_id": only(all_runs("status:error"))["run_id"], "span_id": "00f067aa0ba902b7"}, 'view "tree"'),
        ("get_thread", {"thread_id": "no-such-thread"}, "not found"),
        ("get_stats", {"from": "yesterday"}, "from"),
        ("recent_errors", {"since": "1 day"}, "`since` must be one time"),
        ("add_metric", {"run_id": "0af7651916cd43dd8448eb211c80319c", "name": "bad name!", "value": 1}, "may only contain"),
        ("add_metric", {"run_id": "0af7651916cd43dd8448eb211c80319c", "name": "x", "value": [1]}, "`value` must be a number, a boolean or a string"),
        ("get_stats", {"from": "3000d", "series_bucket": "1m"}, "wider bucket"),
    ]
    for tool, args, hint in cases:
        is_error, text = call(transport, tool, args)
        assert is_error, f"{tool} {args} succeeded: {text}"
        assert hint in text, f"{tool} {args}: {text!r} does not say {hint!r}"
