//! The sample set: three agents' runs, in the order they happened.

mod coding;
mod long_run;
mod repo;
mod research;
mod support;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::spec::{RunSpec, Score, SpanSpec};

pub use long_run::{LOOP_REPEATS, LOOP_TOOL};

/// The runs, and which of them show what.
#[derive(Default)]
pub struct Demo {
    pub runs: Vec<RunSpec>,
    pub long_run: usize,
    pub failed_run: usize,
    pub sub_agent_run: usize,
    pub thread: Vec<usize>,
}

impl Demo {
    fn push(&mut self, minutes_after_previous: u32, root: SpanSpec) -> usize {
        self.runs.push(RunSpec {
            root,
            minutes_after_previous,
            scores: Vec::new(),
        });
        self.runs.len() - 1
    }

    /// Scores the run at `index`: whether it resolved the request, the user's feedback and an
    /// evaluator's grade of the answer (0 to 1), as an app and its evals would post them.
    fn score(
        &mut self,
        index: usize,
        resolved: bool,
        feedback: Option<&'static str>,
        quality: f64,
    ) {
        let run = &mut self.runs[index];
        run.scores.push(Score::new("resolved", resolved, "app"));
        if let Some(feedback) = feedback {
            let score = Score::new("feedback", feedback, "user");
            run.scores.push(match feedback {
                "bad" => score.comment("I asked for a refund and got nothing."),
                _ => score,
            });
        }
        run.scores.push(Score::new("quality", quality, "eval"));
    }

    fn push_turn(&mut self, minutes_after_previous: u32, root: SpanSpec) {
        let i = self.push(minutes_after_previous, root);
        self.thread.push(i);
    }
}

/// The same content for the same seed; `thread_id` names the multi-turn conversation.
pub fn build(seed: u64, thread_id: &str) -> Demo {
    let rng = &mut StdRng::seed_from_u64(seed);
    let [turn1, turn2, turn3, turn4] = support::billing_thread(rng, thread_id);
    let mut d = Demo::default();
    let damaged = d.push(0, support::damaged_item(rng));
    d.score(damaged, true, Some("good"), 0.86);
    d.sub_agent_run = d.push(9, research::password_hashing(rng));
    d.push(11, coding::export_crash(rng));
    let address = d.push(7, support::address_change(rng));
    d.score(address, true, Some("good"), 0.91);
    d.push_turn(8, turn1);
    d.push_turn(3, turn2);
    d.long_run = d.push(4, long_run::long_run(rng));
    d.push_turn(5, turn3);
    d.push(6, research::problem_details(rng));
    d.push_turn(4, turn4);
    d.failed_run = d.push(9, support::failed_refund(rng));
    d.score(d.failed_run, false, Some("bad"), 0.22);
    d.push(12, coding::explain_discounts(rng));
    let canary = d.push(10, support::return_window_staging(rng));
    d.score(canary, true, None, 0.41);
    d.push(14, research::python_runtimes(rng));
    d.push(13, coding::since_option(rng));
    let tracking = d.push(8, support::tracking(rng));
    d.score(tracking, true, Some("good"), 0.78);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_has_every_kind_of_run() {
        let d = build(42, "t-1");
        assert_eq!(d.runs.len(), 16);
        assert_eq!(d.thread.len(), 4);
        let root = |i: usize| &d.runs[i].root;
        assert!(root(d.long_run).count() >= 300);
        assert!(root(d.failed_run).failure.is_some());
        let names: Vec<&str> = root(d.sub_agent_run)
            .pre_order()
            .iter()
            .filter(|s| s.name.starts_with("invoke_agent "))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["invoke_agent research-agent", "invoke_agent web-researcher"]
        );
        for &i in &d.thread {
            assert_eq!(
                root(i).attribute("lemma.thread_id"),
                Some(&serde_json::Value::from("t-1"))
            );
        }
        let environments: Vec<_> = d
            .runs
            .iter()
            .filter_map(|r| r.root.attribute("lemma.environment"))
            .collect();
        assert!(environments.iter().any(|e| *e == "staging"));
    }

    #[test]
    fn content_depends_only_on_the_seed() {
        let a = build(5, "t");
        let b = build(5, "t");
        let counts = |d: &Demo| d.runs.iter().map(|r| r.root.count()).collect::<Vec<_>>();
        assert_eq!(counts(&a), counts(&b));
    }
}
