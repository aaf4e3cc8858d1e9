//! What an evaluation reads besides the run's own spans: its agent's usual usage and the turn
//! before it in its thread. Both are short listings through the query language.

use lemma_core::query::{Clause, CmpOp, Condition, Field, Filter};
use lemma_core::signals::{user_text, Baseline, PreviousTurn};
use lemma_core::Run;
use lemma_store::{ListQuery, ProjectId, RunOrder, RunSort, Store};

/// Finished runs of an agent a baseline is taken over.
const BASELINE_RUNS: usize = 20;

fn clause(field: Field, value: &str) -> Clause {
    Clause {
        negated: false,
        condition: Condition::OneOf {
            field,
            values: vec![value.to_string()],
        },
    }
}

/// The medians of the agent's latest finished runs (this one left out).
pub async fn baseline(
    store: &dyn Store,
    project: ProjectId,
    agent: &str,
    run_id: &str,
) -> lemma_store::Result<Baseline> {
    // A `*` in a value is a wildcard, so rows are checked for the exact agent again below.
    let filter = Filter {
        clauses: vec![
            clause(Field::Agent, agent),
            Clause {
                negated: false,
                condition: Condition::Has(Field::Root),
            },
        ],
    };
    let page = store
        .list_runs(
            project,
            ListQuery {
                filter,
                limit: BASELINE_RUNS + 1,
                cursor: None,
                order: Default::default(),
            },
        )
        .await?;
    let runs: Vec<&Run> = page
        .items
        .iter()
        .filter(|r| r.run_id != run_id && r.agent_name.as_deref() == Some(agent))
        .take(BASELINE_RUNS)
        .collect();
    let costs: Vec<f64> = runs.iter().filter_map(|r| r.cost_usd).collect();
    Ok(Baseline {
        runs: runs.len() as u32,
        median_tokens: median(runs.iter().map(|r| r.total_tokens as f64).collect()).unwrap_or(0.0),
        median_cost_usd: median(costs),
    })
}

/// The thread's run nearest this one: before it, or `after` it.
async fn neighbour(
    store: &dyn Store,
    project: ProjectId,
    run: &Run,
    after: bool,
) -> lemma_store::Result<Option<Run>> {
    let Some(thread) = &run.thread_id else {
        return Ok(None);
    };
    let filter = Filter {
        clauses: vec![
            clause(Field::Thread, thread),
            Clause {
                negated: false,
                condition: Condition::Compare {
                    field: Field::Start,
                    op: if after { CmpOp::Gt } else { CmpOp::Lt },
                    value: run.start_time_unix_nano as f64,
                },
            },
        ],
    };
    let page = store
        .list_runs(
            project,
            ListQuery {
                filter,
                limit: 5,
                cursor: None,
                // The nearest first: oldest first after the run, newest first before it.
                order: RunOrder {
                    by: RunSort::Start,
                    ascending: after,
                },
            },
        )
        .await?;
    // A `*` in a thread id is a wildcard in the query: check the thread exactly.
    Ok(page
        .items
        .into_iter()
        .find(|r| r.thread_id.as_ref() == Some(thread) && r.run_id != run.run_id))
}

/// The thread's run that started last before this one.
pub async fn previous_turn(
    store: &dyn Store,
    project: ProjectId,
    run: &Run,
) -> lemma_store::Result<Option<PreviousTurn>> {
    let Some(previous) = neighbour(store, project, run, false).await? else {
        return Ok(None);
    };
    let Some(input_text) = previous.input.as_ref().and_then(user_text) else {
        return Ok(None);
    };
    Ok(Some(PreviousTurn {
        run_id: previous.run_id,
        input_text,
        answered: previous.output.is_some()
            && previous.end_time_unix_nano <= run.start_time_unix_nano,
    }))
}

/// The thread's run that started first after this one: the turn whose `rephrase` reads this
/// one, and whose existence means the thread went on.
pub async fn next_turn(
    store: &dyn Store,
    project: ProjectId,
    run: &Run,
) -> lemma_store::Result<Option<String>> {
    Ok(neighbour(store, project, run, true)
        .await?
        .map(|r| r.run_id))
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn medians() {
        assert_eq!(super::median(vec![]), None);
        assert_eq!(super::median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
