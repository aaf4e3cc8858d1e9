"""Lemma's OTLP/HTTP exporter: OpenTelemetry's own, plus one clear warning when it cannot deliver.

OpenTelemetry's exporter logs a generic error for every failed batch (and every retry). When the
cause is one the user can fix (Lemma is not running at that URL, or the API key is wrong), this
wrapper says so once, naming the URL and what to do, instead, and says once more when delivery
works again. Failures never reach the application: spans are dropped, the program goes on.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger("lemma")

# OpenTelemetry's loggers for this exporter (module names differ across its versions).
_OTEL_EXPORTER_LOGGERS = (
    OTLPSpanExporter.__module__,
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.http",
)

# The exporter exporting on this thread, so the log filter can tell its records apart.
_exporting = threading.local()


def traces_endpoint(url: str) -> str:
    """`{url}/v1/traces`, unless `url` already is the traces endpoint."""
    url = url.rstrip("/")
    return url if url.endswith("/v1/traces") else url + "/v1/traces"


class _WatchedSession(requests.Session):
    """A requests session that remembers how this thread's last request went."""

    def __init__(self) -> None:
        super().__init__()
        self._last = threading.local()

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.exceptions.RequestException as error:
            self._last.outcome = error
            raise
        self._last.outcome = response.status_code
        return response

    def last_outcome(self) -> Any:
        """The last status code, or the exception the last request raised, or None."""
        return getattr(self._last, "outcome", None)

    def forget(self) -> None:
        self._last.outcome = None


class _QuietWhileDiagnosed(logging.Filter):
    """Drops OpenTelemetry's exporter records for a failure Lemma's exporter explains itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        exporter: LemmaSpanExporter | None = getattr(_exporting, "exporter", None)
        return exporter is None or exporter._diagnosis() is None


_filter_installed = False
_filter_lock = threading.Lock()


def _install_log_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if _filter_installed:
            return
        for name in _OTEL_EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(_QuietWhileDiagnosed())
        _filter_installed = True


class LemmaSpanExporter(SpanExporter):
    """Exports spans to Lemma over OTLP/HTTP (protobuf) with `Authorization: Bearer <key>`."""

    def __init__(self, url: str, api_key: str | None, *, timeout: float | None = None):
        self.endpoint = traces_endpoint(url)
        self._has_key = bool(api_key)
        self._session = _WatchedSession()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._inner = OTLPSpanExporter(
            endpoint=self.endpoint, headers=headers, session=self._session, timeout=timeout
        )
        # The problem last warned about; None while exports work.
        self._warned: str | None = None
        _install_log_filter()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._session.forget()
        _exporting.exporter = self
        error: Exception | None = None
        try:
            result = self._inner.export(spans)
        except Exception as raised:  # older exporters let connection errors out; never further
            result, error = SpanExportResult.FAILURE, raised
        finally:
            _exporting.exporter = None
        self._report(result, error)
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def _report(self, result: SpanExportResult, error: Exception | None) -> None:
        if result == SpanExportResult.SUCCESS:
            if self._warned is not None:
                logger.warning("Lemma: spans reach %s again.", self.endpoint)
            self._warned = None
            return
        diagnosis = self._diagnosis()
        if diagnosis is None and error is not None:
            diagnosis = (
                f"error:{type(error).__name__}",
                f"Lemma: exporting spans to {self.endpoint} failed: {error!r}. Spans are dropped.",
            )
        if diagnosis is not None and diagnosis[0] != self._warned:
            self._warned = diagnosis[0]
            logger.warning("%s", diagnosis[1])

    def _diagnosis(self) -> tuple[str, str] | None:
        """(problem, message) when the last request failed for a reason the user can fix."""
        outcome = self._session.last_outcome()
        if outcome in (401, 403):
            if not self._has_key:
                return (
                    "auth",
                    f"Lemma at {self.endpoint} requires an API key (HTTP {outcome}) and none was "
                    "given: set LEMMA_API_KEY (or lemma.init(api_key=...)) to a key from "
                    "`lemma keys create`. Spans are dropped until then.",
                )
            return (
                "auth",
                f"Lemma rejected the API key (HTTP {outcome}) at {self.endpoint}: set "
                "LEMMA_API_KEY (or lemma.init(api_key=...)) to a key of this server, e.g. one "
                "from `lemma keys create`. Spans are dropped until then.",
            )
        if isinstance(outcome, requests.exceptions.RequestException):
            return (
                "unreachable",
                f"Lemma is not reachable at {self.endpoint} ({_reason(outcome)}): start it with "
                "`lemma serve`, or set LEMMA_URL to where it listens. Spans are dropped until "
                "it is reachable.",
            )
        return None


def _reason(error: BaseException) -> str:
    """The useful end of a requests error ("[Errno 111] Connection refused", "timed out")."""
    text = str(error)
    found = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    if found:
        return found.group(0).strip()
    if isinstance(error, requests.exceptions.Timeout):
        return "timed out"
    return type(error).__name__
