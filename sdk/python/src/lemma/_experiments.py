"""Experiments: an agent run over every case of a dataset, each answer scored, and the runs
linked to their cases, so that Lemma compares experiments case by case (`lemma.compare`).

Datasets and experiments are kept by Lemma (`/api/v1/datasets`, `/api/v1/experiments`); the
cases run here, each as a traced run of its own, and each score is posted as a metric event on
its run (`source` "experiment"), where Lemma's comparison reads it.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import json
import logging
import math
import numbers
import re
import urllib.parse
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar, Union

from opentelemetry.context import Context, attach, detach

from ._encoding import to_plain
from ._handles import Run
from ._helpers import agent as agent_operation
from ._metrics import DEFAULT_TIMEOUT, LemmaApiError, api_base, call_api, event_body, post_metric
from ._setup import api_endpoint, flush

logger = logging.getLogger("lemma")

T = TypeVar("T")

Score = Union[float, int, bool]
"""A recorded score: a number or a bool (counted as 1 and 0 in means and comparisons)."""

# Metric names, as Lemma checks them: scorer names become metric names.
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
# Links per request: a dataset may hold 100,000 cases.
_LINK_BATCH = 1000


@dataclass(frozen=True)
class Case:
    """One test case of a dataset: what the agent is given, and optionally what it should
    answer. `id` is assigned by Lemma (`case-<n>`) when left out."""

    input: Any
    expected: Any = None
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Case:
        return cls(
            input=data.get("input"),
            expected=data.get("expected"),
            id=data.get("id"),
            metadata=dict(data.get("metadata") or {}),
            tags=list(data.get("tags") or []),
        )

    def to_json(self) -> dict[str, Any]:
        """The case as Lemma's API takes it; what is unset is left out."""
        body: dict[str, Any] = {"input": to_plain(self.input)}
        if self.id:
            body["id"] = self.id
        if self.expected is not None:
            body["expected"] = to_plain(self.expected)
        if self.metadata:
            body["metadata"] = to_plain(self.metadata)
        if self.tags:
            body["tags"] = list(self.tags)
        return body


@dataclass(frozen=True)
class CaseResult:
    """How the agent did on one case."""

    case_id: str
    #: The run that answered it (its agent span's trace id).
    run_id: str
    input: Any
    expected: Any
    #: What the agent returned; None when it raised.
    output: Any
    #: The agent's exception (`"TypeName: message"`), or None when it answered.
    error: str | None
    #: Each score recorded on the run, by scorer name.
    scores: dict[str, Score]
    #: The scorers that raised (or whose score Lemma refused), and why: nothing was recorded.
    score_errors: dict[str, str]

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class ExperimentResult:
    """What `lemma.experiment()` did: the experiment, each case's run and scores."""

    name: str
    dataset: str
    dataset_version: int
    #: In the dataset's order.
    cases: list[CaseResult]
    #: Each score's mean over the cases that have it (booleans as 1 and 0).
    scores: dict[str, float]
    #: The experiment over the same dataset made just before this one, if any.
    previous: str | None
    #: `{url}/api/v1/compare?experiments=<previous>,<name>`, or None without a previous one.
    compare_url: str | None
    #: `{url}/api/v1/experiments/<name>`: the experiment and its linked runs.
    url: str

    @property
    def failed(self) -> list[CaseResult]:
        """The cases whose agent raised."""
        return [c for c in self.cases if c.failed]

    def compare(
        self,
        baseline: str | None = None,
        *,
        changed: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Comparison:
        """This experiment compared with `baseline` (default: the previous one over the same
        dataset), the baseline first; see `lemma.compare`."""
        against = baseline or self.previous
        if not against:
            raise ValueError(
                f"no experiment over dataset {self.dataset!r} came before {self.name!r}: "
                "name the baseline to compare with"
            )
        return compare(against, self.name, changed=changed, timeout=timeout)


# ---- the comparison, as Lemma answers GET /api/v1/compare ----


@dataclass(frozen=True)
class ExperimentTotals:
    """One experiment's totals in a comparison."""

    name: str
    dataset: str
    dataset_version: int
    #: Cases with a run.
    answered: int
    failed: int
    p50_duration_ms: float | None
    mean_duration_ms: float | None
    total_tokens: int
    cost_usd: float | None
    #: Each score's mean over the cases that have it.
    scores: dict[str, float]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExperimentTotals:
        return cls(
            name=str(data["name"]),
            dataset=str(data["dataset"]),
            dataset_version=int(data["dataset_version"]),
            answered=int(data["answered"]),
            failed=int(data["failed"]),
            p50_duration_ms=data.get("p50_duration_ms"),
            mean_duration_ms=data.get("mean_duration_ms"),
            total_tokens=int(data.get("total_tokens") or 0),
            cost_usd=data.get("cost_usd"),
            scores={str(k): float(v) for k, v in (data.get("scores") or {}).items()},
        )


@dataclass(frozen=True)
class ScoreDelta:
    """One score across the compared experiments."""

    name: str
    #: Per experiment, in order; None where no case has it.
    means: list[float | None]
    #: The last experiment's mean minus the baseline's.
    delta: float | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreDelta:
        return cls(name=str(data["name"]), means=list(data["means"]), delta=data.get("delta"))


@dataclass(frozen=True)
class ComparedRun:
    """A case's run in one experiment of a comparison."""

    run_id: str
    #: `ok`, `error` or `unset`; None until the run's spans arrived.
    status: str | None
    output: Any
    duration_ms: float | None
    total_tokens: int
    cost_usd: float | None
    #: Each metric event's latest value, by name.
    scores: dict[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ComparedRun:
        return cls(
            run_id=str(data["run_id"]),
            status=data.get("status"),
            output=data.get("output"),
            duration_ms=data.get("duration_ms"),
            total_tokens=int(data.get("total_tokens") or 0),
            cost_usd=data.get("cost_usd"),
            scores=dict(data.get("scores") or {}),
        )


@dataclass(frozen=True)
class ComparedCase:
    """One case across the compared experiments."""

    case_id: str
    input: Any
    expected: Any
    #: Per experiment, in order; None where the case was not run.
    results: list[ComparedRun | None]
    #: Its status, output or scores differ between experiments.
    changed: bool
    #: It is worse in some experiment than in the baseline.
    regression: bool
    #: Why it is a regression, for a person.
    reasons: list[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ComparedCase:
        return cls(
            case_id=str(data["case_id"]),
            input=data.get("input"),
            expected=data.get("expected"),
            results=[ComparedRun.from_json(r) if r else None for r in data["results"]],
            changed=bool(data["changed"]),
            regression=bool(data["regression"]),
            reasons=[str(r) for r in data.get("reasons") or []],
        )


@dataclass(frozen=True)
class Comparison:
    """Experiments side by side, case by case; the first is the baseline."""

    experiments: list[ExperimentTotals]
    scores: list[ScoreDelta]
    cases: list[ComparedCase]
    #: Cases worse in any experiment than in the baseline: a CI gate checks it is 0.
    regressions: int
    #: Cases whose status, output or scores differ.
    changed: int

    @property
    def regressed(self) -> list[ComparedCase]:
        """The cases that got worse, each with its `reasons`."""
        return [c for c in self.cases if c.regression]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        return cls(
            experiments=[ExperimentTotals.from_json(e) for e in data["experiments"]],
            scores=[ScoreDelta.from_json(s) for s in data["scores"]],
            cases=[ComparedCase.from_json(c) for c in data["cases"]],
            regressions=int(data["regressions"]),
            changed=int(data["changed"]),
        )


def compare(
    *experiments: str, changed: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> Comparison:
    """Experiments compared case by case (`GET /api/v1/compare`), the first being the baseline:
    totals, score deltas, each case's run in each, and the regressions (cases that failed, or
    whose scores fell, compared with the baseline). For a CI gate:

        report = lemma.compare("support-qa-main", "support-qa-pr-42")
        assert report.regressions == 0, [c.reasons for c in report.regressed]

    `changed` keeps only the cases whose results differ. Raises `LemmaApiError` for an unknown
    experiment (404) or fewer than two (400), or when Lemma cannot be reached.
    """
    params = {"experiments": ",".join(experiments)}
    if changed:
        params["changed"] = "true"
    query = urllib.parse.urlencode(params)
    return _read(Comparison.from_json, _Api(timeout).call("GET", f"/api/v1/compare?{query}"))


# ---- running an experiment ----

ScorerFn = Callable[[Any, Case], Any]
Scorers = Union[Sequence[ScorerFn], Mapping[str, ScorerFn]]


def experiment(
    dataset: str | Sequence[Case | Mapping[str, Any]],
    agent: Callable[[Case], Any],
    *,
    scorers: Scorers = (),
    name: str | None = None,
    dataset_name: str | None = None,
    dataset_version: int | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    concurrency: int = 4,
    agent_name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ExperimentResult:
    """Runs `agent(case)` on every case of a dataset, scores each answer, and records it all in
    Lemma as an experiment that `lemma.compare` can set against another.

        result = lemma.experiment(
            "support-qa",                          # a dataset Lemma has (its latest version)
            lambda case: support(case.input),
            scorers=[lemma.scorers.exact_match(), polite],
        )

    Args:
        dataset: a dataset's name, or its cases (`lemma.Case`s or dicts `{"id"?, "input",
            "expected"?, "metadata"?, "tags"?}`), kept under `dataset_name`: created, or given
            a new version when its latest differs.
        agent: called with each `lemma.Case` inside a run of its own (`lemma.agent`, named
            `agent_name`, by default the function's name), whose input is the case's, output
            what it returns, and metadata `case_id` and `experiment`. An exception fails the run
            and is recorded; the other cases go on. Async functions are awaited.
        scorers: functions `(output, case) -> number | bool | None` (see `lemma.scorers`),
            named by their `name` or `__name__`, or a mapping of names to them. Each score is
            posted as a metric event on the case's run (`source` "experiment"); None records
            none; a scorer that raises is reported in `score_errors`. After a failed case
            they get None as the output.
        name: the experiment's name; default `<dataset>-<UTC time>`.
        dataset_version: with a dataset's name, the version to run (default: the latest).
        description, metadata: the experiment's (e.g. `{"model": "gpt-4o-mini"}`).
        concurrency: cases run at once (threads, or tasks for an async agent).
        timeout: seconds to wait for each call to Lemma.

    Every span is flushed before it returns. Raises `LemmaApiError` when Lemma refuses the
    dataset (400 with the first bad case named), has no such dataset (404), already has an
    experiment of that name (409), or cannot be reached; `ValueError` for bad arguments.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    named = _named_scorers(scorers)
    api = _Api(timeout)
    version = _dataset(api, dataset, dataset_name, dataset_version)
    dataset_id = str(version["name"])
    cases = [Case.from_json(c) for c in version["cases"]]
    name = name or f"{dataset_id}-{_utc_stamp()}"
    listed = api.call("GET", f"/api/v1/experiments?dataset={_quote(dataset_id)}")
    previous = next(
        (str(e["name"]) for e in _read(lambda d: d["experiments"], listed) if e["name"] != name),
        None,
    )
    body: dict[str, Any] = {
        "name": name,
        "dataset": dataset_id,
        "dataset_version": int(version["version"]),
    }
    if description:
        body["description"] = description
    if metadata:
        body["metadata"] = to_plain(dict(metadata))
    api.call("POST", "/api/v1/experiments", body)

    runner = _Runner(api, agent, agent_name or _function_name(agent), name, named)
    if _is_async(agent):
        results = runner.run_async(cases, concurrency)
    else:
        with ThreadPoolExecutor(concurrency, thread_name_prefix="lemma-experiment") as pool:
            results = list(pool.map(runner.run_case, cases))

    links = [{"case_id": r.case_id, "run_id": r.run_id} for r in results]
    for start in range(0, len(links), _LINK_BATCH):
        api.call(
            "POST",
            f"/api/v1/experiments/{_quote(name)}/runs",
            {"runs": links[start : start + _LINK_BATCH]},
        )
    # The comparison reads each run's status and output from its spans.
    if not flush(max(timeout, 30.0)):
        logger.warning("lemma.experiment(): not every span reached Lemma in time.")
    base = api_base(api.url)
    return ExperimentResult(
        name=name,
        dataset=dataset_id,
        dataset_version=int(version["version"]),
        cases=results,
        scores=_means(results),
        previous=previous,
        compare_url=(
            f"{base}/api/v1/compare?experiments={_quote(previous)},{_quote(name)}"
            if previous
            else None
        ),
        url=f"{base}/api/v1/experiments/{_quote(name)}",
    )


class _Runner:
    """Runs cases one by one (each in a thread or task of its own) and scores them."""

    def __init__(
        self,
        api: _Api,
        agent: Callable[[Case], Any],
        agent_name: str,
        experiment: str,
        scorers: list[tuple[str, ScorerFn]],
    ) -> None:
        self.api = api
        self.agent = agent
        self.agent_name = agent_name
        self.experiment = experiment
        self.scorers = scorers

    def _operation(self, case: Case) -> Any:
        return agent_operation(
            self.agent_name,
            input=case.input,
            tags=case.tags or None,
            metadata={"case_id": case.id, "experiment": self.experiment},
        )

    def run_case(self, case: Case) -> CaseResult:
        # A run of its own, even when the experiment is started inside another run.
        token = attach(Context())
        try:
            output: Any = None
            error: str | None = None
            with self._operation(case) as run:
                _require_tracing(run)
                try:
                    output = self.agent(case)
                    if inspect.isawaitable(output):
                        output = _wait(output)
                    run.set_output(output)
                except Exception as e:
                    error, output = _describe(e), None
                    run.fail(e)
            scores: dict[str, Score] = {}
            score_errors: dict[str, str] = {}
            for name, scorer in self.scorers:
                try:
                    value = scorer(output, case)
                    if inspect.isawaitable(value):
                        value = _wait(value)
                except Exception as e:
                    score_errors[name] = _describe(e)
                    continue
                self._record(run.run_id, case, name, value, scores, score_errors)
            return self._result(case, run, output, error, scores, score_errors)
        finally:
            detach(token)

    def run_async(self, cases: list[Case], concurrency: int) -> list[CaseResult]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "lemma.experiment() blocks until every case ran: from async code, call it as "
                "`await asyncio.to_thread(lemma.experiment, ...)`"
            )

        async def all_cases() -> list[CaseResult]:
            gate = asyncio.Semaphore(concurrency)

            async def one(case: Case) -> CaseResult:
                async with gate:
                    return await self.run_case_async(case)

            return list(await asyncio.gather(*(one(c) for c in cases)))

        return asyncio.run(all_cases())

    async def run_case_async(self, case: Case) -> CaseResult:
        # Tasks copy the context they start in: detach what this one attaches, in it.
        token = attach(Context())
        try:
            output: Any = None
            error: str | None = None
            async with self._operation(case) as run:
                _require_tracing(run)
                try:
                    output = self.agent(case)
                    if inspect.isawaitable(output):
                        output = await output
                    run.set_output(output)
                except Exception as e:
                    error, output = _describe(e), None
                    run.fail(e)
            scores: dict[str, Score] = {}
            score_errors: dict[str, str] = {}
            for name, scorer in self.scorers:
                try:
                    value = scorer(output, case)
                    if inspect.isawaitable(value):
                        value = await value
                except Exception as e:
                    score_errors[name] = _describe(e)
                    continue
                # Posting blocks: keep the event loop free for the other cases.
                await asyncio.to_thread(
                    self._record, run.run_id, case, name, value, scores, score_errors
                )
            return self._result(case, run, output, error, scores, score_errors)
        finally:
            detach(token)

    def _record(
        self,
        run_id: str,
        case: Case,
        name: str,
        value: Any,
        scores: dict[str, Score],
        score_errors: dict[str, str],
    ) -> None:
        """Posts one score as a metric event on the case's run; a value that is no score, or
        one Lemma refuses, goes to `score_errors`."""
        if value is None:
            return
        if not isinstance(value, bool) and isinstance(value, numbers.Real):
            value = value if isinstance(value, int) else float(value)
            if not math.isfinite(value):
                score_errors[name] = f"gave {value!r}, not a finite number"
                return
        elif not isinstance(value, bool):
            score_errors[name] = f"gave {value!r}: a score is a number, a bool or None"
            return
        try:
            body = event_body(name, value, comment=None, source="experiment", span_id=None)
            post_metric(self.api.url, self.api.key, run_id, body, self.api.timeout)
        except LemmaApiError as e:
            score_errors[name] = f"not recorded: {e}"
            return
        scores[name] = value

    def _result(
        self,
        case: Case,
        run: Run,
        output: Any,
        error: str | None,
        scores: dict[str, Score],
        score_errors: dict[str, str],
    ) -> CaseResult:
        for name, reason in score_errors.items():
            logger.warning(
                "lemma.experiment(): scorer %r on case %r failed: %s", name, case.id, reason
            )
        return CaseResult(
            case_id=str(case.id),
            run_id=run.run_id,
            input=case.input,
            expected=case.expected,
            output=output,
            error=error,
            scores=scores,
            score_errors=score_errors,
        )


# ---- datasets ----


def _dataset(
    api: _Api,
    dataset: str | Sequence[Case | Mapping[str, Any]],
    dataset_name: str | None,
    version: int | None,
) -> dict[str, Any]:
    """The dataset version to run, as Lemma has it (cases with their ids)."""
    if isinstance(dataset, str):
        if dataset_name is not None and dataset_name != dataset:
            raise ValueError("dataset_name is for a list of cases; dataset already names one")
        path = f"/api/v1/datasets/{_quote(dataset)}"
        if version is not None:
            path += f"?version={int(version)}"
        try:
            return _version(api.call("GET", path))
        except LemmaApiError as e:
            if e.status != 404:
                raise
            which = f"{dataset!r}" + (f" version {version}" if version is not None else "")
            raise LemmaApiError(
                f"Lemma has no dataset {which}: create it (POST /api/v1/datasets), or pass "
                "its cases with dataset_name=...",
                status=404,
                code=e.code,
            ) from None
    if version is not None:
        raise ValueError("dataset_version is for a dataset's name, not a list of cases")
    if not dataset_name:
        raise ValueError("name the dataset the cases are kept as: dataset_name=...")
    cases = [c.to_json() if isinstance(c, Case) else to_plain(dict(c)) for c in dataset]
    return _keep_cases(api, dataset_name, cases)


def _keep_cases(api: _Api, name: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Dataset `name` holding exactly `cases`: made, or its latest version when that has these
    cases already (a script run again adds no version), else a new version."""
    try:
        return _version(api.call("POST", "/api/v1/datasets", {"name": name, "cases": cases}))
    except LemmaApiError as e:
        if e.status != 409:
            raise
    latest = _version(api.call("GET", f"/api/v1/datasets/{_quote(name)}"))
    if _same_cases(latest["cases"], cases):
        return latest
    return _version(
        api.call(
            "PUT",
            f"/api/v1/datasets/{_quote(name)}",
            {
                "cases": cases,
                "expected_version": latest["version"],
                # A new version keeps the dataset's description.
                "description": latest.get("description") or "",
            },
        )
    )


def _version(data: Any) -> dict[str, Any]:
    """A dataset version as Lemma answers it, checked for what is read of it."""
    if not (
        isinstance(data, dict)
        and isinstance(data.get("name"), str)
        and isinstance(data.get("version"), int)
        and isinstance(data.get("cases"), list)
    ):
        raise LemmaApiError(f"unexpected answer from Lemma for a dataset: {str(data)[:200]}")
    return data


def _same_cases(stored: list[dict[str, Any]], given: list[dict[str, Any]]) -> bool:
    """Whether Lemma's cases are the given ones (ids only compared where given)."""
    if len(stored) != len(given):
        return False
    for have, want in zip(stored, given):
        if want.get("id") and want["id"] != have.get("id"):
            return False
        for key, empty in (("input", None), ("expected", None), ("metadata", {}), ("tags", [])):
            if _or(have.get(key), empty) != _or(want.get(key), empty):
                return False
    return True


def _or(value: Any, empty: Any) -> Any:
    return empty if value is None else value


# ---- helpers ----


class _Api:
    """Lemma's REST API at the URL and key of `lemma.init()` (else the environment's)."""

    def __init__(self, timeout: float) -> None:
        self.url, self.key = api_endpoint()
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        endpoint = api_base(self.url) + path
        raw = call_api(method, endpoint, self.key, body, self.timeout)
        try:
            return json.loads(raw)
        except ValueError:
            raise LemmaApiError(f"unexpected answer from {endpoint}: {raw[:200]!r}") from None


def _read(parse: Callable[[Any], T], data: Any) -> T:
    try:
        return parse(data)
    except (KeyError, TypeError, ValueError) as error:
        raise LemmaApiError(f"unexpected answer from Lemma: {str(data)[:200]}") from error


def _named_scorers(scorers: Scorers) -> list[tuple[str, ScorerFn]]:
    if isinstance(scorers, Mapping):
        pairs = [(str(k), v) for k, v in scorers.items()]
    else:
        pairs = []
        for s in scorers:
            name = getattr(s, "name", None)
            if not isinstance(name, str):
                name = str(getattr(s, "__name__", ""))
            pairs.append((name, s))
    seen: set[str] = set()
    for name, scorer in pairs:
        if not callable(scorer):
            raise ValueError(f"scorer {name!r} is not a function: {scorer!r}")
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"a scorer's name is a metric name (1-128 letters, digits, '_', '-', '.' or "
                f"':'), not {name!r}: name it with scorers={{'name': fn}}"
            )
        if name in seen:
            raise ValueError(f"two scorers are named {name!r}")
        seen.add(name)
    return pairs


def _means(results: list[CaseResult]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for r in results:
        for name, value in r.scores.items():
            sums.setdefault(name, []).append(float(value))
    return {name: sum(values) / len(values) for name, values in sorted(sums.items())}


def _require_tracing(run: Run) -> None:
    if not run.otel_span.get_span_context().is_valid:
        raise RuntimeError("lemma.experiment() records each case as a run: call lemma.init() first")


def _is_async(fn: Callable[..., Any]) -> bool:
    # A callable object's `async def __call__` too.
    call = type(fn).__call__ if not inspect.isfunction(fn) else None
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _wait(awaitable: Awaitable[T]) -> T:
    """An awaitable's result, from a thread with no event loop (a sync agent's worker)."""

    async def wait() -> T:
        return await awaitable

    return asyncio.run(wait())


def _describe(error: BaseException) -> str:
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _function_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", "")
    return name if name and not name.startswith("<") else "experiment_agent"


def _utc_stamp() -> str:
    """The time as a name may hold it: `20260301T101502.123Z`."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}Z"


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")
