"""Handles on the spans Lemma's helpers open: what code inside a span can record on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context, attach, detach
from opentelemetry.trace import Status, StatusCode

from . import _attributes as attr
from ._context import with_handle
from ._encoding import to_json, to_text
from ._messages import read_chat_completion, to_genai_messages
from ._metrics import DEFAULT_TIMEOUT, Metric, MetricValue, metric
from ._signals import RunSignals, run_signals
from ._streams import adrive, drive
from ._unset import UNSET, Unset

T = TypeVar("T")


class Span:
    """A span opened by `lemma.span()` (and the base of every other handle).

    Handles are safe to use after the span ended: further calls do nothing (OpenTelemetry
    ignores changes to an ended span).
    """

    _input_key = attr.INPUT
    _output_key = attr.OUTPUT
    _is_run = False

    def __init__(self, otel_span: trace.Span, parent: Context) -> None:
        self._span = otel_span
        self._context = with_handle(parent, self, is_run=self._is_run)
        self._output_set = False
        self._ended = False
        self._failed: BaseException | None = None
        # Opened by `.start()`: ended by `complete()` or `fail()`, not by a block's end.
        self._manual = False

    @property
    def otel_span(self) -> trace.Span:
        """The underlying OpenTelemetry span."""
        return self._span

    @property
    def context(self) -> Context:
        """An OpenTelemetry context in which this span is the current one."""
        return self._context

    @property
    def trace_id(self) -> str:
        """The trace id, 32 lowercase hex characters (Lemma's run id)."""
        return trace.format_trace_id(self._span.get_span_context().trace_id)

    @property
    def span_id(self) -> str:
        """The span id, 16 lowercase hex characters."""
        return trace.format_span_id(self._span.get_span_context().span_id)

    @property
    def ended(self) -> bool:
        return self._ended

    def set_attribute(self, key: str, value: Any) -> None:
        """Sets an attribute; values OpenTelemetry cannot hold are JSON-encoded."""
        self._span.set_attribute(key, _attribute_value(value))

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_input(self, value: Any) -> None:
        """Records the input (text as is, anything else as JSON). None records nothing."""
        if value is not None:
            self._span.set_attribute(self._input_key, to_text(value))

    def set_output(self, value: Any) -> None:
        """Records the output (text as is, anything else as JSON); it then wins over the
        return value or the streamed items a decorator would record."""
        self._output_set = True
        self._write_output(value)

    def set_metadata(self, key: str | Mapping[str, Any], value: Any = None) -> None:
        """Sets `lemma.metadata.<key>` on this span: one key and value, or a mapping of them."""
        items = key.items() if isinstance(key, Mapping) else [(key, value)]
        for k, v in items:
            self._span.set_attribute(attr.METADATA_PREFIX + str(k), to_text(v))

    def complete(self, output: Any = UNSET) -> None:
        """Records `output` (when given) and ends the span: for spans that outlive the block
        that started them (`.start()`), e.g. while a response streams to a client."""
        if not isinstance(output, Unset):
            self.set_output(output)
        self.end()

    def fail(self, error: BaseException | str) -> None:
        """Marks the span as failed: status ERROR with the message, and the exception as an
        `exception` event (type, message, stack trace). Never raises.

        A span from `.start()` is ended too; inside a `with` block or a decorated function
        the span ends with the block, so code there may go on recording.
        """
        self._record_failure(error)
        if self._manual:
            self.end()

    def _record_failure(self, error: BaseException | str) -> None:
        if error is self._failed:
            return
        if isinstance(error, BaseException):
            self._failed = error
            self._span.record_exception(error)
            message = str(error) or type(error).__name__
        else:
            message = str(error)
            self._span.add_event("exception", {"exception.message": message})
        self._span.set_status(Status(StatusCode.ERROR, message))

    def end(self) -> None:
        """Ends the span (once; later calls do nothing)."""
        if not self._ended:
            self._ended = True
            self._span.end()

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Makes this span the current one inside the block, so spans started there (by Lemma's
        helpers or any instrumentation) nest under it. For handles from `.start()`."""
        token = attach(self._context)
        try:
            yield
        finally:
            detach(token)

    def stream(self, items: Iterable[T]) -> Iterator[T]:
        """Passes `items` through, with this span current while each is produced, and ends the
        span when they run out or fail. The output is what `set_output` recorded, else the
        items: strings joined into one text, anything else as a list."""
        return drive(lambda: self, lambda: items)

    def astream(self, items: AsyncIterable[T]) -> AsyncIterator[T]:
        """`stream` for async iterables."""
        return adrive(lambda: self, lambda: items)

    # ---- what decorators and context managers call ----

    def _write_output(self, value: Any) -> None:
        if value is not None:
            self._span.set_attribute(self._output_key, to_text(value))

    def _finish(self, result: Any) -> None:
        """Ends the span after the code inside returned `result`."""
        if not self._output_set and result is not None:
            self._write_output(result)
        self.end()

    def _finish_error(self, error: BaseException) -> None:
        if not isinstance(error, GeneratorExit):
            self._record_failure(error)
        self.end()

    def _finish_stream(self, items: list[Any], returned: Any) -> None:
        """Ends a streamed span: the output is what was set, else the generator's return value,
        else the items (strings joined into one text, anything else as a list)."""
        if returned is None and items:
            returned = "".join(items) if all(isinstance(i, str) for i in items) else list(items)
        self._finish(returned)


class Run(Span):
    """An agent run, opened by `lemma.agent()`. Nested agents are sub-agents of the same run."""

    _input_key = attr.AGENT_INPUT
    _output_key = attr.AGENT_OUTPUT
    _is_run = True

    @property
    def run_id(self) -> str:
        """The run id the API and dashboard use: the trace id as 32 lowercase hex characters."""
        return self.trace_id

    def metric(
        self,
        name: str,
        value: MetricValue,
        *,
        comment: str | None = None,
        source: str | None = "sdk",
        span_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Metric:
        """Records a metric event on this run at once (`lemma.metric` with this run's id);
        works during the run and after it. Raises `LemmaApiError` when Lemma refuses it."""
        return metric(
            self.run_id,
            name,
            value,
            comment=comment,
            source=source,
            span_id=span_id,
            timeout=timeout,
        )

    def signals(self, *, timeout: float = DEFAULT_TIMEOUT) -> RunSignals:
        """What Lemma finds worth a look in this run so far (a streak of failed calls, a loop,
        a classifier's flag, ...), most severe first, so the agent can stop or escalate:

            if run.signals().critical:
                raise Escalate("Lemma flagged this run")

        Spans that ended are flushed to Lemma first, so they count; spans still open (this
        run's own, until it ends) do not. Any key of the project may ask, an ingest key too.
        Blocks while it asks; in async code, `await asyncio.to_thread(run.signals)`.

        Raises:
            LemmaApiError: Lemma refused (`status` 404 while it has no span of the run, e.g.
                none has ended yet; 401 for a wrong key) or could not be reached (`status`
                None).
        """
        return run_signals(self.run_id, timeout)


class ToolSpan(Span):
    """A tool call, opened by `lemma.tool()`."""

    _input_key = attr.TOOL_ARGUMENTS
    _output_key = attr.TOOL_RESULT

    def set_arguments(self, arguments: Any) -> None:
        """Records the call's arguments (`gen_ai.tool.call.arguments`, JSON)."""
        self.set_input(arguments)

    def set_result(self, result: Any) -> None:
        """Records the tool's result (`gen_ai.tool.call.result`, text or JSON)."""
        self.set_output(result)

    def set_call_id(self, call_id: str) -> None:
        """Records the model's id for this call (`gen_ai.tool.call.id`)."""
        self._span.set_attribute(attr.TOOL_CALL_ID, str(call_id))


class LlmSpan(Span):
    """A model call, opened by `lemma.llm()`.

    Messages may be GenAI messages, OpenAI-style `{"role", "content", "tool_calls"}` dicts (or
    objects), or plain strings; they are written as `gen_ai.input.messages` /
    `gen_ai.output.messages` in the GenAI form.
    """

    _input_key = attr.INPUT_MESSAGES
    _output_key = attr.OUTPUT_MESSAGES

    def set_input_messages(self, messages: Any) -> None:
        self.set_input(messages)

    def set_output_messages(self, messages: Any) -> None:
        self.set_output(messages)

    def set_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        *,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> None:
        """Records token usage. Input tokens include cached ones (the OpenTelemetry rule)."""
        for key, value in (
            (attr.USAGE_INPUT, input_tokens),
            (attr.USAGE_OUTPUT, output_tokens),
            (attr.USAGE_CACHE_READ, cache_read_tokens),
            (attr.USAGE_CACHE_WRITE, cache_write_tokens),
            (attr.USAGE_REASONING, reasoning_tokens),
        ):
            if value is not None:
                self._span.set_attribute(key, int(value))

    def set_finish_reasons(self, reasons: str | Sequence[str]) -> None:
        """Records why the model stopped (`gen_ai.response.finish_reasons`), e.g. "stop"."""
        values = [reasons] if isinstance(reasons, str) else [str(r) for r in reasons]
        self._span.set_attribute(attr.FINISH_REASONS, values)

    def set_response(self, *, id: str | None = None, model: str | None = None) -> None:
        """Records the provider's response id and the model that answered."""
        if id is not None:
            self._span.set_attribute(attr.RESPONSE_ID, id)
        if model is not None:
            self._span.set_attribute(attr.RESPONSE_MODEL, model)

    def set_input(self, value: Any) -> None:
        if value is not None:
            self._span.set_attribute(attr.INPUT_MESSAGES, to_json(to_genai_messages(value, "user")))

    def _write_output(self, value: Any) -> None:
        """An OpenAI chat completion is read whole (messages, usage, id, model, finish
        reasons); anything else is taken as the output messages."""
        if value is None:
            return
        completion = read_chat_completion(value)
        if completion is None:
            messages = to_genai_messages(value, "assistant")
            self._span.set_attribute(attr.OUTPUT_MESSAGES, to_json(messages))
            return
        self._span.set_attribute(attr.OUTPUT_MESSAGES, to_json(completion.messages))
        self.set_usage(completion.input_tokens, completion.output_tokens)
        self.set_response(id=completion.response_id, model=completion.model)
        if completion.finish_reasons:
            self.set_finish_reasons(completion.finish_reasons)


class RetrievalSpan(Span):
    """A retrieval, opened by `lemma.retrieval()`."""

    def set_query(self, query: Any) -> None:
        """Records the query (`lemma.input`, and `gen_ai.retrieval.query.text` for text)."""
        self.set_input(query)

    def set_documents(self, documents: Any) -> None:
        """Records the documents found (`lemma.output` and `gen_ai.retrieval.documents`, JSON)."""
        self.set_output(documents)

    def set_input(self, value: Any) -> None:
        super().set_input(value)
        if value is not None:
            self._span.set_attribute(attr.RETRIEVAL_QUERY, to_text(value))

    def _write_output(self, value: Any) -> None:
        if value is not None:
            documents = to_json(value)
            self._span.set_attribute(attr.OUTPUT, documents)
            self._span.set_attribute(attr.RETRIEVAL_DOCUMENTS, documents)


def _attribute_value(value: Any) -> Any:
    """`value` if OpenTelemetry can hold it as an attribute, else its JSON text."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and value:
        first = type(value[0])
        if first in (str, bool, int, float) and all(type(v) is first for v in value):
            return list(value)
    return to_text(value)
