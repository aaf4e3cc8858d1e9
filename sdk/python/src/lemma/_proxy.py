"""Proxy sessions: the model calls of a program no Lemma SDK is in (the `claude` CLI, a script
using the openai or anthropic SDK), recorded as spans of the current run.

Lemma's LLM proxy forwards OpenAI- and Anthropic-compatible calls to the real provider and
records each one as a GenAI span. A session (`POST /api/v1/proxy/sessions`) ties those calls to
a parent span: its base URLs, handed to the sub-agent as `OPENAI_BASE_URL` and
`ANTHROPIC_BASE_URL`, make every call through them a child of that span, in the same run, with
the run's thread and user. `DELETE /api/v1/proxy/sessions/{token}` ends it early.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar

from opentelemetry import baggage, trace
from opentelemetry.context import Context, get_current

from . import _attributes as attr
from ._metrics import DEFAULT_TIMEOUT, LemmaApiError, api_base, call_api
from ._setup import api_endpoint

logger = logging.getLogger("lemma")

# Sessions of blocks entered with `with`/`async with` in this context: (request id, session).
# Kept per context, not on the request, so one request object can be entered by many threads
# or tasks at once.
_entered: ContextVar[tuple[tuple[int, ProxySession], ...]] = ContextVar(
    "lemma_proxy_sessions", default=()
)


@dataclass(frozen=True)
class ProxySession:
    """A proxy session as Lemma created it: base URLs for a sub-agent's model calls.

        subprocess.run(["claude", "-p", task], env={**os.environ, **session.env})

    Model calls through its URLs are recorded until it is closed or expires.
    """

    #: The session's token (`lps_...`); it is part of both base URLs.
    token: str
    #: When the session ends by itself, as Lemma wrote it (RFC 3339, UTC).
    expires_at: str
    #: The base URL for OpenAI-compatible clients (`.../openai/v1`).
    openai_base_url: str
    #: The base URL for Anthropic-compatible clients (`.../anthropic`).
    anthropic_base_url: str
    #: The environment variables that point a sub-agent at the session: `OPENAI_BASE_URL` and
    #: `ANTHROPIC_BASE_URL`.
    env: dict[str, str]
    # The server and key the session was created with, for `close()`. Set by `from_json` on
    # the instance, and not a field: `repr`, `==` and `dataclasses.asdict` leave the key out.
    _endpoint: ClassVar[tuple[str, str | None] | None] = None

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], endpoint: tuple[str, str | None] | None = None
    ) -> ProxySession:
        """The session in Lemma's `201` answer; `endpoint` (URL and key) is where `close()`
        ends it (default: Lemma's URL and key, as `lemma.metric` finds them)."""
        base_urls = data["base_urls"]
        token, openai, anthropic = data["token"], base_urls["openai"], base_urls["anthropic"]
        if not all(isinstance(value, str) and value for value in (token, openai, anthropic)):
            raise TypeError("token and base URLs must be non-empty strings")
        env = data.get("env")
        if isinstance(env, Mapping):
            variables = {str(key): str(value) for key, value in env.items()}
        else:
            variables = {"OPENAI_BASE_URL": openai, "ANTHROPIC_BASE_URL": anthropic}
        session = cls(
            token=token,
            expires_at=str(data["expires_at"]),
            openai_base_url=openai,
            anthropic_base_url=anthropic,
            env=variables,
        )
        object.__setattr__(session, "_endpoint", endpoint)
        return session

    def close(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Ends the session now: Lemma refuses later calls through its URLs. A session that
        has already ended (closed, or past `expires_at`) is left as it is, so closing twice
        is harmless.

        Raises:
            LemmaApiError: Lemma refused (a wrong key, say) or could not be reached.
        """
        url, api_key = self._endpoint or api_endpoint()
        try:
            call_api("DELETE", session_endpoint(url, self.token), api_key, None, timeout)
        except LemmaApiError as error:
            if error.status != 404:
                raise


def sessions_endpoint(url: str) -> str:
    """`{url}/api/v1/proxy/sessions`; `url` may be given as the traces endpoint too."""
    return f"{api_base(url)}/api/v1/proxy/sessions"


def session_endpoint(url: str, token: str) -> str:
    """`{url}/api/v1/proxy/sessions/{token}`, the token escaped as one path segment."""
    return f"{sessions_endpoint(url)}/{urllib.parse.quote(token, safe='')}"


def traceparent(span_context: trace.SpanContext) -> str | None:
    """`span_context` as a W3C `traceparent` (version 00, only the sampled flag kept), or None
    for an invalid one."""
    if not span_context.is_valid:
        return None
    sampled = "01" if span_context.trace_flags & trace.TraceFlags.SAMPLED else "00"
    trace_id = trace.format_trace_id(span_context.trace_id)
    return f"00-{trace_id}-{trace.format_span_id(span_context.span_id)}-{sampled}"


def session_body(
    ctx: Context | None = None,
    *,
    thread_id: str | None = None,
    user_id: str | None = None,
    ttl_seconds: int | None = None,
) -> dict[str, Any]:
    """The JSON body that creates a session under the span current in `ctx` (default: the
    current context): its `traceparent`, left out when no valid span is current; the run's
    thread and user, unless given here; and `ttl_seconds` when given."""
    ctx = get_current() if ctx is None else ctx
    body: dict[str, Any] = {}
    parent = traceparent(trace.get_current_span(ctx).get_span_context())
    if parent is not None:
        body["traceparent"] = parent
    for key, given, entry in (
        ("thread_id", thread_id, attr.THREAD_ID),
        ("user_id", user_id, attr.USER_ID),
    ):
        value = given if given is not None else baggage.get_baggage(entry, ctx)
        if isinstance(value, str) and value:
            body[key] = value
    if ttl_seconds is not None:
        body["ttl_seconds"] = ttl_seconds
    return body


def create_session(
    url: str, api_key: str | None, body: dict[str, Any], timeout: float = DEFAULT_TIMEOUT
) -> ProxySession:
    """Posts `body` and returns the session Lemma created; raises `LemmaApiError` otherwise."""
    endpoint = sessions_endpoint(url)
    raw = call_api("POST", endpoint, api_key, body, timeout)
    try:
        return ProxySession.from_json(json.loads(raw), (url, api_key))
    except (KeyError, TypeError, ValueError) as error:
        raise LemmaApiError(
            f"unexpected answer from {endpoint}: {raw[:200]!r}", status=201
        ) from error


class ProxyRequest:
    """A proxy session about to be created; see `lemma.proxy`. Enter it with `with` or
    `async with` to get the session (ended when the block ends), or `start()` it."""

    def __init__(
        self,
        *,
        thread_id: str | None,
        user_id: str | None,
        ttl_seconds: int | None,
        timeout: float,
    ) -> None:
        self._thread_id = thread_id
        self._user_id = user_id
        self._ttl_seconds = ttl_seconds
        self._timeout = timeout

    def _body(self) -> dict[str, Any]:
        return session_body(
            thread_id=self._thread_id, user_id=self._user_id, ttl_seconds=self._ttl_seconds
        )

    def start(self) -> ProxySession:
        """Creates the session now, under the current span; end it with `session.close()`
        (else it ends by itself at `expires_at`)."""
        url, api_key = api_endpoint()
        return create_session(url, api_key, self._body(), self._timeout)

    # ---- context manager ----

    def __enter__(self) -> ProxySession:
        session = self.start()
        _entered.set(_entered.get() + ((id(self), session),))
        return session

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._leave()
        if session is not None:
            _close_quietly(session, self._timeout)

    async def __aenter__(self) -> ProxySession:
        # The span and run context are read here, in the caller's task; only the request
        # waits in a thread, so the event loop goes on meanwhile.
        url, api_key = api_endpoint()
        session = await asyncio.to_thread(create_session, url, api_key, self._body(), self._timeout)
        _entered.set(_entered.get() + ((id(self), session),))
        return session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._leave()
        if session is not None:
            await asyncio.to_thread(_close_quietly, session, self._timeout)

    def _leave(self) -> ProxySession | None:
        """The session of this request's innermost block, forgotten."""
        entries = _entered.get()
        for index in range(len(entries) - 1, -1, -1):
            if entries[index][0] == id(self):
                _entered.set(entries[:index] + entries[index + 1 :])
                return entries[index][1]
        return None


def _close_quietly(session: ProxySession, timeout: float) -> None:
    """Ends `session`, warning instead of raising: it ends by itself at `expires_at` anyway."""
    try:
        session.close(timeout=timeout)
    except LemmaApiError as error:
        logger.warning(
            "Lemma: could not end proxy session %s (%s); it ends by itself at %s.",
            session.token,
            error,
            session.expires_at,
        )


def proxy(
    *,
    thread_id: str | None = None,
    user_id: str | None = None,
    ttl_seconds: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ProxyRequest:
    """A proxy session for a sub-agent Lemma's SDKs are not in: every model call it makes
    through the session's base URLs becomes a child span of the current span, in the same run,
    with the run's thread and user.

        with lemma.agent("planner") as run:
            with lemma.proxy() as session:
                subprocess.run(["claude", "-p", task], env={**os.environ, **session.env})

    Entering the block creates the session under the span current then (without one, each call
    becomes a run of its own); leaving it ends the session (a failure to end it is logged as a
    warning, not raised). `async with lemma.proxy() as session:` works the same in async code;
    `lemma.proxy().start()` creates a session to end with `session.close()`.

    Args:
        thread_id: the thread of the calls; default the current run's (`lemma.thread_id`).
        user_id: the user of the calls; default the current run's (`lemma.user_id`).
        ttl_seconds: how long the session lasts unless ended first; Lemma's default is a day,
            its maximum a week.
        timeout: seconds to wait for Lemma.

    Lemma's URL and key are the ones `lemma.init()` was given, else `$LEMMA_URL` and
    `$LEMMA_API_KEY`.

    Raises (on entering):
        LemmaApiError: Lemma refused the session (its reason is the message; `status` 400 for
            an invalid `ttl_seconds` or `traceparent`, 401 or 403 for the key, 503 when the
            proxy is not available) or could not be reached (`status` None).
    """
    return ProxyRequest(
        thread_id=thread_id, user_id=user_id, ttl_seconds=ttl_seconds, timeout=timeout
    )
