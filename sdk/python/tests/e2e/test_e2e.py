"""The SDK against a real `lemma serve`, checked through the REST API."""

from __future__ import annotations

import json

import re
import socket
import uuid
from pathlib import Path

import pytest
from e2e_support import HERE, outline, run_program

QUESTION = "Where is my order A-17?"
ANSWER = "Order A-17 has shipped and will arrive on Friday."


def by_name(body, name):
    found = [s for s in body["spans"] if s["name"] == name]
    assert len(found) == 1, f"{len(found)} spans named {name!r}:{outline(body)}"
    return found[0]


def root_of(body):
    [root] = [s for s in body["spans"] if not s.get("parent_span_id")]
    return root


def agent_span(body, agent_name):
    [span] = [
        s for s in body["spans"] if s.get("agent_name") == agent_name and s["kind"] == "agent"
    ]
    return span


def test_a_run_s_tree_input_output_and_run_id(api, scenario):
    s = scenario("basic")
    assert s["inside"] == s["run_id"]  # current_run_id() inside == last_run_id() after
    body = api.run(s["run_id"], 4)
    run = body["run"]
    assert run["run_id"] == s["run_id"]
    assert run["status"] == "ok"
    assert run["agent_name"] == "support_agent"
    assert run["input"] == QUESTION
    assert run["output"] == {"answer": ANSWER}
    assert run["user_id"] == "user-42"
    assert run["environment"] == "e2e"
    assert run["tags"] == ["e2e"]
    assert run["metadata"] == {"plan": "gold"}
    assert (run["input_tokens"], run["output_tokens"]) == (50, 20)
    assert run["kind_counts"] == {"agent": 1, "retrieval": 1, "tool": 1, "llm": 1}

    root = root_of(body)
    assert root["name"] == "ai.agent.run" and root["kind"] == "agent"
    assert root["resource"]["service.name"] == "sdk-python-e2e"
    for span in body["spans"]:
        assert span["user_id"] == "user-42", span["name"]
        if span is not root:
            assert span["parent_span_id"] == root["span_id"], outline(body)

    retrieval = by_name(body, "retrieval orders-kb")
    assert retrieval["kind"] == "retrieval"
    assert retrieval["input"] == QUESTION
    assert retrieval["output"] == [{"id": "kb-1", "content": "Orders ship within 2 days."}]

    tool = by_name(body, "execute_tool lookup_order")
    assert tool["kind"] == "tool"
    assert tool["tool_name"] == "lookup_order"
    assert tool["tool_args"] == {"order_id": "A-17"}
    assert tool["output"] == {"order_id": "A-17", "status": "shipped", "eta": "Friday"}

    llm = by_name(body, "chat gpt-4o-mini")
    assert llm["kind"] == "llm"
    assert llm["model"] == "gpt-4o-mini-2024-07-18"
    assert llm["provider"] == "openai"
    assert llm["response_id"] == "chatcmpl-e2e-1"
    assert (llm["input_tokens"], llm["output_tokens"]) == (50, 20)
    assert [m["role"] for m in llm["input_messages"]] == ["system", "user"]
    assert llm["input_messages"][1]["parts"] == [{"type": "text", "content": QUESTION}]
    assert llm["output_messages"][0]["parts"] == [{"type": "text", "content": ANSWER}]


def test_an_error_gives_status_error_with_the_exception(api, scenario):
    s = scenario("error")
    assert s["raised"] == "the order service is down"
    run = api.run(s["run_id"], 2)["run"]
    assert run["status"] == "error"
    assert run["status_message"] == "the order service is down"
    body = api.run(s["run_id"], 2)
    root = root_of(body)
    assert root["status"] == "error"
    [event] = [e for e in root["events"] if e["name"] == "exception"]
    assert event["attributes"]["exception.type"] == "RuntimeError"
    assert event["attributes"]["exception.message"] == "the order service is down"
    assert "in failing" in event["attributes"]["exception.stacktrace"]
    assert by_name(body, "execute_tool lookup_order")["status"] != "error"


def test_streaming_output_is_recorded_when_the_stream_ends(api, scenario):
    pause = 0.2
    s = scenario("stream", str(pause))
    assert s["text"] == ANSWER
    body = api.run(s["run_id"], 2)
    run = body["run"]
    assert run["output"] == ANSWER
    # Three items, each produced and consumed with a pause: the run covers all six pauses.
    assert run["duration_ms"] >= 6 * pause * 1000 * 0.95, run["duration_ms"]
    assert run["duration_ms"] <= s["elapsed_ms"] + 50
    root = root_of(body)
    assert (
        root["end_time_unix_nano"] - root["start_time_unix_nano"]
    ) / 1e6 >= 6 * pause * 1000 * 0.95


def test_runs_with_one_thread_id_form_one_thread(api, scenario):
    thread_id = f"thread-{uuid.uuid4()}"
    s = scenario("thread", thread_id)
    for run_id in s["run_ids"]:
        assert api.run(run_id, 2)["run"]["thread_id"] == thread_id
    body = api.thread(thread_id, 3)
    assert body["thread"]["thread_id"] == thread_id
    assert body["thread"]["run_count"] == 3
    assert body["thread"]["user_id"] == "user-7"
    assert [r["run_id"] for r in body["runs"]] == s["run_ids"]
    assert [r["input"] for r in body["runs"]] == ["Hi", "Where is A-17?", "Thanks"]


def test_nested_agents_are_sub_agents(api, scenario):
    s = scenario("nested")
    assert s["output"] == "plan from notes on shipping"
    body = api.run(s["run_id"], 3)
    run = body["run"]
    assert run["agent_name"] == "planner"
    assert run["agent_names"] == ["planner", "researcher"]
    planner, researcher = agent_span(body, "planner"), agent_span(body, "researcher")
    assert planner["parent_span_id"] in (None, "")
    assert researcher["parent_span_id"] == planner["span_id"]
    assert researcher["name"] == "ai.agent.run"
    assert researcher["output"] == "notes on shipping"
    assert by_name(body, "execute_tool lookup_order")["parent_span_id"] == researcher["span_id"]


def test_a_child_process_nests_under_its_parent_span(api, scenario):
    s = scenario("cross_process")
    assert s["child"]["run_id"] == s["run_id"]
    body = api.run(s["run_id"], 4)
    assert body["run"]["agent_names"] == ["dispatcher", "worker"]
    worker = agent_span(body, "worker")
    assert worker["parent_span_id"] == s["tool_span_id"]
    assert worker["output"] == "done: refund A-17"
    # The run context crossed the process boundary in baggage.
    assert worker["thread_id"] == "thread-cross-process"
    assert worker["metadata"] == {"team": "ops"}
    child_tool = by_name(body, "execute_tool lookup_order")
    assert child_tool["parent_span_id"] == worker["span_id"]
    assert child_tool["thread_id"] == "thread-cross-process"


def test_dual_export_delivers_the_same_spans_to_a_second_receiver(api, api2, scenario):
    s = scenario("dual")
    first, second = api.run(s["run_id"], 4), api2.run(s["run_id"], 4)
    assert {x["span_id"] for x in first["spans"]} == {x["span_id"] for x in second["spans"]}
    assert second["run"]["agent_name"] == "support_agent"
    assert second["run"]["output"] == {"answer": ANSWER}
    assert second["run"]["user_id"] == "user-42"


def test_lemma_added_to_the_app_s_own_tracer_provider(api, api2, scenario):
    s = scenario("reverse_dual")
    first, second = api.run(s["run_id"], 4), api2.run(s["run_id"], 4)
    assert {x["span_id"] for x in first["spans"]} == {x["span_id"] for x in second["spans"]}
    # The run context is on the spans the app's own exporter sent, too.
    assert all(x["user_id"] == "user-42" for x in second["spans"])


def test_an_openinference_openai_call_nests_under_the_agent(api, scenario):
    s = scenario("openinference")
    assert s["answer"] == ANSWER
    body = api.run(s["run_id"], 2)
    root = root_of(body)
    assert root["agent_name"] == "openai_agent"
    [llm] = [x for x in body["spans"] if x["kind"] == "llm"]
    assert llm["parent_span_id"] == root["span_id"]
    assert llm["attributes"]["openinference.span.kind"] == "LLM"
    assert llm["model"].startswith("gpt-4o-mini")
    assert (llm["input_tokens"], llm["output_tokens"]) == (50, 20)
    assert llm["thread_id"] == "thread-openinference"  # the run context reached their span
    assert body["run"]["output"] == ANSWER


def test_metric_events_before_and_after_the_spans_arrive(api, scenario):
    s = scenario("metrics")
    run_id = s["run_id"]
    # The first event was stored while the run's spans were still in the process.
    assert s["run_known_during"] is False
    body = api.run(run_id, 2)
    stored = api.get(f"/api/v1/runs/{run_id}/metrics")["metrics"]
    assert stored == body["run"]["metrics"]
    assert [{k: v for k, v in m.items() if v is not None} for m in s["posted"]] == stored
    brief = [(m["name"], m["value"], m.get("source"), m.get("comment")) for m in stored]
    assert brief == [
        ("resolved", True, "user", "answered in one go"),
        ("quality", 0.8, "evaluator", None),
        ("label", "refund", "sdk", None),
    ]
    assert all(m["run_id"] == run_id for m in stored)
    assert stored[1]["span_id"] == s["tool_span_id"]
    assert by_name(body, "execute_tool lookup_order")["span_id"] == s["tool_span_id"]
    # A bad value: nothing stored, the server's reason raised to the caller.
    assert s["bad"]["raised"] is True
    assert (s["bad"]["status"], s["bad"]["code"]) == (400, "bad_request")
    assert "at most 1000 characters" in s["bad"]["message"], s["bad"]


def test_a_proxy_session_inside_a_run(api, scenario):
    s = scenario("proxy")
    session = s["session"]
    token = session["token"]
    assert token.startswith("lps_"), session
    assert f"/proxy/session/{token}/openai/v1" in session["openai_base_url"]
    assert f"/proxy/session/{token}/anthropic" in session["anthropic_base_url"]
    assert session["env"]["OPENAI_BASE_URL"] == session["openai_base_url"]
    assert session["env"]["ANTHROPIC_BASE_URL"] == session["anthropic_base_url"]
    assert session["expires_at"], session
    # The child process saw both variables.
    assert s["child_env"] == {
        "OPENAI_BASE_URL": session["openai_base_url"],
        "ANTHROPIC_BASE_URL": session["anthropic_base_url"],
    }
    # Ended by the block: two more close() calls raised nothing, and Lemma knows it no more.
    assert s["delete_after_close"] == 404
    # The agent span the session was opened in was recorded as usual.
    body = api.run(s["run_id"], 1)
    assert body["run"]["agent_name"] == "proxy_parent"
    assert body["spans"][0]["span_id"] == s["span_id"]


def test_a_sub_agent_with_only_base_urls_is_recorded_inside_the_run(api, scenario):
    s = scenario("proxy_subagent")
    child = s["child"]
    # The real SDKs got the provider's answers through the proxy, streams included.
    assert child["openai"] == child["openai_streamed"].strip()
    assert "Friday" in child["openai"]
    assert child["anthropic_tool"] == ["lookup_order"]
    assert "Friday" in child["anthropic_streamed"]
    assert child["anthropic_usage"] == 20

    body = api.run(s["run_id"], 5)
    spans = body["spans"]
    assert len(spans) == 5, [sp["name"] for sp in spans]
    calls = [sp for sp in spans if sp["span_id"] != s["span_id"]]
    # One run: every model call of the child is a child of the agent span that opened the
    # session.
    assert all(c["parent_span_id"] == s["span_id"] for c in calls), calls
    assert all(c["kind"] == "llm" for c in calls), [c["kind"] for c in calls]
    assert sorted(c["provider"] for c in calls) == ["anthropic", "anthropic", "openai", "openai"]
    for c in calls:
        assert c["input_tokens"] == 50, c
        assert c["output_tokens"] in (12, 20), c
    tool = next(c for c in calls if c["output_tokens"] == 12)
    assert "lookup_order" in json.dumps(tool["output_messages"])
    run = body["run"]
    assert run["thread_id"] == "thread-subagent"
    assert run["user_id"] == "user-subagent"
    assert run["input_tokens"] == 200
    # The sub-agent's provider keys went through and were not recorded.
    assert "sk-subagent" not in json.dumps(body) and "sk-ant-subagent" not in json.dumps(body)


def test_a_run_reads_its_own_signals_while_it_runs(api, scenario):
    ingest_key = api.create_key("ingest")
    s = scenario("signals", env={"LEMMA_API_KEY": ingest_key})
    run_id, failed = s["run_id"], s["failed_span_ids"]
    checks = s["checks"]
    # Checked after each failure: the first two found nothing critical, the third a streak.
    assert len(checks) == 3, checks
    for seen, check in enumerate(checks, start=1):
        assert check["run_id"] == run_id
        # The agent span was still open, and every failed call had been flushed to Lemma.
        assert check["in_progress"] is True, check
        assert check["span_count"] == seen, check
    assert not [x for c in checks[:2] for x in c["signals"] if x["severity"] == "critical"]
    streak = checks[2]["signals"][0]  # most severe first
    assert streak["kind"] == "error_streak", checks[2]
    assert streak["severity"] == "critical"
    assert streak["source"] == "rule"
    assert streak["span_id"] == failed[0]  # the first failed tool call
    assert streak["repeats"] == 3
    assert "order service timed out" in streak["explanation"], streak

    # The agent escalated and ended its run; Lemma reads the whole run the same way.
    body = api.run(run_id, 4)
    assert body["run"]["has_root"] is True
    assert body["run"]["output"] == f"escalated: {streak['explanation']}"
    calls = [x for x in body["spans"] if x["kind"] == "tool"]
    assert sorted(x["span_id"] for x in calls) == sorted(failed)
    assert all(x["status"] == "error" for x in calls), outline(body)
    after = api.get(f"/api/v1/runs/{run_id}/signals")
    assert after is not None and after["in_progress"] is False
    assert after["signals"][0]["kind"] == "error_streak"


def test_experiments_run_score_link_and_compare(api, scenario):
    tag = uuid.uuid4().hex[:8]
    s = scenario("experiments", tag)
    dataset = f"arithmetic-{tag}"
    first, second = s["first"], s["second"]
    assert (first["dataset"], first["dataset_version"]) == (dataset, 1)
    # The same cases again reused the dataset's version.
    assert (second["dataset"], second["dataset_version"]) == (dataset, 1)
    by_case = {c["case_id"]: c for c in first["cases"]}
    assert [c["case_id"] for c in first["cases"]] == ["add", "mul", "div", "greet"]
    assert [c["output"] for c in first["cases"]] == ["4", "15", None, "hi"]
    # The failing case: its error recorded, scored on None; the custom scorer raised on it.
    div = by_case["div"]
    assert div["error"].startswith("ZeroDivisionError"), div
    assert div["scores"] == {"exact_match": False}
    assert div["score_errors"]["brevity"].startswith("TypeError"), div
    assert all(not c["score_errors"] for c in first["cases"] if c["case_id"] != "div")
    # No expected: exact_match does not apply.
    assert by_case["greet"]["scores"] == {"brevity": True}
    assert by_case["add"]["scores"] == {"exact_match": True, "brevity": True}
    assert first["scores"] == {"brevity": 1.0, "exact_match": 2 / 3}

    # Each case linked to the run that answered it.
    stored = api.get(f"/api/v1/experiments/{first['name']}")
    assert stored["experiment"]["dataset"] == dataset
    assert stored["experiment"]["metadata"] == {"agent": "calculator-v1"}
    assert {r["case_id"]: r["run_id"] for r in stored["runs"]} == {
        c["case_id"]: c["run_id"] for c in first["cases"]
    }
    for case in first["cases"]:
        spans = 1 if case["case_id"] == "greet" else 2
        run = api.run(case["run_id"], spans)["run"]
        assert run["agent_name"] == "calculator"
        assert run["metadata"] == {"case_id": case["case_id"], "experiment": first["name"]}
        assert run["input"] == case["input"]
        assert run["status"] == ("error" if case["error"] else "ok"), run
        # The scores are metric events on that run.
        metrics = api.get(f"/api/v1/runs/{case['run_id']}/metrics")["metrics"]
        assert {m["name"]: m["value"] for m in metrics} == case["scores"]
        assert {m["source"] for m in metrics} <= {"experiment"}
    assert api.run(by_case["add"]["run_id"], 2)["run"]["tags"] == ["easy"]

    # The second experiment: the previous one found, and the regression on "mul".
    assert second["previous"] == first["name"]
    assert second["compare_url"] == (
        f"{api.url}/api/v1/compare?experiments={first['name']},{second['name']}"
    )
    assert {c["case_id"]: c["scores"] for c in second["cases"]}["mul"] == {
        "exact_match": False,
        "contains": True,
    }
    comparison = s["comparison"]
    assert s["second_compared"] == comparison
    assert [e["name"] for e in comparison["experiments"]] == [first["name"], second["name"]]
    assert [(e["answered"], e["failed"]) for e in comparison["experiments"]] == [(4, 1), (4, 1)]
    assert comparison["regressions"] == 1
    [regressed] = [c for c in comparison["cases"] if c["regression"]]
    assert regressed["case_id"] == "mul"
    assert regressed["reasons"] == ["exact_match fell from 1 to 0 in experiment 2"]
    assert [r["output"] for r in regressed["results"]] == ["15", "16"]
    [exact] = [d for d in comparison["scores"] if d["name"] == "exact_match"]
    assert exact["delta"] == pytest.approx(-1 / 3)

    # Other cases: a new version, and a default name from the dataset and the time.
    third = s["third"]
    assert (third["dataset_version"], third["previous"]) == (2, second["name"])
    assert re.fullmatch(rf"{dataset}-\d{{8}}T\d{{6}}\.\d{{3}}Z", third["name"]), third["name"]
    assert [c["case_id"] for c in third["cases"]] == ["add", "mul", "div", "greet", "one"]
    assert api.get(f"/api/v1/datasets/{dataset}?version=1")["cases"][3] == {
        "id": "greet",
        "input": "say hi",
    }

    unknown, bad = s["errors"]["unknown"], s["errors"]["bad"]
    assert unknown["raised"] and unknown["status"] == 404, unknown
    assert f"no dataset 'no-such-{tag}'" in unknown["message"]
    assert bad["raised"] and bad["status"] == 400, bad
    assert "missing field `input`" in bad["message"]


def lemma_lines(stderr):
    return [line for line in stderr.splitlines() if "Lemma" in line]


def test_an_unreachable_server_warns_once_and_the_program_goes_on(scenario):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    s = scenario(
        "warning_only",
        env={"LEMMA_URL": url, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2"},
    )
    assert s["result"] == {"answer": ANSWER}
    [line] = lemma_lines(s.stderr)
    assert f"Lemma is not reachable at {url}/v1/traces" in line
    assert "LEMMA_URL" in line
    assert "Traceback" not in s.stderr and "Failed to export" not in s.stderr


def test_a_wrong_key_warns_once_and_the_program_goes_on(api, scenario):
    s = scenario("warning_only", env={"LEMMA_API_KEY": "lm_not_a_real_key"})
    assert s["result"] == {"answer": ANSWER}
    [line] = lemma_lines(s.stderr)
    assert f"Lemma rejected the API key (HTTP 401) at {api.url}/v1/traces" in line
    assert "LEMMA_API_KEY" in line and "lemma keys create" in line
    assert "Traceback" not in s.stderr and "Failed to export" not in s.stderr


def test_the_example_agent(api):
    example = Path(HERE).parents[1] / "examples" / "support_agent.py"
    result = run_program([str(example), "--json"])
    runs = result["runs"]
    assert len(runs) == 3
    for run_id in runs:
        assert re.fullmatch(r"[0-9a-f]{32}", run_id)
    first = api.run(runs[0], result["span_counts"][0])["run"]
    assert first["agent_name"] == "support_agent"
    assert first["thread_id"] == result["thread_id"]
    assert api.thread(result["thread_id"], 3)["thread"]["run_count"] == 3


WELCOME_SNIPPET = """
import lemma

lemma.init(url="{url}")  # reads the key from $LEMMA_API_KEY


@lemma.agent("support_agent")
def support(question: str) -> str:
    # model and tool calls made here nest under the run
    return "It ships on Friday."


support("Where is my order?")
lemma.shutdown()  # sends what is still buffered
"""


def test_the_dashboard_s_welcome_snippet(api, tmp_path):
    script = tmp_path / "welcome.py"
    # As the dashboard shows it, plus a line telling the test which run it was.
    script.write_text(
        WELCOME_SNIPPET.format(url=api.url)
        + "import json; print(json.dumps({'run_id': lemma.last_run_id()}))\n"
    )
    s = run_program([str(script)], env={"LEMMA_URL": "http://127.0.0.1:9"})  # url= wins
    run = api.run(s["run_id"], 1)["run"]
    assert run["agent_name"] == "support_agent"
    assert run["input"] == "Where is my order?"
    assert run["output"] == "It ships on Friday."
    assert run["status"] == "ok"


def test_init_again_after_shutdown(api, scenario):
    s = scenario("reinit")
    for run_id, name in zip(s["run_ids"], ["first", "second"]):
        assert api.run(run_id, 1)["run"]["agent_name"] == name
