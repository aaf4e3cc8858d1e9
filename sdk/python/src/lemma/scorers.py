"""Built-in scorers for `lemma.experiment`.

A scorer is called as `scorer(output, case)` once the agent answered a case (`output` is None
when the agent raised) and gives a number or a bool, higher being better, or None when it does
not apply to the case (e.g. the case has no `expected`): then no score is recorded. Any function
of that shape is a scorer too, an LLM judge say; these cover the usual checks:

    from lemma import scorers

    lemma.experiment("support-qa", answer, scorers=[scorers.exact_match(), scorers.contains()])
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any, Callable, Union

from ._encoding import to_plain

if TYPE_CHECKING:
    from ._experiments import Case

ScoreValue = Union[float, int, bool, None]
"""What a scorer gives: a number or a bool (higher is better), or None when it does not apply."""


class Scorer:
    """A scoring function with the name its scores are recorded under (a metric name: 1-128
    letters, digits, `_`, `-`, `.` or `:`):

        polite = lemma.scorers.Scorer("polite", lambda output, case: "please" in str(output))
    """

    def __init__(self, name: str, fn: Callable[[Any, Case], Any]) -> None:
        self.name = name
        self._fn = fn

    def __call__(self, output: Any, case: Case) -> Any:
        return self._fn(output, case)

    def __repr__(self) -> str:
        return f"Scorer({self.name!r})"


def exact_match(*, name: str = "exact_match", ignore_case: bool = False) -> Scorer:
    """True when the output equals the case's `expected`: as values, or as text when one of
    them is text (an agent answering "4" to an expected 4). None for a case without
    `expected`."""

    def score(output: Any, case: Case) -> ScoreValue:
        if case.expected is None:
            return None
        if output is None:
            return False
        if _plain(output) == _plain(case.expected):
            return True
        got, want = _text(output), _text(case.expected)
        if ignore_case:
            got, want = got.casefold(), want.casefold()
        return got == want

    return Scorer(name, score)


def contains(
    text: str | None = None, *, name: str = "contains", ignore_case: bool = False
) -> Scorer:
    """True when the output (as text) contains `text`, or without it the case's `expected` (as
    text). None when neither is given."""

    def score(output: Any, case: Case) -> ScoreValue:
        wanted = text if text is not None else case.expected
        if wanted is None:
            return None
        got, want = _text(output) if output is not None else "", _text(wanted)
        if ignore_case:
            got, want = got.casefold(), want.casefold()
        return want in got

    return Scorer(name, score)


def json_fields(*fields: str, name: str = "json_fields") -> Scorer:
    """The share of `fields` (dotted paths allowed: `"order.status"`) on which the output and
    the case's `expected` agree, each a JSON object or its text: 1.0 when all do. A field
    missing on both sides agrees; an output that is not an object agrees on none. None for a
    case without `expected`."""
    if not fields:
        raise ValueError("json_fields() needs the names of the fields to compare")

    def score(output: Any, case: Case) -> ScoreValue:
        if case.expected is None:
            return None
        want = _object(case.expected)
        if want is None:
            raise ValueError(f"the case's expected is not a JSON object: {case.expected!r}")
        got = _object(output)
        if got is None:
            return 0.0
        same = sum(1 for f in fields if _field(got, f) == _field(want, f))
        return same / len(fields)

    return Scorer(name, score)


def numeric_match(tolerance: float = 0.0, *, name: str = "numeric_match") -> Scorer:
    """True when the output, read as a number (a number, or text such as " 4.0"), is within
    `tolerance` (absolute) of the case's `expected`. None for a case without `expected`."""
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be a number of at least 0, not {tolerance!r}")

    def score(output: Any, case: Case) -> ScoreValue:
        if case.expected is None:
            return None
        want = _number(case.expected)
        if want is None:
            raise ValueError(f"the case's expected is not a number: {case.expected!r}")
        got = _number(output)
        return got is not None and abs(got - want) <= tolerance

    return Scorer(name, score)


def regex_match(
    pattern: str | re.Pattern[str] | None = None, *, name: str = "regex_match", flags: int = 0
) -> Scorer:
    """True when `pattern` (or, without it, the case's `expected` as a pattern) is found in the
    output as text (`re.search`). None when there is no pattern."""
    compiled = re.compile(pattern, flags) if pattern is not None else None

    def score(output: Any, case: Case) -> ScoreValue:
        found = compiled
        if found is None:
            if case.expected is None:
                return None
            found = re.compile(_text(case.expected), flags)
        return found.search(_text(output) if output is not None else "") is not None

    return Scorer(name, score)


# ---- reading outputs ----


def _plain(value: Any) -> Any:
    return to_plain(value)


def _text(value: Any) -> str:
    """Text as is; anything else as compact JSON with sorted keys, so equal values read alike."""
    if isinstance(value, str):
        return value
    return json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _object(value: Any) -> dict[str, Any] | None:
    """A JSON object, given as one (or a model, dataclass, ...) or as its text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    plain = to_plain(value)
    return plain if isinstance(plain, dict) else None


_MISSING = object()


def _field(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
