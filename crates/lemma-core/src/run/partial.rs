//! The mergeable part of a run summary: every field that depends on the run's spans as a set,
//! not on how they relate. `merge` is associative and commutative, so for any split of a run's
//! spans into parts, in any order, the merged parts equal the partial of all of them.
//!
//! - Counts, kinds, errors, the time range and `has_root` are sums, minima and maxima.
//! - The root is the earliest true root; the stand-in, until it arrives, the earliest span
//!   (both a minimum by a fixed key, so two records).
//! - Thread, user, session, environment, trace name and each metadata key keep the earliest
//!   span's value ([`Order`]); agents, models, tools and tags keep each distinct value with its
//!   earliest span, so the state grows with the distinct values, not with the spans.
//! - Token and cost counting and the loop signal are not in the partial: they depend on how
//!   spans relate (a child carrying usage, calls sharing a response id, neighbouring tool
//!   calls), so [`super::ledger`] keeps them as rows beside it.
//!
//! A partial does not know which spans it holds beyond those entries, so merging the same span
//! twice counts it twice: a store merges only the partials of spans it has just inserted (for
//! SQLite, the rows `INSERT OR IGNORE` inserted), which makes exporters' retries no-ops.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Run, SpanDigest};
use crate::model::{SpanKind, StatusCode};

/// The order in which a run's spans are read for "first span that has …" rules: by start,
/// the longer first when two start together (a parent before the child it starts with), then
/// by span id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Order {
    pub start: u64,
    pub end: u64,
    pub span_id: String,
}

impl Order {
    pub fn of(s: &SpanDigest) -> Order {
        Order {
            start: s.start_time_unix_nano,
            end: s.end_time_unix_nano,
            span_id: s.span_id.clone(),
        }
    }
}

impl Ord for Order {
    fn cmp(&self, other: &Self) -> Ordering {
        self.start
            .cmp(&other.start)
            .then(other.end.cmp(&self.end))
            .then_with(|| self.span_id.cmp(&other.span_id))
    }
}

impl PartialOrd for Order {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A value with the span it came from; of two, the earlier span's wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct First<T> {
    pub at: Order,
    /// Position within the span's own list (tags), 0 for single values.
    #[serde(default)]
    pub pos: u32,
    pub value: T,
}

/// Offers the value of the span at `at`, cloned only when it is the earlier.
fn offer_at<T: Clone>(slot: &mut Option<First<T>>, at: &Order, value: Option<&T>) {
    match (slot.as_mut(), value) {
        (Some(held), Some(v)) => replace_if_earlier(held, at, v),
        (None, Some(v)) => *slot = Some(first_at(at, v)),
        (_, None) => {}
    }
}

fn replace_if_earlier<T: Clone>(held: &mut First<T>, at: &Order, value: &T) {
    if (at, 0) < (&held.at, held.pos) {
        *held = first_at(at, value);
    }
}

fn first_at<T: Clone>(at: &Order, value: &T) -> First<T> {
    First {
        at: at.clone(),
        pos: 0,
        value: value.clone(),
    }
}

fn offer<T: Clone>(slot: &mut Option<First<T>>, cand: &Option<First<T>>) {
    if let Some(c) = cand {
        if slot
            .as_ref()
            .is_none_or(|s| (&c.at, c.pos) < (&s.at, s.pos))
        {
            *slot = Some(c.clone());
        }
    }
}

/// The span a run is named after and takes its status from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Top {
    pub start: u64,
    pub end: u64,
    pub span_id: String,
    pub name: String,
    pub status: StatusCode,
    pub status_message: Option<String>,
}

impl Top {
    fn of(s: &SpanDigest) -> Top {
        Top {
            start: s.start_time_unix_nano,
            end: s.end_time_unix_nano,
            span_id: s.span_id.clone(),
            name: s.name.clone(),
            status: s.status,
            status_message: s.status_message.clone(),
        }
    }
}

/// Distinct values of a list field, each with where it first appears.
type Firsts = BTreeMap<String, (Order, u32)>;

fn offer_list(list: &mut Firsts, value: &str, at: &Order, pos: u32) {
    match list.get_mut(value) {
        Some(cur) if (&cur.0, cur.1) <= (at, pos) => {}
        Some(cur) => *cur = (at.clone(), pos),
        None => {
            list.insert(value.to_string(), (at.clone(), pos));
        }
    }
}

fn merge_list(into: &mut Firsts, from: &Firsts) {
    for (v, (at, pos)) in from {
        offer_list(into, v, at, *pos);
    }
}

fn in_order(list: &Firsts) -> Vec<String> {
    let mut v: Vec<(&Order, u32, &String)> =
        list.iter().map(|(v, (at, pos))| (at, *pos, v)).collect();
    v.sort();
    v.into_iter().map(|(_, _, v)| v.clone()).collect()
}

/// What a run summary needs from some of its spans, mergeable with the rest's.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunPartial {
    pub span_count: u64,
    pub error_count: u64,
    pub kind_counts: BTreeMap<String, u64>,
    /// Earliest start and latest end; `None` with no spans.
    pub start: Option<u64>,
    pub end: Option<u64>,
    /// The earliest true root (no parent id), by start, end, span id.
    pub root: Option<Top>,
    /// The earliest span by [`Order`]: the root's stand-in until one arrives.
    pub stand_in: Option<Top>,
    pub trace_name: Option<First<String>>,
    pub thread_id: Option<First<String>>,
    pub user_id: Option<First<String>>,
    pub session_id: Option<First<String>>,
    pub environment: Option<First<String>>,
    pub metadata: BTreeMap<String, First<Value>>,
    pub agents: Firsts,
    /// The earliest agent span's name, for runs whose agent spans name no agent.
    pub unnamed_agent: Option<First<String>>,
    pub models: Firsts,
    pub tools: Firsts,
    pub tags: Firsts,
}

impl RunPartial {
    /// The partial of `spans`, which must not hold a span twice (see the module docs).
    pub fn of(spans: &[SpanDigest]) -> RunPartial {
        let mut p = RunPartial::default();
        for s in spans {
            p.add(s);
        }
        p
    }

    /// Adds one span not added before.
    pub fn add(&mut self, s: &SpanDigest) {
        self.span_count = self.span_count.saturating_add(1);
        if s.status == StatusCode::Error {
            self.error_count = self.error_count.saturating_add(1);
        }
        let n = self
            .kind_counts
            .entry(s.kind.as_str().to_string())
            .or_default();
        *n = n.saturating_add(1);
        self.start = Some(
            self.start
                .map_or(s.start_time_unix_nano, |v| v.min(s.start_time_unix_nano)),
        );
        self.end = Some(
            self.end
                .map_or(s.end_time_unix_nano, |v| v.max(s.end_time_unix_nano)),
        );
        let at = Order::of(s);
        if s.parent_span_id.is_none() {
            let top = Some(Top::of(s));
            merge_root(&mut self.root, &top);
        }
        merge_stand_in(&mut self.stand_in, &Some(Top::of(s)));
        offer_at(&mut self.trace_name, &at, s.trace_name.as_ref());
        offer_at(&mut self.thread_id, &at, s.thread_id.as_ref());
        offer_at(&mut self.user_id, &at, s.user_id.as_ref());
        offer_at(&mut self.session_id, &at, s.session_id.as_ref());
        offer_at(&mut self.environment, &at, s.environment.as_ref());
        for (k, v) in &s.metadata {
            match self.metadata.get_mut(k) {
                Some(slot) => replace_if_earlier(slot, &at, v),
                None => {
                    self.metadata.insert(k.clone(), first_at(&at, v));
                }
            }
        }
        if let Some(a) = &s.agent_name {
            offer_list(&mut self.agents, a, &at, 0);
        }
        if s.kind == SpanKind::Agent {
            offer_at(&mut self.unnamed_agent, &at, Some(&s.name));
        }
        if let Some(m) = &s.model {
            offer_list(&mut self.models, m, &at, 0);
        }
        if s.kind == SpanKind::Tool {
            if let Some(t) = &s.tool_name {
                offer_list(&mut self.tools, t, &at, 0);
            }
        }
        for (i, t) in s.tags.iter().enumerate() {
            offer_list(&mut self.tags, t, &at, i as u32);
        }
    }

    /// Merges another part of the same run (holding other spans) into this one.
    pub fn merge(&mut self, o: &RunPartial) {
        self.span_count = self.span_count.saturating_add(o.span_count);
        self.error_count = self.error_count.saturating_add(o.error_count);
        for (k, n) in &o.kind_counts {
            let m = self.kind_counts.entry(k.clone()).or_default();
            *m = m.saturating_add(*n);
        }
        self.start = match (self.start, o.start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.end = self.end.max(o.end);
        merge_root(&mut self.root, &o.root);
        merge_stand_in(&mut self.stand_in, &o.stand_in);
        offer(&mut self.trace_name, &o.trace_name);
        offer(&mut self.thread_id, &o.thread_id);
        offer(&mut self.user_id, &o.user_id);
        offer(&mut self.session_id, &o.session_id);
        offer(&mut self.environment, &o.environment);
        for (k, v) in &o.metadata {
            let mut slot = self.metadata.remove(k);
            offer(&mut slot, &Some(v.clone()));
            self.metadata.insert(k.clone(), slot.expect("offered"));
        }
        merge_list(&mut self.agents, &o.agents);
        offer(&mut self.unnamed_agent, &o.unnamed_agent);
        merge_list(&mut self.models, &o.models);
        merge_list(&mut self.tools, &o.tools);
        merge_list(&mut self.tags, &o.tags);
    }

    /// The run summary. Input and output are left to the caller, as with `summarize`.
    pub fn finish(&self, run_id: &str) -> Run {
        let top = self.root.as_ref().or(self.stand_in.as_ref());
        let mut run = Run {
            run_id: run_id.to_string(),
            span_count: self.span_count,
            error_count: self.error_count,
            kind_counts: self.kind_counts.clone(),
            has_root: self.root.is_some(),
            root_span_id: top.map(|t| t.span_id.clone()),
            name: top.map(|t| t.name.clone()).unwrap_or_default(),
            start_time_unix_nano: self.start.unwrap_or(0),
            end_time_unix_nano: self.end.unwrap_or(0),
            thread_id: self.thread_id.as_ref().map(|f| f.value.clone()),
            user_id: self.user_id.as_ref().map(|f| f.value.clone()),
            session_id: self.session_id.as_ref().map(|f| f.value.clone()),
            environment: self.environment.as_ref().map(|f| f.value.clone()),
            models: in_order(&self.models),
            tools: in_order(&self.tools),
            tags: in_order(&self.tags),
            ..Run::default()
        };
        run.duration_ms = run
            .end_time_unix_nano
            .saturating_sub(run.start_time_unix_nano) as f64
            / 1e6;
        if let Some(name) = &self.trace_name {
            run.name = name.value.clone();
        }
        run.metadata = self
            .metadata
            .iter()
            .map(|(k, f)| (k.clone(), f.value.clone()))
            .collect::<Map<String, Value>>();
        let mut agents = in_order(&self.agents);
        if agents.is_empty() {
            agents.extend(self.unnamed_agent.as_ref().map(|f| f.value.clone()));
        }
        run.agent_name = agents.first().cloned();
        run.agent_names = agents;
        (run.status, run.status_message) = match top {
            Some(t) if t.status == StatusCode::Error => {
                (StatusCode::Error, t.status_message.clone())
            }
            Some(_) if run.has_root => (StatusCode::Ok, None),
            _ if run.error_count > 0 => (StatusCode::Error, None),
            _ => (StatusCode::Unset, None),
        };
        run
    }
}

fn merge_root(slot: &mut Option<Top>, cand: &Option<Top>) {
    if let Some(c) = cand {
        let key = |t: &Top| (t.start, t.end, t.span_id.clone());
        if slot.as_ref().is_none_or(|s| key(c) < key(s)) {
            *slot = Some(c.clone());
        }
    }
}

fn merge_stand_in(slot: &mut Option<Top>, cand: &Option<Top>) {
    if let Some(c) = cand {
        let key = |t: &Top| Order {
            start: t.start,
            end: t.end,
            span_id: t.span_id.clone(),
        };
        if slot.as_ref().is_none_or(|s| key(c) < key(s)) {
            *slot = Some(c.clone());
        }
    }
}
