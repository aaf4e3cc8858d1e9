"""Metric events: named values tied to a run (user feedback, task success, an evaluator's score).

Unlike spans, they are posted at once to Lemma's REST API (`POST /api/v1/runs/{run_id}/metrics`),
not through OpenTelemetry: the call is the user's own, so a rejected event or an unreachable
server raises `LemmaApiError` with the reason instead of being logged and dropped.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Union

from ._setup import api_endpoint

MetricValue = Union[float, int, bool, str]
"""What a metric event holds: a finite number, a boolean or a text (at most 1,000 characters)."""

DEFAULT_TIMEOUT = 10.0


class LemmaApiError(Exception):
    """Lemma's REST API refused a request, or could not be reached.

    `str(error)` is the server's reason (e.g. "value must be a finite number").
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        #: The HTTP status, or None when no answer came (connection refused, timeout).
        self.status = status
        #: The server's error code (`bad_request`, `unauthorized`, `not_found`, ...), if any.
        self.code = code


@dataclass(frozen=True)
class Metric:
    """A stored metric event, as Lemma answered it."""

    id: str
    run_id: str
    name: str
    value: MetricValue
    time_unix_nano: int
    span_id: str | None = None
    comment: str | None = None
    source: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metric:
        return cls(
            id=str(data["id"]),
            run_id=str(data["run_id"]),
            name=str(data["name"]),
            value=data["value"],
            time_unix_nano=int(data["time_unix_nano"]),
            span_id=data.get("span_id"),
            comment=data.get("comment"),
            source=data.get("source"),
        )


def metric(
    run_id: str,
    name: str,
    value: MetricValue,
    *,
    comment: str | None = None,
    source: str | None = "sdk",
    span_id: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Metric:
    """Records a metric event on a run, at once, and returns it as Lemma stored it.

        lemma.metric(run_id, "thumbs_up", True, source="user", comment="solved it")

    Args:
        run_id: the run (32 hex characters: `run.run_id`, `lemma.last_run_id()`, ...). The run's
            spans need not have arrived yet.
        name: 1-128 letters, digits, `_`, `-`, `.` or `:`.
        value: a finite number, a boolean or a text of at most 1,000 characters.
        comment: why (at most 4,000 characters).
        source: who scored it: `sdk` by default; `user`, `evaluator`, ... None sends none.
        span_id: one span of the run the event is about (16 hex characters).
        timeout: seconds to wait for Lemma.

    Lemma's URL and key are the ones `lemma.init()` was given, else `$LEMMA_URL` and
    `$LEMMA_API_KEY`.

    Raises:
        LemmaApiError: Lemma refused the event (its reason is the message; `status` 400 for an
            invalid event, 401 for a wrong key, 404 for a run of another project) or could not
            be reached (`status` None).
        ValueError: `value` is NaN or infinite (JSON cannot carry it).
    """
    url, api_key = api_endpoint()
    body = event_body(name, value, comment=comment, source=source, span_id=span_id)
    return post_metric(url, api_key, run_id, body, timeout)


def api_base(url: str) -> str:
    """The base of REST calls: `url` without a trailing `/`, nor `/v1/traces` (the traces
    endpoint may be given as Lemma's URL too)."""
    base = url.rstrip("/")
    if base.endswith("/v1/traces"):
        base = base[: -len("/v1/traces")]
    return base


def metrics_endpoint(url: str, run_id: str) -> str:
    """`{url}/api/v1/runs/{run_id}/metrics`; `url` may be given as the traces endpoint too."""
    return f"{api_base(url)}/api/v1/runs/{urllib.parse.quote(run_id, safe='')}/metrics"


def event_body(
    name: str,
    value: MetricValue,
    *,
    comment: str | None,
    source: str | None,
    span_id: str | None,
) -> dict[str, Any]:
    """The JSON body of one event. The server checks every field; only what JSON cannot carry
    (NaN, infinities) is refused here."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a metric value must be a finite number, not {value!r}")
    body: dict[str, Any] = {"name": name, "value": value}
    for key, given in (("comment", comment), ("source", source), ("span_id", span_id)):
        if given is not None:
            body[key] = given
    return body


def post_metric(
    url: str,
    api_key: str | None,
    run_id: str,
    body: dict[str, Any],
    timeout: float = DEFAULT_TIMEOUT,
) -> Metric:
    """Posts one event and returns it as stored; raises `LemmaApiError` otherwise."""
    endpoint = metrics_endpoint(url, run_id)
    raw = call_api("POST", endpoint, api_key, body, timeout)
    try:
        return Metric.from_json(json.loads(raw)["metrics"][0])
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise LemmaApiError(
            f"unexpected answer from {endpoint}: {raw[:200]!r}", status=201
        ) from error


def call_api(
    method: str,
    endpoint: str,
    api_key: str | None,
    body: dict[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Sends one request to Lemma's REST API (`body` as JSON, the key as a bearer token) and
    returns the answer's body; raises `LemmaApiError` for an error status or no answer."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(endpoint, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        raise _refusal(error, endpoint, bool(api_key)) from None
    except OSError as error:  # URLError, refused connections, timeouts
        reason = getattr(error, "reason", error)
        raise LemmaApiError(
            f"Lemma is not reachable at {endpoint} ({reason}): start it with `lemma serve`, "
            "or set LEMMA_URL to where it listens."
        ) from error


def _refusal(error: urllib.error.HTTPError, endpoint: str, has_key: bool) -> LemmaApiError:
    """The server's `{"error": {"code", "message"}}` as an exception, with a hint for 401."""
    code: str | None = None
    try:
        detail = json.loads(error.read())["error"]
        code, message = detail.get("code"), str(detail["message"])
    except Exception:  # not Lemma's error shape (a proxy, say): the status line will do
        message = f"HTTP {error.code} {error.reason} from {endpoint}"
    if error.code in (401, 403):
        fix = "set" if not has_key else "check"
        message += (
            f" ({fix} LEMMA_API_KEY, or lemma.init(api_key=...), to a key of the server at "
            f"{endpoint})"
        )
    return LemmaApiError(message, status=error.code, code=code)
