//! Paging: as many whole steps as fit a character budget, and where the next page starts.

use super::{Budget, Page};

/// Room kept for the line that says the page was cut.
const FOOTER_ROOM: usize = 80;

/// A page of `entries` (one rendered step each) from `budget.offset`, under `header`.
pub(crate) fn paginate(header: &str, entries: &[String], budget: &Budget) -> Page {
    let total = entries.len();
    let start = budget.offset.min(total);
    paginate_from(header, &entries[start..], start, total, budget)
}

/// A page of `rest`, the entries from `start` of `total` (a window of them), under `header`.
pub(crate) fn paginate_from(
    header: &str,
    rest: &[String],
    start: usize,
    total: usize,
    budget: &Budget,
) -> Page {
    let mut text = format!("{header}\n");
    if rest.is_empty() {
        text.push_str(&format!(
            "(no steps from offset {start}: the run has {total})\n"
        ));
        return Page {
            text,
            next_offset: None,
            total_steps: total,
            shown_steps: 0,
        };
    }
    let used = chars(&text);
    let needed: usize = rest.iter().map(|e| chars(e) + 1).sum();
    let shown = if used + needed <= budget.max_chars {
        rest.len()
    } else {
        let room = budget.max_chars.saturating_sub(used + FOOTER_ROOM);
        let mut taken = 0;
        let mut fit = 0;
        for e in rest {
            taken += chars(e) + 1;
            if taken > room {
                break;
            }
            fit += 1;
        }
        fit
    };
    if shown == 0 {
        // A page always moves on: one step, cut to the room there is.
        let room = budget.max_chars.saturating_sub(used + FOOTER_ROOM).max(1);
        text.push_str(&super::truncate(&rest[0], room));
        text.push('\n');
    } else {
        for e in &rest[..shown] {
            text.push_str(e);
            text.push('\n');
        }
    }
    let shown = shown.max(1);
    let next = start + shown;
    let next_offset = (next < total).then_some(next);
    if let Some(next) = next_offset {
        text.push_str(&format!(
            "… {} more steps (steps {}–{next} of {total} shown): ask with offset={next}\n",
            total - next,
            start + 1,
        ));
    }
    Page {
        text,
        next_offset,
        total_steps: total,
        shown_steps: shown,
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}
