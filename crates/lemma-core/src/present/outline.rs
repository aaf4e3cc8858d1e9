//! A long run's tree, read in windows: the light rows of every span in the order the span tree
//! shows them (the same rules as [`super::tree`]), each with its depth and the size of its
//! subtree, and an overview of where errors, loops and slow spans lie.
//!
//! Built once from every row of a run (a sort of the whole run), then windows and lookups are
//! cheap, so a server can keep it and page through it.

use std::cmp::Ordering;

use serde::Serialize;

use super::fold::subtree_ends;
use super::spans::SpanTree;
use crate::model::{SpanKind, SpanOutline, StatusCode};
use crate::run::RunSignal;

/// A run's rows in tree pre-order.
#[derive(Debug, Clone)]
pub struct Outline {
    rows: Vec<SpanOutline>,
    depth: Vec<u32>,
    children: Vec<u32>,
    descendants: Vec<u32>,
    /// Positions ordered by their row's span id, to find a span's position.
    by_id: Vec<u32>,
}

/// A row as a window shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutlineRow<'a> {
    #[serde(flatten)]
    pub span: &'a SpanOutline,
    /// 0 for roots (and for spans whose parent is missing).
    pub depth: u32,
    /// Rows directly under this one.
    pub children: u32,
    /// Rows under this one at any depth: they are the next `descendants` positions.
    pub descendants: u32,
}

/// Where in the pre-order the interesting rows are, in equal slices of positions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub total: usize,
    /// A leaf span (nothing under it) at least this long is `slow`: the 99th percentile
    /// (nearest rank) of leaf durations, or just above the median when that is as long, so
    /// runs of equal spans have none slow.
    pub slow_threshold_ns: u64,
    pub buckets: Vec<Bucket>,
}

/// Positions `[from, to)` and what they hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = OverviewBucket))]
pub struct Bucket {
    pub from: usize,
    pub to: usize,
    pub errors: u32,
    /// Tool calls inside a `loop` signal of the run.
    pub loops: u32,
    pub slow: u32,
    /// The first failed span's position, to jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<usize>,
}

/// The longest name, model, tool or agent a row keeps, in characters: a row is for a tree line,
/// and span content is hostile (the full span has it all).
pub const MAX_ROW_TEXT_CHARS: usize = 256;

impl Outline {
    pub fn new(mut rows: Vec<SpanOutline>) -> Outline {
        for r in &mut rows {
            cap(&mut r.name);
            for text in [&mut r.model, &mut r.tool_name, &mut r.agent_name]
                .into_iter()
                .flatten()
            {
                cap(text);
            }
        }
        let (order, depth, unique) = {
            let t = SpanTree::new(&rows);
            let depth: Vec<u32> = t.order.iter().map(|&i| t.depth[i] as u32).collect();
            // Without duplicate ids the tree's indices are the rows' own.
            let unique: Option<Vec<SpanOutline>> = if t.spans.len() == rows.len() {
                None
            } else {
                Some(t.spans.iter().map(|&s| s.clone()).collect())
            };
            (t.order, depth, unique)
        };
        let mut slots: Vec<Option<SpanOutline>> =
            unique.unwrap_or(rows).into_iter().map(Some).collect();
        let rows: Vec<SpanOutline> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let n = rows.len();
        let ends = subtree_ends(n, |p| depth[p] as usize);
        let descendants = (0..n).map(|p| (ends[p] - p - 1) as u32).collect();
        // A row's parent as shown is the nearest row before it one level up; counting from the
        // order (not the parent ids) keeps counts true for spans caught in parent cycles.
        let mut children = vec![0u32; n];
        let mut last_at: Vec<usize> = Vec::new();
        for (p, &d) in depth.iter().enumerate() {
            last_at.truncate(d as usize);
            if let Some(&parent) = last_at.last() {
                children[parent] += 1;
            }
            last_at.push(p);
        }
        let mut by_id: Vec<u32> = (0..n as u32).collect();
        by_id.sort_unstable_by(|&a, &b| rows[a as usize].span_id.cmp(&rows[b as usize].span_id));
        Outline {
            rows,
            depth,
            children,
            descendants,
            by_id,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Every row, in tree pre-order.
    pub fn rows(&self) -> &[SpanOutline] {
        &self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn row(&self, position: usize) -> Option<OutlineRow<'_>> {
        Some(OutlineRow {
            span: self.rows.get(position)?,
            depth: self.depth[position],
            children: self.children[position],
            descendants: self.descendants[position],
        })
    }

    /// Up to `limit` rows from `offset` (none past the end).
    pub fn window(&self, offset: usize, limit: usize) -> Vec<OutlineRow<'_>> {
        let end = offset.saturating_add(limit).min(self.len());
        (offset.min(end)..end).filter_map(|p| self.row(p)).collect()
    }

    /// Where a span is in the pre-order.
    pub fn position(&self, span_id: &str) -> Option<usize> {
        self.by_id
            .binary_search_by(|&p| self.rows[p as usize].span_id.as_str().cmp(span_id))
            .ok()
            .map(|i| self.by_id[i] as usize)
    }

    /// The positions of the transcript's steps: model calls, tool calls, retrievals, agents,
    /// and any span that failed. Spans that only group others are not steps.
    pub fn steps(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&p| {
                let r = &self.rows[p];
                r.status == StatusCode::Error
                    || matches!(
                        r.kind,
                        SpanKind::Llm | SpanKind::Tool | SpanKind::Retrieval | SpanKind::Agent
                    )
            })
            .collect()
    }

    /// Heap and inline bytes held, for caches bounded by bytes.
    pub fn size_bytes(&self) -> usize {
        let rows: usize = self.rows.iter().map(SpanOutline::size_bytes).sum();
        rows + self.rows.len() * 4 * std::mem::size_of::<u32>() + std::mem::size_of::<Self>()
    }

    /// The rows in `buckets` equal slices of positions (fewer when there are fewer rows), with
    /// the failed, looping and slow spans in each. `signals` are the run's: a loop's tool calls
    /// are found by their index among tool spans in start order, as `run::summarize` counts.
    pub fn overview(&self, buckets: usize, signals: &[RunSignal]) -> Overview {
        let n = self.len();
        let loops = self.loop_rows(signals);
        let slow_threshold_ns = self.slow_threshold();
        let slow = |p: usize| {
            self.descendants[p] == 0
                && slow_threshold_ns > 0
                && self.rows[p].duration_ns() >= slow_threshold_ns
        };
        let count = buckets.min(n);
        let buckets = (0..count)
            .map(|b| {
                let (from, to) = (b * n / count, (b + 1) * n / count);
                let errors: Vec<usize> = (from..to)
                    .filter(|&p| self.rows[p].status == StatusCode::Error)
                    .collect();
                Bucket {
                    from,
                    to,
                    errors: errors.len() as u32,
                    loops: (from..to).filter(|&p| loops[p]).count() as u32,
                    slow: (from..to).filter(|&p| slow(p)).count() as u32,
                    first_error: errors.first().copied(),
                }
            })
            .collect();
        Overview {
            total: n,
            slow_threshold_ns,
            buckets,
        }
    }

    /// Which positions are tool calls inside a `loop` signal.
    fn loop_rows(&self, signals: &[RunSignal]) -> Vec<bool> {
        let mut marked = vec![false; self.len()];
        let mut tools: Vec<usize> = (0..self.len())
            .filter(|&p| self.rows[p].kind == SpanKind::Tool)
            .collect();
        tools.sort_by(|&a, &b| tool_order(&self.rows[a], &self.rows[b]));
        for s in signals.iter().filter(|s| s.kind == "loop") {
            let first = s.first_tool_index as usize;
            let last = first.saturating_add(s.repeats as usize).min(tools.len());
            for &p in tools.get(first..last).unwrap_or_default() {
                marked[p] = true;
            }
        }
        marked
    }

    fn slow_threshold(&self) -> u64 {
        let mut leaves: Vec<u64> = (0..self.len())
            .filter(|&p| self.descendants[p] == 0)
            .map(|p| self.rows[p].duration_ns())
            .collect();
        if leaves.is_empty() {
            return 0;
        }
        let mut rank = |pct: usize| {
            let r = (leaves.len() * pct).div_ceil(100).max(1) - 1;
            *leaves.select_nth_unstable(r).1
        };
        let (median, p99) = (rank(50), rank(99));
        if p99 > median {
            p99
        } else {
            median.saturating_add(1)
        }
    }
}

fn cap(text: &mut String) {
    if let Some((at, _)) = text.char_indices().nth(MAX_ROW_TEXT_CHARS) {
        text.truncate(at);
        text.push('…');
    }
}

/// Tool spans in start order as `run::summarize` takes them for its loop signal.
fn tool_order(a: &SpanOutline, b: &SpanOutline) -> Ordering {
    (a.start_time_unix_nano, a.end_time_unix_nano, &a.span_id).cmp(&(
        b.start_time_unix_nano,
        b.end_time_unix_nano,
        &b.span_id,
    ))
}
