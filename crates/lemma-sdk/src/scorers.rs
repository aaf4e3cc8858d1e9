//! Scorers for [`experiment`](crate::experiment): each looks at an agent's answer to a case
//! and gives a [`Score`] (a number or a boolean, higher being better), or nothing when it does
//! not apply to the case (e.g. the case has no `expected`): then no score is recorded.
//!
//! The built-ins cover the usual checks; [`from_fn`] and [`from_async_fn`] make a scorer of
//! any function, an LLM judge say. A scorer's name is the metric its scores are recorded as
//! (1–128 letters, digits, `_`, `-`, `.` or `:`).
//!
//! ```
//! use lemma_sdk::scorers;
//!
//! let checks = [
//!     scorers::exact_match(),
//!     scorers::contains("refund"),
//!     scorers::from_fn("short", |output, _case| output.is_some_and(|o| o.to_string().len() < 200)),
//! ];
//! assert_eq!(checks[2].name(), "short");
//! # use lemma_sdk::scorers::Scorer;
//! ```

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::experiment::Case;
use crate::Error;

/// A score: a number or a boolean (counted as 1 and 0 in means and comparisons).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Score {
    /// Yes or no, e.g. whether the answer was right.
    Bool(bool),
    /// A finite number, e.g. a share of fields right.
    Number(f64),
}

impl Score {
    /// The score as a number: booleans as 1 and 0.
    pub fn as_f64(&self) -> f64 {
        match *self {
            Score::Bool(b) => f64::from(u8::from(b)),
            Score::Number(n) => n,
        }
    }
}

impl From<bool> for Score {
    fn from(b: bool) -> Self {
        Score::Bool(b)
    }
}

macro_rules! score_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Score {
            fn from(n: $t) -> Self {
                Score::Number(f64::from(n))
            }
        }
    )*};
}
score_from!(f64, f32, i8, i16, i32, u8, u16, u32);

/// What a scorer function may return: a score (`bool`, a number, [`Score`]), an `Option` of
/// one (`None`: the scorer does not apply), or a `Result` of either (`Err`: the scorer failed,
/// and its reason is reported in [`CaseResult::score_errors`](crate::CaseResult::score_errors)).
pub trait IntoScore {
    /// The score, nothing, or why there is none.
    fn into_score(self) -> Result<Option<Score>, String>;
}

impl IntoScore for Score {
    fn into_score(self) -> Result<Option<Score>, String> {
        match self {
            Score::Number(n) if !n.is_finite() => Err(format!("gave {n}, not a finite number")),
            score => Ok(Some(score)),
        }
    }
}

macro_rules! into_score {
    ($($t:ty),*) => {$(
        impl IntoScore for $t {
            fn into_score(self) -> Result<Option<Score>, String> {
                Score::from(self).into_score()
            }
        }
    )*};
}
into_score!(bool, f64, f32, i8, i16, i32, u8, u16, u32);

impl<T: IntoScore> IntoScore for Option<T> {
    fn into_score(self) -> Result<Option<Score>, String> {
        self.map_or(Ok(None), IntoScore::into_score)
    }
}

impl<T: IntoScore, E: fmt::Display> IntoScore for Result<T, E> {
    fn into_score(self) -> Result<Option<Score>, String> {
        self.map_err(|e| e.to_string())?.into_score()
    }
}

/// Scores an agent's answer to a case. `output` is `None` when the agent failed.
#[async_trait::async_trait]
pub trait Scorer: Send + Sync {
    /// The metric the scores are recorded as.
    fn name(&self) -> &str;

    /// The score, `Ok(None)` when the scorer does not apply to the case, or why it failed.
    async fn score(&self, output: Option<&Value>, case: &Case) -> Result<Option<Score>, String>;
}

type ScoreFn = dyn Fn(Option<&Value>, &Case) -> Result<Option<Score>, String> + Send + Sync;

/// A scorer made of a function: the built-ins, and [`from_fn`].
pub struct FnScorer {
    name: String,
    score: Box<ScoreFn>,
}

impl FnScorer {
    /// The same scorer under another name, e.g. two `contains` checks side by side.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl fmt::Debug for FnScorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnScorer")
            .field("name", &self.name)
            .finish()
    }
}

#[async_trait::async_trait]
impl Scorer for FnScorer {
    fn name(&self) -> &str {
        &self.name
    }

    async fn score(&self, output: Option<&Value>, case: &Case) -> Result<Option<Score>, String> {
        // A scorer that panics is a failed score, as one that returns an error: the other
        // scorers and cases go on.
        catch_unwind(AssertUnwindSafe(|| (self.score)(output, case)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&*panic))))
    }
}

/// A scorer of `f(output, case)`, returning a `bool`, a number, an `Option` or a `Result` of
/// one (see [`IntoScore`]).
///
/// ```
/// use lemma_sdk::scorers::{self, Scorer};
///
/// let polite = scorers::from_fn("polite", |output, _case| {
///     output.and_then(|o| o.as_str()).map(|text| text.contains("please"))
/// });
/// assert_eq!(polite.name(), "polite");
/// ```
pub fn from_fn<F, R>(name: impl Into<String>, f: F) -> FnScorer
where
    F: Fn(Option<&Value>, &Case) -> R + Send + Sync + 'static,
    R: IntoScore,
{
    FnScorer {
        name: name.into(),
        score: Box::new(move |output, case| f(output, case).into_score()),
    }
}

/// A scorer of an async function, e.g. an LLM judge; it gets its own copies of the output and
/// the case.
///
/// ```
/// use lemma_sdk::scorers::{self, Scorer};
///
/// let judge = scorers::from_async_fn("judge", |output, case| async move {
///     // ... ask a model whether `output` answers `case.input` ...
///     Ok::<_, std::io::Error>(if output.is_some() { 0.8 } else { 0.0 })
/// });
/// assert_eq!(judge.name(), "judge");
/// ```
pub fn from_async_fn<F, Fut, R>(name: impl Into<String>, f: F) -> AsyncFnScorer<F>
where
    F: Fn(Option<Value>, Case) -> Fut + Send + Sync,
    Fut: Future<Output = R> + Send,
    R: IntoScore,
{
    AsyncFnScorer {
        name: name.into(),
        f,
    }
}

/// A scorer made of an async function; see [`from_async_fn`].
pub struct AsyncFnScorer<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for AsyncFnScorer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFnScorer")
            .field("name", &self.name)
            .finish()
    }
}

#[async_trait::async_trait]
impl<F, Fut, R> Scorer for AsyncFnScorer<F>
where
    F: Fn(Option<Value>, Case) -> Fut + Send + Sync,
    Fut: Future<Output = R> + Send,
    R: IntoScore,
{
    fn name(&self) -> &str {
        &self.name
    }

    async fn score(&self, output: Option<&Value>, case: &Case) -> Result<Option<Score>, String> {
        (self.f)(output.cloned(), case.clone()).await.into_score()
    }
}

/// `exact_match`: true when the output equals the case's `expected`, as values or as text when
/// one of them is text (an agent answering `"4"` to an expected `4`). Nothing for a case
/// without `expected`.
pub fn exact_match() -> FnScorer {
    from_fn("exact_match", |output, case| {
        let expected = case.expected.as_ref()?;
        let Some(output) = output else {
            return Some(false);
        };
        Some(output == expected || text(output) == text(expected))
    })
}

/// `contains`: true when the output (as text) contains `substring`.
pub fn contains(substring: impl Into<String>) -> FnScorer {
    let substring = substring.into();
    from_fn("contains", move |output, _case| {
        output.is_some_and(|o| text(o).contains(&substring))
    })
}

/// `contains`: true when the output (as text) contains the case's `expected` (as text).
/// Nothing for a case without `expected`.
pub fn contains_expected() -> FnScorer {
    from_fn("contains", |output, case| {
        let expected = text(case.expected.as_ref()?);
        Some(output.is_some_and(|o| text(o).contains(&expected)))
    })
}

/// `json_fields`: the share of `fields` (dotted paths allowed: `"order.status"`) on which the
/// output and the case's `expected` agree, each a JSON object or its text: 1.0 when all do. A
/// field missing on both sides agrees; an output that is not an object agrees on none.
/// Nothing for a case without `expected`; an `expected` that is not an object fails.
pub fn json_fields<I, S>(fields: I) -> FnScorer
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let fields: Vec<String> = fields.into_iter().map(Into::into).collect();
    from_fn(
        "json_fields",
        move |output, case| -> Result<Option<f64>, String> {
            let Some(expected) = &case.expected else {
                return Ok(None);
            };
            let want = object(expected)
                .ok_or_else(|| format!("the case's expected is not a JSON object: {expected}"))?;
            if fields.is_empty() {
                return Err("json_fields() was given no fields to compare".to_string());
            }
            let Some(got) = output.and_then(object) else {
                return Ok(Some(0.0));
            };
            let same = fields
                .iter()
                .filter(|f| field(&got, f) == field(&want, f))
                .count();
            Ok(Some(same as f64 / fields.len() as f64))
        },
    )
}

/// `numeric_match`: true when the output, read as a number (a number, or text such as
/// `" 4.0"`), is within `tolerance` (absolute) of the case's `expected`. Nothing for a case
/// without `expected`; an `expected` that is no number fails.
pub fn numeric_match(tolerance: f64) -> FnScorer {
    from_fn(
        "numeric_match",
        move |output, case| -> Result<Option<bool>, String> {
            let Some(expected) = &case.expected else {
                return Ok(None);
            };
            let want = number(expected)
                .ok_or_else(|| format!("the case's expected is not a number: {expected}"))?;
            let got = output.and_then(number);
            Ok(Some(got.is_some_and(|g| (g - want).abs() <= tolerance)))
        },
    )
}

/// `regex_match`: true when `pattern` matches somewhere in the output (as text). `(?i)` at its
/// start ignores case. A pattern that does not compile is an [`Error::InvalidPattern`].
pub fn regex_match(pattern: &str) -> Result<FnScorer, Error> {
    let regex = regex::Regex::new(pattern).map_err(|e| Error::InvalidPattern {
        pattern: pattern.to_string(),
        reason: e.to_string(),
    })?;
    Ok(from_fn("regex_match", move |output, _case| {
        output.is_some_and(|o| regex.is_match(&text(o)))
    }))
}

/// Text as it is; anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON object, given as one or as its text.
fn object(value: &Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map.clone()),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        },
        _ => None,
    }
}

fn field<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut keys = path.split('.');
    let mut at = object.get(keys.next()?)?;
    for key in keys {
        at = at.as_object()?.get(key)?;
    }
    Some(at)
}

fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn case(expected: Option<Value>) -> Case {
        let case = Case::new("q").id("c1");
        match expected {
            Some(e) => case.expected(e),
            None => case,
        }
    }

    fn score(scorer: &dyn Scorer, output: Option<Value>, expected: Option<Value>) -> Option<Score> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(scorer.score(output.as_ref(), &case(expected)))
            .unwrap()
    }

    fn failure(scorer: &dyn Scorer, output: Option<Value>, expected: Option<Value>) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(scorer.score(output.as_ref(), &case(expected)))
            .unwrap_err()
    }

    const YES: Option<Score> = Some(Score::Bool(true));
    const NO: Option<Score> = Some(Score::Bool(false));

    #[test]
    fn exact_match_compares_values_or_their_text() {
        let exact = exact_match();
        assert_eq!(exact.name(), "exact_match");
        assert_eq!(score(&exact, Some(json!("4")), Some(json!("4"))), YES);
        assert_eq!(score(&exact, Some(json!(4)), Some(json!("4"))), YES);
        assert_eq!(
            score(
                &exact,
                Some(json!({"b": 1, "a": 2})),
                Some(json!({"a": 2, "b": 1}))
            ),
            YES
        );
        assert_eq!(score(&exact, Some(json!("4 ")), Some(json!("4"))), NO);
        assert_eq!(score(&exact, None, Some(json!("4"))), NO);
        assert_eq!(score(&exact, Some(json!("4")), None), None);
        assert_eq!(exact_match().named("strict").name(), "strict");
    }

    #[test]
    fn contains_looks_for_the_text_or_the_expected() {
        let refund = contains("refund");
        assert_eq!(score(&refund, Some(json!("your refund")), None), YES);
        assert_eq!(score(&refund, Some(json!("Refund")), None), NO);
        assert_eq!(score(&refund, None, None), NO);
        assert_eq!(score(&refund, Some(json!({"kind": "refund"})), None), YES);
        let expected = contains_expected();
        assert_eq!(
            score(&expected, Some(json!("costs 42")), Some(json!(42))),
            YES
        );
        assert_eq!(score(&expected, Some(json!("costs 42")), None), None);
    }

    #[test]
    fn json_fields_gives_the_share_of_fields_that_agree() {
        let fields = json_fields(["status", "order.id"]);
        let want = json!({"status": "shipped", "order": {"id": 7}, "note": "ignored"});
        let half = Some(Score::Number(0.5));
        assert_eq!(
            score(
                &fields,
                Some(json!({"status": "shipped", "order": {"id": 7}})),
                Some(want.clone())
            ),
            Some(Score::Number(1.0))
        );
        assert_eq!(
            score(
                &fields,
                Some(json!(r#"{"status": "lost", "order": {"id": 7}}"#)),
                Some(want.clone())
            ),
            half
        );
        assert_eq!(
            score(&fields, Some(json!("not json")), Some(want.clone())),
            Some(Score::Number(0.0))
        );
        assert_eq!(score(&fields, None, Some(want)), Some(Score::Number(0.0)));
        assert_eq!(score(&fields, Some(json!({})), None), None);
        // Missing on both sides agrees.
        assert_eq!(
            score(
                &json_fields(["a", "b"]),
                Some(json!({"a": 1})),
                Some(json!({"a": 1}))
            ),
            Some(Score::Number(1.0))
        );
        let bad = failure(&fields, Some(json!({})), Some(json!("text")));
        assert!(bad.contains("not a JSON object"), "{bad}");
    }

    #[test]
    fn numeric_match_allows_an_absolute_tolerance() {
        let near = numeric_match(0.01);
        assert_eq!(score(&near, Some(json!(" 2.501 ")), Some(json!(2.5))), YES);
        assert_eq!(score(&near, Some(json!(2.6)), Some(json!("2.5"))), NO);
        assert_eq!(score(&near, Some(json!("about three")), Some(json!(3))), NO);
        assert_eq!(score(&near, Some(json!(true)), Some(json!(1))), NO);
        assert_eq!(score(&near, None, Some(json!(3))), NO);
        assert_eq!(score(&near, Some(json!(3)), None), None);
        assert!(failure(&near, Some(json!(3)), Some(json!("three"))).contains("not a number"));
    }

    #[test]
    fn regex_match_searches_the_output_and_refuses_a_bad_pattern() {
        let order = regex_match(r"A-\d+").unwrap();
        assert_eq!(score(&order, Some(json!("Order A-17 shipped")), None), YES);
        assert_eq!(score(&order, Some(json!("no order")), None), NO);
        assert_eq!(score(&order, None, None), NO);
        let shouting = regex_match("(?i)shipped").unwrap();
        assert_eq!(score(&shouting, Some(json!("SHIPPED")), None), YES);
        match regex_match("(") {
            Err(Error::InvalidPattern { pattern, .. }) => assert_eq!(pattern, "("),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn functions_are_scorers_and_their_failures_are_reasons() {
        let length = from_fn("length", |output, _| output.map(|o| text(o).len() as u32));
        assert_eq!(
            score(&length, Some(json!("abc")), None),
            Some(Score::Number(3.0))
        );
        assert_eq!(score(&length, None, None), None);
        let failing = from_fn("failing", |_, _| Err::<bool, _>("no judge available"));
        assert_eq!(failure(&failing, None, None), "no judge available");
        let panicking = from_fn("panicking", |_, _| -> bool { panic!("scorer bug") });
        assert_eq!(failure(&panicking, None, None), "panicked: scorer bug");
        let nan = from_fn("nan", |_, _| f64::NAN);
        assert!(failure(&nan, None, None).contains("not a finite number"));
        let judge = from_async_fn("judge", |output: Option<Value>, case: Case| async move {
            Some(output.is_some() && case.id == "c1")
        });
        assert_eq!(score(&judge, Some(json!("x")), None), YES);
    }

    #[test]
    fn scores_serialize_as_json_numbers_and_booleans() {
        assert_eq!(
            serde_json::to_value(Score::Bool(true)).unwrap(),
            json!(true)
        );
        assert_eq!(serde_json::to_value(Score::from(0.5)).unwrap(), json!(0.5));
        assert_eq!(Score::from(true).as_f64(), 1.0);
    }
}
