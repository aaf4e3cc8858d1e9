"""The run context: thread, user, session, environment, tags and metadata of a run.

It lives in OpenTelemetry baggage (keys `lemma.thread_id`, `lemma.tags`, `lemma.metadata.<key>`,
...), so one mechanism both reaches every span started inside the run (the span processor copies
it onto them) and crosses process boundaries next to `traceparent` (W3C `baggage`). Values are
strings: tags as a JSON array, metadata values JSON-encoded unless they are strings.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Union

from opentelemetry import baggage, trace
from opentelemetry.context import (
    Context,
    attach,
    create_key,
    detach,
    get_current,
    get_value,
    set_value,
)

from . import _attributes as attr
from ._encoding import to_text

if TYPE_CHECKING:
    from ._handles import Run, Span

AttributeValue = Union[str, bool, int, float, Sequence[str]]

_SCALAR_KEYS = (attr.THREAD_ID, attr.USER_ID, attr.SESSION_ID, attr.ENVIRONMENT)

# The innermost Lemma span and agent run in a context, for `current_span()` / `current_run()`.
_SPAN_KEY = create_key("lemma.span")
_RUN_KEY = create_key("lemma.run")

# The run id of the latest agent started in this context, for `last_run_id()`.
_last_run_id: ContextVar[str | None] = ContextVar("lemma_last_run_id", default=None)


def with_run_context(
    ctx: Context,
    *,
    thread_id: str | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    environment: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Context:
    """`ctx` with these run context values added to its baggage (the others are kept)."""
    for key, value in (
        (attr.THREAD_ID, thread_id),
        (attr.USER_ID, user_id),
        (attr.SESSION_ID, session_id),
        (attr.ENVIRONMENT, environment),
    ):
        if value is not None:
            ctx = baggage.set_baggage(key, str(value), ctx)
    if tags:
        merged = _tags(baggage.get_baggage(attr.TAGS, ctx))
        merged += [str(t) for t in tags if str(t) not in merged]
        ctx = baggage.set_baggage(attr.TAGS, json.dumps(merged), ctx)
    for key, value in (metadata or {}).items():
        ctx = baggage.set_baggage(attr.METADATA_PREFIX + str(key), to_text(value), ctx)
    return ctx


@contextlib.contextmanager
def run_context(
    *,
    thread_id: str | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    environment: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """Sets the run context for everything inside the block, as `agent(...)` does for its
    run: for values known per call (a request's thread or user) around a decorated agent.

        with lemma.run_context(thread_id=conversation_id, user_id=user.id):
            support(question)
    """
    ctx = with_run_context(
        get_current(),
        thread_id=thread_id,
        user_id=user_id,
        session_id=session_id,
        environment=environment,
        tags=tags,
        metadata=metadata,
    )
    token = attach(ctx)
    try:
        yield
    finally:
        detach(token)


def run_context_attributes(ctx: Context | None = None) -> dict[str, AttributeValue]:
    """The span attributes the run context in `ctx` (default: the current one) stands for."""
    out: dict[str, AttributeValue] = {}
    for key, value in baggage.get_all(ctx if ctx is not None else get_current()).items():
        if not isinstance(value, str):
            continue
        if key in _SCALAR_KEYS or key.startswith(attr.METADATA_PREFIX):
            out[key] = value
        elif key == attr.TAGS:
            out[key] = _tags(value)
    return out


def _tags(value: object) -> list[str]:
    """Tags from baggage: a JSON array, or (as another emitter may send them) comma-separated."""
    if not isinstance(value, str) or not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(parsed, list):
        return [str(t) for t in parsed]
    return [str(parsed)]


def with_handle(ctx: Context, handle: Span, *, is_run: bool) -> Context:
    """`ctx` with `handle`'s span current, and `handle` findable by `current_span()` (and by
    `current_run()` for an agent run)."""
    ctx = trace.set_span_in_context(handle.otel_span, ctx)
    ctx = set_value(_SPAN_KEY, handle, ctx)
    if is_run:
        ctx = set_value(_RUN_KEY, handle, ctx)
    return ctx


def current_span() -> Span | None:
    """The innermost span opened by a Lemma helper (agent, tool, llm, ...) that is current."""
    return get_value(_SPAN_KEY)  # type: ignore[return-value]


def current_run() -> Run | None:
    """The innermost agent run that is current, or None outside any."""
    return get_value(_RUN_KEY)  # type: ignore[return-value]


def current_run_id() -> str | None:
    """The run id (trace id, 32 hex chars) of the current span, or None when there is none.

    Inside a run continued from another process, this is the caller's run id.
    """
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return trace.format_trace_id(span_context.trace_id)


def last_run_id() -> str | None:
    """The run id of the latest agent run started in this context (thread or asyncio task).

    Read it after calling a decorated agent to learn which run the call was.
    """
    return _last_run_id.get()


def remember_run_id(run_id: str) -> None:
    _last_run_id.set(run_id)
