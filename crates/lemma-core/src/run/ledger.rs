//! Bringing a run summary up to date with a batch of new spans at a cost that depends on the
//! batch, not on the length of the run.
//!
//! A run's [`RunState`] is its [`RunPartial`] (fields of the spans as a set), its [`Tally`]
//! (counted tokens and cost) and its loops. The rules that depend on how spans relate keep
//! rows a store indexes ([`RunIndex`]), and [`apply`] reads only the rows around the batch:
//!
//! - **Counted once.** A span's usage counts unless a descendant carries usage, and of spans
//!   sharing a provider response id only the latest-starting counts (cost: the same rule on its
//!   own). Every span id that has a descendant carrying usage or cost is marked *covered*, also
//!   before that span arrives; a new carrier marks its ancestors up to the first one already
//!   marked, so each span is marked at most once over the run's life. A call's counting can
//!   then only change when it arrives, when it becomes covered, or when a call sharing its
//!   response id arrives or changes; [`apply`] re-decides exactly those calls and moves the
//!   tally by the difference.
//! - **Loops** (≥ [`LOOP_MIN_REPEATS`] consecutive identical tool calls in start order): a new
//!   tool call can only change the stretches of identical calls beside it, so [`apply`]
//!   re-reads from the start of the stretch before it to the end of the stretch after it.
//!   A loop keeps its position among the run's tool calls: loops the batch leaves alone move
//!   by the new calls before them, and a loop found again counts the calls before it (a range
//!   count on the index, done only for loops a batch changes).
//!
//! A span must be applied once: stores apply only the spans they have just inserted, so retried
//! spans are no-ops. Whatever the split of a run into batches and their order, the state ends
//! the same (checked against [`super::summarize`] of all spans by property tests).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::partial::RunPartial;
use super::tally::{Contribution, Tally};
use super::{Run, RunSignal, SpanDigest, LOOP_MIN_REPEATS};
use crate::model::{SpanKind, Usage};

/// Which quantities a span has a descendant carrying, or a call is counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cover {
    pub usage: bool,
    pub cost: bool,
}

/// A span carrying usage or a cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CallRow {
    pub span_id: String,
    pub response_id: Option<String>,
    pub start: u64,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    /// What the call is counted for now.
    pub counted: Cover,
}

impl CallRow {
    /// The call a span is, if it carries usage or a cost; counted for nothing yet.
    pub fn of(s: &SpanDigest) -> Option<CallRow> {
        (!s.usage.is_empty() || s.cost_usd.is_some()).then(|| CallRow {
            span_id: s.span_id.clone(),
            response_id: s.response_id.clone(),
            start: s.start_time_unix_nano,
            model: s.model.clone(),
            provider: s.provider.clone(),
            usage: s.usage,
            cost_usd: s.cost_usd,
            counted: Cover::default(),
        })
    }

    fn carries(&self) -> Cover {
        Cover {
            usage: !self.usage.is_empty(),
            cost: self.cost_usd.is_some(),
        }
    }

    fn contribution(&self, counted: Cover) -> Contribution {
        Contribution::of(
            counted.usage.then_some(&self.usage),
            self.cost_usd.filter(|_| counted.cost),
        )
    }
}

/// A tool span's place in start order: start, end, span id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct ToolKey {
    pub start: u64,
    pub end: u64,
    pub span_id: String,
}

/// A tool span, for the loop signal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ToolRow {
    pub key: ToolKey,
    /// Identifies the call (tool name and arguments): equal for identical calls.
    pub call: [u8; 16],
}

impl ToolRow {
    fn of(s: &SpanDigest) -> Option<ToolRow> {
        (s.kind == SpanKind::Tool).then(|| ToolRow {
            key: ToolKey {
                start: s.start_time_unix_nano,
                end: s.end_time_unix_nano,
                span_id: s.span_id.clone(),
            },
            call: call_id(s.tool_name.as_deref(), s.tool_args.as_deref()),
        })
    }
}

fn call_id(name: Option<&str>, args: Option<&str>) -> [u8; 16] {
    let mut h = Sha256::new();
    for part in [name, args] {
        match part {
            // A length prefix keeps ("ab", "c") apart from ("a", "bc").
            Some(p) => {
                h.update([1]);
                h.update((p.len() as u64).to_le_bytes());
                h.update(p.as_bytes());
            }
            None => h.update([0]),
        }
    }
    h.finalize()[..16].try_into().expect("16 bytes")
}

/// A stretch of at least [`LOOP_MIN_REPEATS`] identical consecutive tool calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loop {
    pub first: ToolKey,
    /// The first call's position among the run's tool calls in start order, from 0.
    pub index: u64,
    pub last: ToolKey,
    pub repeats: u32,
    pub tool_name: Option<String>,
    /// Canonical JSON text, as in the digest.
    pub tool_args: Option<String>,
}

/// What a store keeps per run to merge batches into its summary.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunState {
    pub partial: RunPartial,
    pub tally: Tally,
    /// In start order, not overlapping.
    pub loops: Vec<Loop>,
}

impl RunState {
    /// The run summary. Input and output are left to the caller: they are the root's
    /// payloads, which digests do not carry.
    pub fn finish(&self, run_id: &str) -> Run {
        let mut run = self.partial.finish(run_id);
        let (usage, cost, by_model) = self.tally.finish();
        run.set_tokens(&usage);
        run.cost_usd = cost;
        run.usage_by_model = by_model;
        run.signals = self
            .loops
            .iter()
            .map(|l| {
                RunSignal::repeated_calls(
                    l.tool_name.clone(),
                    l.tool_args.as_deref(),
                    l.repeats,
                    u32::try_from(l.index).unwrap_or(u32::MAX),
                    &l.first.span_id,
                )
            })
            .collect();
        run
    }
}

/// The rows a store keeps for one run, beside its spans. Every method is a point lookup or a
/// short range read on an index.
pub trait RunIndex {
    type Error;
    /// `None` when the span is not stored; else its parent id.
    fn parent(&mut self, span_id: &str) -> Result<Option<Option<String>>, Self::Error>;
    fn cover(&mut self, span_id: &str) -> Result<Cover, Self::Error>;
    fn set_cover(&mut self, span_id: &str, cover: Cover) -> Result<(), Self::Error>;
    fn call(&mut self, span_id: &str) -> Result<Option<CallRow>, Self::Error>;
    /// Every call reporting this provider response id.
    fn calls_sharing(&mut self, response_id: &str) -> Result<Vec<CallRow>, Self::Error>;
    /// Inserts or replaces by span id.
    fn put_call(&mut self, row: &CallRow) -> Result<(), Self::Error>;
    fn put_tool(&mut self, row: &ToolRow) -> Result<(), Self::Error>;
    /// Up to `limit` tool rows before `key`, nearest first.
    fn tools_before(&mut self, key: &ToolKey, limit: usize) -> Result<Vec<ToolRow>, Self::Error>;
    /// Up to `limit` tool rows after `key`, nearest first.
    fn tools_after(&mut self, key: &ToolKey, limit: usize) -> Result<Vec<ToolRow>, Self::Error>;
    /// How many tool rows come before `key`.
    fn count_tools_before(&mut self, key: &ToolKey) -> Result<u64, Self::Error>;
    /// A stored tool span's name and arguments (canonical JSON text).
    #[allow(clippy::type_complexity)]
    fn tool_call(&mut self, span_id: &str)
        -> Result<(Option<String>, Option<String>), Self::Error>;
}

/// Rows read per step when walking a stretch of tool calls.
const TOOL_CHUNK: usize = 64;

/// Applies spans that `index` has just stored (each once, ever) to the run's state.
pub fn apply<I: RunIndex>(
    index: &mut I,
    state: &mut RunState,
    new: &[SpanDigest],
) -> Result<(), I::Error> {
    for s in new {
        state.partial.add(s);
    }
    count_calls(index, state, new)?;
    find_loops(index, state, new)
}

fn count_calls<I: RunIndex>(
    index: &mut I,
    state: &mut RunState,
    new: &[SpanDigest],
) -> Result<(), I::Error> {
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for row in new.iter().filter_map(CallRow::of) {
        index.put_call(&row)?;
        touched.insert(row.span_id);
    }
    for s in new {
        let carries = Cover {
            usage: !s.usage.is_empty(),
            cost: s.cost_usd.is_some(),
        };
        let covered = index.cover(&s.span_id)?;
        for usage in [true, false] {
            let pick = |c: Cover| if usage { c.usage } else { c.cost };
            if pick(carries) || pick(covered) {
                cover_ancestors(index, s, usage, &mut touched)?;
            }
        }
    }
    // Calls sharing a response id with a touched call are decided together.
    let mut rows: BTreeMap<String, CallRow> = BTreeMap::new();
    let mut responses: BTreeSet<String> = BTreeSet::new();
    for id in &touched {
        if let Some(row) = index.call(id)? {
            responses.extend(row.response_id.clone());
            rows.insert(row.span_id.clone(), row);
        }
    }
    for r in &responses {
        for row in index.calls_sharing(r)? {
            rows.entry(row.span_id.clone()).or_insert(row);
        }
    }
    let mut eligible: BTreeMap<String, Cover> = BTreeMap::new();
    for (id, row) in &rows {
        let covered = index.cover(id)?;
        let carries = row.carries();
        eligible.insert(
            id.clone(),
            Cover {
                usage: carries.usage && !covered.usage,
                cost: carries.cost && !covered.cost,
            },
        );
    }
    // Of eligible calls sharing a response id, the latest-starting (then highest span id).
    let mut latest: BTreeMap<(bool, &str), (u64, &str)> = BTreeMap::new();
    for (id, row) in &rows {
        let Some(r) = row.response_id.as_deref() else {
            continue;
        };
        for usage in [true, false] {
            let e = eligible[id];
            if if usage { e.usage } else { e.cost } {
                let slot = latest.entry((usage, r)).or_insert((row.start, id));
                *slot = (*slot).max((row.start, id));
            }
        }
    }
    for (id, row) in &rows {
        let e = eligible[id];
        let wins = |usage: bool| match row.response_id.as_deref() {
            None => true,
            Some(r) => latest.get(&(usage, r)).is_some_and(|&(_, w)| w == id),
        };
        let counted = Cover {
            usage: e.usage && wins(true),
            cost: e.cost && wins(false),
        };
        if counted != row.counted {
            let (model, provider) = (row.model.as_deref(), row.provider.as_deref());
            state
                .tally
                .apply(model, provider, &row.contribution(row.counted), -1);
            state
                .tally
                .apply(model, provider, &row.contribution(counted), 1);
            index.put_call(&CallRow {
                counted,
                ..row.clone()
            })?;
        }
    }
    Ok(())
}

/// Marks `s`'s ancestors as having a descendant carrying the quantity, up to the first one
/// already marked (whose ancestors were marked then) or the first not stored yet (marked, so
/// that it passes the mark on when it arrives).
fn cover_ancestors<I: RunIndex>(
    index: &mut I,
    s: &SpanDigest,
    usage: bool,
    touched: &mut BTreeSet<String>,
) -> Result<(), I::Error> {
    let mut at = s.span_id.clone();
    let mut parent = s.parent_span_id.clone();
    while let Some(p) = parent {
        if p == at {
            break; // a span naming itself as parent is a root
        }
        let mut cover = index.cover(&p)?;
        let slot = if usage {
            &mut cover.usage
        } else {
            &mut cover.cost
        };
        if *slot {
            break;
        }
        *slot = true;
        index.set_cover(&p, cover)?;
        touched.insert(p.clone());
        parent = index.parent(&p)?.flatten();
        at = p;
    }
    Ok(())
}

fn find_loops<I: RunIndex>(
    index: &mut I,
    state: &mut RunState,
    new: &[SpanDigest],
) -> Result<(), I::Error> {
    let mut tools: Vec<ToolRow> = new.iter().filter_map(ToolRow::of).collect();
    if tools.is_empty() {
        return Ok(());
    }
    for t in &tools {
        index.put_tool(t)?;
    }
    tools.sort_by(|a, b| a.key.cmp(&b.key));
    let new_keys: Vec<ToolKey> = tools.iter().map(|t| t.key.clone()).collect();
    // Each window runs from the start of the stretch before a new call to the end of the
    // stretch after it, so its stretches are whole.
    let mut windows: Vec<Vec<ToolRow>> = Vec::new();
    for t in tools {
        if let Some(w) = windows.last_mut() {
            let last = &w[w.len() - 1].key;
            // Inside the window: the stretches on both sides of the call are in it.
            if t.key < *last {
                continue;
            }
            // The window ends at the call: the calls after it differ from it, and may be the
            // rest of a stretch the new calls split, so their stretch joins the window.
            if t.key == *last {
                let after = stretch(index, &t.key, false)?;
                w.extend(after);
                continue;
            }
        }
        let mut before = stretch(index, &t.key, true)?;
        before.reverse();
        let after = stretch(index, &t.key, false)?;
        before.push(t);
        before.extend(after);
        windows.push(before);
    }
    let overlaps = |l: &Loop| {
        windows.iter().any(|w| {
            let (first, last) = (&w[0].key, &w[w.len() - 1].key);
            l.first <= *last && l.last >= *first
        })
    };
    state.loops.retain(|l| !overlaps(l));
    // Calls arriving before a loop move it along.
    for l in &mut state.loops {
        l.index += new_keys.partition_point(|k| *k < l.first) as u64;
    }
    for w in &windows {
        let mut i = 0;
        while i < w.len() {
            let len = w[i..].iter().take_while(|r| r.call == w[i].call).count();
            if len as u32 >= LOOP_MIN_REPEATS && !state.loops.iter().any(|l| l.first == w[i].key) {
                let (tool_name, tool_args) = index.tool_call(&w[i].key.span_id)?;
                state.loops.push(Loop {
                    index: index.count_tools_before(&w[i].key)?,
                    first: w[i].key.clone(),
                    last: w[i + len - 1].key.clone(),
                    repeats: len as u32,
                    tool_name,
                    tool_args,
                });
            }
            i += len;
        }
    }
    state.loops.sort_by(|a, b| a.first.cmp(&b.first));
    Ok(())
}

/// The tool rows next to `key` on one side, nearest first: the neighbour and every call
/// identical to it beyond it.
fn stretch<I: RunIndex>(
    index: &mut I,
    key: &ToolKey,
    before: bool,
) -> Result<Vec<ToolRow>, I::Error> {
    let mut out: Vec<ToolRow> = Vec::new();
    let mut from = key.clone();
    loop {
        let rows = if before {
            index.tools_before(&from, TOOL_CHUNK)?
        } else {
            index.tools_after(&from, TOOL_CHUNK)?
        };
        let full = rows.len() == TOOL_CHUNK;
        for r in rows {
            if out.first().is_some_and(|n| n.call != r.call) {
                return Ok(out);
            }
            from = r.key.clone();
            out.push(r);
        }
        if !full {
            return Ok(out);
        }
    }
}
