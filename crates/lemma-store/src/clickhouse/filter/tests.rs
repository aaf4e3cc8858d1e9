use lemma_core::query::parse;

use super::*;
use crate::clickhouse::sql::Param;

fn one(negated: bool, condition: Condition) -> Filter {
    Filter {
        clauses: vec![Clause { negated, condition }],
    }
}

fn compile(filter: &Filter, target: Target) -> Result<Sql> {
    let mut sql = Sql::default();
    condition(filter, target, ProjectId(7), &mut sql)?;
    Ok(sql)
}

fn q(text: &str) -> Filter {
    parse(text, u64::MAX / 2).unwrap()
}

#[test]
fn values_are_bound_never_spliced() {
    let hostile = "x'); DROP TABLE runs; -- \\' ? ?fields \"";
    let f = one(
        false,
        Condition::OneOf {
            field: Field::Agent,
            values: vec![hostile.into()],
        },
    );
    let c = compile(&f, Target::Runs).unwrap();
    assert!(
        !c.text.contains("DROP") && !c.text.contains('\''),
        "{}",
        c.text
    );
    assert_eq!(c.params, [Param::from(hostile)]);
    // One placeholder per bound value, whatever the values hold.
    for target in [Target::Runs, Target::Spans] {
        let c = compile(
            &q("name:\"a?b\" \"it's ? here\" metric.x=y? -name:'?"),
            target,
        )
        .unwrap();
        assert_eq!(c.text.matches('?').count(), c.params.len(), "{}", c.text);
        assert!(
            !c.text.contains("here") && !c.text.contains("a?b"),
            "{}",
            c.text
        );
    }
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
        compile(&f, Target::Runs).unwrap().text,
        "NOT ifNull((r.thread_id = ?), 0)"
    );
    assert_eq!(
        compile(&Filter::default(), Target::Spans).unwrap().text,
        "1"
    );
}

#[test]
fn wildcards_escape_other_like_characters() {
    assert_eq!(like_pattern("50%_off\\*"), "50\\%\\_off\\\\%");
    assert_eq!(like_pattern("*d*"), "%d%");
    let c = compile(&q("model:gpt-4*,o1"), Target::Spans).unwrap();
    assert_eq!(
        c.text,
        "ifNull((s.model LIKE ? OR match(ifNull(s.model, ''), ?)), 0)"
    );
    let o1 = lemma_core::pricing::version_pattern("o1");
    assert_eq!(c.params, [Param::from("gpt-4%"), Param::from(o1.as_str())]);
    let c = compile(&q("tool:web_*"), Target::Runs).unwrap();
    assert_eq!(c.text, "ifNull((arrayExists(x -> x LIKE ?, r.tools)), 0)");
    assert_eq!(c.params, [Param::from("web\\_%")]);
}

#[test]
fn run_only_fields_are_refused_on_spans() {
    for query in [
        "has:signal",
        "signal:loop",
        "signal.severity:info",
        "tag:x",
        "spans>3",
        "meta.k=v",
        "has:meta.k",
        "experiment:e1",
        "dataset:support",
        "case:a*",
    ] {
        assert!(
            matches!(
                compile(&q(query), Target::Spans),
                Err(StoreError::Invalid(_))
            ),
            "{query}"
        );
        assert!(compile(&q(query), Target::Runs).is_ok(), "{query}");
    }
    for bad in [
        "run:zz",
        "span:0102",
        "meta.a\\b=1",
        "has:meta.a\\b",
        "attr.x=1",
    ] {
        assert!(
            matches!(compile(&q(bad), Target::Runs), Err(StoreError::Invalid(_))),
            "{bad}"
        );
    }
}

#[test]
fn signals_match_the_summary_or_the_latest_evaluation() {
    let c = compile(&q("signal:loop*"), Target::Runs).unwrap();
    assert!(
        c.text.contains("arrayExists(x -> x LIKE ?, r.signals) OR")
            && c.text.contains("argMax(names, evaluated_ns)")
            && c.text
                .contains(&format!("(r.trace_id, {RUN_GENERATION}) IN")),
        "{}",
        c.text
    );
    // The summary's value, then the project and the evaluation's value.
    assert_eq!(
        c.params,
        [Param::from("loop%"), Param::I64(7), Param::from("loop%")]
    );
    let c = compile(&q("signal.severity:critical"), Target::Runs).unwrap();
    assert!(
        c.text.contains("argMax(severities, evaluated_ns)") && !c.text.contains("r.signals"),
        "{}",
        c.text
    );
    assert_eq!(c.params, [Param::I64(7), Param::from("critical")]);
}

#[test]
fn experiment_terms_match_each_cases_latest_link() {
    for (query, column) in [
        ("experiment:cand*", "x.experiment LIKE ?"),
        ("case:a", "x.case_id = ?"),
        ("dataset:support", "x.linked_dataset = ?"),
    ] {
        let c = compile(&q(query), Target::Runs).unwrap();
        assert!(
            c.text.contains(&format!(
                "(r.trace_id, {RUN_GENERATION}) IN (SELECT x.linked_run"
            )) && c.text.contains("argMax(trace_id, linked_ns)")
                && c.text.contains("GROUP BY experiment, case_id")
                && c.text.contains(&format!("WHERE ({column})")),
            "{}",
            c.text
        );
        assert_eq!(c.params.len(), 2, "{query}");
        assert_eq!(c.params[0], Param::I64(7), "the project first");
    }
    let c = compile(&q("case:b -experiment:base"), Target::Runs).unwrap();
    assert!(c.text.contains(" AND NOT ifNull(("), "{}", c.text);
    assert_eq!(
        c.params,
        [
            Param::I64(7),
            Param::from("b"),
            Param::I64(7),
            Param::from("base")
        ]
    );
    assert_eq!(
        compile(&q("experiment:50%_*"), Target::Runs)
            .unwrap()
            .params[1],
        Param::from("50\\%\\_%")
    );
}

#[test]
fn ids_are_checked_and_lowercased() {
    let id = format!("{:032X}", 0xABCu32);
    let c = compile(&q(&format!("run:{id}")), Target::Runs).unwrap();
    assert_eq!(c.text, "ifNull((r.trace_id IN (?)), 0)");
    assert_eq!(c.params, [Param::from(id.to_ascii_lowercase())]);
    // A span id of a run: the run's live spans, in its generation.
    let c = compile(&q(&format!("span:{:016x}", 5)), Target::Runs).unwrap();
    assert!(
        c.text
            .contains(&format!("(r.trace_id, {RUN_GENERATION}) IN")),
        "{}",
        c.text
    );
    assert_eq!(
        c.params,
        [Param::I64(7), Param::from(format!("{:016x}", 5))]
    );
}

#[test]
fn metric_terms_bind_names_and_values() {
    let f = one(
        false,
        Condition::OneOf {
            field: Field::Metric("x'--".into()),
            values: vec!["true".into(), "0.5".into(), "good*".into()],
        },
    );
    let c = compile(&f, Target::Runs).unwrap();
    assert!(!c.text.contains("x'--"));
    assert!(c.text.contains("me.generation"), "{}", c.text);
    // The project and name first, then true as a bool, 0.5 as a number, and each value as text.
    assert_eq!(
        c.params,
        [
            Param::I64(7),
            Param::from("x'--"),
            Param::F64(1.0),
            Param::from("true"),
            Param::F64(0.5),
            Param::from("0.5"),
            Param::from("good%"),
        ]
    );
    let f = one(
        false,
        Condition::Compare {
            field: Field::Metric("q".into()),
            op: CmpOp::Lt,
            value: 0.5,
        },
    );
    let c = compile(&f, Target::Spans).unwrap();
    assert!(
        c.text.contains("(s.trace_id, s.generation) IN"),
        "{}",
        c.text
    );
    assert!(c.text.contains("me.num < ?"), "{}", c.text);
    assert_eq!(c.params, [Param::I64(7), Param::from("q"), Param::F64(0.5)]);
}

#[test]
fn the_run_generation_is_the_one_summaries_are_versioned_with() {
    for g in [0, 1, 7, 1 << 19] {
        let v = crate::clickhouse::runs::version(g, 4095, u64::MAX);
        assert_eq!(v >> 44, u64::from(g));
        assert_eq!(crate::clickhouse::runs::generation_of(v), g);
    }
    assert!(RUN_GENERATION.contains("44"));
}

#[test]
fn cost_clauses_are_kept_for_the_newest_row() {
    let (fixed, versioned) = split_by_version(&q("cost>1 agent:a -has:cost \"x\""));
    assert_eq!(fixed, q("agent:a \"x\""));
    assert_eq!(versioned, q("cost>1 -has:cost"));
}
