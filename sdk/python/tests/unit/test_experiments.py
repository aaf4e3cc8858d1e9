"""The built-in scorers of `lemma.scorers`, and what `lemma.experiment` refuses before it calls
Lemma (experiments against a real server are in tests/e2e)."""

from __future__ import annotations

import dataclasses
import re

import pytest

import lemma
from lemma import scorers


def case(expected: object = None, input: object = "q") -> lemma.Case:
    return lemma.Case(input=input, expected=expected, id="c1")


def test_exact_match_compares_values_or_their_text() -> None:
    exact = scorers.exact_match()
    assert exact.name == "exact_match"
    assert exact("4", case("4")) is True
    assert exact(4, case("4")) is True  # a number answering an expected text
    assert exact({"b": 1, "a": 2}, case({"a": 2, "b": 1})) is True
    assert exact("4 ", case("4")) is False
    assert exact("Paris", case("paris")) is False
    assert scorers.exact_match(ignore_case=True)("Paris", case("paris")) is True
    assert exact(None, case("4")) is False  # a failed case
    assert exact("4", case(None)) is None  # no expected: not applicable


def test_contains_looks_for_the_text_or_the_expected() -> None:
    assert scorers.contains("refund")("Your refund is on its way", case()) is True
    assert scorers.contains("Refund")("your refund", case()) is False
    assert scorers.contains("Refund", ignore_case=True)("your refund", case()) is True
    assert scorers.contains()("It costs 42 euros", case(42)) is True
    assert scorers.contains()("anything", case(None)) is None
    assert scorers.contains("x")(None, case()) is False
    assert scorers.contains("shipped")({"status": "shipped"}, case()) is True


def test_json_fields_gives_the_share_of_fields_that_agree() -> None:
    fields = scorers.json_fields("status", "order.id")
    expected = {"status": "shipped", "order": {"id": 7}, "note": "ignored"}
    assert fields({"status": "shipped", "order": {"id": 7}}, case(expected)) == 1.0
    assert fields('{"status": "lost", "order": {"id": 7}}', case(expected)) == 0.5
    assert fields("not json", case(expected)) == 0.0
    assert fields(None, case(expected)) == 0.0
    assert fields({"status": "shipped"}, case(None)) is None
    # Missing on both sides agrees.
    assert scorers.json_fields("a", "b")({"a": 1}, case({"a": 1})) == 1.0
    with pytest.raises(ValueError, match="not a JSON object"):
        fields({}, case("text"))
    with pytest.raises(ValueError, match="names of the fields"):
        scorers.json_fields()


def test_numeric_match_allows_an_absolute_tolerance() -> None:
    near = scorers.numeric_match(tolerance=0.01)
    assert near(" 3.141 ", case(3.14)) is True
    assert near(3.2, case("3.14")) is False
    assert scorers.numeric_match()(4, case(4.0)) is True
    assert near("about three", case(3)) is False
    assert near(True, case(1)) is False  # a bool is no number
    assert near(None, case(3)) is False
    assert near(3, case(None)) is None
    with pytest.raises(ValueError, match="not a number"):
        near(3, case("three"))
    with pytest.raises(ValueError, match="tolerance"):
        scorers.numeric_match(tolerance=-1)


def test_regex_match_searches_the_output() -> None:
    order = scorers.regex_match(r"A-\d+")
    assert order("Order A-17 has shipped", case()) is True
    assert order("no order", case()) is False
    assert order(None, case()) is False
    assert scorers.regex_match(r"ship", flags=re.IGNORECASE)("SHIPPED", case()) is True
    # Without a pattern, the case's expected is one.
    assert scorers.regex_match()("it costs 42", case(r"\d+")) is True
    assert scorers.regex_match()("x", case(None)) is None
    with pytest.raises(re.error):
        scorers.regex_match("(")


def test_a_scorer_is_named_and_renamed() -> None:
    assert scorers.exact_match(name="strict").name == "strict"
    polite = scorers.Scorer("polite", lambda output, c: "please" in output)
    assert polite("yes please", case()) is True
    assert repr(polite) == "Scorer('polite')"


def test_cases_read_and_write_lemma_s_json() -> None:
    read = lemma.Case.from_json(
        {"id": "case-1", "input": {"q": 1}, "expected": "a", "tags": ["t"], "metadata": {"k": 1}}
    )
    assert read == lemma.Case({"q": 1}, "a", "case-1", {"k": 1}, ["t"])
    assert read.to_json() == {
        "id": "case-1",
        "input": {"q": 1},
        "expected": "a",
        "metadata": {"k": 1},
        "tags": ["t"],
    }
    assert lemma.Case("only input").to_json() == {"input": "only input"}


def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    def agent(c: lemma.Case) -> str:
        return "x"

    with pytest.raises(ValueError, match="name it with scorers="):
        lemma.experiment("ds", agent, scorers=[lambda output, c: True])
    with pytest.raises(ValueError, match="two scorers are named 'exact_match'"):
        lemma.experiment("ds", agent, scorers=[scorers.exact_match(), scorers.exact_match()])
    with pytest.raises(ValueError, match="not a metric name|metric name"):
        lemma.experiment("ds", agent, scorers={"bad name": scorers.contains("x")})
    with pytest.raises(ValueError, match="concurrency"):
        lemma.experiment("ds", agent, concurrency=0)


def test_results_are_plain_dataclasses() -> None:
    result = lemma.CaseResult("c1", "0" * 32, "q", None, "a", None, {"s": 1.0}, {})
    assert not result.failed
    assert dataclasses.asdict(result)["scores"] == {"s": 1.0}
