"""The helpers: `agent()`, `tool()`, `llm()`, `retrieval()` and `span()`."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Callable, TypeVar, overload

from opentelemetry.context import Context

from . import _attributes as attr
from ._context import remember_run_id, run_context_attributes, with_run_context
from ._handles import LlmSpan, RetrievalSpan, Run, Span, ToolSpan
from ._operations import Call, Operation
from ._setup import tracer
from ._unset import UNSET, Unset

F = TypeVar("F", bound=Callable[..., Any])


class AgentOperation(Operation[Run]):
    """What `lemma.agent()` returns."""

    def __init__(
        self,
        name: str,
        *,
        input: Any = UNSET,
        thread_id: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        environment: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not name:
            raise ValueError("lemma.agent() needs a name")
        self._name = name
        self._input = input
        self._run_context: dict[str, Any] = dict(
            thread_id=thread_id,
            user_id=user_id,
            session_id=session_id,
            environment=environment,
            tags=tags,
            metadata=metadata,
        )

    def _open(self, parent: Context, call: Call | None) -> Run:
        ctx = with_run_context(parent, **self._run_context)
        attributes: dict[str, Any] = {
            attr.SPAN_KIND: "agent",
            attr.AGENT_NAME: self._name,
            attr.OPERATION: "invoke_agent",
            attr.AGENT_NAME_GENAI: self._name,
        }
        # Also written here (not only by the span processor) for providers without Lemma's.
        attributes.update(run_context_attributes(ctx))
        span = tracer().start_span(attr.AGENT_SPAN, context=ctx, attributes=attributes)
        run = Run(span, ctx)
        run.set_input(_input_of(self._input, call))
        remember_run_id(run.run_id)
        return run


class ToolOperation(Operation[ToolSpan]):
    """What `lemma.tool()` returns."""

    def __init__(
        self,
        name: str | None = None,
        *,
        call_id: str | None = None,
        arguments: Any = UNSET,
        description: str | None = None,
    ) -> None:
        self._name = name
        self._call_id = call_id
        self._arguments = arguments
        self._description = description

    def _for_function(self, fn: Callable[..., Any]) -> ToolOperation:
        if self._name:
            return self
        named = copy.copy(self)
        named._name = fn.__name__
        return named

    def _open(self, parent: Context, call: Call | None) -> ToolSpan:
        if not self._name:
            raise ValueError("lemma.tool() needs a name unless it decorates a function")
        attributes: dict[str, Any] = {
            attr.SPAN_KIND: "tool",
            attr.OPERATION: "execute_tool",
            attr.TOOL_NAME: self._name,
        }
        if self._call_id is not None:
            attributes[attr.TOOL_CALL_ID] = self._call_id
        if self._description is not None:
            attributes[attr.TOOL_DESCRIPTION] = self._description
        span = tracer().start_span(
            f"execute_tool {self._name}", context=parent, attributes=attributes
        )
        handle = ToolSpan(span, parent)
        if not isinstance(self._arguments, Unset):
            handle.set_arguments(self._arguments)
        elif call is not None:
            handle.set_arguments(call.arguments(defaults=True))
        return handle


class LlmOperation(Operation[LlmSpan]):
    """What `lemma.llm()` returns."""

    def __init__(
        self,
        model: str,
        *,
        provider: str | None = None,
        input_messages: Any = UNSET,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self._model = model
        self._provider = provider
        self._input_messages = input_messages
        self._temperature = temperature
        self._max_tokens = max_tokens

    def _open(self, parent: Context, call: Call | None) -> LlmSpan:
        attributes: dict[str, Any] = {
            attr.SPAN_KIND: "llm",
            attr.OPERATION: "chat",
            attr.REQUEST_MODEL: self._model,
        }
        if self._provider is not None:
            attributes[attr.PROVIDER] = self._provider
        if self._temperature is not None:
            attributes[attr.REQUEST_TEMPERATURE] = float(self._temperature)
        if self._max_tokens is not None:
            attributes[attr.REQUEST_MAX_TOKENS] = int(self._max_tokens)
        span = tracer().start_span(f"chat {self._model}", context=parent, attributes=attributes)
        handle = LlmSpan(span, parent)
        if not isinstance(self._input_messages, Unset):
            handle.set_input_messages(self._input_messages)
        elif call is not None:
            handle.set_input_messages(_named_or_first(call, "messages"))
        return handle


class RetrievalOperation(Operation[RetrievalSpan]):
    """What `lemma.retrieval()` returns."""

    def __init__(
        self, source: str | None = None, *, query: Any = UNSET, top_k: int | None = None
    ) -> None:
        self._source = source
        self._query = query
        self._top_k = top_k

    def _open(self, parent: Context, call: Call | None) -> RetrievalSpan:
        attributes: dict[str, Any] = {attr.SPAN_KIND: "retrieval", attr.OPERATION: "retrieval"}
        if self._source:
            attributes[attr.DATA_SOURCE] = self._source
        if self._top_k is not None:
            attributes[attr.REQUEST_TOP_K] = int(self._top_k)
        name = f"retrieval {self._source}" if self._source else "retrieval"
        span = tracer().start_span(name, context=parent, attributes=attributes)
        handle = RetrievalSpan(span, parent)
        if not isinstance(self._query, Unset):
            handle.set_query(self._query)
        elif call is not None:
            handle.set_query(_named_or_single(call, "query"))
        return handle


class SpanOperation(Operation[Span]):
    """What `lemma.span()` returns."""

    def __init__(
        self,
        name: str | None = None,
        *,
        kind: str = "span",
        input: Any = UNSET,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        self._name = name
        self._kind = kind
        self._input = input
        self._attributes = dict(attributes or {})

    def _for_function(self, fn: Callable[..., Any]) -> SpanOperation:
        if self._name:
            return self
        named = copy.copy(self)
        named._name = fn.__name__
        return named

    def _open(self, parent: Context, call: Call | None) -> Span:
        if not self._name:
            raise ValueError("lemma.span() needs a name unless it decorates a function")
        span = tracer().start_span(
            self._name, context=parent, attributes={attr.SPAN_KIND: self._kind}
        )
        handle = Span(span, parent)
        handle.set_attributes(self._attributes)
        handle.set_input(_input_of(self._input, call))
        return handle


# ---- the public factories ----


def agent(
    name: str,
    *,
    input: Any = UNSET,
    thread_id: str | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    environment: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> AgentOperation:
    """An agent run: the root span of a run (`ai.agent.run`), or a sub-agent inside one.

    As a decorator the input is the call's argument (or all arguments by name) and the output
    its return value; for generator functions, the run lasts until the stream ends and the
    output is the streamed items (strings joined). As `with lemma.agent(...) as run:` it gives
    the `Run`; `lemma.agent(...).start()` gives one that stays open until `run.complete()`.

    `thread_id`, `user_id`, `session_id`, `environment`, `tags` and `metadata` are the run
    context: written on every span started inside the run, and carried to other processes.
    Read the run id with `run.run_id`, `lemma.current_run_id()` inside, or
    `lemma.last_run_id()` after a decorated call.
    """
    return AgentOperation(
        name,
        input=input,
        thread_id=thread_id,
        user_id=user_id,
        session_id=session_id,
        environment=environment,
        tags=tags,
        metadata=metadata,
    )


@overload
def tool(name: F) -> F: ...


@overload
def tool(
    name: str | None = None,
    *,
    call_id: str | None = None,
    arguments: Any = UNSET,
    description: str | None = None,
) -> ToolOperation: ...


def tool(
    name: str | Callable[..., Any] | None = None,
    *,
    call_id: str | None = None,
    arguments: Any = UNSET,
    description: str | None = None,
) -> Any:
    """A tool call (`execute_tool <name>`). As a decorator (`@lemma.tool` or
    `@lemma.tool("name")`), the name defaults to the function's, the arguments are the call's
    (by parameter name, defaults included) and the result its return value. As
    `with lemma.tool("search", arguments={...}) as t:`, record the result with `t.set_result()`.
    """
    if callable(name):
        return ToolOperation()(name)
    return ToolOperation(name, call_id=call_id, arguments=arguments, description=description)


def llm(
    model: str,
    *,
    provider: str | None = None,
    input_messages: Any = UNSET,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> LlmOperation:
    """A model call (`chat <model>`). Record what the model said with `set_output_messages`,
    `set_usage`, `set_finish_reasons` and `set_response` on the handle. As a decorator, the
    input messages are the `messages` argument (or the only argument) and the return value is
    the output: text, messages, or an OpenAI chat completion, read whole (messages, usage,
    response id and model, finish reasons)."""
    return LlmOperation(
        model,
        provider=provider,
        input_messages=input_messages,
        temperature=temperature,
        max_tokens=max_tokens,
    )


def retrieval(
    source: str | None = None, *, query: Any = UNSET, top_k: int | None = None
) -> RetrievalOperation:
    """A retrieval (`retrieval <source>`): the query in, the documents out. As a decorator the
    query is the `query` argument (or the only argument) and the documents the return value."""
    return RetrievalOperation(source, query=query, top_k=top_k)


@overload
def span(name: F) -> F: ...


@overload
def span(
    name: str | None = None,
    *,
    kind: str = "span",
    input: Any = UNSET,
    attributes: Mapping[str, Any] | None = None,
) -> SpanOperation: ...


def span(
    name: str | Callable[..., Any] | None = None,
    *,
    kind: str = "span",
    input: Any = UNSET,
    attributes: Mapping[str, Any] | None = None,
) -> Any:
    """Any other step, as a span of `kind` (`lemma.span.kind`: e.g. `chain`, `guardrail`,
    `embedding`; default `span`) with `lemma.input` / `lemma.output`."""
    if callable(name):
        return SpanOperation()(name)
    return SpanOperation(name, kind=kind, input=input, attributes=attributes)


def _input_of(given: Any, call: Call | None) -> Any:
    if not isinstance(given, Unset):
        return given
    return call.single_input() if call is not None else None


def _named_or_single(call: Call, name: str) -> Any:
    arguments = call.arguments()
    if name in arguments:
        return arguments[name]
    return call.single_input()


def _named_or_first(call: Call, name: str) -> Any:
    arguments = call.arguments()
    if name in arguments:
        return arguments[name]
    return next(iter(arguments.values()), None)
