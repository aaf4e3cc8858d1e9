"""Lemma's Python SDK: trace AI agents into Lemma, on top of OpenTelemetry.

    import lemma

    lemma.init(url="http://127.0.0.1:4318")  # key from $LEMMA_API_KEY

    @lemma.agent("support_agent")
    def support(question: str) -> str:
        ...

    support("Where is my order?")
    lemma.shutdown()

See README.md for every helper, streaming, threads, dual export, cross-process runs, metric
events (`lemma.metric`), a run's signals while it runs (`run.signals()`), proxy sessions for
sub-agents without an SDK (`lemma.proxy`), and experiments over datasets (`lemma.experiment`,
`lemma.scorers`, `lemma.compare`).
"""

from . import scorers
from ._context import current_run, current_run_id, current_span, last_run_id, run_context
from ._experiments import (
    Case,
    CaseResult,
    ComparedCase,
    ComparedRun,
    Comparison,
    ExperimentResult,
    ExperimentTotals,
    ScoreDelta,
    compare,
    experiment,
)
from ._exporter import LemmaSpanExporter
from ._handles import LlmSpan, RetrievalSpan, Run, Span, ToolSpan
from ._helpers import (
    AgentOperation,
    LlmOperation,
    RetrievalOperation,
    SpanOperation,
    ToolOperation,
    agent,
    llm,
    retrieval,
    span,
    tool,
)
from ._metrics import LemmaApiError, Metric, MetricValue, metric
from ._operations import Operation
from ._processor import LemmaSpanProcessor, RunContextProcessor
from ._propagation import context_env, continue_from, inject
from ._proxy import ProxyRequest, ProxySession, proxy
from ._setup import flush, init, shutdown, span_processor
from ._signals import RunSignals, Signal
from ._version import VERSION

__version__ = VERSION

__all__ = [
    "__version__",
    # setup
    "init",
    "flush",
    "shutdown",
    "span_processor",
    # helpers
    "agent",
    "tool",
    "llm",
    "retrieval",
    "span",
    "run_context",
    # the current run
    "current_run",
    "current_run_id",
    "current_span",
    "last_run_id",
    # metric events
    "metric",
    # across processes
    "inject",
    "context_env",
    "continue_from",
    # sub-agents without an SDK
    "proxy",
    # experiments
    "experiment",
    "compare",
    "scorers",
    # types
    "Operation",
    "AgentOperation",
    "ToolOperation",
    "LlmOperation",
    "RetrievalOperation",
    "SpanOperation",
    "Span",
    "Run",
    "ToolSpan",
    "LlmSpan",
    "RetrievalSpan",
    "Metric",
    "MetricValue",
    "LemmaApiError",
    "RunSignals",
    "Signal",
    "ProxySession",
    "ProxyRequest",
    "Case",
    "CaseResult",
    "ExperimentResult",
    "Comparison",
    "ExperimentTotals",
    "ScoreDelta",
    "ComparedCase",
    "ComparedRun",
    "LemmaSpanExporter",
    "LemmaSpanProcessor",
    "RunContextProcessor",
]
