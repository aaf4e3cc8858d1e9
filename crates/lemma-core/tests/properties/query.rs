//! The query parser: any text parses to a filter within the limits or fails at a position in
//! the text, the limits are exact, and a filter printed as a query parses back to itself.

use lemma_core::query::{
    parse, Clause, CmpOp, Condition, Field, Filter, ParseError, MAX_QUERY_CHARS, MAX_TERMS,
    MAX_VALUES,
};
use lemma_core::SpanKind;
use proptest::prelude::*;
use proptest::sample::select;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// 2026-11-01T00:00:00Z.
const NOW: u64 = 1_793_491_200_000_000_000;

/// What queries are made of: field names as typed, operators, quotes and escapes, lists,
/// negation, wildcards, numbers with and without units, times, other scripts, and characters
/// the parser refuses.
const PIECES: &[&str] = &[
    "agent",
    "Status",
    "model",
    "tool",
    "thread",
    "user",
    "env",
    "tag",
    "kind",
    "name",
    "run",
    "span",
    "provider",
    "service",
    "signal",
    "session",
    "meta.",
    "attr.",
    "metric.",
    "META.tier",
    "has",
    "since",
    "until",
    "duration",
    "tokens",
    "input_tokens",
    "cost",
    "spans",
    "errors",
    "foo",
    ":",
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "!",
    ",",
    "\"",
    "\\",
    "\\\"",
    "-",
    "NOT",
    "*",
    "?",
    "[",
    ".",
    "/",
    "http://x",
    "$",
    "error",
    "ok",
    "unset",
    "llm",
    "loop",
    "24h",
    "1.5s",
    "500ms",
    "2w",
    "1k",
    "3M",
    "0.01",
    "1e3",
    "-2",
    "99999999999999999999999999999999999999999",
    "2026-11-01",
    "2026-11-01T10:00:00Z",
    "T",
    "+02:00",
    "true",
    "false",
    " ",
    " ",
    "\t",
    "\n",
    "\u{3000}",
    "é",
    "日本",
    "🦀",
    "\u{202e}",
    "\0",
    "\u{1}",
    "\u{7f}",
    "\u{85}",
];

/// Queries as the documentation writes them, to edit.
const EXAMPLES: &[&str] = &[
    "agent:support-agent status:error model:gpt-4o,gpt-4.1 tool:web_search thread:t-42",
    "user:u-7 env:prod duration>5s tokens>1000 cost>0.01 signal:loop since:24h",
    "\"refund policy\" meta.tier=gold -tag:test metric.resolved=true metric.quality<0.5",
    "NOT has:root kind:retrieval provider:openai until:2026-11-01T10:00:00Z",
    "run:4bf92f3577b34da6a3ce929d0e0e4736 span:00f067aa0ba902b7 has:metric.feedback -\"a \\\"b\\\"\"",
    "service:api name:\"invoke_agent *\" spans>=100 errors>0 input_tokens<=1.5k output_tokens!=3",
];

fn query_text() -> impl Strategy<Value = String> {
    prop::collection::vec(select(PIECES), 0..40).prop_map(|pieces| pieces.concat())
}

/// An edit of a query, at character positions taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, &'static str),
    Delete(usize, usize),
    Replace(usize, &'static str),
    /// Repeats a slice of the query `n` times where it is, which grows lists and term counts.
    Repeat(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), select(PIECES)).prop_map(|(at, s)| Edit::Insert(at, s)),
        (any::<usize>(), 1..8usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), select(PIECES)).prop_map(|(at, s)| Edit::Replace(at, s)),
        (any::<usize>(), 1..20usize, 1..150usize).prop_map(|(at, len, n)| Edit::Repeat(at, len, n)),
    ]
}

fn apply(query: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = query.chars().collect();
    for edit in edits {
        let at = |i: usize| i % (chars.len() + 1);
        match *edit {
            Edit::Insert(i, s) => {
                let i = at(i);
                chars.splice(i..i, s.chars());
            }
            Edit::Delete(i, n) => {
                let i = at(i);
                chars.drain(i..(i + n).min(chars.len()));
            }
            Edit::Replace(i, s) => {
                let i = at(i);
                chars.splice(i..(i + 1).min(chars.len()), s.chars());
            }
            Edit::Repeat(i, len, n) => {
                let i = at(i);
                let slice: Vec<char> = chars[i..(i + len).min(chars.len())].to_vec();
                let copies: Vec<char> = slice
                    .iter()
                    .cycle()
                    .take(slice.len() * n)
                    .copied()
                    .collect();
                chars.splice(i..i, copies);
            }
        }
    }
    chars.into_iter().collect()
}

/// What every answer of the parser must satisfy.
fn check(input: &str) -> Result<(), TestCaseError> {
    let chars = input.chars().count();
    match parse(input, NOW) {
        Ok(filter) => {
            prop_assert!(chars <= MAX_QUERY_CHARS);
            prop_assert!(filter.clauses.len() <= MAX_TERMS);
            for clause in &filter.clauses {
                check_clause(clause)?;
            }
        }
        Err(ParseError { position, message }) => {
            prop_assert!(
                position <= chars,
                "position {} of {}: {}",
                position,
                chars,
                message
            );
            prop_assert!(!message.is_empty());
        }
    }
    Ok(())
}

fn check_clause(clause: &Clause) -> Result<(), TestCaseError> {
    let searchable = |s: &str| !s.is_empty() && !s.chars().any(refused);
    match &clause.condition {
        Condition::Text(text) => prop_assert!(searchable(text), "{:?}", clause),
        Condition::OneOf { field, values } => {
            prop_assert!((1..=MAX_VALUES).contains(&values.len()), "{:?}", clause);
            prop_assert!(values.iter().all(|v| searchable(v)), "{:?}", clause);
            check_field(field)?;
        }
        Condition::Compare { field, value, .. } => {
            prop_assert!(value.is_finite(), "{:?}", clause);
            if !matches!(field, Field::Metric(_)) {
                prop_assert!(*value >= 0.0, "{:?}", clause);
            }
            check_field(field)?;
        }
        Condition::Has(field) => check_field(field)?,
    }
    Ok(())
}

/// The characters no query may hold.
fn refused(c: char) -> bool {
    c.is_control() && !c.is_whitespace()
}

fn check_field(field: &Field) -> Result<(), TestCaseError> {
    if let Field::Meta(key) | Field::Attr(key) | Field::Metric(key) = field {
        prop_assert!(!key.is_empty() && !key.chars().any(refused));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Printing a filter as a query
// ---------------------------------------------------------------------------------------------

/// A filter as query text, or `None` when the language cannot write it.
fn render(filter: &Filter) -> Option<String> {
    let terms: Option<Vec<String>> = filter.clauses.iter().map(render_clause).collect();
    Some(terms?.join(" "))
}

fn render_clause(clause: &Clause) -> Option<String> {
    let term = match &clause.condition {
        Condition::Text(text) => quote(text)?,
        Condition::OneOf { field, values } => {
            let values: Option<Vec<String>> = values.iter().map(|v| quote(v)).collect();
            format!("{}:{}", field_word(field)?, values?.join(","))
        }
        Condition::Compare {
            field: Field::Start,
            op,
            value,
        } => {
            let name = match op {
                CmpOp::Ge => "since",
                CmpOp::Le => "until",
                _ => return None,
            };
            format!("{name}:{}", rfc3339(*value)?)
        }
        Condition::Compare { field, op, value } => {
            let metric = matches!(field, Field::Metric(_));
            let op = match op {
                CmpOp::Gt => ">",
                CmpOp::Ge => ">=",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                _ if metric => return None,
                CmpOp::Eq => ":",
                CmpOp::Ne => "!=",
            };
            if !value.is_finite() || (value.is_sign_negative() && !metric) {
                return None;
            }
            format!("{}{op}{value}", field_word(field)?)
        }
        // Quoted, `has:` takes any key.
        Condition::Has(field) => format!("has:{}", quote(&field_name(field)?)?),
    };
    Some(if clause.negated {
        format!("-{term}")
    } else {
        term
    })
}

/// Text in double quotes, which keep spaces, commas, operators and `NOT` from meaning anything.
fn quote(text: &str) -> Option<String> {
    if text.is_empty() || text.chars().any(refused) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        text.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

fn field_name(field: &Field) -> Option<String> {
    Some(match field {
        Field::Meta(key) => format!("meta.{key}"),
        Field::Attr(key) => format!("attr.{key}"),
        Field::Metric(name) => format!("metric.{name}"),
        other => {
            let name = match other {
                Field::Run => "run",
                Field::Span => "span",
                Field::Name => "name",
                Field::Agent => "agent",
                Field::Status => "status",
                Field::Kind => "kind",
                Field::Model => "model",
                Field::Provider => "provider",
                Field::Tool => "tool",
                Field::Thread => "thread",
                Field::User => "user",
                Field::Session => "session",
                Field::Env => "env",
                Field::Tag => "tag",
                Field::Signal => "signal",
                Field::Service => "service",
                Field::Duration => "duration",
                Field::Tokens => "tokens",
                Field::InputTokens => "input_tokens",
                Field::OutputTokens => "output_tokens",
                Field::Cost => "cost",
                Field::Spans => "spans",
                Field::Errors => "errors",
                Field::Error => "error",
                Field::Root => "root",
                _ => return None,
            };
            name.to_string()
        }
    })
}

/// The field's name where it starts a word, unquoted: its key must hold nothing that ends a
/// name (an operator, a quote, whitespace) or makes the word look like a URL.
fn field_word(field: &Field) -> Option<String> {
    if matches!(field, Field::Error | Field::Root) {
        return None;
    }
    let name = field_name(field)?;
    let ends_name = |c: char| {
        c.is_whitespace() || c.is_control() || matches!(c, ':' | '=' | '<' | '>' | '"' | '/')
    };
    (!name.contains(ends_name)).then_some(name)
}

/// Unix nanoseconds as an RFC 3339 time, when they are a whole number.
fn rfc3339(nanos: f64) -> Option<String> {
    if !nanos.is_finite() || nanos < 0.0 || nanos.fract() != 0.0 {
        return None;
    }
    let time = OffsetDateTime::from_unix_timestamp_nanos(nanos as i128).ok()?;
    time.format(&Rfc3339).ok()
}

// ---------------------------------------------------------------------------------------------
// Filters the language can express
// ---------------------------------------------------------------------------------------------

/// Text to search for or match: any character but control characters, with those the syntax
/// uses made likely.
fn text() -> impl Strategy<Value = String> {
    let syntax = vec![
        '"', '\\', ',', ' ', '\t', '\n', '*', ':', '=', '-', '!', '<', '>', '/', '.', '\u{3000}',
    ];
    let c = prop_oneof![
        3 => any::<char>().prop_map(|c| if refused(c) { '·' } else { c }),
        2 => select(syntax),
    ];
    prop::collection::vec(c, 1..12).prop_map(|v| v.into_iter().collect())
}

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.é*!-]{1,10}"
}

fn metric_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,10}"
}

fn list_field() -> impl Strategy<Value = Field> {
    prop_oneof![
        select(vec![
            Field::Run,
            Field::Span,
            Field::Name,
            Field::Agent,
            Field::Model,
            Field::Provider,
            Field::Tool,
            Field::Thread,
            Field::User,
            Field::Session,
            Field::Env,
            Field::Tag,
            Field::Signal,
            Field::Service,
        ]),
        key().prop_map(Field::Meta),
        key().prop_map(Field::Attr),
        metric_name().prop_map(Field::Metric),
    ]
}

fn numeric_field() -> impl Strategy<Value = Field> {
    select(vec![
        Field::Duration,
        Field::Tokens,
        Field::InputTokens,
        Field::OutputTokens,
        Field::Cost,
        Field::Spans,
        Field::Errors,
    ])
}

fn has_field() -> impl Strategy<Value = Field> {
    prop_oneof![
        select(vec![Field::Error, Field::Root, Field::Model, Field::Thread]),
        numeric_field(),
        list_field(),
    ]
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    select(vec![
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Eq,
        CmpOp::Ne,
    ])
}

/// A number as a user writes one: digits with a decimal point somewhere, as the nearest f64.
fn decimal() -> impl Strategy<Value = f64> {
    (0..u64::MAX, 0..12u32).prop_map(|(m, scale)| format!("{m}e-{scale}").parse().unwrap())
}

fn condition() -> impl Strategy<Value = Condition> {
    let kinds: Vec<String> = SpanKind::ALL
        .iter()
        .map(|k| k.as_str().to_string())
        .collect();
    let statuses = vec!["ok".to_string(), "error".into(), "unset".into()];
    let values = prop::collection::vec(text(), 1..5);
    prop_oneof![
        text().prop_map(Condition::Text),
        (list_field(), values).prop_map(|(field, values)| Condition::OneOf { field, values }),
        prop::collection::vec(select(statuses), 1..3).prop_map(|values| Condition::OneOf {
            field: Field::Status,
            values
        }),
        prop::collection::vec(select(kinds), 1..3).prop_map(|values| Condition::OneOf {
            field: Field::Kind,
            values
        }),
        (numeric_field(), cmp_op(), decimal()).prop_map(|(field, op, value)| Condition::Compare {
            field,
            op,
            value
        }),
        (
            metric_name(),
            select(vec![CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le]),
            any::<f64>().prop_filter("finite", |v| v.is_finite())
        )
            .prop_map(|(name, op, value)| Condition::Compare {
                field: Field::Metric(name),
                op,
                value
            }),
        (select(vec![CmpOp::Ge, CmpOp::Le]), any::<u64>()).prop_map(|(op, nanos)| {
            Condition::Compare {
                field: Field::Start,
                op,
                value: nanos as f64,
            }
        }),
        has_field().prop_map(Condition::Has),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    prop::collection::vec(
        (any::<bool>(), condition()).prop_map(|(negated, condition)| Clause { negated, condition }),
        0..8,
    )
    .prop_map(|clauses| Filter { clauses })
}

proptest! {
    #![proptest_config(crate::config(512))]

    #[test]
    fn any_text_parses_within_the_limits_or_fails_inside_it(
        input in prop_oneof![any::<String>(), query_text()]
    ) {
        check(&input)?;
    }

    #[test]
    fn edited_examples_parse_within_the_limits_or_fail_inside_them(
        example in select(EXAMPLES),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        check(&apply(example, &edits))?;
    }

    #[test]
    fn a_parsed_filter_printed_as_a_query_parses_to_itself(input in query_text()) {
        if let Ok(filter) = parse(&input, NOW) {
            if let Some(text) = render(&filter) {
                prop_assert_eq!(parse(&text, NOW), Ok(filter), "printed as {}", text);
            }
        }
    }

    #[test]
    fn every_filter_the_language_expresses_prints_as_a_query_that_parses_to_it(
        filter in filter()
    ) {
        let text = render(&filter).expect("a generated filter can be printed");
        prop_assert_eq!(parse(&text, NOW), Ok(filter), "printed as {}", text);
    }

    /// `terms` terms, the first a list of `values` values, the last `extra` characters longer:
    /// accepted exactly when every limit holds, refused where the first limit is passed.
    #[test]
    fn the_limits_are_exact(
        terms in 1..=MAX_TERMS + 3,
        values in 1..=MAX_VALUES + 3,
        extra in 0..MAX_QUERY_CHARS,
    ) {
        let list: Vec<String> = (0..values).map(|i| format!("v{i}")).collect();
        let mut words = vec![format!("tag:{}", list.join(","))];
        words.extend((1..terms).map(|i| format!("w{i}")));
        let query = words.join(" ") + &"x".repeat(extra);
        let chars = query.chars().count();
        let value_start = |n: usize| "tag:".len() + list[..n].iter().map(|v| v.len() + 1).sum::<usize>();
        let word_start = |n: usize| words[..n].iter().map(|w| w.len() + 1).sum::<usize>();
        match parse(&query, NOW) {
            Ok(filter) => {
                prop_assert!(chars <= MAX_QUERY_CHARS && terms <= MAX_TERMS && values <= MAX_VALUES);
                prop_assert_eq!(filter.clauses.len(), terms);
            }
            Err(e) if chars > MAX_QUERY_CHARS => {
                prop_assert_eq!(e.position, MAX_QUERY_CHARS, "{}", e.message);
            }
            Err(e) if values > MAX_VALUES => {
                prop_assert_eq!(e.position, value_start(MAX_VALUES), "{}", e.message);
            }
            Err(e) => {
                prop_assert!(terms > MAX_TERMS, "{}", e.message);
                prop_assert_eq!(e.position, word_start(MAX_TERMS), "{}", e.message);
            }
        }
    }
}
