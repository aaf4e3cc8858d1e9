use std::collections::HashMap;

use serde_json::json;

use super::*;
use crate::metrics::{MetricEvent, MetricValue};
use crate::model::StatusCode;
use crate::run::Run;

fn case(id: &str, input: &str) -> Case {
    Case {
        id: id.into(),
        input: json!(input),
        expected: Some(json!(input.to_uppercase())),
        ..Case::default()
    }
}

#[test]
fn versions_assign_ids_and_refuse_bad_cases_by_position() {
    let mut v = DatasetVersion {
        name: "support".into(),
        description: String::new(),
        version: 1,
        created_at_unix_nano: 0,
        cases: vec![
            Case {
                input: json!("a"),
                ..Case::default()
            },
            case("case-1", "b"),
            Case {
                input: json!({"q": "c"}),
                ..Case::default()
            },
        ],
    };
    v.prepare().unwrap();
    let ids: Vec<&str> = v.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["case-2", "case-1", "case-3"],
        "given ids are kept, others fill in"
    );
    v.cases.push(Case::default());
    assert_eq!(v.prepare().unwrap_err(), "case 4 (case-4): it has no input");
    v.cases.pop();
    v.cases.push(case("case-1", "again"));
    assert!(v.prepare().unwrap_err().contains("used twice"));
    v.cases.pop();
    v.name = "no spaces".into();
    assert!(v.prepare().unwrap_err().contains("dataset name"));
}

#[test]
fn jsonl_and_csv_round_trip() {
    let cases = vec![
        Case {
            id: "a".into(),
            input: json!({"question": "Where is my order?"}),
            expected: Some(json!("Shipped")),
            metadata: [("tier".to_string(), json!("gold"))].into_iter().collect(),
            tags: vec!["orders".into(), "smoke".into()],
        },
        Case {
            id: "b".into(),
            input: json!("plain, with a comma and \"quotes\""),
            ..Case::default()
        },
    ];
    assert_eq!(from_jsonl(&to_jsonl(&cases)).unwrap(), cases);
    assert_eq!(from_csv(&to_csv(&cases)).unwrap(), cases);
    assert_eq!(
        from_jsonl("{\"input\": 1}\n\n{\"inptu\": 2}")
            .unwrap_err()
            .split(':')
            .next(),
        Some("line 3")
    );
    assert!(from_csv("question\nx")
        .unwrap_err()
        .contains("`input` column"));
    assert!(from_csv("input,colour\nx,red")
        .unwrap_err()
        .contains("unknown column \"colour\""));
}

fn experiment(name: &str) -> Experiment {
    Experiment {
        name: name.into(),
        dataset: "support".into(),
        dataset_version: 1,
        description: String::new(),
        metadata: Default::default(),
        created_at_unix_nano: 0,
    }
}

fn run(id: &str, status: StatusCode, output: &str, ms: f64) -> Run {
    Run {
        run_id: id.into(),
        status,
        output: Some(json!(output)),
        duration_ms: ms,
        total_tokens: 100,
        cost_usd: Some(0.01),
        ..Run::default()
    }
}

fn score(run: &str, name: &str, value: MetricValue, at: u64) -> MetricEvent {
    MetricEvent {
        id: format!("{run}-{name}-{at}"),
        run_id: run.into(),
        span_id: None,
        name: name.into(),
        value,
        comment: None,
        source: Some("sdk".into()),
        time_unix_nano: at,
    }
}

#[test]
fn comparisons_find_regressions_against_the_baseline() {
    let cases = vec![case("a", "x"), case("b", "y"), case("c", "z")];
    let link = |c: &str, r: &str| CaseRun {
        case_id: c.into(),
        run_id: r.into(),
    };
    let sides = vec![
        (
            experiment("v1"),
            vec![link("a", "r1a"), link("b", "r1b"), link("c", "r1c")],
        ),
        (
            experiment("v2"),
            vec![link("a", "r2a"), link("b", "r2b"), link("d", "r2d")],
        ),
    ];
    let runs: HashMap<String, Run> = [
        run("r1a", StatusCode::Ok, "X", 100.0),
        run("r1b", StatusCode::Ok, "Y", 300.0),
        run("r1c", StatusCode::Ok, "Z", 200.0),
        run("r2a", StatusCode::Ok, "X", 100.0),
        run("r2b", StatusCode::Error, "", 50.0),
        run("r2d", StatusCode::Ok, "W", 10.0),
    ]
    .into_iter()
    .map(|r| (r.run_id.clone(), r))
    .collect();
    let metrics: HashMap<String, Vec<MetricEvent>> = [
        (
            "r1a",
            vec![score("r1a", "exact", MetricValue::Bool(true), 1)],
        ),
        (
            "r1b",
            vec![score("r1b", "exact", MetricValue::Bool(true), 1)],
        ),
        // The latest event of a name counts.
        (
            "r2a",
            vec![
                score("r2a", "exact", MetricValue::Bool(true), 2),
                score("r2a", "exact", MetricValue::Bool(false), 1),
            ],
        ),
        (
            "r2b",
            vec![score("r2b", "exact", MetricValue::Bool(false), 1)],
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let c = compare(&cases, &sides, &runs, &metrics);

    let ids: Vec<&str> = c.cases.iter().map(|r| r.case_id.as_str()).collect();
    assert_eq!(
        ids,
        ["a", "b", "c", "d"],
        "the baseline's cases, then others'"
    );
    let a = &c.cases[0];
    assert!(!a.changed && !a.regression);
    let b = &c.cases[1];
    assert!(b.changed && b.regression);
    assert_eq!(
        b.reasons,
        [
            "failed in experiment 2",
            "exact fell from 1 to 0 in experiment 2"
        ]
    );
    let missing = &c.cases[2];
    assert_eq!(missing.reasons, ["not run in experiment 2"]);
    assert!(
        c.cases[3].results[0].is_none() && !c.cases[3].regression,
        "new cases are no regression"
    );
    assert_eq!((c.regressions, c.changed), (2, 3));

    assert_eq!(c.experiments[0].answered, 3);
    assert_eq!(c.experiments[1].failed, 1);
    assert_eq!(c.experiments[0].p50_duration_ms, Some(200.0));
    assert_eq!(
        c.experiments[0].cost_usd.map(|x| (x * 100.0).round()),
        Some(3.0)
    );
    let exact = &c.scores[0];
    assert_eq!(exact.name, "exact");
    assert_eq!(exact.means, [Some(1.0), Some(0.5)]);
    assert_eq!(exact.delta, Some(-0.5));
}
