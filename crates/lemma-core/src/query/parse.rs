//! Text → [`Filter`]: a small tokenizer that splits the query into words (keeping quoted pieces
//! apart, so quotes can switch off field syntax and comma splitting), then a term parser that
//! turns each word into one [`Clause`].
//!
//! Every position reported in a [`ParseError`] is a character offset, so it lines up with what
//! the user typed even when the query contains non-ASCII text.

use super::limits::{self, MAX_TERMS, MAX_VALUES};
use super::{Clause, CmpOp, Condition, Field, Filter, ParseError};
use crate::model::{SpanKind, StatusCode};

/// Field names accepted before `:`, `=`, `!=`, `>`, ... as shown in error messages.
/// `named_field` must resolve every plain name here (a test checks it).
const KNOWN_FIELDS: &str = "run, span, name, agent, status, kind, model, provider, tool, thread, \
     user, session, env, tag, signal, signal.severity, experiment, dataset, case, service, \
     meta.<key>, attr.<key>, metric.<name>, duration, \
     tokens, input_tokens, output_tokens, cost, spans, errors, since, until, has";

/// The fields that take `>`, `>=`, `<`, `<=`.
const NUMERIC_FIELDS: &str =
    "duration, tokens, input_tokens, output_tokens, cost, spans and errors";

/// How `since:`/`until:` values may be written, for error messages.
const TIME_FORMS: &str = "a relative time such as 30s, 15m, 24h, 7d or 2w, \
     or an absolute time such as 2026-11-01 or 2026-11-01T10:00:00Z";

const NANOS_PER_SECOND: u128 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Parses a query. Relative times (`since:24h`) are resolved against `now_unix_nano`, which
/// keeps this function pure.
pub fn parse(input: &str, now_unix_nano: u64) -> Result<Filter, ParseError> {
    limits::check_text(input)?;
    let chars: Vec<char> = input.chars().collect();
    let mut clauses = Vec::new();
    // `NOT` negates the next term; remember where it was in case no term follows.
    let mut pending_not: Option<usize> = None;
    let mut negate_next = false;
    for word in tokenize(&chars)? {
        if word.is_not_keyword() {
            negate_next = !negate_next;
            pending_not = Some(word.start);
            continue;
        }
        if clauses.len() == MAX_TERMS {
            return Err(limits::too_many_terms(word.start));
        }
        clauses.push(parse_term(word, negate_next, now_unix_nano)?);
        negate_next = false;
        pending_not = None;
    }
    if let Some(position) = pending_not {
        return Err(error(
            position,
            "expected a term after 'NOT', such as NOT status:error",
        ));
    }
    Ok(Filter { clauses })
}

fn error(position: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        position,
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

/// A run of a word's text that was either typed bare or inside double quotes.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    /// The text with quotes removed and escapes resolved.
    text: String,
    quoted: bool,
    /// Character offset of the first character (of the opening quote, for quoted pieces).
    /// In bare pieces the k-th character sits at `start + k`.
    start: usize,
}

/// A whitespace-separated word; quotes may join several pieces into one word
/// (`agent:"support agent"` is the bare piece `agent:` and the quoted piece `support agent`).
#[derive(Debug, Clone, PartialEq)]
struct Word {
    start: usize,
    pieces: Vec<Piece>,
}

impl Word {
    fn is_not_keyword(&self) -> bool {
        matches!(self.pieces.as_slice(), [p] if !p.quoted && p.text == "NOT")
    }

    fn text(&self) -> String {
        self.pieces.iter().map(|p| p.text.as_str()).collect()
    }
}

fn tokenize(chars: &[char]) -> Result<Vec<Word>, ParseError> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut pieces = Vec::new();
        let mut bare = String::new();
        let mut bare_start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            if chars[i] == '"' {
                push_bare(&mut pieces, &mut bare, bare_start);
                let (text, end) = read_quoted(chars, i)?;
                pieces.push(Piece {
                    text,
                    quoted: true,
                    start: i,
                });
                i = end;
                bare_start = i;
            } else {
                bare.push(chars[i]);
                i += 1;
            }
        }
        push_bare(&mut pieces, &mut bare, bare_start);
        words.push(Word { start, pieces });
    }
    Ok(words)
}

fn push_bare(pieces: &mut Vec<Piece>, bare: &mut String, start: usize) {
    if !bare.is_empty() {
        pieces.push(Piece {
            text: std::mem::take(bare),
            quoted: false,
            start,
        });
    }
}

/// Reads a quoted string whose opening quote is at `open`; returns its text and the index just
/// past the closing quote. `\"` and `\\` are escapes; any other backslash is kept as typed so
/// that Windows paths and regex-looking text survive.
fn read_quoted(chars: &[char], open: usize) -> Result<(String, usize), ParseError> {
    let mut text = String::new();
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((text, i + 1)),
            '\\' if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                text.push(chars[i + 1]);
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(error(
        open,
        "unterminated quoted string: add a closing '\"'",
    ))
}

// ---------------------------------------------------------------------------------------------
// Terms
// ---------------------------------------------------------------------------------------------

/// The operator between a field name and its value, as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Colon,
    Equals,
    NotEquals,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Colon => ":",
            Op::Equals => "=",
            Op::NotEquals => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

/// A word that has field syntax: `name OP value`.
struct FieldTerm {
    name: String,
    name_pos: usize,
    op: Op,
    op_pos: usize,
    /// Where the value starts (just past the operator), even when the value is empty.
    value_pos: usize,
    value: Vec<Piece>,
}

impl FieldTerm {
    /// The value as one string, for fields that take a single value.
    fn value_text(&self) -> String {
        self.value.iter().map(|p| p.text.as_str()).collect()
    }

    /// `name` plus the operator as typed, e.g. `tokens>`, for messages.
    fn prefix(&self) -> String {
        format!("{}{}", self.name, self.op.as_str())
    }
}

fn parse_term(word: Word, negated: bool, now_unix_nano: u64) -> Result<Clause, ParseError> {
    let (word, negated) = strip_minus(word, negated)?;
    if let Some(term) = split_field(&word) {
        return parse_field_term(term, negated, now_unix_nano);
    }
    // Only `""` can get here empty; searching for nothing is almost certainly a mistake.
    let text = word.text();
    if text.is_empty() {
        return Err(error(
            word.pieces[0].start,
            "empty quoted phrase: put the text to search for between the quotes",
        ));
    }
    Ok(Clause {
        negated,
        condition: Condition::Text(text),
    })
}

/// Removes a leading bare `-`, flipping `negated`. A `-` with nothing after it is an error.
fn strip_minus(mut word: Word, negated: bool) -> Result<(Word, bool), ParseError> {
    let Some(first) = word.pieces.first_mut() else {
        return Ok((word, negated));
    };
    if first.quoted || !first.text.starts_with('-') {
        return Ok((word, negated));
    }
    first.text.remove(0);
    first.start += 1;
    if first.text.is_empty() {
        word.pieces.remove(0);
    }
    if word.pieces.is_empty() {
        return Err(error(
            word.start,
            "expected a term after '-', such as -status:error, -word or -\"some phrase\"",
        ));
    }
    Ok((word, !negated))
}

/// Splits `name OP value` when the word's first, unquoted piece has an operator. Quoting the
/// start of a word, or a URL-like name, keeps the word as free text.
fn split_field(word: &Word) -> Option<FieldTerm> {
    let first = word.pieces.first().filter(|p| !p.quoted)?;
    let chars: Vec<char> = first.text.chars().collect();
    let (idx, op, op_len) = find_operator(&chars)?;
    let name: String = chars[..idx].iter().collect();
    if looks_like_url(&name) {
        return None;
    }
    let op_pos = first.start + idx;
    let value_pos = op_pos + op_len;
    let mut value = Vec::new();
    let rest: String = chars[idx + op_len..].iter().collect();
    if !rest.is_empty() {
        value.push(Piece {
            text: rest,
            quoted: false,
            start: value_pos,
        });
    }
    value.extend(word.pieces[1..].iter().cloned());
    Some(FieldTerm {
        name,
        name_pos: first.start,
        op,
        op_pos,
        value_pos,
        value,
    })
}

/// The first operator in `chars`: its index, the operator and its length in chars.
/// A lone `!` is not an operator, so `wow!` stays free text.
fn find_operator(chars: &[char]) -> Option<(usize, Op, usize)> {
    chars.iter().enumerate().find_map(|(i, &c)| {
        let next_is_eq = chars.get(i + 1) == Some(&'=');
        match c {
            ':' => Some((i, Op::Colon, 1)),
            '=' => Some((i, Op::Equals, 1)),
            '!' if next_is_eq => Some((i, Op::NotEquals, 2)),
            '>' if next_is_eq => Some((i, Op::Ge, 2)),
            '>' => Some((i, Op::Gt, 1)),
            '<' if next_is_eq => Some((i, Op::Le, 2)),
            '<' => Some((i, Op::Lt, 1)),
            _ => None,
        }
    })
}

/// `https://…` and `host/path:…` are searched as text rather than rejected as unknown fields.
fn looks_like_url(name: &str) -> bool {
    name.contains('/') || name.to_ascii_lowercase().starts_with("http")
}

fn parse_field_term(
    term: FieldTerm,
    negated: bool,
    now_unix_nano: u64,
) -> Result<Clause, ParseError> {
    match term.name.to_ascii_lowercase().as_str() {
        "since" => parse_time_term(&term, CmpOp::Ge, negated, now_unix_nano),
        "until" => parse_time_term(&term, CmpOp::Le, negated, now_unix_nano),
        "has" => parse_has_term(&term, negated),
        _ => {
            let field = resolve_field(&term.name, term.name_pos)?
                .ok_or_else(|| unknown_field(&term.name, term.name_pos, term.op))?;
            if matches!(field, Field::Metric(_)) {
                return parse_metric_term(&term, field, negated);
            }
            match numeric_unit(&field) {
                Some(unit) => parse_compare_term(&term, field, unit, negated),
                None => parse_one_of_term(&term, field, negated),
            }
        }
    }
}

fn unknown_field(name: &str, name_pos: usize, op: Op) -> ParseError {
    if name.is_empty() {
        return error(
            name_pos,
            format!(
                "expected a field name before '{}' (known fields: {KNOWN_FIELDS}); \
                 put the word in double quotes to search for it as text",
                op.as_str()
            ),
        );
    }
    error(
        name_pos,
        format!(
            "unknown field '{name}'; known fields: {KNOWN_FIELDS} \
             (put the word in double quotes to search for it as text)"
        ),
    )
}

/// Resolves a field name (case-insensitively; `meta.`/`attr.` keys keep their case).
/// `Ok(None)` means the name is unknown; an empty `meta.`/`attr.` key is an error.
fn resolve_field(name: &str, name_pos: usize) -> Result<Option<Field>, ParseError> {
    for (prefix, make) in [
        ("meta.", Field::Meta as fn(String) -> Field),
        ("attr.", Field::Attr),
        ("metric.", Field::Metric),
    ] {
        if let Some(key) = strip_prefix_ignore_case(name, prefix) {
            let key_pos = name_pos + prefix.len();
            if key.is_empty() {
                return Err(error(
                    key_pos,
                    format!("expected a key after '{name}', such as {prefix}tier:gold"),
                ));
            }
            if prefix == "metric." {
                crate::metrics::check_name(key)
                    .map_err(|e| error(key_pos, format!("invalid metric {e}")))?;
            }
            return Ok(Some(make(key.to_string())));
        }
    }
    Ok(named_field(&name.to_ascii_lowercase()))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // `prefix` is ASCII, so a byte-length split lands on a char boundary whenever it matches.
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A plain (lowercase) field name and its aliases.
fn named_field(name: &str) -> Option<Field> {
    Some(match name {
        "run" | "run_id" => Field::Run,
        "span" | "span_id" => Field::Span,
        "name" => Field::Name,
        "agent" => Field::Agent,
        "status" => Field::Status,
        "kind" => Field::Kind,
        "model" => Field::Model,
        "provider" => Field::Provider,
        "tool" => Field::Tool,
        "thread" => Field::Thread,
        "user" => Field::User,
        "session" => Field::Session,
        "env" | "environment" => Field::Env,
        "tag" | "tags" => Field::Tag,
        "signal" => Field::Signal,
        "signal.severity" => Field::SignalSeverity,
        "experiment" => Field::Experiment,
        "dataset" => Field::Dataset,
        "case" => Field::Case,
        "service" => Field::Service,
        "duration" => Field::Duration,
        "tokens" => Field::Tokens,
        "input_tokens" => Field::InputTokens,
        "output_tokens" => Field::OutputTokens,
        "cost" => Field::Cost,
        "spans" => Field::Spans,
        "errors" => Field::Errors,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// `field:value[,value...]`
// ---------------------------------------------------------------------------------------------

fn parse_one_of_term(term: &FieldTerm, field: Field, negated: bool) -> Result<Clause, ParseError> {
    let negated = match term.op {
        Op::Colon | Op::Equals => negated,
        Op::NotEquals => !negated,
        op => {
            return Err(error(
                term.op_pos,
                format!(
                    "'{}' can't be compared with '{}'; only {NUMERIC_FIELDS} can",
                    term.name,
                    op.as_str()
                ),
            ))
        }
    };
    let mut values = Vec::new();
    for (i, (value, pos)) in split_alternatives(term).into_iter().enumerate() {
        if value.is_empty() {
            let message = if i == 0 {
                format!("expected a value after '{}'", term.prefix())
            } else {
                "expected a value after ','; add one or remove the extra comma".to_string()
            };
            return Err(error(pos, message));
        }
        if values.len() == MAX_VALUES {
            return Err(limits::too_many_values(pos, &term.prefix()));
        }
        values.push(normalize_value(&field, value, pos)?);
    }
    Ok(Clause {
        negated,
        condition: Condition::OneOf { field, values },
    })
}

/// Splits the value at commas outside quotes, with the position where each alternative starts.
fn split_alternatives(term: &FieldTerm) -> Vec<(String, usize)> {
    let mut alternatives = Vec::new();
    let mut current = (String::new(), term.value_pos);
    for piece in &term.value {
        if piece.quoted {
            current.0.push_str(&piece.text);
            continue;
        }
        for (k, c) in piece.text.chars().enumerate() {
            if c == ',' {
                let next = (String::new(), piece.start + k + 1);
                alternatives.push(std::mem::replace(&mut current, next));
            } else {
                current.0.push(c);
            }
        }
    }
    alternatives.push(current);
    alternatives
}

/// Status, kind and severity have a closed set of values: check them here so a typo is reported rather
/// than silently matching nothing, and store them in their canonical lowercase form.
fn normalize_value(field: &Field, value: String, pos: usize) -> Result<String, ParseError> {
    match field {
        Field::Status => StatusCode::parse(&value)
            .map(|s| s.as_str().to_string())
            .ok_or_else(|| {
                error(
                    pos,
                    format!("unknown status '{value}'; expected ok, error or unset"),
                )
            }),
        Field::Kind => SpanKind::parse(&value)
            .map(|k| k.as_str().to_string())
            .ok_or_else(|| {
                let kinds: Vec<&str> = SpanKind::ALL.iter().map(|k| k.as_str()).collect();
                error(
                    pos,
                    format!(
                        "unknown kind '{value}'; expected one of {}",
                        kinds.join(", ")
                    ),
                )
            }),
        Field::SignalSeverity => crate::run::Severity::parse(&value)
            .map(|s| s.name().to_string())
            .ok_or_else(|| {
                error(
                    pos,
                    format!("unknown severity '{value}'; expected info, warning or critical"),
                )
            }),
        _ => Ok(value),
    }
}

// ---------------------------------------------------------------------------------------------
// Numeric comparisons
// ---------------------------------------------------------------------------------------------

/// How a numeric field's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Milliseconds, with optional `ms`, `s`, `m`, `h`, `d` units.
    Duration,
    /// A token count, with optional `k` and `m` suffixes.
    Tokens,
    /// US dollars, with an optional leading `$`.
    Usd,
    /// A plain count.
    Count,
}

impl Unit {
    fn hint(self) -> &'static str {
        match self {
            Unit::Duration => {
                "a duration such as 500ms, 1.5s, 2m, 1h or 1d (a bare number means milliseconds)"
            }
            Unit::Tokens => "a token count such as 1000 or 1.5k",
            Unit::Usd => "an amount in US dollars such as 0.01 or $0.01",
            Unit::Count => "a count such as 3",
        }
    }

    /// The multiplier a suffix stands for, or `None` if the suffix isn't accepted here.
    fn factor(self, suffix: &str) -> Option<u64> {
        match (self, suffix) {
            (_, "") => Some(1),
            (Unit::Duration, "ms") => Some(1),
            (Unit::Duration, "s") => Some(1_000),
            (Unit::Duration, "m") => Some(60_000),
            (Unit::Duration, "h") => Some(3_600_000),
            (Unit::Duration, "d") => Some(86_400_000),
            (Unit::Tokens, "k") => Some(1_000),
            (Unit::Tokens, "m") => Some(1_000_000),
            _ => None,
        }
    }
}

fn numeric_unit(field: &Field) -> Option<Unit> {
    match field {
        Field::Duration => Some(Unit::Duration),
        Field::Tokens | Field::InputTokens | Field::OutputTokens => Some(Unit::Tokens),
        Field::Cost => Some(Unit::Usd),
        Field::Spans | Field::Errors => Some(Unit::Count),
        _ => None,
    }
}

fn parse_compare_term(
    term: &FieldTerm,
    field: Field,
    unit: Unit,
    negated: bool,
) -> Result<Clause, ParseError> {
    let op = match term.op {
        Op::Colon | Op::Equals => CmpOp::Eq,
        Op::NotEquals => CmpOp::Ne,
        Op::Gt => CmpOp::Gt,
        Op::Ge => CmpOp::Ge,
        Op::Lt => CmpOp::Lt,
        Op::Le => CmpOp::Le,
    };
    let value = parse_number(&term.value_text(), unit).ok_or_else(|| {
        error(
            term.value_pos,
            format!(
                "expected a number after '{}': {}",
                term.prefix(),
                unit.hint()
            ),
        )
    })?;
    Ok(Clause {
        negated,
        condition: Condition::Compare { field, op, value },
    })
}

fn parse_number(text: &str, unit: Unit) -> Option<f64> {
    let text = match unit {
        Unit::Usd => text.strip_prefix('$').unwrap_or(text),
        _ => text,
    };
    let (number, suffix) = split_number(text);
    let factor = unit.factor(&suffix.to_ascii_lowercase())?;
    parse_decimal(number)?.times(factor)
}

/// Splits `1.5k` into `("1.5", "k")`.
fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A non-negative decimal kept exact as `mantissa / 10^scale`, so that `1.1s` becomes exactly
/// 1100 ms instead of 1100.0000000000002.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    mantissa: u128,
    scale: u32,
}

impl Decimal {
    /// `self × factor` as the nearest f64, or `None` on overflow. Rounded once (by the
    /// standard library's correctly rounded parser) rather than once for each operand and again
    /// for the quotient, so a number printed from a filter parses back to the same number.
    fn times(self, factor: u64) -> Option<f64> {
        let scaled = self.mantissa.checked_mul(u128::from(factor))?;
        format!("{scaled}e-{}", self.scale).parse().ok()
    }

    /// `self × factor`, truncated to an integer, or `None` on overflow.
    fn times_int(self, factor: u128) -> Option<u128> {
        Some(self.mantissa.checked_mul(factor)? / 10u128.checked_pow(self.scale)?)
    }
}

/// Parses `digits[.digits]` (`.5` and `5.` are accepted). Signs, exponents, `inf` and `NaN`
/// are not numbers a user means here.
fn parse_decimal(text: &str) -> Option<Decimal> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut mantissa: u128 = 0;
    for c in whole.chars().chain(fraction.chars()) {
        let digit = c.to_digit(10)?;
        mantissa = mantissa.checked_mul(10)?.checked_add(u128::from(digit))?;
    }
    Some(Decimal {
        mantissa,
        scale: u32::try_from(fraction.len()).ok()?,
    })
}

// ---------------------------------------------------------------------------------------------
// `since:` and `until:`
// ---------------------------------------------------------------------------------------------

fn parse_time_term(
    term: &FieldTerm,
    op: CmpOp,
    negated: bool,
    now_unix_nano: u64,
) -> Result<Clause, ParseError> {
    if !matches!(term.op, Op::Colon | Op::Equals) {
        return Err(error(
            term.op_pos,
            format!(
                "'{}' takes ':' followed by a time, such as {}:24h or {}:2026-11-01",
                term.name, term.name, term.name
            ),
        ));
    }
    let text = term.value_text();
    let value = parse_time(&text, now_unix_nano)
        .map(|t| t as f64)
        .ok_or_else(|| {
            error(
                term.value_pos,
                format!("expected {TIME_FORMS} after '{}'", term.prefix()),
            )
        })?;
    Ok(Clause {
        negated,
        condition: Condition::Compare {
            field: Field::Start,
            op,
            value,
        },
    })
}

/// A time as `since:` and `until:` read it, in unix nanoseconds: how long before `now` (`24h`,
/// `90m`, `7d`), an RFC 3339 timestamp, or a date (midnight UTC). Other parts of Lemma that take
/// a time (the stats API's `from`/`to`) read it the same way.
pub fn parse_time(text: &str, now_unix_nano: u64) -> Option<u64> {
    parse_relative_time(text, now_unix_nano)
        .or_else(|| parse_absolute_time(text))
        .map(|t| t as u64)
}

/// `24h` → `now − 24h` in unix nanoseconds (clamped at the epoch). A unit is required: a bare
/// number would be ambiguous here.
fn parse_relative_time(text: &str, now_unix_nano: u64) -> Option<f64> {
    let (number, unit) = split_number(text);
    let unit_seconds: u128 = match unit.to_ascii_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    let ago = parse_decimal(number)?.times_int(unit_seconds * NANOS_PER_SECOND)?;
    let ago = u64::try_from(ago).unwrap_or(u64::MAX);
    Some(now_unix_nano.saturating_sub(ago) as f64)
}

/// An RFC 3339 timestamp (`2026-11-01T10:00:00.5+02:00`) or a date (`2026-11-01`, midnight
/// UTC), in unix nanoseconds.
fn parse_absolute_time(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let (year, month, day) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let midnight = days_from_civil(year, month, day) * SECONDS_PER_DAY;
    if b.len() == 10 {
        return Some(midnight as f64 * 1e9);
    }
    // RFC 3339 allows `t` and a space for `T`.
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    // Second 60 is a leap second, which RFC 3339 allows.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (nanos, rest) = parse_fraction(&b[19..])?;
    let offset = parse_offset(rest)?;
    let seconds = midnight + hour * 3_600 + minute * 60 + second - offset;
    Some((i128::from(seconds) * 1_000_000_000 + i128::from(nanos)) as f64)
}

/// `len` ASCII digits at `at`, as a number.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let slice = b.get(at..at + len)?;
    slice.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// An optional `.digits` fraction of a second: nanoseconds (digits past the ninth are dropped)
/// and the rest of the input.
fn parse_fraction(b: &[u8]) -> Option<(i64, &[u8])> {
    let Some(after_dot) = b.strip_prefix(b".") else {
        return Some((0, b));
    };
    let len = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let nanos = after_dot[..len.min(9)]
        .iter()
        .chain(std::iter::repeat(&b'0'))
        .take(9)
        .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
    Some((nanos, &after_dot[len..]))
}

/// `Z` or `±HH:MM`, which must end the timestamp: seconds east of UTC.
fn parse_offset(b: &[u8]) -> Option<i64> {
    match b {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (digits(b, 1, 2)?, digits(b, 4, 2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3_600 + minutes * 60;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ => None,
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`,
/// the inverse of `civil_from_days`). Years are counted from March so the leap day comes last.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400; // [0, 399]
    let month_from_march = (month + 9) % 12; // March = 0
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1; // [0, 365]
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

// ---------------------------------------------------------------------------------------------
// `metric.<name>`
// ---------------------------------------------------------------------------------------------

/// `metric.<name>=v[,v...]` matches events whose value equals any of the values (a number, `true`,
/// `false` or text); `metric.<name><n` and the other comparisons match numeric events.
fn parse_metric_term(term: &FieldTerm, field: Field, negated: bool) -> Result<Clause, ParseError> {
    let op = match term.op {
        Op::Colon | Op::Equals | Op::NotEquals => return parse_one_of_term(term, field, negated),
        Op::Gt => CmpOp::Gt,
        Op::Ge => CmpOp::Ge,
        Op::Lt => CmpOp::Lt,
        Op::Le => CmpOp::Le,
    };
    let value = term
        .value_text()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            error(
                term.value_pos,
                format!(
                    "expected a number after '{}', such as 0.5 or -2",
                    term.prefix()
                ),
            )
        })?;
    Ok(Clause {
        negated,
        condition: Condition::Compare { field, op, value },
    })
}

// ---------------------------------------------------------------------------------------------
// `has:`
// ---------------------------------------------------------------------------------------------

fn parse_has_term(term: &FieldTerm, negated: bool) -> Result<Clause, ParseError> {
    if !matches!(term.op, Op::Colon | Op::Equals) {
        return Err(error(
            term.op_pos,
            "'has' takes ':' followed by a field name, such as has:error",
        ));
    }
    let name = term.value_text();
    if name.is_empty() {
        return Err(error(
            term.value_pos,
            format!(
                "expected a field name after '{}', such as has:error or has:model",
                term.prefix()
            ),
        ));
    }
    let field = match name.to_ascii_lowercase().as_str() {
        "error" => Some(Field::Error),
        "root" => Some(Field::Root),
        _ => resolve_field(&name, term.value_pos)?,
    };
    let field = field.ok_or_else(|| {
        error(
            term.value_pos,
            format!(
                "unknown field '{name}' after '{}'; try error, root, model, tool, agent, \
                 user, thread, cost, meta.<key>, attr.<key> or metric.<name>",
                term.prefix()
            ),
        )
    })?;
    Ok(Clause {
        negated,
        condition: Condition::Has(field),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::MAX_QUERY_CHARS;

    /// 2026-11-01T00:00:00Z, so relative times are easy to check.
    const NOW: u64 = 1_793_491_200_000_000_000;
    const SECOND: u64 = 1_000_000_000;

    fn parse_ok(input: &str) -> Vec<Clause> {
        match parse(input, NOW) {
            Ok(filter) => filter.clauses,
            Err(e) => panic!("{input:?} should parse, got {e}"),
        }
    }

    /// The single clause `input` parses to.
    fn one(input: &str) -> Clause {
        let clauses = parse_ok(input);
        assert_eq!(clauses.len(), 1, "{input:?} → {clauses:?}");
        clauses.into_iter().next().unwrap()
    }

    /// The condition of the `index`-th clause `input` parses to.
    fn one_condition(input: &str, index: usize) -> Condition {
        parse_ok(input).swap_remove(index).condition
    }

    fn parse_err(input: &str) -> ParseError {
        match parse(input, NOW) {
            Ok(filter) => panic!("{input:?} should fail, got {filter:?}"),
            Err(e) => e,
        }
    }

    /// Asserts that `input` fails at `position` with a message containing every fragment.
    fn assert_err(input: &str, position: usize, fragments: &[&str]) {
        let e = parse_err(input);
        assert_eq!(e.position, position, "{input:?}: {}", e.message);
        for fragment in fragments {
            assert!(
                e.message.contains(fragment),
                "{input:?}: {:?} should contain {fragment:?}",
                e.message
            );
        }
    }

    fn clause(negated: bool, condition: Condition) -> Clause {
        Clause { negated, condition }
    }

    fn text(s: &str) -> Condition {
        Condition::Text(s.to_string())
    }

    fn one_of(field: Field, values: &[&str]) -> Condition {
        Condition::OneOf {
            field,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn cmp(field: Field, op: CmpOp, value: f64) -> Condition {
        Condition::Compare { field, op, value }
    }

    fn start(op: CmpOp, value: f64) -> Condition {
        cmp(Field::Start, op, value)
    }

    // --- whole queries ---------------------------------------------------------------------

    #[test]
    fn empty_and_whitespace_queries_are_empty_filters() {
        for input in ["", " ", "\t\n  ", "\u{3000}"] {
            assert_eq!(parse(input, NOW), Ok(Filter::default()), "{input:?}");
        }
    }

    #[test]
    fn parses_the_documented_example() {
        let input = "agent:support-agent status:error model:gpt-4o,gpt-4.1 tool:web_search \
                     thread:t-42 user:u-7 env:prod duration>5s tokens>1000 cost>0.01 signal:loop \
                     since:24h \"refund policy\" meta.tier=gold -tag:test has:error";
        let expected = vec![
            clause(false, one_of(Field::Agent, &["support-agent"])),
            clause(false, one_of(Field::Status, &["error"])),
            clause(false, one_of(Field::Model, &["gpt-4o", "gpt-4.1"])),
            clause(false, one_of(Field::Tool, &["web_search"])),
            clause(false, one_of(Field::Thread, &["t-42"])),
            clause(false, one_of(Field::User, &["u-7"])),
            clause(false, one_of(Field::Env, &["prod"])),
            clause(false, cmp(Field::Duration, CmpOp::Gt, 5_000.0)),
            clause(false, cmp(Field::Tokens, CmpOp::Gt, 1_000.0)),
            clause(false, cmp(Field::Cost, CmpOp::Gt, 0.01)),
            clause(false, one_of(Field::Signal, &["loop"])),
            clause(false, start(CmpOp::Ge, (NOW - 24 * 3_600 * SECOND) as f64)),
            clause(false, text("refund policy")),
            clause(false, one_of(Field::Meta("tier".into()), &["gold"])),
            clause(true, one_of(Field::Tag, &["test"])),
            clause(false, Condition::Has(Field::Error)),
        ];
        assert_eq!(parse_ok(input), expected);
    }

    #[test]
    fn any_whitespace_separates_terms() {
        assert_eq!(
            parse_ok(" a\tb\nc\u{3000}d  "),
            vec![
                clause(false, text("a")),
                clause(false, text("b")),
                clause(false, text("c")),
                clause(false, text("d")),
            ]
        );
    }

    // --- free text -------------------------------------------------------------------------

    #[test]
    fn bare_words_are_text() {
        assert_eq!(one("refund"), clause(false, text("refund")));
        assert_eq!(one("t-42"), clause(false, text("t-42")));
        assert_eq!(one("wow!"), clause(false, text("wow!")));
        assert_eq!(one("a*b"), clause(false, text("a*b")));
        assert_eq!(one("not"), clause(false, text("not")));
        assert_eq!(one("café"), clause(false, text("café")));
    }

    #[test]
    fn quoted_phrases_are_text() {
        assert_eq!(
            one("\"refund policy\""),
            clause(false, text("refund policy"))
        );
        // Quotes switch off field syntax.
        assert_eq!(one("\"agent:x\""), clause(false, text("agent:x")));
        assert_eq!(one("\"NOT\""), clause(false, text("NOT")));
        // Pieces of one word are joined.
        assert_eq!(one("foo\"bar baz\""), clause(false, text("foobar baz")));
    }

    #[test]
    fn quoted_escapes() {
        assert_eq!(one(r#""say \"hi\"""#), clause(false, text("say \"hi\"")));
        assert_eq!(one(r#""a\\b""#), clause(false, text("a\\b")));
        assert_eq!(one(r#""a\\""#), clause(false, text("a\\")));
        // Other backslashes are kept as typed.
        assert_eq!(one(r#""C:\temp\n""#), clause(false, text("C:\\temp\\n")));
    }

    #[test]
    fn urls_are_text() {
        for url in [
            "https://example.com/a?b=c",
            "http://localhost:8080",
            "HTTP://EXAMPLE.COM",
            "example.com/path:8080",
            "a/b=c",
        ] {
            assert_eq!(one(url), clause(false, text(url)));
        }
    }

    #[test]
    fn empty_phrases_are_errors() {
        assert_err("\"\"", 0, &["empty quoted phrase"]);
        assert_err("a -\"\"", 3, &["empty quoted phrase"]);
    }

    #[test]
    fn unterminated_quotes_fail_at_the_opening_quote() {
        assert_err("\"refund", 0, &["unterminated quoted string"]);
        assert_err("a \"b c", 2, &["unterminated quoted string"]);
        assert_err("agent:\"support", 6, &["unterminated quoted string"]);
        assert_err(r#""a\""#, 0, &["unterminated quoted string"]);
        assert_err("\"ok\" \"", 5, &["unterminated quoted string"]);
    }

    // --- negation --------------------------------------------------------------------------

    #[test]
    fn minus_negates() {
        assert_eq!(
            one("-status:error"),
            clause(true, one_of(Field::Status, &["error"]))
        );
        assert_eq!(one("-\"some phrase\""), clause(true, text("some phrase")));
        assert_eq!(one("-word"), clause(true, text("word")));
        assert_eq!(one("-has:root"), clause(true, Condition::Has(Field::Root)));
        assert_eq!(
            one("-duration>5s"),
            clause(true, cmp(Field::Duration, CmpOp::Gt, 5_000.0))
        );
        // Only one leading minus is an operator.
        assert_eq!(one("--x"), clause(true, text("-x")));
        // A minus inside a word is text.
        assert_eq!(one("a-b"), clause(false, text("a-b")));
    }

    #[test]
    fn not_negates_the_next_term() {
        assert_eq!(
            parse_ok("NOT status:error x"),
            vec![
                clause(true, one_of(Field::Status, &["error"])),
                clause(false, text("x")),
            ]
        );
        assert_eq!(one("NOT \"a b\""), clause(true, text("a b")));
        assert_eq!(one("NOT NOT x"), clause(false, text("x")));
        assert_eq!(one("NOT -x"), clause(false, text("x")));
    }

    #[test]
    fn not_equals_flips_negation() {
        assert_eq!(one("agent!=a"), clause(true, one_of(Field::Agent, &["a"])));
        assert_eq!(
            one("-agent!=a"),
            clause(false, one_of(Field::Agent, &["a"]))
        );
        assert_eq!(
            one("NOT agent!=a"),
            clause(false, one_of(Field::Agent, &["a"]))
        );
        assert_eq!(
            one("meta.tier!=gold,silver"),
            clause(
                true,
                one_of(Field::Meta("tier".into()), &["gold", "silver"])
            )
        );
    }

    #[test]
    fn a_lone_minus_is_an_error() {
        assert_err("-", 0, &["expected a term after '-'"]);
        assert_err("a - b", 2, &["expected a term after '-'"]);
        assert_err("a -", 2, &["expected a term after '-'"]);
    }

    #[test]
    fn a_trailing_not_is_an_error() {
        assert_err("NOT", 0, &["expected a term after 'NOT'"]);
        assert_err("a NOT", 2, &["expected a term after 'NOT'"]);
        assert_err("NOT NOT", 4, &["expected a term after 'NOT'"]);
    }

    // --- field:value -----------------------------------------------------------------------

    #[test]
    fn every_text_field_and_alias() {
        let cases = [
            ("run", Field::Run),
            ("run_id", Field::Run),
            ("span", Field::Span),
            ("span_id", Field::Span),
            ("name", Field::Name),
            ("agent", Field::Agent),
            ("model", Field::Model),
            ("provider", Field::Provider),
            ("tool", Field::Tool),
            ("thread", Field::Thread),
            ("user", Field::User),
            ("session", Field::Session),
            ("env", Field::Env),
            ("environment", Field::Env),
            ("tag", Field::Tag),
            ("tags", Field::Tag),
            ("signal", Field::Signal),
            ("service", Field::Service),
        ];
        assert_eq!(
            one("signal.severity:Critical,warning"),
            clause(
                false,
                one_of(Field::SignalSeverity, &["critical", "warning"])
            )
        );
        assert_err("signal.severity:bad", 16, &["unknown severity 'bad'"]);
        for (name, field) in cases {
            for op in [":", "="] {
                let input = format!("{name}{op}Some-Value");
                assert_eq!(
                    one(&input),
                    clause(false, one_of(field.clone(), &["Some-Value"])),
                    "{input}"
                );
            }
            let upper = format!("{}:x", name.to_uppercase());
            assert_eq!(one(&upper), clause(false, one_of(field, &["x"])), "{upper}");
        }
    }

    #[test]
    fn meta_and_attr_keys_keep_their_case() {
        assert_eq!(
            one("meta.Tier:gold"),
            clause(false, one_of(Field::Meta("Tier".into()), &["gold"]))
        );
        assert_eq!(
            one("META.tier=gold"),
            clause(false, one_of(Field::Meta("tier".into()), &["gold"]))
        );
        assert_eq!(
            one("attr.gen_ai.system:openai"),
            clause(
                false,
                one_of(Field::Attr("gen_ai.system".into()), &["openai"])
            )
        );
        assert_eq!(
            one("Attr.http.url:\"https://x.y/z\""),
            clause(
                false,
                one_of(Field::Attr("http.url".into()), &["https://x.y/z"])
            )
        );
    }

    #[test]
    fn meta_and_attr_need_a_key() {
        assert_err("meta.:x", 5, &["expected a key after 'meta.'"]);
        assert_err("ab attr.=x", 8, &["expected a key after 'attr.'"]);
    }

    #[test]
    fn values_keep_everything_after_the_first_operator() {
        assert_eq!(
            one("tool:a=b"),
            clause(false, one_of(Field::Tool, &["a=b"]))
        );
        assert_eq!(
            one("attr.url:http://x:80"),
            clause(false, one_of(Field::Attr("url".into()), &["http://x:80"]))
        );
        assert_eq!(
            one("agent:ünï"),
            clause(false, one_of(Field::Agent, &["ünï"]))
        );
        assert_eq!(
            one("agent:sup*"),
            clause(false, one_of(Field::Agent, &["sup*"]))
        );
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            one("agent:\"support agent\""),
            clause(false, one_of(Field::Agent, &["support agent"]))
        );
        assert_eq!(
            one("agent:\"a,b\""),
            clause(false, one_of(Field::Agent, &["a,b"]))
        );
        assert_eq!(
            one(r#"name:"say \"hi\"""#),
            clause(false, one_of(Field::Name, &["say \"hi\""]))
        );
        assert_eq!(
            one("-agent:\"a b\""),
            clause(true, one_of(Field::Agent, &["a b"]))
        );
    }

    #[test]
    fn commas_split_alternatives() {
        assert_eq!(
            one("model:gpt-4o,gpt-4.1"),
            clause(false, one_of(Field::Model, &["gpt-4o", "gpt-4.1"]))
        );
        assert_eq!(
            one("model:a,\"b c\",d"),
            clause(false, one_of(Field::Model, &["a", "b c", "d"]))
        );
        assert_eq!(
            one("model:\"x,y\",z"),
            clause(false, one_of(Field::Model, &["x,y", "z"]))
        );
        // Quoted and bare text join within one alternative.
        assert_eq!(
            one("model:pre\"fix\"post"),
            clause(false, one_of(Field::Model, &["prefixpost"]))
        );
    }

    #[test]
    fn empty_values_are_errors() {
        assert_err("agent:", 6, &["expected a value after 'agent:'"]);
        assert_err("x Agent=", 8, &["expected a value after 'Agent='"]);
        assert_err("agent!=", 7, &["expected a value after 'agent!='"]);
        assert_err("agent:\"\"", 6, &["expected a value after 'agent:'"]);
        assert_err("model:,a", 6, &["expected a value after 'model:'"]);
        assert_err("model:a,,b", 8, &["expected a value after ','"]);
        assert_err("model:a,", 8, &["expected a value after ','"]);
        assert_err("model:a,\"\"", 8, &["expected a value after ','"]);
    }

    #[test]
    fn status_values_are_checked_and_lowercased() {
        assert_eq!(
            one("status:ERROR,Ok,unset"),
            clause(false, one_of(Field::Status, &["error", "ok", "unset"]))
        );
        assert_err(
            "status:failed",
            7,
            &["unknown status 'failed'", "ok, error or unset"],
        );
        assert_err("status:ok,bad", 10, &["unknown status 'bad'"]);
    }

    #[test]
    fn kind_values_are_checked_and_lowercased() {
        for kind in SpanKind::ALL {
            let input = format!("kind:{}", kind.as_str().to_uppercase());
            assert_eq!(
                one(&input),
                clause(false, one_of(Field::Kind, &[kind.as_str()]))
            );
        }
        assert_eq!(
            one("kind:LLM,tool"),
            clause(false, one_of(Field::Kind, &["llm", "tool"]))
        );
        assert_err(
            "kind:llm,robot",
            9,
            &[
                "unknown kind 'robot'",
                "agent, llm, tool, retrieval",
                "span",
            ],
        );
    }

    #[test]
    fn comparing_a_text_field_is_an_error() {
        assert_err(
            "agent>3",
            5,
            &[
                "'agent' can't be compared with '>'",
                "duration, tokens",
                "errors",
            ],
        );
        assert_err("x Model<=3", 7, &["'Model' can't be compared with '<='"]);
        assert_err("meta.n>=3", 6, &["'meta.n' can't be compared with '>='"]);
        assert_err("status<x", 6, &["can't be compared"]);
    }

    // --- unknown fields --------------------------------------------------------------------

    #[test]
    fn unknown_fields_are_errors() {
        assert_err(
            "foo:bar",
            0,
            &["unknown field 'foo'", "agent", "meta.<key>", "since"],
        );
        assert_err("hello foo:bar", 6, &["unknown field 'foo'"]);
        assert_err("-foo:bar", 1, &["unknown field 'foo'"]);
        assert_err("NOT Foo=bar", 4, &["unknown field 'Foo'"]);
        assert_err("latency>5", 0, &["unknown field 'latency'"]);
        assert_err("10:30", 0, &["unknown field '10'", "double quotes"]);
        assert_err("start>5", 0, &["unknown field 'start'"]);
    }

    #[test]
    fn an_operator_without_a_field_name_is_an_error() {
        assert_err(":x", 0, &["expected a field name before ':'"]);
        assert_err("a >5", 2, &["expected a field name before '>'"]);
        assert_err("!=x", 0, &["expected a field name before '!='"]);
    }

    #[test]
    fn every_listed_field_resolves() {
        for name in KNOWN_FIELDS.split(", ") {
            match name {
                "since" | "until" => assert!(parse(&format!("{name}:1d"), NOW).is_ok()),
                "has" => assert!(parse("has:error", NOW).is_ok()),
                "meta.<key>" | "attr.<key>" | "metric.<name>" => {
                    let key = name.replace("<key>", "k").replace("<name>", "k");
                    assert!(resolve_field(&key, 0).unwrap().is_some(), "{name}");
                }
                _ => assert!(named_field(name).is_some(), "{name} is listed but unknown"),
            }
        }
    }

    // --- numeric comparisons ---------------------------------------------------------------

    #[test]
    fn comparison_operators() {
        let cases = [
            (">", CmpOp::Gt),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            ("<=", CmpOp::Le),
            ("=", CmpOp::Eq),
            (":", CmpOp::Eq),
            ("!=", CmpOp::Ne),
        ];
        for (op, expected) in cases {
            let input = format!("errors{op}2");
            assert_eq!(
                one(&input),
                clause(false, cmp(Field::Errors, expected, 2.0))
            );
        }
        // `!=` on a number is a comparison, not a flip.
        assert_eq!(
            one("-spans!=3"),
            clause(true, cmp(Field::Spans, CmpOp::Ne, 3.0))
        );
    }

    #[test]
    fn durations_are_milliseconds() {
        let cases = [
            ("duration>250", 250.0),
            ("duration>250ms", 250.0),
            ("duration>5s", 5_000.0),
            ("duration>1.5s", 1_500.0),
            ("duration>1.1s", 1_100.0),
            ("duration>.5s", 500.0),
            ("duration>2m", 120_000.0),
            ("duration>1h", 3_600_000.0),
            ("duration>1d", 86_400_000.0),
            ("duration>2.5", 2.5),
            ("duration>5S", 5_000.0),
            ("DURATION>5MS", 5.0),
        ];
        for (input, ms) in cases {
            assert_eq!(
                one(input),
                clause(false, cmp(Field::Duration, CmpOp::Gt, ms)),
                "{input}"
            );
        }
    }

    #[test]
    fn token_counts_take_k_and_m() {
        let cases = [
            ("tokens>1000", Field::Tokens, 1_000.0),
            ("tokens>1.5k", Field::Tokens, 1_500.0),
            ("tokens>2K", Field::Tokens, 2_000.0),
            ("tokens>1.2m", Field::Tokens, 1_200_000.0),
            ("tokens>3M", Field::Tokens, 3_000_000.0),
            ("input_tokens>10k", Field::InputTokens, 10_000.0),
            ("output_tokens>0.5k", Field::OutputTokens, 500.0),
        ];
        for (input, field, value) in cases {
            assert_eq!(
                one(input),
                clause(false, cmp(field, CmpOp::Gt, value)),
                "{input}"
            );
        }
    }

    #[test]
    fn costs_are_dollars() {
        assert_eq!(
            one("cost>0.01"),
            clause(false, cmp(Field::Cost, CmpOp::Gt, 0.01))
        );
        assert_eq!(
            one("cost>=$1.25"),
            clause(false, cmp(Field::Cost, CmpOp::Ge, 1.25))
        );
        assert_eq!(
            one("cost<3"),
            clause(false, cmp(Field::Cost, CmpOp::Lt, 3.0))
        );
        assert_eq!(
            one("cost>0.1"),
            clause(false, cmp(Field::Cost, CmpOp::Gt, 0.1))
        );
    }

    #[test]
    fn span_and_error_counts() {
        assert_eq!(
            one("spans>=10"),
            clause(false, cmp(Field::Spans, CmpOp::Ge, 10.0))
        );
        assert_eq!(
            one("errors:0"),
            clause(false, cmp(Field::Errors, CmpOp::Eq, 0.0))
        );
    }

    #[test]
    fn numbers_can_be_quoted() {
        assert_eq!(
            one("duration>\"5s\""),
            clause(false, cmp(Field::Duration, CmpOp::Gt, 5_000.0))
        );
    }

    #[test]
    fn non_numbers_are_errors_at_the_value() {
        assert_err(
            "tokens>abc",
            7,
            &["expected a number after 'tokens>'", "1.5k"],
        );
        assert_err("x Tokens>=", 10, &["expected a number after 'Tokens>='"]);
        assert_err(
            "duration>5x",
            9,
            &["expected a number after 'duration>'", "500ms"],
        );
        assert_err("duration>5w", 9, &["expected a number after 'duration>'"]);
        assert_err(
            "duration>1.2.3s",
            9,
            &["expected a number after 'duration>'"],
        );
        assert_err("tokens>5s", 7, &["expected a number after 'tokens>'"]);
        assert_err(
            "cost>1k",
            5,
            &["expected a number after 'cost>'", "US dollars"],
        );
        assert_err("cost>$", 5, &["expected a number after 'cost>'"]);
        assert_err("cost>-1", 5, &["expected a number after 'cost>'"]);
        assert_err("cost>1e3", 5, &["expected a number after 'cost>'"]);
        assert_err("cost>inf", 5, &["expected a number after 'cost>'"]);
        assert_err("spans>2k", 6, &["expected a number after 'spans>'"]);
        assert_err("errors:1,2", 7, &["expected a number after 'errors:'"]);
        assert_err("errors!=.", 8, &["expected a number after 'errors!='"]);
        assert_err(
            "tokens>99999999999999999999999999999999999999999",
            7,
            &["expected a number"],
        );
    }

    // --- since / until ---------------------------------------------------------------------

    #[test]
    fn relative_times_count_back_from_now() {
        let cases = [
            ("30s", 30 * SECOND),
            ("15m", 15 * 60 * SECOND),
            ("24h", 24 * 3_600 * SECOND),
            ("7d", 7 * 86_400 * SECOND),
            ("2w", 14 * 86_400 * SECOND),
            ("1.5h", 5_400 * SECOND),
            ("24H", 24 * 3_600 * SECOND),
        ];
        for (value, ago) in cases {
            assert_eq!(
                one(&format!("since:{value}")),
                clause(false, start(CmpOp::Ge, (NOW - ago) as f64)),
                "since:{value}"
            );
            assert_eq!(
                one(&format!("until={value}")),
                clause(false, start(CmpOp::Le, (NOW - ago) as f64)),
                "until={value}"
            );
        }
        assert_eq!(
            one("-SINCE:1h"),
            clause(true, start(CmpOp::Ge, (NOW - 3_600 * SECOND) as f64))
        );
    }

    #[test]
    fn relative_times_stop_at_the_epoch() {
        assert_eq!(one("since:100000w"), clause(false, start(CmpOp::Ge, 0.0)));
        assert_eq!(
            parse("since:1h", 5).unwrap().clauses,
            vec![clause(false, start(CmpOp::Ge, 0.0))]
        );
    }

    #[test]
    fn absolute_dates_are_midnight_utc() {
        // 2026-01-01 is 56 years after 1970 with 14 leap days (1972…2024): 20454 days; then
        // January to October 2026 add 304, so 2026-11-01 is day 20758 = 1_793_491_200 s
        // (`date -u -d 2026-11-01 +%s` agrees).
        assert_eq!(
            one("since:2026-11-01"),
            clause(false, start(CmpOp::Ge, 1_793_491_200_000_000_000.0))
        );
        assert_eq!(
            one("until:2024-02-29"),
            clause(false, start(CmpOp::Le, 1_709_164_800_000_000_000.0))
        );
        assert_eq!(
            one("since:1970-01-01"),
            clause(false, start(CmpOp::Ge, 0.0))
        );
    }

    #[test]
    fn rfc3339_times() {
        let cases = [
            ("2026-11-01T10:00:00Z", 1_793_527_200_000_000_000.0),
            ("2026-11-01t10:00:00z", 1_793_527_200_000_000_000.0),
            ("2026-11-01T10:00:00+02:00", 1_793_520_000_000_000_000.0),
            ("2026-11-01T10:00:00-05:30", 1_793_547_000_000_000_000.0),
            ("2026-11-01T10:00:00.5Z", 1_793_527_200_500_000_000.0),
            (
                "2026-11-01T10:00:00.123456789Z",
                1_793_527_200_123_456_789.0,
            ),
            // Digits past nanoseconds are dropped.
            (
                "2026-11-01T10:00:00.1234567891Z",
                1_793_527_200_123_456_789.0,
            ),
            ("2026-11-01T23:59:60Z", 1_793_577_600_000_000_000.0),
        ];
        for (value, nanos) in cases {
            assert_eq!(
                one(&format!("since:{value}")),
                clause(false, start(CmpOp::Ge, nanos)),
                "{value}"
            );
        }
        // RFC 3339 allows a space instead of `T`; it needs quotes here.
        assert_eq!(
            one("until:\"2026-11-01 10:00:00Z\""),
            clause(false, start(CmpOp::Le, 1_793_527_200_000_000_000.0))
        );
    }

    #[test]
    fn bad_times_are_errors_naming_both_forms() {
        for value in [
            "",
            "yesterday",
            "24",
            "24x",
            "2026-13-01",
            "2026-00-10",
            "2026-02-29",
            "2026-04-31",
            "2026-11-1",
            "26-11-01",
            "2026/11/01",
            "2026-11-01T10:00:00",
            "2026-11-01T10:00Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T10:60:00Z",
            "2026-11-01T10:00:61Z",
            "2026-11-01T10:00:00.Z",
            "2026-11-01T10:00:00+2:00",
            "2026-11-01T10:00:00+24:00",
            "2026-11-01T10:00:00Zjunk",
            "2026-11-01X10:00:00Z",
            "２０２６-11-01",
        ] {
            assert_err(
                &format!("since:{value}"),
                6,
                &[
                    "expected a relative time",
                    "24h",
                    "2026-11-01T10:00:00Z",
                    "'since:'",
                ],
            );
        }
        assert_err("x until=soon", 8, &["after 'until='"]);
    }

    #[test]
    fn since_and_until_only_take_colon() {
        assert_err("since>24h", 5, &["'since' takes ':'"]);
        assert_err("until!=24h", 5, &["'until' takes ':'"]);
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 1, 1), 20_454);
        assert_eq!(days_from_civil(2026, 11, 1), 20_758);
    }

    // --- has: ------------------------------------------------------------------------------

    #[test]
    fn has_fields() {
        let cases = [
            ("error", Field::Error),
            ("ROOT", Field::Root),
            ("model", Field::Model),
            ("tool", Field::Tool),
            ("environment", Field::Env),
            ("cost", Field::Cost),
            ("user", Field::User),
            ("meta.Tier", Field::Meta("Tier".into())),
            ("attr.http.url", Field::Attr("http.url".into())),
        ];
        for (value, field) in cases {
            assert_eq!(
                one(&format!("has:{value}")),
                clause(false, Condition::Has(field)),
                "has:{value}"
            );
        }
        assert_eq!(
            one("HAS=error"),
            clause(false, Condition::Has(Field::Error))
        );
        assert_eq!(
            one("NOT has:root"),
            clause(true, Condition::Has(Field::Root))
        );
    }

    #[test]
    fn has_errors() {
        assert_err("has:nope", 4, &["unknown field 'nope'", "error, root"]);
        assert_err("has:error,root", 4, &["unknown field 'error,root'"]);
        assert_err("has:", 4, &["expected a field name after 'has:'"]);
        assert_err("has:meta.", 9, &["expected a key after 'meta.'"]);
        assert_err("has>1", 3, &["'has' takes ':'"]);
    }

    // --- positions are characters ----------------------------------------------------------

    #[test]
    fn positions_count_characters_not_bytes() {
        // "café ünï " is 9 characters but 12 bytes.
        assert_err("café ünï foo:bar", 9, &["unknown field 'foo'"]);
        assert_err("日本語 agent:", 10, &["expected a value after 'agent:'"]);
        assert_err("\"ß\" \"🦀", 4, &["unterminated quoted string"]);
        assert_err("ü tokens>x", 9, &["expected a number after 'tokens>'"]);
        assert_err("ü agent>3", 7, &["can't be compared"]);
        assert_err("ü -", 2, &["expected a term after '-'"]);
        assert_err("\"é\" model:a,,b", 12, &["expected a value after ','"]);
        assert_err("agent:\"é\",x,", 12, &["expected a value after ','"]);
    }

    // --- limits ----------------------------------------------------------------------------

    #[test]
    fn control_characters_are_refused_where_they_are() {
        assert_err("a\0b", 1, &["U+0000", "remove it"]);
        assert_err("agent:\"x\0\"", 8, &["U+0000"]);
        assert_err("é meta.a\u{1}b:x", 8, &["U+0001"]);
        assert_err("x \u{7f}", 2, &["U+007F"]);
        assert_err("since:\u{9b}1d", 6, &["U+009B"]);
        // Whitespace that is also a control character separates terms, as before.
        assert_eq!(parse_ok("a\tb\r\nc\u{b}d\u{85}e").len(), 5);
    }

    #[test]
    fn queries_up_to_the_length_limit_parse() {
        let phrase = |len: usize| format!("\"{}\"", "é".repeat(len - 2));
        assert_eq!(
            one(&phrase(MAX_QUERY_CHARS)),
            clause(false, text(&"é".repeat(MAX_QUERY_CHARS - 2)))
        );
        assert_err(
            &phrase(MAX_QUERY_CHARS + 1),
            MAX_QUERY_CHARS,
            &["4097 characters", "more than the 4096 allowed", "wildcard"],
        );
        // The length counts characters, not bytes: 4,096 three-byte characters are fine.
        assert!(parse(&"€".repeat(MAX_QUERY_CHARS), NOW).is_ok());
    }

    #[test]
    fn queries_up_to_the_term_limit_parse() {
        let words = |n: usize| vec!["w"; n].join(" ");
        assert_eq!(parse_ok(&words(MAX_TERMS)).len(), MAX_TERMS);
        // The 101st term starts at 2 × 100.
        assert_err(
            &words(MAX_TERMS + 1),
            2 * MAX_TERMS,
            &["at most 100 terms", "model:a,b,c"],
        );
        // `NOT` and `-` are not terms of their own.
        let negated = vec!["NOT -w"; MAX_TERMS].join(" ");
        assert_eq!(parse_ok(&negated).len(), MAX_TERMS);
    }

    #[test]
    fn lists_up_to_the_value_limit_parse() {
        let list = |n: usize| {
            let values: Vec<String> = (0..n).map(|i| format!("m{i:03}")).collect();
            format!("x model:{}", values.join(","))
        };
        let Condition::OneOf { values, .. } = one_condition(&list(MAX_VALUES), 1) else {
            panic!("not a list");
        };
        assert_eq!(values.len(), MAX_VALUES);
        // Each value is 5 characters with its comma; the 101st starts after 100 of them.
        assert_err(
            &list(MAX_VALUES + 1),
            "x model:".len() + 5 * MAX_VALUES,
            &["at most 100 values", "after 'model:'", "wildcard"],
        );
        // Quoted commas do not separate values.
        let quoted = format!("tag:\"{}\"", vec!["a"; 2 * MAX_VALUES].join(","));
        assert!(parse(&quoted, NOW).is_ok());
    }

    // --- metrics ---------------------------------------------------------------------------

    #[test]
    fn metric_terms() {
        let m = |n: &str| Field::Metric(n.into());
        assert_eq!(
            one("metric.resolved=true"),
            clause(false, one_of(m("resolved"), &["true"]))
        );
        assert_eq!(
            one("Metric.Label:good,bad"),
            clause(false, one_of(m("Label"), &["good", "bad"]))
        );
        assert_eq!(
            one("metric.resolved!=false"),
            clause(true, one_of(m("resolved"), &["false"]))
        );
        assert_eq!(
            one("metric.quality<0.5"),
            clause(false, cmp(m("quality"), CmpOp::Lt, 0.5))
        );
        assert_eq!(
            one("-metric.eval.score>=-2"),
            clause(true, cmp(m("eval.score"), CmpOp::Ge, -2.0))
        );
        assert_eq!(
            one("metric.q>1e3"),
            clause(false, cmp(m("q"), CmpOp::Gt, 1_000.0))
        );
        assert_eq!(
            one("has:metric.feedback"),
            clause(false, Condition::Has(m("feedback")))
        );
    }

    #[test]
    fn bad_metric_terms_say_why() {
        assert_err("metric.q<high", 9, &["expected a number after 'metric.q<'"]);
        assert_err("metric.q>inf", 9, &["expected a number"]);
        assert_err("metric.=1", 7, &["expected a key after 'metric.'"]);
        assert_err(
            "metric.a;b=1",
            7,
            &["invalid metric name", "may only contain"],
        );
        assert_err("metric.q=", 9, &["expected a value after 'metric.q='"]);
    }
}
