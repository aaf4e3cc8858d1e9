//! The query set: what is asked at each size, what a correct answer is, and how long answers
//! take over repeated calls.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stats::Latency;
use crate::target::Target;
use crate::workload::{RunInfo, LONG_RUN_SPANS, RARE_WORD};

/// Lists ask for this many runs, like a dashboard page.
pub const PAGE: usize = 50;

#[derive(Debug, Clone)]
pub enum Query {
    /// One run with all its spans.
    Run(RunInfo),
    /// The newest runs.
    Newest,
    /// Failed runs of one agent that started in `[from, to)`, newest first.
    Filtered {
        agent: &'static str,
        from_unix_nano: u64,
        to_unix_nano: u64,
    },
    /// Runs containing a word, anywhere in their inputs or outputs.
    FullText(&'static str),
    /// Tokens per model over runs that started in `[from, to)`.
    TokensByModel {
        from_unix_nano: u64,
        to_unix_nano: u64,
    },
    /// A thread (session) with its runs.
    Thread(String),
}

/// What a target answered, reduced to what the checks compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Span ids of a run.
    Spans(Vec<String>),
    /// Run (trace) ids, in the order given.
    Runs(Vec<String>),
    /// Total tokens per model.
    Tokens(BTreeMap<String, u64>),
    /// The target has no such query; why.
    Unsupported(&'static str),
}

/// Every query of the set, named, for the runs loaded so far (oldest first).
pub fn plan(loaded: &[RunInfo]) -> Vec<(&'static str, Query)> {
    let mut out = Vec::new();
    if let Some(run) = loaded.iter().rev().find(|r| r.spans == 20) {
        out.push(("get a 20-span run", Query::Run(run.clone())));
    }
    if let Some(run) = loaded.iter().rev().find(|r| r.spans == LONG_RUN_SPANS) {
        out.push(("get a 300-span run", Query::Run(run.clone())));
    }
    out.push(("list the 50 newest runs", Query::Newest));
    if let (Some(first), Some(last)) = (loaded.first(), loaded.last()) {
        // The middle half of the time loaded, cut between run starts.
        let span = last.start_unix_nano - first.start_unix_nano;
        let from = first.start_unix_nano + span / 4 + 1_000_000_000;
        let to = first.start_unix_nano + span * 3 / 4 + 1_000_000_000;
        let agent = busiest_failing_agent(loaded, from, to);
        out.push((
            "filtered list (agent, status, time)",
            Query::Filtered {
                agent,
                from_unix_nano: from,
                to_unix_nano: to,
            },
        ));
        out.push(("full-text search", Query::FullText(RARE_WORD)));
        out.push((
            "tokens by model",
            Query::TokensByModel {
                from_unix_nano: first.start_unix_nano - 60_000_000_000,
                to_unix_nano: last.end_unix_nano + 60_000_000_000,
            },
        ));
        out.push(("thread view", Query::Thread(last.thread.clone())));
    }
    out
}

/// The agent with the most failed runs in the range, so the filtered list is not empty.
fn busiest_failing_agent(loaded: &[RunInfo], from: u64, to: u64) -> &'static str {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in loaded {
        if r.error && (from..to).contains(&r.start_unix_nano) {
            *counts.entry(r.agent).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(_, n)| n)
        .map(|(a, _)| a)
        .unwrap_or(crate::workload::AGENTS[0])
}

/// Whether `answer` is the right answer to `query` over `loaded`; why not otherwise.
pub fn check(query: &Query, answer: &Answer, loaded: &[RunInfo]) -> Result<(), String> {
    match (query, answer) {
        (_, Answer::Unsupported(_)) => Ok(()),
        (Query::Run(run), Answer::Spans(ids)) => {
            if ids.len() != run.spans {
                return Err(format!("{} spans, expected {}", ids.len(), run.spans));
            }
            if !ids.contains(&run.root_span_id) {
                return Err("the root span is missing".into());
            }
            Ok(())
        }
        (Query::Newest, Answer::Runs(ids)) => {
            let expected: Vec<&str> = loaded
                .iter()
                .rev()
                .take(PAGE)
                .map(|r| r.trace_id.as_str())
                .collect();
            if ids.iter().map(String::as_str).ne(expected.iter().copied()) {
                return Err(format!(
                    "got {} runs, not the {} newest in order",
                    ids.len(),
                    expected.len()
                ));
            }
            Ok(())
        }
        (
            Query::Filtered {
                agent,
                from_unix_nano,
                to_unix_nano,
            },
            Answer::Runs(ids),
        ) => subset_page(ids, loaded, |r| {
            r.agent == *agent
                && r.error
                && (*from_unix_nano..*to_unix_nano).contains(&r.start_unix_nano)
        }),
        (Query::FullText(_), Answer::Runs(ids)) => subset_page(ids, loaded, |r| r.rare_word),
        (Query::Thread(thread), Answer::Runs(ids)) => {
            let expected: HashSet<&str> = loaded
                .iter()
                .filter(|r| &r.thread == thread)
                .map(|r| r.trace_id.as_str())
                .collect();
            let got: HashSet<&str> = ids.iter().map(String::as_str).collect();
            if got != expected || ids.len() != expected.len() {
                return Err(format!("{} runs, expected {}", ids.len(), expected.len()));
            }
            Ok(())
        }
        (
            Query::TokensByModel {
                from_unix_nano,
                to_unix_nano,
            },
            Answer::Tokens(got),
        ) => {
            let mut expected: BTreeMap<String, u64> = BTreeMap::new();
            for r in loaded
                .iter()
                .filter(|r| (*from_unix_nano..*to_unix_nano).contains(&r.start_unix_nano))
            {
                *expected.entry(r.model.to_string()).or_default() += r.tokens;
            }
            if got != &expected {
                return Err(format!("tokens by model {got:?}, expected {expected:?}"));
            }
            Ok(())
        }
        (q, a) => Err(format!("answered {a:?} to {q:?}")),
    }
}

/// A page of the runs `wanted` selects: as many as there are, up to [`PAGE`], and none other.
fn subset_page(
    ids: &[String],
    loaded: &[RunInfo],
    wanted: impl Fn(&RunInfo) -> bool,
) -> Result<(), String> {
    let expected: HashSet<&str> = loaded
        .iter()
        .filter(|r| wanted(r))
        .map(|r| r.trace_id.as_str())
        .collect();
    if let Some(stray) = ids.iter().find(|id| !expected.contains(id.as_str())) {
        return Err(format!("run {stray} does not match"));
    }
    let unique: HashSet<&String> = ids.iter().collect();
    if unique.len() != ids.len() || ids.len() != expected.len().min(PAGE) {
        return Err(format!(
            "{} runs, expected {}",
            ids.len(),
            expected.len().min(PAGE)
        ));
    }
    Ok(())
}

/// One query's figures at one size.
#[derive(Debug, Clone, Serialize)]
pub struct QueryFigure {
    pub name: String,
    /// `None` when the target has no such query.
    pub latency: Option<Latency>,
    /// Items in the answer (spans, runs or models).
    pub items: usize,
    /// Whether every answer was right (an unsupported query is never right).
    pub correct: bool,
    /// Why it is unsupported, or what was wrong.
    pub note: Option<String>,
}

/// How many times to ask each query: at least `min`, then until `budget` is spent or `max`.
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    pub min: usize,
    pub max: usize,
    pub budget: Duration,
}

/// Asks every query of the plan `repeat` times after one unmeasured call, checking each answer.
pub async fn measure(target: &dyn Target, loaded: &[RunInfo], repeat: Repeat) -> Vec<QueryFigure> {
    let mut out = Vec::new();
    for (name, query) in plan(loaded) {
        out.push(measure_one(target, name, &query, loaded, repeat).await);
    }
    out
}

async fn measure_one(
    target: &dyn Target,
    name: &str,
    query: &Query,
    loaded: &[RunInfo],
    repeat: Repeat,
) -> QueryFigure {
    let mut figure = QueryFigure {
        name: name.to_string(),
        latency: None,
        items: 0,
        correct: false,
        note: None,
    };
    let mut samples = Vec::new();
    let started = Instant::now();
    // The first call warms caches and is not timed.
    for i in 0..=repeat.max {
        if i > repeat.min && started.elapsed() > repeat.budget {
            break;
        }
        let t = Instant::now();
        let answer = match target.ask(query).await {
            Ok(a) => a,
            Err(e) => {
                figure.note = Some(format!("failed: {e:#}"));
                return figure;
            }
        };
        let took = t.elapsed();
        if let Answer::Unsupported(why) = answer {
            figure.note = Some(why.to_string());
            return figure;
        }
        if let Err(wrong) = check(query, &answer, loaded) {
            figure.note = Some(format!("wrong answer: {wrong}"));
            return figure;
        }
        figure.items = match &answer {
            Answer::Spans(v) | Answer::Runs(v) => v.len(),
            Answer::Tokens(m) => m.len(),
            Answer::Unsupported(_) => 0,
        };
        if i > 0 {
            samples.push(took);
        }
    }
    figure.latency = Latency::of(&samples);
    figure.correct = figure.latency.is_some();
    figure
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    fn loaded() -> Vec<RunInfo> {
        let mut w = Workload::new(2, 1_700_000_000_000_000_000);
        w.batches(30_000)
            .into_iter()
            .flat_map(|b| b.completed)
            .collect()
    }

    fn ids<'a>(runs: impl Iterator<Item = &'a RunInfo>) -> Vec<String> {
        runs.map(|r| r.trace_id.clone()).collect()
    }

    #[test]
    fn the_plan_covers_every_query_with_runs_of_the_right_shape() {
        let runs = loaded();
        let plan = plan(&runs);
        let names: Vec<&str> = plan.iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), 7, "{names:?}");
        let Query::Run(long) = &plan[1].1 else {
            panic!()
        };
        assert_eq!(long.spans, LONG_RUN_SPANS);
        let Query::Filtered {
            agent,
            from_unix_nano,
            to_unix_nano,
        } = plan[3].1
        else {
            panic!()
        };
        assert!(runs.iter().any(|r| r.agent == agent
            && r.error
            && (from_unix_nano..to_unix_nano).contains(&r.start_unix_nano)));
    }

    #[test]
    fn newest_must_be_the_newest_in_order() {
        let runs = loaded();
        let newest = ids(runs.iter().rev().take(PAGE));
        assert!(check(&Query::Newest, &Answer::Runs(newest.clone()), &runs).is_ok());
        let mut swapped = newest.clone();
        swapped.swap(0, 1);
        assert!(check(&Query::Newest, &Answer::Runs(swapped), &runs).is_err());
        assert!(check(&Query::Newest, &Answer::Runs(newest[..49].to_vec()), &runs).is_err());
    }

    #[test]
    fn a_filtered_list_may_hold_only_matching_runs() {
        let runs = loaded();
        let (from, to) = (runs[0].start_unix_nano, runs.last().unwrap().end_unix_nano);
        let q = Query::Filtered {
            agent: "coding_agent",
            from_unix_nano: from,
            to_unix_nano: to,
        };
        let matching = ids(runs.iter().filter(|r| r.agent == "coding_agent" && r.error));
        assert!(!matching.is_empty());
        assert!(check(&q, &Answer::Runs(matching.clone()), &runs).is_ok());
        let mut with_stray = matching.clone();
        with_stray.push(runs.iter().find(|r| !r.error).unwrap().trace_id.clone());
        assert!(check(&q, &Answer::Runs(with_stray), &runs).is_err());
        assert!(check(&q, &Answer::Runs(Vec::new()), &runs).is_err());
    }

    #[test]
    fn a_run_must_have_all_its_spans_and_tokens_must_add_up() {
        let runs = loaded();
        let run = runs[0].clone();
        let spans: Vec<String> = (0..run.spans - 1)
            .map(|i| i.to_string())
            .chain([run.root_span_id.clone()])
            .collect();
        assert!(check(
            &Query::Run(run.clone()),
            &Answer::Spans(spans.clone()),
            &runs
        )
        .is_ok());
        assert!(check(&Query::Run(run), &Answer::Spans(spans[1..].to_vec()), &runs).is_err());

        let q = Query::TokensByModel {
            from_unix_nano: 0,
            to_unix_nano: u64::MAX,
        };
        let mut tokens = BTreeMap::new();
        for r in &runs {
            *tokens.entry(r.model.to_string()).or_insert(0) += r.tokens;
        }
        assert_eq!(tokens.len(), 4);
        assert!(check(&q, &Answer::Tokens(tokens.clone()), &runs).is_ok());
        *tokens.values_mut().next().unwrap() += 1;
        assert!(check(&q, &Answer::Tokens(tokens), &runs).is_err());
    }

    #[test]
    fn a_thread_must_have_exactly_its_runs() {
        let runs = loaded();
        let thread = runs.last().unwrap().thread.clone();
        let all = ids(runs.iter().filter(|r| r.thread == thread));
        let q = Query::Thread(thread);
        assert!(check(&q, &Answer::Runs(all.clone()), &runs).is_ok());
        assert!(check(&q, &Answer::Runs(all[1..].to_vec()), &runs).is_err());
    }
}
