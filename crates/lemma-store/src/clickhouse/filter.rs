//! Compiles a query-language [`Filter`] into a ClickHouse condition, with the same meaning as
//! the embedded store's (`sqlite/filter.rs`): the same fields, wildcards, errors, and negation
//! that holds when a value is missing. No value from a query is ever spliced into SQL text:
//! every one is bound (`Sql::bind`).
//!
//! ClickHouse has no correlated subqueries, so whatever lives in another table is matched by
//! key: a span-level field of a run (`provider:`, `service:`, `span:`), a metric event, a signal
//! evaluation, an experiment's link or a text match is "the run's (trace id, generation) is
//! among those of the spans, events, evaluations or links that match", each found once for the
//! whole query. A run's generation (how often it was deleted before its live spans arrived)
//! sits in the top bits of its summary's `version` (`runs::version`), so rows of a deleted run
//! never match a live one.

use lemma_core::query::{Clause, CmpOp, Condition, Field, Filter};

use super::experiments::LATEST_LINK;
use super::read::FILTER_COLUMNS;
use super::sql::Sql;
use super::text;
use crate::{ProjectId, Result, StoreError};

/// Which listing the filter applies to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Target {
    /// Rows of the live runs (`super::runs::live_runs`), as `r`.
    Runs,
    /// Rows of `spans`, as `s`.
    Spans,
}

/// The generation of the run `r`: `runs::version` puts it above bit 44.
const RUN_GENERATION: &str = "toUInt32(bitShiftRight(r.version, 44))";

/// Appends the filter's condition (`1` when it is empty) to `sql`, binding its values in the
/// order the text reads them. `project` scopes the subqueries it needs.
pub(super) fn condition(
    filter: &Filter,
    target: Target,
    project: ProjectId,
    sql: &mut Sql,
) -> Result<()> {
    if filter.is_empty() {
        sql.push("1");
        return Ok(());
    }
    let mut c = Compiler {
        target,
        project,
        params: Vec::new(),
    };
    let mut parts = Vec::new();
    for clause in &filter.clauses {
        parts.push(c.clause(clause)?);
    }
    sql.push(&parts.join(" AND "));
    sql.params.extend(c.params);
    Ok(())
}

/// Splits a span filter into the clauses every stored row of a span answers alike and those
/// a newer row can answer differently: re-pricing stores a span again with another cost, so
/// cost clauses must look at the newest row only, the others may narrow rows before the
/// newest is picked.
pub(super) fn split_by_version(filter: &Filter) -> (Filter, Filter) {
    let (versioned, fixed): (Vec<Clause>, Vec<Clause>) =
        filter.clauses.iter().cloned().partition(|c| {
            matches!(
                &c.condition,
                Condition::Compare {
                    field: Field::Cost,
                    ..
                } | Condition::Has(Field::Cost)
                    | Condition::OneOf {
                        field: Field::Cost,
                        ..
                    }
            )
        });
    (Filter { clauses: fixed }, Filter { clauses: versioned })
}

struct Compiler {
    target: Target,
    project: ProjectId,
    params: Vec<super::sql::Param>,
}

impl Compiler {
    fn bind(&mut self, v: impl Into<super::sql::Param>) -> &'static str {
        self.params.push(v.into());
        "?"
    }

    fn clause(&mut self, clause: &Clause) -> Result<String> {
        let sql = match &clause.condition {
            Condition::Text(text) => self.text(text),
            Condition::OneOf { field, values } => self.one_of(field, values)?,
            Condition::Compare { field, op, value } => self.compare(field, *op, *value)?,
            Condition::Has(field) => self.has(field)?,
        };
        // ifNull: a test on a missing value (NULL) fails, and its negation holds.
        Ok(if clause.negated {
            format!("NOT ifNull(({sql}), 0)")
        } else {
            format!("ifNull(({sql}), 0)")
        })
    }

    fn text(&mut self, text: &str) -> String {
        let mut sql = Sql::default();
        text::matches(&mut sql, self.target, self.project, text, RUN_GENERATION);
        self.params.extend(sql.params);
        sql.text
    }

    /// `expr` equals any value; `*` in a value is a wildcard.
    fn matches(&mut self, expr: &str, values: &[String]) -> String {
        let tests: Vec<String> = values
            .iter()
            .map(|v| {
                if v.contains('*') {
                    format!("{expr} LIKE {}", self.bind(like_pattern(v)))
                } else {
                    format!("{expr} = {}", self.bind(v.as_str()))
                }
            })
            .collect();
        tests.join(" OR ")
    }

    /// `model:` values: a pattern as for other fields, else the model or a snapshot of it
    /// (`model:gpt-4o` finds `gpt-4o-2024-08-06`), by the regular expression
    /// `lemma_core::pricing::version_pattern` makes. `expr` is an array of models when
    /// `array`.
    fn model_matches(&mut self, expr: &str, values: &[String], array: bool) -> String {
        let tests: Vec<String> = values
            .iter()
            .map(|v| {
                let model = if array { "x" } else { expr };
                let test = if v.contains('*') {
                    format!("{model} LIKE {}", self.bind(like_pattern(v)))
                } else {
                    let pattern = lemma_core::pricing::version_pattern(v);
                    format!("match(ifNull({model}, ''), {})", self.bind(pattern))
                };
                match array {
                    true => format!("arrayExists(x -> {test}, {expr})"),
                    false => test,
                }
            })
            .collect();
        tests.join(" OR ")
    }

    /// An array column holds any of the values.
    fn array_has(&mut self, column: &str, values: &[String]) -> String {
        let tests: Vec<String> = values
            .iter()
            .map(|v| {
                if v.contains('*') {
                    let p = self.bind(like_pattern(v));
                    format!("arrayExists(x -> x LIKE {p}, {column})")
                } else {
                    format!("has({column}, {})", self.bind(v.as_str()))
                }
            })
            .collect();
        tests.join(" OR ")
    }

    fn ids(&mut self, column: &str, values: &[String], len: usize, what: &str) -> Result<String> {
        let mut binds = Vec::new();
        for v in values {
            let v = v.to_ascii_lowercase();
            if hex::decode(&v).ok().filter(|b| b.len() == len).is_none() {
                return Err(StoreError::Invalid(format!(
                    "{what} {v:?} is not {} hex characters",
                    len * 2
                )));
            }
            binds.push(self.bind(v));
        }
        Ok(format!("{column} IN ({})", binds.join(",")))
    }

    /// The run has a live span for which `build`'s test (on `s`) holds.
    fn run_has_span(&mut self, build: impl FnOnce(&mut Self) -> Result<String>) -> Result<String> {
        let project = self.bind(self.project.0);
        let test = build(self)?;
        Ok(format!(
            "(r.trace_id, {RUN_GENERATION}) IN (SELECT s.trace_id, s.generation FROM \
             (SELECT {FILTER_COLUMNS} FROM spans WHERE project_id = {project}) AS s \
             WHERE ({test}))"
        ))
    }

    fn one_of(&mut self, field: &Field, values: &[String]) -> Result<String> {
        use Target::*;
        Ok(match (field, self.target) {
            (Field::Run, Runs) => self.ids("r.trace_id", values, 16, "run id")?,
            (Field::Run, Spans) => self.ids("s.trace_id", values, 16, "run id")?,
            (Field::Span, Runs) => {
                self.run_has_span(|c| c.ids("s.span_id", values, 8, "span id"))?
            }
            (Field::Span, Spans) => self.ids("s.span_id", values, 8, "span id")?,
            (Field::Name, Runs) => self.matches("r.name", values),
            (Field::Name, Spans) => self.matches("s.name", values),
            (Field::Agent, Runs) => self.array_has("r.agents", values),
            (Field::Agent, Spans) => self.matches("s.agent_name", values),
            (Field::Status, Runs) => self.matches("r.status", values),
            (Field::Status, Spans) => self.matches("s.status", values),
            (Field::Kind, Runs) => self.array_has("r.kinds", values),
            (Field::Kind, Spans) => self.matches("s.kind", values),
            (Field::Model, Runs) => self.model_matches("r.models", values, true),
            (Field::Model, Spans) => self.model_matches("s.model", values, false),
            (Field::Tool, Runs) => self.array_has("r.tools", values),
            (Field::Tool, Spans) => self.matches("s.tool_name", values),
            (Field::Provider, Runs) => {
                self.run_has_span(|c| Ok(c.matches("s.provider", values)))?
            }
            (Field::Provider, Spans) => self.matches("s.provider", values),
            (Field::Service, Runs) => {
                self.run_has_span(|c| Ok(c.matches("s.service_name", values)))?
            }
            (Field::Service, Spans) => self.matches("s.service_name", values),
            (Field::Thread, t) => self.matches(col(t, "thread_id"), values),
            (Field::User, t) => self.matches(col(t, "user_id"), values),
            (Field::Session, t) => self.matches(col(t, "session_id"), values),
            (Field::Env, t) => self.matches(col(t, "environment"), values),
            (Field::Tag, Runs) => self.array_has("r.tags", values),
            (Field::Signal, Runs) => {
                let loops = self.array_has("r.signals", values);
                let found = self.evaluated("names", |c| c.array_has("g.latest", values));
                format!("({loops} OR {found})")
            }
            (Field::SignalSeverity, Runs) => {
                let found = self.evaluated("severities", |c| c.array_has("g.latest", values));
                // The summary's loops are warnings, there before their run is evaluated.
                match values.iter().any(|v| v == "warning") {
                    true => format!("({found} OR notEmpty(r.signals))"),
                    false => found,
                }
            }
            (Field::Experiment, Runs) => self.linked("x.experiment", values),
            (Field::Case, Runs) => self.linked("x.case_id", values),
            (Field::Dataset, Runs) => self.linked("x.linked_dataset", values),
            (Field::Meta(key), Runs) => {
                check_meta_key(key)?;
                let key = self.bind(key.as_str());
                let m = self.matches("v", values);
                format!("arrayExists((k, v) -> k = {key} AND ifNull(({m}), 0), r.meta_keys, r.meta_values)")
            }
            (Field::Metric(name), t) => self.metric(t, name, |c| {
                let mut tests = Vec::new();
                for v in values {
                    let flag = match v.to_ascii_lowercase().as_str() {
                        "true" => Some(1.0),
                        "false" => Some(0.0),
                        _ => None,
                    };
                    if let Some(b) = flag {
                        tests.push(format!("(me.kind = 'bool' AND me.num = {})", c.bind(b)));
                    }
                    if let Some(n) = v.parse::<f64>().ok().filter(|n| n.is_finite()) {
                        tests.push(format!("(me.kind = 'number' AND me.num = {})", c.bind(n)));
                    }
                    let m = c.matches("me.text", std::slice::from_ref(v));
                    tests.push(format!("(me.kind = 'text' AND ({m}))"));
                }
                tests.join(" OR ")
            }),
            (Field::Attr(_), _) => {
                return Err(StoreError::Invalid(
                    "attr.* filters are not supported yet; use meta.<key> for metadata".into(),
                ))
            }
            (f, Spans) => return Err(runs_only(f)),
            (f, Runs) => {
                return Err(StoreError::Invalid(format!(
                    "{f:?} cannot be matched against text values"
                )))
            }
        })
    }

    /// The run (of the run or span being filtered) has a metric event named `name` for which
    /// the test `build` makes holds: an event of the same project, trace id and generation,
    /// whenever it arrived. Binds the project and the name before the test's values.
    fn metric(
        &mut self,
        target: Target,
        name: &str,
        build: impl FnOnce(&mut Self) -> String,
    ) -> String {
        let key = match target {
            Target::Runs => format!("r.trace_id, {RUN_GENERATION}"),
            Target::Spans => "s.trace_id, s.generation".to_string(),
        };
        let project = self.bind(self.project.0);
        let name = self.bind(name);
        let test = build(self);
        format!(
            "({key}) IN (SELECT me.trace_id, me.generation FROM \
             (SELECT trace_id, generation, kind, num, text FROM metrics \
              WHERE project_id = {project} AND name = {name}) AS me \
             WHERE ({test}))"
        )
    }

    /// The run answers a case of an experiment (its case's latest link, in the run's live
    /// generation) whose `column` (on `x`: `experiment`, `case_id`, `linked_dataset`) matches
    /// any value. Binds the project before the values. The links are grouped here, at the
    /// query over the runs, so a case's links are all weighed wherever they are stored.
    fn linked(&mut self, column: &str, values: &[String]) -> String {
        let project = self.bind(self.project.0);
        let test = self.matches(column, values);
        format!(
            "(r.trace_id, {RUN_GENERATION}) IN (SELECT x.linked_run, x.linked_generation FROM \
             (SELECT experiment, case_id, {LATEST_LINK} FROM experiment_runs \
              WHERE project_id = {project} GROUP BY experiment, case_id) AS x \
             WHERE ({test}))"
        )
    }

    /// The run's latest signal evaluation (of its generation, the one with the highest
    /// `evaluated_ns`) has an array `column` (`names`, `severities`) for which the test `build`
    /// makes on `g.latest` holds. Binds the project before the test's values.
    fn evaluated(
        &mut self,
        column: &'static str,
        build: impl FnOnce(&mut Self) -> String,
    ) -> String {
        let project = self.bind(self.project.0);
        let test = build(self);
        format!(
            "(r.trace_id, {RUN_GENERATION}) IN (SELECT g.trace_id, g.generation FROM \
             (SELECT trace_id, generation, argMax({column}, evaluated_ns) AS latest \
              FROM run_signals WHERE project_id = {project} GROUP BY trace_id, generation) AS g \
             WHERE ({test}))"
        )
    }

    fn compare(&mut self, field: &Field, op: CmpOp, value: f64) -> Result<String> {
        use Target::*;
        if let Field::Metric(name) = field {
            return Ok(self.metric(self.target, name, |c| {
                format!(
                    "me.kind = 'number' AND me.num {} {}",
                    sql_op(op),
                    c.bind(value)
                )
            }));
        }
        let expr = match (field, self.target) {
            (Field::Duration, Runs) => "r.duration_ms",
            (Field::Duration, Spans) => "((s.end_ns - s.start_ns) / 1e6)",
            (Field::Tokens, t) => col(t, "total_tokens"),
            (Field::InputTokens, t) => col(t, "input_tokens"),
            (Field::OutputTokens, t) => col(t, "output_tokens"),
            (Field::Cost, t) => col(t, "cost_usd"),
            (Field::Start, t) => col(t, "start_ns"),
            (Field::Spans, Runs) => "r.span_count",
            (Field::Errors, Runs) => "r.error_count",
            (f @ (Field::Spans | Field::Errors), Spans) => return Err(runs_only(f)),
            (f, _) => {
                return Err(StoreError::Invalid(format!(
                    "{f:?} cannot be compared with a number"
                )))
            }
        };
        let op = sql_op(op);
        // Times are integers; compared as integers they stay exact.
        let p = if matches!(field, Field::Start) {
            self.bind(value as i64)
        } else {
            self.bind(value)
        };
        Ok(format!("{expr} {op} {p}"))
    }

    fn has(&mut self, field: &Field) -> Result<String> {
        use Target::*;
        Ok(match (field, self.target) {
            (Field::Error, Runs) => "r.error_count > 0".into(),
            (Field::Error, Spans) => "s.status = 'error'".into(),
            (Field::Root, Runs) => "r.has_root = 1".into(),
            (Field::Root, Spans) => "s.parent_span_id IS NULL".into(),
            (Field::Thread, t) => format!("{} IS NOT NULL", col(t, "thread_id")),
            (Field::User, t) => format!("{} IS NOT NULL", col(t, "user_id")),
            (Field::Session, t) => format!("{} IS NOT NULL", col(t, "session_id")),
            (Field::Env, t) => format!("{} IS NOT NULL", col(t, "environment")),
            (Field::Cost, t) => format!("{} IS NOT NULL", col(t, "cost_usd")),
            (Field::Agent, Runs) => "r.agent_name IS NOT NULL".into(),
            (Field::Agent, Spans) => "s.agent_name IS NOT NULL".into(),
            (Field::Model, Runs) => "notEmpty(r.models)".into(),
            (Field::Model, Spans) => "s.model IS NOT NULL".into(),
            (Field::Tool, Runs) => "notEmpty(r.tools)".into(),
            (Field::Tool, Spans) => "s.tool_name IS NOT NULL".into(),
            (Field::Tag, Runs) => "notEmpty(r.tags)".into(),
            (Field::Signal, Runs) => {
                let found = self.evaluated("names", |_| "notEmpty(g.latest)".into());
                format!("(notEmpty(r.signals) OR {found})")
            }
            (Field::Meta(key), Runs) => {
                check_meta_key(key)?;
                format!("has(r.meta_keys, {})", self.bind(key.as_str()))
            }
            (Field::Metric(name), t) => self.metric(t, name, |_| "1".into()),
            (f, Spans)
                if matches!(
                    f,
                    Field::Tag
                        | Field::Signal
                        | Field::SignalSeverity
                        | Field::Experiment
                        | Field::Dataset
                        | Field::Case
                        | Field::Meta(_)
                ) =>
            {
                return Err(runs_only(f))
            }
            (f, _) => return Err(StoreError::Invalid(format!("has:{f:?} is not supported"))),
        })
    }
}

fn sql_op(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
    }
}

/// A column of the row being filtered; static strings keep names out of anything a query
/// controls.
fn col(target: Target, name: &'static str) -> &'static str {
    macro_rules! pick {
        ($($n:literal),*) => {
            match (target, name) {
                $((Target::Runs, $n) => concat!("r.", $n), (Target::Spans, $n) => concat!("s.", $n),)*
                _ => unreachable!("unknown column {name}"),
            }
        };
    }
    pick!(
        "thread_id",
        "user_id",
        "session_id",
        "environment",
        "total_tokens",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "start_ns"
    )
}

fn runs_only(field: &Field) -> StoreError {
    StoreError::Invalid(format!(
        "{field:?} applies to runs, not spans: search runs instead (GET /api/v1/runs?q=...)"
    ))
}

/// Metadata keys are refused where the embedded store refuses them (it reads them through a
/// quoted JSON path), so both stores answer the same queries.
fn check_meta_key(key: &str) -> Result<()> {
    if key.contains('"') || key.contains('\\') {
        return Err(StoreError::Invalid(format!(
            "metadata key {key:?} may not contain quotes or backslashes"
        )));
    }
    Ok(())
}

/// A user value with `*` wildcards as a LIKE pattern in which every other character is
/// literal (`%`, `_` and `\` escaped). LIKE is case-sensitive, as SQLite's GLOB.
fn like_pattern(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
