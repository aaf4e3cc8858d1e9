//! Compiles a query-language [`Filter`] into an SQLite `WHERE` clause with bound parameters.
//! No value from a query is ever spliced into SQL text.

use lemma_core::query::{Clause, CmpOp, Condition, Field, Filter};
use rusqlite::types::Value as Sql;

use super::text::Parts;
use crate::StoreError;

/// Which listing the filter applies to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `runs r`
    Runs,
    /// `spans s`
    Spans,
}

/// A compiled `WHERE` fragment (`1` when the filter is empty) and its parameters.
pub struct Compiled {
    pub sql: String,
    pub params: Vec<Sql>,
}

/// `text` lists the full-text index's parts, which a text term is looked up in.
pub fn compile(filter: &Filter, target: Target, text: &Parts) -> Result<Compiled, StoreError> {
    let mut c = Compiler {
        target,
        text,
        params: Vec::new(),
    };
    let mut parts = Vec::new();
    for clause in &filter.clauses {
        parts.push(c.clause(clause)?);
    }
    let sql = if parts.is_empty() {
        "1".to_string()
    } else {
        parts.join(" AND ")
    };
    Ok(Compiled {
        sql,
        params: c.params,
    })
}

/// The index a run listing should be read through when SQLite's estimates could mislead it.
///
/// With one status (`status:error`) and no condition that an index narrows further (a run,
/// thread or user id, or a text match), `runs_status` holds exactly the runs of that status in
/// the listing's order, so the listing stops after a page of them. The planner's sampled
/// statistics can rate the time index better, which reads every run of the range (at 1M spans
/// a failed-runs page over half the data read 9,000 runs instead of 51).
pub fn run_list_index(filter: &Filter) -> Option<&'static str> {
    let mut one_status = false;
    for clause in &filter.clauses {
        match (&clause.condition, clause.negated) {
            (Condition::Text(_), _) => return None,
            (
                Condition::OneOf {
                    field: Field::Run | Field::Thread | Field::User,
                    ..
                },
                false,
            ) => return None,
            (
                Condition::OneOf {
                    field: Field::Status,
                    values,
                },
                false,
            ) => one_status |= values.len() == 1 && !values[0].contains('*'),
            _ => {}
        }
    }
    one_status.then_some("runs_status")
}

struct Compiler<'p> {
    target: Target,
    text: &'p Parts,
    params: Vec<Sql>,
}

impl Compiler<'_> {
    fn bind(&mut self, v: impl Into<Sql>) -> &'static str {
        self.params.push(v.into());
        "?"
    }

    fn clause(&mut self, clause: &Clause) -> Result<String, StoreError> {
        let sql = match &clause.condition {
            Condition::Text(text) => self.text(text),
            Condition::OneOf { field, values } => self.one_of(field, values)?,
            Condition::Compare { field, op, value } => self.compare(field, *op, *value)?,
            Condition::Has(field) => self.has(field)?,
        };
        // COALESCE: a negated test on a missing value (NULL) holds.
        Ok(if clause.negated {
            format!("NOT COALESCE(({sql}), 0)")
        } else {
            format!("({sql})")
        })
    }

    fn text(&mut self, text: &str) -> String {
        let phrase = fts_phrase(text);
        let parts = self.text;
        let found: Vec<String> = parts
            .names()
            .iter()
            .map(|t| {
                let p = self.bind(phrase.clone());
                format!("SELECT rowid FROM {t} WHERE {t} MATCH {p}")
            })
            .collect();
        let found = found.join(" UNION ALL ");
        match self.target {
            // Not correlated with `r`, so the matches are found once, not once per run.
            Target::Runs => format!(
                "(r.project_id, r.trace_id) IN (SELECT s.project_id, s.trace_id FROM ({found}) m \
                 JOIN spans s ON s.rowid = m.rowid)"
            ),
            Target::Spans => format!("s.rowid IN ({found})"),
        }
    }

    /// `expr` equals any value; `*` in a value is a wildcard.
    fn matches(&mut self, expr: &str, values: &[String]) -> String {
        self.matches_by(expr, values, |expr, value| format!("{expr} = {value}"))
    }

    /// `model:` values: a pattern as for other fields, else the model or a snapshot of it
    /// (`model:gpt-4o` finds `gpt-4o-2024-08-06`; `lemma_is_version_of`, registered on every
    /// connection, is `lemma_core::pricing::is_version_of`).
    fn model_matches(&mut self, expr: &str, values: &[String]) -> String {
        self.matches_by(expr, values, |expr, value| {
            format!("lemma_is_version_of({expr}, {value})")
        })
    }

    /// Any value matches: a value with `*` as a pattern, another by `exact` (given `expr` and
    /// the value's parameter).
    fn matches_by(
        &mut self,
        expr: &str,
        values: &[String],
        exact: impl Fn(&str, &str) -> String,
    ) -> String {
        let tests: Vec<String> = values
            .iter()
            .map(|v| match v.contains('*') {
                true => format!("{expr} GLOB {}", self.bind(glob_pattern(v))),
                false => exact(expr, self.bind(v.clone())),
            })
            .collect();
        tests.join(" OR ")
    }

    /// A JSON array column holds any of the values.
    fn json_list(&mut self, column: &str, values: &[String]) -> String {
        let m = self.matches("value", values);
        format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE {m})")
    }

    fn ids(
        &mut self,
        column: &str,
        values: &[String],
        len: usize,
        what: &str,
    ) -> Result<String, StoreError> {
        let mut binds = Vec::new();
        for v in values {
            let v = v.to_ascii_lowercase();
            let bytes = hex::decode(&v)
                .ok()
                .filter(|b| b.len() == len)
                .ok_or_else(|| {
                    StoreError::Invalid(format!("{what} {v:?} is not {} hex characters", len * 2))
                })?;
            binds.push(self.bind(bytes));
        }
        Ok(format!("{column} IN ({})", binds.join(",")))
    }

    fn one_of(&mut self, field: &Field, values: &[String]) -> Result<String, StoreError> {
        use Target::*;
        Ok(match (field, self.target) {
            (Field::Run, Runs) => self.ids("r.trace_id", values, 16, "run id")?,
            (Field::Run, Spans) => self.ids("s.trace_id", values, 16, "run id")?,
            (Field::Span, Runs) => {
                let ids = self.ids("s.span_id", values, 8, "span id")?;
                format!("EXISTS (SELECT 1 FROM spans s WHERE s.project_id = r.project_id AND s.trace_id = r.trace_id AND {ids})")
            }
            (Field::Span, Spans) => self.ids("s.span_id", values, 8, "span id")?,
            (Field::Name, Runs) => self.matches("r.name", values),
            (Field::Name, Spans) => self.matches("s.name", values),
            (Field::Agent, Runs) => self.json_list("r.agents", values),
            (Field::Agent, Spans) => self.matches("s.agent_name", values),
            (Field::Status, Runs) => self.matches("r.status", values),
            (Field::Status, Spans) => self.matches("s.status", values),
            (Field::Kind, Runs) => {
                let m = self.matches("key", values);
                format!("EXISTS (SELECT 1 FROM json_each(r.kind_counts) WHERE {m})")
            }
            (Field::Kind, Spans) => self.matches("s.kind", values),
            (Field::Model, Runs) => {
                let m = self.model_matches("value", values);
                format!("EXISTS (SELECT 1 FROM json_each(r.models) WHERE {m})")
            }
            (Field::Model, Spans) => self.model_matches("s.model", values),
            (Field::Tool, Runs) => self.json_list("r.tools", values),
            (Field::Tool, Spans) => self.matches("s.tool_name", values),
            (Field::Provider, Runs) => self.run_has_span("s.provider", values),
            (Field::Provider, Spans) => self.matches("s.provider", values),
            (Field::Service, Runs) => self.run_has_span("s.service_name", values),
            (Field::Service, Spans) => self.matches("s.service_name", values),
            (Field::Thread, t) => self.matches(col(t, "thread_id"), values),
            (Field::User, t) => self.matches(col(t, "user_id"), values),
            (Field::Session, t) => self.matches(col(t, "session_id"), values),
            (Field::Env, t) => self.matches(col(t, "environment"), values),
            (Field::Tag, Runs) => self.json_list("r.tags", values),
            (Field::Signal, Runs) => {
                let loops = self.json_list("r.signals", values);
                let found = self.evaluated_signal("'$.kind'", values);
                format!("({loops} OR {found})")
            }
            (Field::Experiment, Runs) => self.experiment_run("x.experiment", values),
            (Field::Case, Runs) => self.experiment_run("x.case_id", values),
            (Field::Dataset, Runs) => {
                let m = self.matches("e.dataset", values);
                format!(
                    "EXISTS (SELECT 1 FROM experiment_runs x JOIN experiments e \
                     ON e.project_id = x.project_id AND e.name = x.experiment \
                     WHERE x.project_id = r.project_id AND x.trace_id = r.trace_id AND ({m}))"
                )
            }
            (Field::SignalSeverity, Runs) => {
                let found = self.evaluated_signal("'$.severity'", values);
                // The summary's loops are warnings, there before their run is evaluated.
                match values.iter().any(|v| v == "warning") {
                    true => format!("({found} OR json_array_length(r.signals) > 0)"),
                    false => found,
                }
            }
            (Field::Meta(key), Runs) => {
                let path = self.bind(json_path(key)?);
                self.matches(
                    &format!("CAST(json_extract(r.metadata, {path}) AS TEXT)"),
                    values,
                )
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
                    tests.push(format!("(me.kind = 'text' AND {m})"));
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

    /// The run answered a case of an experiment, the link's `column` matching any value.
    fn experiment_run(&mut self, column: &str, values: &[String]) -> String {
        let m = self.matches(column, values);
        format!(
            "EXISTS (SELECT 1 FROM experiment_runs x \
             WHERE x.project_id = r.project_id AND x.trace_id = r.trace_id AND ({m}))"
        )
    }

    /// The run's latest signal evaluation holds a signal whose field at `path` (a JSON path
    /// literal) matches any of the values.
    fn evaluated_signal(&mut self, path: &'static str, values: &[String]) -> String {
        let m = self.matches(&format!("json_extract(j.value, {path})"), values);
        format!(
            "EXISTS (SELECT 1 FROM run_signals g, json_each(g.signals) j \
             WHERE g.project_id = r.project_id AND g.trace_id = r.trace_id AND ({m}))"
        )
    }

    fn run_has_span(&mut self, expr: &str, values: &[String]) -> String {
        let m = self.matches(expr, values);
        format!("EXISTS (SELECT 1 FROM spans s WHERE s.project_id = r.project_id AND s.trace_id = r.trace_id AND ({m}))")
    }

    /// The run (of the run or span being filtered) has a metric event named `name` for which
    /// the test `build` makes holds; events are joined by run, so they count whenever they
    /// arrived. The name is bound before the test's values, in the order the SQL reads them.
    fn metric(
        &mut self,
        target: Target,
        name: &str,
        build: impl FnOnce(&mut Self) -> String,
    ) -> String {
        let t = match target {
            Target::Runs => "r",
            Target::Spans => "s",
        };
        let name = self.bind(name.to_string());
        let test = build(self);
        format!(
            "EXISTS (SELECT 1 FROM metrics me WHERE me.project_id = {t}.project_id \
             AND me.trace_id = {t}.trace_id AND me.name = {name} AND ({test}))"
        )
    }

    fn compare(&mut self, field: &Field, op: CmpOp, value: f64) -> Result<String, StoreError> {
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
        // Times are integers; binding them as integers keeps index range scans exact.
        let p = if matches!(field, Field::Start) {
            self.bind(value as i64)
        } else {
            self.bind(value)
        };
        Ok(format!("{expr} {op} {p}"))
    }

    fn has(&mut self, field: &Field) -> Result<String, StoreError> {
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
            (Field::Model, Runs) => "json_array_length(r.models) > 0".into(),
            (Field::Model, Spans) => "s.model IS NOT NULL".into(),
            (Field::Tool, Runs) => "json_array_length(r.tools) > 0".into(),
            (Field::Tool, Spans) => "s.tool_name IS NOT NULL".into(),
            (Field::Tag, Runs) => "json_array_length(r.tags) > 0".into(),
            (Field::Signal, Runs) => "(json_array_length(r.signals) > 0 OR EXISTS \
                 (SELECT 1 FROM run_signals g WHERE g.project_id = r.project_id \
                  AND g.trace_id = r.trace_id AND json_array_length(g.signals) > 0))"
                .into(),
            (Field::Meta(key), Runs) => {
                let p = self.bind(json_path(key)?);
                format!("json_type(r.metadata, {p}) IS NOT NULL")
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

fn col(target: Target, name: &'static str) -> &'static str {
    // Static strings keep column names out of anything a query controls.
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

/// A JSON path selecting one top-level key, whatever characters it holds.
fn json_path(key: &str) -> Result<String, StoreError> {
    if key.contains('"') || key.contains('\\') {
        return Err(StoreError::Invalid(format!(
            "metadata key {key:?} may not contain quotes or backslashes"
        )));
    }
    Ok(format!("$.\"{key}\""))
}

/// A user value with `*` wildcards as a GLOB pattern in which every other character is literal.
fn glob_pattern(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '?' => "[?]".to_string(),
            '[' => "[[]".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Free text as an FTS5 phrase: quoted, so FTS operators in user text are plain words.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lemma_core::query::{Clause, Condition};

    fn one(negated: bool, condition: Condition) -> Filter {
        Filter {
            clauses: vec![Clause { negated, condition }],
        }
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let f = one(
            false,
            Condition::OneOf {
                field: Field::Agent,
                values: vec!["x'); DROP TABLE runs; --".into()],
            },
        );
        let c = compile(&f, Target::Runs, &Parts::single()).unwrap();
        assert!(!c.sql.contains("DROP"));
        assert_eq!(c.params.len(), 1);
    }

    #[test]
    fn negation_holds_for_missing_values() {
        let f = one(
            true,
            Condition::OneOf {
                field: Field::Thread,
                values: vec!["t".into()],
            },
        );
        assert_eq!(
            compile(&f, Target::Runs, &Parts::single()).unwrap().sql,
            "NOT COALESCE((r.thread_id = ?), 0)"
        );
    }

    #[test]
    fn wildcards_escape_other_glob_characters() {
        assert_eq!(glob_pattern("a?b[c*"), "a[?]b[[]c*");
        assert_eq!(fts_phrase("say \"hi\" OR x"), "\"say \"\"hi\"\" OR x\"");
    }

    #[test]
    fn run_only_fields_are_refused_on_spans() {
        let f = one(false, Condition::Has(Field::Signal));
        assert!(matches!(
            compile(&f, Target::Spans, &Parts::single()),
            Err(StoreError::Invalid(_))
        ));
        let f = one(
            false,
            Condition::OneOf {
                field: Field::Run,
                values: vec!["zz".into()],
            },
        );
        assert!(matches!(
            compile(&f, Target::Runs, &Parts::single()),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn metric_terms_bind_names_and_values() {
        let f = one(
            false,
            Condition::OneOf {
                field: Field::Metric("x'--".into()),
                values: vec!["true".into(), "0.5".into(), "good".into()],
            },
        );
        let c = compile(&f, Target::Runs, &Parts::single()).unwrap();
        assert!(!c.sql.contains("x'--"));
        // The name first, then true as a bool, 0.5 as a number, and each value as text.
        assert_eq!(c.params.len(), 6);
        assert_eq!(c.params[0], Sql::Text("x'--".into()));
        assert_eq!(c.params[1], Sql::Real(1.0));
        let f = one(
            false,
            Condition::Compare {
                field: Field::Metric("q".into()),
                op: CmpOp::Lt,
                value: 0.5,
            },
        );
        let c = compile(&f, Target::Spans, &Parts::single()).unwrap();
        assert!(c.sql.contains("me.trace_id = s.trace_id"), "{}", c.sql);
        assert!(c.sql.contains("me.num < ?"), "{}", c.sql);
        assert_eq!(c.params, [Sql::Text("q".into()), Sql::Real(0.5)]);
    }
}
