"""Streams: a span that stays open while a generator (sync or async) is consumed.

The span is made current only while the generator runs (each step is wrapped in attach and
detach), never across a `yield`: otherwise the consumer would run inside the span between items,
and the context would be detached in a different place than it was attached.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Generator, Iterable
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from opentelemetry.context import attach, detach

if TYPE_CHECKING:
    from ._handles import Span

T = TypeVar("T")


def drive(start: Callable[[], Span], source: Callable[[], Iterable[T]]) -> Generator[T, Any, Any]:
    """Yields what `source()` yields, with the span from `start()` current while it runs, and
    ends the span when the stream ends, fails or is closed. Both are called at the first step,
    so a generator that is never iterated opens no span. `send` and `throw` pass through."""
    handle = start()
    items: list[Any] = []
    iterator: Any = None
    to_send: Any = None
    to_throw: Any = None
    while True:
        token = attach(handle.context)
        try:
            if iterator is None:
                iterator = iter(source())
            if to_throw is not None:
                error, to_throw = to_throw, None
                throw = getattr(iterator, "throw", None)
                if throw is None:
                    raise error
                item = throw(error)
            elif to_send is not None and hasattr(iterator, "send"):
                item = iterator.send(to_send)
            else:
                item = next(iterator)
        except StopIteration as stop:
            handle._finish_stream(items, stop.value)
            return stop.value
        except BaseException as error:
            handle._finish_error(error)
            raise
        finally:
            detach(token)
        items.append(item)
        try:
            to_send = yield item
        except GeneratorExit:
            _close(handle, iterator)
            handle._finish_stream(items, None)
            raise
        except BaseException as error:
            to_throw = error


async def adrive(
    start: Callable[[], Span], source: Callable[[], AsyncIterable[T]]
) -> AsyncIterator[T]:
    """`drive` for async iterables (async generators keep `asend` and `athrow`)."""
    handle = start()
    items: list[Any] = []
    iterator: Any = None
    to_send: Any = None
    to_throw: Any = None
    while True:
        token = attach(handle.context)
        try:
            if iterator is None:
                iterator = source().__aiter__()
            if to_throw is not None:
                error, to_throw = to_throw, None
                athrow = getattr(iterator, "athrow", None)
                if athrow is None:
                    raise error
                item = await athrow(error)
            elif to_send is not None and hasattr(iterator, "asend"):
                item = await iterator.asend(to_send)
            else:
                item = await iterator.__anext__()
        except StopAsyncIteration:
            handle._finish_stream(items, None)
            return
        except BaseException as error:
            handle._finish_error(error)
            raise
        finally:
            detach(token)
        items.append(item)
        try:
            to_send = yield item
        except GeneratorExit:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                token = attach(handle.context)
                try:
                    await aclose()
                finally:
                    detach(token)
            handle._finish_stream(items, None)
            raise
        except BaseException as error:
            to_throw = error


def _close(handle: Span, iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is None:
        return
    token = attach(handle.context)
    try:
        close()
    finally:
        detach(token)
