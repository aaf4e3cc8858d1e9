//! A thread as text: one turn per run, oldest first, each with what the user said last and
//! what the agent answered.

use serde_json::Value;

use super::{budget, duration, message_text, truncate, value_text, Budget, Page};
use crate::messages::Message;
use crate::model::StatusCode;
use crate::run::Run;

/// The thread's runs (oldest first) as turns, paged by turn.
pub fn thread(thread_id: &str, runs: &[Run], budget: &Budget) -> Page {
    let errors = runs
        .iter()
        .filter(|r| r.status == StatusCode::Error)
        .count();
    let tokens = runs
        .iter()
        .fold(0u64, |sum, r| sum.saturating_add(r.total_tokens));
    let mut header = format!("thread {thread_id} · {} runs", runs.len());
    if errors > 0 {
        header.push_str(&format!(" · {errors} failed"));
    }
    if tokens > 0 {
        header.push_str(&format!(" · {tokens} tokens"));
    }
    header.push_str(" · turns oldest first");
    let entries: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(n, run)| turn(n + 1, run, budget))
        .collect();
    budget::paginate(&header, &entries, budget)
}

fn turn(n: usize, run: &Run, budget: &Budget) -> String {
    let mut head = format!(
        "turn {n} · {} · run {} · {}",
        super::timestamp(run.start_time_unix_nano),
        run.run_id,
        run.agent_name.as_deref().unwrap_or(&run.name)
    );
    head.push_str(&format!(
        " · {} · {}",
        match run.status {
            StatusCode::Error => "ERROR",
            other => other.as_str(),
        },
        duration(run.duration_ms)
    ));
    if run.total_tokens > 0 {
        head.push_str(&format!(" · {} tokens", run.total_tokens));
    }
    let mut lines = vec![head];
    if let Some(asked) = run.input.as_ref().and_then(newest_user_text) {
        lines.push(format!(
            "  user: {}",
            truncate(&asked, budget.max_item_chars)
        ));
    }
    if let Some(answer) = run
        .output
        .as_ref()
        .filter(|v| !v.is_null())
        .map(value_text)
        .filter(|t| !t.is_empty())
    {
        lines.push(format!(
            "  agent: {}",
            truncate(&answer, budget.max_item_chars)
        ));
    }
    if run.status == StatusCode::Error {
        let why = run.status_message.as_deref().unwrap_or("no message");
        lines.push(format!("  ERROR {}", truncate(why, budget.max_item_chars)));
    }
    lines.join("\n")
}

/// What the user said in this turn: a run's input often resends the whole conversation, so
/// the newest user message when it is a message list, else the input itself.
fn newest_user_text(input: &Value) -> Option<String> {
    if let Some(items) = input.as_array() {
        let messages: Vec<Message> = items
            .iter()
            .filter_map(|m| serde_json::from_value(m.clone()).ok())
            .collect();
        if let Some(user) = messages.iter().rev().find(|m| m.role == "user") {
            return Some(message_text(user)).filter(|t| !t.is_empty());
        }
    }
    Some(value_text(input)).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(id: &str, start_s: u64, input: Value, output: Value, status: StatusCode) -> Run {
        Run {
            run_id: id.into(),
            name: "support_agent".into(),
            agent_name: Some("support_agent".into()),
            start_time_unix_nano: start_s * 1_000_000_000,
            duration_ms: 1500.0,
            status,
            status_message: (status == StatusCode::Error).then(|| "tool lookup failed".into()),
            total_tokens: 120,
            input: Some(input),
            output: Some(output),
            ..Run::default()
        }
    }

    #[test]
    fn turns_show_the_newest_user_message_and_the_answer() {
        let history = json!([
            {"role": "user", "parts": [{"type": "text", "content": "Where is order 42?"}]},
            {"role": "assistant", "parts": [{"type": "text", "content": "It shipped."}]},
            {"role": "user", "parts": [{"type": "text", "content": "When will it arrive?"}]}
        ]);
        let runs = vec![
            run(
                "r1",
                1_763_700_000,
                json!("Where is order 42?"),
                json!("It shipped."),
                StatusCode::Ok,
            ),
            run("r2", 1_763_700_060, history, json!(null), StatusCode::Error),
        ];
        let page = thread("t-42", &runs, &Budget::default());
        let t = &page.text;
        assert!(
            t.starts_with("thread t-42 · 2 runs · 1 failed · 240 tokens"),
            "{t}"
        );
        assert!(
            t.contains("turn 1 · 2025-11-21 04:40:00Z · run r1 · support_agent · ok"),
            "{t}"
        );
        assert!(
            t.contains("  user: Where is order 42?\n  agent: It shipped.\n"),
            "{t}"
        );
        assert!(t.contains("turn 2 · "), "{t}");
        assert!(
            t.contains("  user: When will it arrive?\n  ERROR tool lookup failed"),
            "{t}"
        );
        assert_eq!(t.matches("Where is order 42?").count(), 1, "{t}");
        assert_eq!((page.total_steps, page.next_offset), (2, None));
    }

    #[test]
    fn long_threads_page_by_turn() {
        let runs: Vec<Run> = (0..50)
            .map(|i| {
                run(
                    &format!("r{i}"),
                    i,
                    json!("x".repeat(300)),
                    json!("ok"),
                    StatusCode::Ok,
                )
            })
            .collect();
        let budget = Budget {
            max_chars: 2_000,
            ..Budget::default()
        };
        let first = thread("t", &runs, &budget);
        let next = first.next_offset.expect("a second page");
        assert!(first.text.chars().count() <= 2_000);
        let second = thread(
            "t",
            &runs,
            &Budget {
                offset: next,
                ..budget
            },
        );
        assert!(
            second.text.contains(&format!("turn {} · ", next + 1)),
            "{}",
            second.text
        );
    }
}
