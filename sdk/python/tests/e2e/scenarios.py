"""The programs the end-to-end tests run, one function each: `python scenarios.py <name>`.

Each sets Lemma up from the environment (LEMMA_URL, LEMMA_API_KEY) as a user's program would,
does its work, shuts down (which flushes), and prints a JSON line for the test to check the API
against.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable

import lemma

QUESTION = "Where is my order A-17?"
ANSWER = "Order A-17 has shipped and will arrive on Friday."
SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {}


def scenario(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    SCENARIOS[fn.__name__] = fn
    return fn


# ---- a small support agent, shared by several scenarios ----


@lemma.retrieval("orders-kb", top_k=1)
def search_kb(query: str) -> list:
    return [{"id": "kb-1", "content": "Orders ship within 2 days."}]


@lemma.tool
def lookup_order(order_id: str) -> dict:
    return {"order_id": order_id, "status": "shipped", "eta": "Friday"}


def call_model(question: str, order: dict) -> str:
    messages = [
        {"role": "system", "content": "You answer questions about orders."},
        {"role": "user", "content": question},
    ]
    with lemma.llm("gpt-4o-mini", provider="openai", input_messages=messages) as call:
        call.set_output_messages([{"role": "assistant", "content": ANSWER}])
        call.set_usage(input_tokens=50, output_tokens=20)
        call.set_finish_reasons(["stop"])
        call.set_response(id="chatcmpl-e2e-1", model="gpt-4o-mini-2024-07-18")
    return ANSWER


SEEN: dict[str, Any] = {}


@lemma.agent("support_agent", user_id="user-42", tags=["e2e"], metadata={"plan": "gold"})
def support(question: str) -> dict:
    SEEN["current_run_id"] = lemma.current_run_id()
    search_kb(question)
    order = lookup_order("A-17")
    return {"answer": call_model(question, order)}


@scenario
def basic() -> dict[str, Any]:
    result = support(QUESTION)
    return {"run_id": lemma.last_run_id(), "inside": SEEN["current_run_id"], "result": result}


@scenario
def error() -> dict[str, Any]:
    @lemma.agent("failing_agent")
    def failing(question: str) -> str:
        lookup_order("A-17")
        raise RuntimeError("the order service is down")

    try:
        failing(QUESTION)
    except RuntimeError as e:
        return {"run_id": lemma.last_run_id(), "raised": str(e)}
    raise SystemExit("the error was not re-raised")


@scenario
def stream(pause: str) -> dict[str, Any]:
    delay = float(pause)

    @lemma.agent("streaming_agent")
    def answer(question: str) -> Iterator[str]:
        lookup_order("A-17")
        for word in ["Order A-17 ", "has shipped ", "and will arrive on Friday."]:
            time.sleep(delay)
            yield word

    started = time.monotonic()
    chunks = []
    run_id = None
    for chunk in answer(QUESTION):
        run_id = lemma.last_run_id()
        chunks.append(chunk)
        time.sleep(delay)  # the consumer's time counts too: the run lasts until the stream ends
    elapsed = time.monotonic() - started
    return {"run_id": run_id, "text": "".join(chunks), "elapsed_ms": elapsed * 1000}


@scenario
def thread(thread_id: str) -> dict[str, Any]:
    run_ids = []
    for turn, question in enumerate(["Hi", "Where is A-17?", "Thanks"], start=1):
        with lemma.agent(
            "chat_agent", input=question, thread_id=thread_id, user_id="user-7"
        ) as run:
            with lemma.tool("remember", arguments={"turn": turn}) as t:
                t.set_result("ok")
            run.set_output(f"answer {turn}")
        run_ids.append(run.run_id)
        time.sleep(0.01)
    return {"run_ids": run_ids}


@scenario
def nested() -> dict[str, Any]:
    @lemma.agent("researcher")
    def research(topic: str) -> str:
        lookup_order("A-17")
        return f"notes on {topic}"

    @lemma.agent("planner")
    def plan(goal: str) -> str:
        return "plan from " + research(goal)

    output = plan("shipping")
    return {"run_id": lemma.last_run_id(), "output": output}


@scenario
def cross_process() -> dict[str, Any]:
    @lemma.agent("dispatcher", thread_id="thread-cross-process", metadata={"team": "ops"})
    def dispatch(task: str) -> str:
        with lemma.tool("spawn_worker", arguments={"task": task}) as t:
            done = subprocess.run(
                [sys.executable, __file__, "child_worker", task],
                env={**os.environ, **lemma.context_env()},
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode != 0:
                raise RuntimeError(f"the worker failed: {done.stderr}")
            child = json.loads(done.stdout.strip().splitlines()[-1])
            t.set_result(child)
            return json.dumps({"tool_span_id": t.span_id, "child": child})

    result = json.loads(dispatch("refund A-17"))
    return {"run_id": lemma.last_run_id(), **result}


@scenario
def child_worker(task: str) -> dict[str, Any]:
    """Run by cross_process in a child process, with TRACEPARENT and BAGGAGE set."""
    with lemma.continue_from(os.environ):

        @lemma.agent("worker")
        def work(t: str) -> str:
            lookup_order("A-17")
            return f"done: {t}"

        output = work(task)
        return {"run_id": lemma.last_run_id(), "output": output}


@scenario
def openinference() -> dict[str, Any]:
    import openai
    from openinference.instrumentation.openai import OpenAIInstrumentor

    # Instrumentation set up after lemma.init() uses the global provider Lemma created.
    OpenAIInstrumentor().instrument()
    client = openai.OpenAI(api_key="sk-fake", max_retries=0)

    @lemma.agent("openai_agent", thread_id="thread-openinference")
    def ask(question: str) -> str:
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
        )
        return response.choices[0].message.content or ""

    answer = ask(QUESTION)
    return {"run_id": lemma.last_run_id(), "answer": answer}


@scenario
def warning_only() -> dict[str, Any]:
    """A server that is down or rejects the key: the program goes on and ends normally."""
    result = support(QUESTION)
    return {"result": result}


@scenario
def dual() -> dict[str, Any]:
    """Lemma plus a second OTLP destination (another Lemma server, with the same key)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    second = OTLPSpanExporter(
        endpoint=os.environ["LEMMA_URL_2"].rstrip("/") + "/v1/traces",
        headers={"Authorization": f"Bearer {os.environ['LEMMA_API_KEY']}"},
    )
    lemma.init(service_name="sdk-python-e2e", also_export_to=[second])
    support(QUESTION)
    return {"run_id": lemma.last_run_id()}


@scenario
def reverse_dual() -> dict[str, Any]:
    """The app's own tracer provider exporting elsewhere (the second server), with Lemma added
    as one more span processor."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(
                endpoint=os.environ["LEMMA_URL_2"].rstrip("/") + "/v1/traces",
                headers={"Authorization": f"Bearer {os.environ['LEMMA_API_KEY']}"},
            )
        )
    )
    provider.add_span_processor(lemma.span_processor())
    trace.set_tracer_provider(provider)
    support(QUESTION)
    provider.shutdown()
    return {"run_id": lemma.last_run_id()}


@scenario
def reinit() -> dict[str, Any]:
    """Set up, shut down, and set up again in one program."""
    with lemma.agent("first") as first:
        pass
    lemma.shutdown()
    lemma.init(service_name="sdk-python-e2e")
    with lemma.agent("second") as second:
        pass
    return {"run_ids": [first.run_id, second.run_id]}


@scenario
def metrics() -> dict[str, Any]:
    """Metric events posted during a run, after it (spans still buffered) and after a flush."""
    from e2e_support import Api

    api = Api(os.environ["LEMMA_URL"], os.environ["LEMMA_API_KEY"])
    with lemma.agent("scored_agent", input=QUESTION) as run:
        with lemma.tool("lookup_order", arguments={"order_id": "A-17"}) as t:
            t.set_result({"status": "shipped"})
        during = run.metric("resolved", True, source="user", comment="answered in one go")
        run_known_during = api.get(f"/api/v1/runs/{run.run_id}") is not None
        run.set_output(ANSWER)
    before_flush = lemma.metric(run.run_id, "quality", 0.8, source="evaluator", span_id=t.span_id)
    lemma.flush()
    after_flush = lemma.metric(run.run_id, "label", "refund")
    try:
        lemma.metric(run.run_id, "label", "x" * 1001)
        bad: dict[str, Any] = {"raised": False}
    except lemma.LemmaApiError as e:
        bad = {"raised": True, "message": str(e), "status": e.status, "code": e.code}
    return {
        "run_id": run.run_id,
        "tool_span_id": t.span_id,
        "run_known_during": run_known_during,
        "posted": [dataclasses.asdict(m) for m in (during, before_flush, after_flush)],
        "bad": bad,
    }


@scenario
def proxy() -> dict[str, Any]:
    """A proxy session opened inside a run's agent span and handed to a child process through
    its environment; ended by the block, then closed twice more (both harmless)."""
    from e2e_support import Api

    api = Api(os.environ["LEMMA_URL"], os.environ["LEMMA_API_KEY"])
    names = ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")
    show_env = f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {names!r}}}))"
    with lemma.agent("proxy_parent", input=QUESTION, thread_id="thread-proxy") as run:
        with lemma.proxy(user_id="user-proxy", ttl_seconds=600) as session:
            child = subprocess.run(
                [sys.executable, "-c", show_env],
                env={**os.environ, **session.env},
                capture_output=True,
                text=True,
                check=True,
            )
        session.close()
        session.close()
        # Lemma itself says the session is gone.
        gone = api.delete(f"/api/v1/proxy/sessions/{session.token}")
        run.set_output(ANSWER)
    return {
        "run_id": run.run_id,
        "span_id": run.span_id,
        "session": dataclasses.asdict(session),
        "child_env": json.loads(child.stdout),
        "delete_after_close": gone,
    }


@scenario
def proxy_subagent() -> dict[str, Any]:
    """A sub-agent started as a child process with only a proxy session's base URLs (and
    provider keys) in its environment; its model calls, through the real OpenAI and Anthropic
    SDKs, are recorded under the agent span that opened the session."""
    child = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proxy_child.py")
    with lemma.agent(
        "delegator", input=QUESTION, thread_id="thread-subagent", user_id="user-subagent"
    ) as run:
        with lemma.proxy() as session:
            done = subprocess.run(
                [sys.executable, child],
                env={
                    "PATH": os.environ.get("PATH", ""),
                    **session.env,
                    "OPENAI_API_KEY": "sk-subagent-openai",
                    "ANTHROPIC_API_KEY": "sk-ant-subagent",
                },
                capture_output=True,
                text=True,
                timeout=120,
            )
        if done.returncode != 0:
            raise RuntimeError(f"the sub-agent failed: {done.stderr}")
        run.set_output(ANSWER)
    return {
        "run_id": run.run_id,
        "span_id": run.span_id,
        "child": json.loads(done.stdout.strip().splitlines()[-1]),
    }


@scenario
def signals() -> dict[str, Any]:
    """An agent that checks its own run after each failed tool call and escalates once Lemma
    finds something critical (three failures in a row), all before its agent span ends. Run
    with an ingest key as LEMMA_API_KEY: the key an agent has."""
    checks: list[dict[str, Any]] = []
    failed_span_ids: list[str] = []
    with lemma.agent("signals_agent", input=QUESTION) as run:
        for attempt in range(1, 6):
            arguments = {"order_id": "A-17", "try": attempt}
            try:
                with lemma.tool("lookup_order", arguments=arguments) as t:
                    failed_span_ids.append(t.span_id)
                    raise TimeoutError("order service timed out")
            except TimeoutError:
                pass
            answer = run.signals()
            checks.append(dataclasses.asdict(answer))
            if answer.critical:
                run.set_output(f"escalated: {answer.critical[0].explanation}")
                break
    return {"run_id": run.run_id, "failed_span_ids": failed_span_ids, "checks": checks}


# ---- experiments ----

ARITHMETIC = [
    {"id": "add", "input": "2+2", "expected": "4", "tags": ["easy"]},
    {"id": "mul", "input": "3*5", "expected": "15"},
    {"id": "div", "input": "1/0", "expected": "0"},
    {"id": "greet", "input": "say hi"},  # no expected: exact_match does not apply
]


def calculator(case: lemma.Case) -> str:
    """Answers from the input; raises for a division by zero."""
    text = case.input
    if text == "say hi":
        return "hi"
    with lemma.tool("calculate", arguments={"expression": text}) as t:
        a, op, b = int(text[0]), text[1], int(text[2])
        result = str({"+": lambda: a + b, "*": lambda: a * b, "/": lambda: a // b}[op]())
        t.set_result(result)
    return result


def brevity(output: Any, case: lemma.Case) -> bool:
    """A custom scorer: raises for a failed case (no output)."""
    return len(output) <= 2


@scenario
def experiments(tag: str) -> dict[str, Any]:
    """Two experiments over one dataset (the second with a worse agent, async), their
    comparison, and what an unknown dataset and a case without input raise."""
    from lemma import scorers

    dataset = f"arithmetic-{tag}"
    first = lemma.experiment(
        ARITHMETIC,
        calculator,
        dataset_name=dataset,
        name=f"{dataset}-first",
        scorers={"exact_match": scorers.exact_match(), "brevity": brevity},
        metadata={"agent": "calculator-v1"},
    )

    async def worse(case: lemma.Case) -> str:
        return "16" if case.id == "mul" else calculator(case)

    # The same cases again: the dataset's version 1 is reused.
    second = lemma.experiment(
        ARITHMETIC,
        worse,
        dataset_name=dataset,
        name=f"{dataset}-second",
        scorers=[scorers.exact_match(), scorers.contains("1")],
        concurrency=2,
    )
    comparison = lemma.compare(first.name, second.name)
    # One more case: a new version of the dataset.
    third = lemma.experiment(
        [*ARITHMETIC, {"id": "one", "input": "1+1", "expected": "2"}],
        calculator,
        dataset_name=dataset,
        scorers=[scorers.exact_match()],
    )
    errors = {}
    for what, call in (
        ("unknown", lambda: lemma.experiment(f"no-such-{tag}", calculator)),
        ("bad", lambda: lemma.experiment([{"expected": "1"}], calculator, dataset_name=dataset)),
    ):
        try:
            call()
            errors[what] = {"raised": False}
        except lemma.LemmaApiError as e:
            errors[what] = {"raised": True, "message": str(e), "status": e.status}
    return {
        "first": dataclasses.asdict(first),
        "second": dataclasses.asdict(second),
        "second_compared": dataclasses.asdict(second.compare()),
        "comparison": dataclasses.asdict(comparison),
        "third": dataclasses.asdict(third),
        "errors": errors,
    }


def main() -> None:
    name, args = sys.argv[1], sys.argv[2:]
    if name not in ("dual", "reverse_dual"):
        lemma.init(service_name="sdk-python-e2e", environment="e2e")
    result = SCENARIOS[name](*args)
    lemma.shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
