"""What every helper returns: one object that is a decorator, a context manager (`with` and
`async with`) and, through `start()`, a handle for spans that outlive a block."""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Callable, Generic, TypeVar, cast

from opentelemetry.context import Context, attach, detach, get_current

from ._handles import Span
from ._streams import adrive, drive

H = TypeVar("H", bound=Span)
F = TypeVar("F", bound=Callable[..., Any])

# Blocks entered with `with`/`async with` in this context: (operation id, handle, token).
# Kept per context, not on the operation, so one operation object can be entered by many
# threads or tasks at once.
_entered: ContextVar[tuple[tuple[int, Span, object], ...]] = ContextVar("lemma_entered", default=())


class Call:
    """One call of a decorated function, for the helper to read its inputs from."""

    def __init__(
        self,
        signature: inspect.Signature | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.signature = signature
        self.args = args
        self.kwargs = kwargs

    def arguments(self, *, defaults: bool = False) -> dict[str, Any]:
        """The call's arguments by parameter name (`self`/`cls` left out, `**kwargs` merged).
        With `defaults`, parameters not passed are included with their default values."""
        try:
            if self.signature is None:
                raise TypeError("no signature")
            bound = self.signature.bind(*self.args, **self.kwargs)
        except TypeError:
            # No signature, or not bindable (the call itself will fail): keep what was passed.
            out: dict[str, Any] = dict(self.kwargs)
            if self.args:
                out["args"] = list(self.args)
            return out
        if defaults:
            bound.apply_defaults()
        out = {}
        parameters = bound.signature.parameters
        for index, (name, value) in enumerate(bound.arguments.items()):
            kind = parameters[name].kind
            if index == 0 and name in ("self", "cls"):
                continue
            if kind is inspect.Parameter.VAR_KEYWORD:
                out.update(value)
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    out[name] = list(value)
            else:
                out[name] = value
        return out

    def single_input(self) -> Any:
        """The one argument of the call as it is, or all of them by name, or None without."""
        arguments = self.arguments()
        if not arguments:
            return None
        if len(arguments) == 1:
            return next(iter(arguments.values()))
        return arguments


class Operation(Generic[H]):
    """A helper's span, before it is opened. Use it as:

    - a decorator (sync, async, generator and async generator functions: a generator's span
      stays open until the stream ends),
    - a context manager, `with` or `async with`, giving the handle,
    - `start()`, giving a handle whose span stays open until `complete()` or `fail()`.
    """

    def _open(self, parent: Context, call: Call | None) -> H:
        """Starts the span as a child of `parent`, recording what it knows of `call`."""
        raise NotImplementedError

    def _for_function(self, fn: Callable[..., Any]) -> Operation[H]:
        """This operation as it decorates `fn` (e.g. named after it)."""
        return self

    def start(self) -> H:
        """Opens the span now, as a child of the current span, without making it current (use
        `handle.activate()` for that). End it with `complete()` or `fail()`."""
        handle = self._open(get_current(), None)
        handle._manual = True
        return handle

    # ---- context manager ----

    def __enter__(self) -> H:
        handle = self._open(get_current(), None)
        token = attach(handle.context)
        _entered.set(_entered.get() + ((id(self), handle, token),))
        return handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        entries = _entered.get()
        for index in range(len(entries) - 1, -1, -1):
            if entries[index][0] == id(self):
                _, handle, token = entries[index]
                _entered.set(entries[:index] + entries[index + 1 :])
                break
        else:
            return
        try:
            if exc is not None:
                handle._finish_error(exc)
            else:
                handle._finish(None)
        finally:
            detach(token)  # type: ignore[arg-type]

    async def __aenter__(self) -> H:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # ---- decorator ----

    def __call__(self, fn: F) -> F:
        op = self._for_function(fn)
        try:
            signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):  # some builtins have none
            signature = None

        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> H:
            return op._open(get_current(), Call(signature, args, kwargs))

        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                return adrive(lambda: start(args, kwargs), lambda: fn(*args, **kwargs))

            return cast(F, async_gen_wrapper)

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                return drive(lambda: start(args, kwargs), lambda: fn(*args, **kwargs))

            return cast(F, gen_wrapper)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                handle = start(args, kwargs)
                token = attach(handle.context)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as error:
                    handle._finish_error(error)
                    raise
                finally:
                    detach(token)
                handle._finish(result)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            handle = start(args, kwargs)
            token = attach(handle.context)
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                handle._finish_error(error)
                raise
            finally:
                detach(token)
            handle._finish(result)
            return result

        return cast(F, wrapper)
