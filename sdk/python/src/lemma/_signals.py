"""A run's signals, asked for by the run itself (`run.signals()`): what Lemma finds worth a
look in it so far (a streak of failed calls, a loop, a classifier's flag, ...), so an agent can
stop or escalate while it runs.

`GET /api/v1/runs/{run_id}/signals` evaluates the spans Lemma has. Spans still waiting in the
exporter's batch are not among them, so the spans that ended are flushed first.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._metrics import DEFAULT_TIMEOUT, LemmaApiError, api_base, call_api
from ._setup import api_endpoint, flush


@dataclass(frozen=True)
class Signal:
    """One thing worth a look in a run, as Lemma found it."""

    #: What it is: `error_streak`, `tool_failing`, `loop`, `stalled`, ..., or the `<name>` of a
    #: `lemma.signal.<name>` attribute an app or classifier wrote on a span.
    kind: str
    #: `info`, `warning` or `critical`.
    severity: str
    #: What found it: `rule` (Lemma's rules), `attribute` (a mark on a span) or `evaluation`.
    source: str
    #: One sentence for a person, with the numbers that made it a signal.
    explanation: str
    #: The span it points at (the first of a repeated stretch), when one span stands for it.
    span_id: str | None = None
    #: A classifier's or evaluator's score, when it gave one.
    score: float | None = None
    #: A classifier's or evaluator's label, when it gave one.
    label: str | None = None
    #: Consecutive repeats (loops, cycles, streaks) or occurrences counted; 0 when not counted.
    repeats: int = 0
    #: For loops: the tool called again and again, and its arguments.
    tool_name: str | None = None
    tool_args: Any = None
    #: For loops: the first call's position among the run's tool calls, and its span.
    first_tool_index: int = 0
    first_span_id: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signal:
        score = data.get("score")
        return cls(
            kind=str(data["kind"]),
            severity=str(data.get("severity") or "warning"),
            source=str(data.get("source") or "rule"),
            explanation=str(data.get("explanation") or ""),
            span_id=data.get("span_id"),
            score=float(score) if score is not None else None,
            label=data.get("label"),
            repeats=int(data.get("repeats") or 0),
            tool_name=data.get("tool_name"),
            tool_args=data.get("tool_args"),
            first_tool_index=int(data.get("first_tool_index") or 0),
            first_span_id=data.get("first_span_id"),
        )


@dataclass(frozen=True)
class RunSignals:
    """A run's signals as of when Lemma was asked, most severe first."""

    run_id: str
    #: The run's root span has not arrived: the run is still going (or was cut off).
    in_progress: bool
    #: The spans Lemma had of the run when it evaluated it.
    span_count: int
    #: When Lemma read the run's spans for this answer (RFC 3339).
    evaluated_at: str
    signals: list[Signal] = field(default_factory=list)

    @property
    def critical(self) -> list[Signal]:
        """The critical signals: `if run.signals().critical: escalate()`."""
        return [s for s in self.signals if s.severity == "critical"]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSignals:
        return cls(
            run_id=str(data["run_id"]),
            in_progress=bool(data["in_progress"]),
            span_count=int(data.get("span_count") or 0),
            evaluated_at=str(data.get("evaluated_at") or ""),
            signals=[Signal.from_json(s) for s in data["signals"]],
        )


def signals_endpoint(url: str, run_id: str) -> str:
    """`{url}/api/v1/runs/{run_id}/signals`; `url` may be given as the traces endpoint too."""
    return f"{api_base(url)}/api/v1/runs/{urllib.parse.quote(run_id, safe='')}/signals"


def run_signals(run_id: str, timeout: float = DEFAULT_TIMEOUT) -> RunSignals:
    """Flushes the spans that ended, then asks Lemma for the run's signals; raises
    `LemmaApiError` when Lemma refuses or cannot be reached."""
    # What flush cannot deliver (a server that is down) the request below reports.
    flush(timeout)
    url, api_key = api_endpoint()
    endpoint = signals_endpoint(url, run_id)
    raw = call_api("GET", endpoint, api_key, None, timeout)
    try:
        return RunSignals.from_json(json.loads(raw))
    except (KeyError, TypeError, ValueError) as error:
        raise LemmaApiError(
            f"unexpected answer from {endpoint}: {raw[:200]!r}", status=200
        ) from error
