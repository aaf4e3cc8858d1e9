//! What this server's ingest saw, per project, for the ingestion health page: requests it
//! refused (and why), the services sending spans (last seen, rate), and spans that arrived
//! long after they ended. Kept in memory since the server started: these describe the
//! traffic, not the data, and a count per request must not cost ingest a write.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use lemma_core::Span;
use lemma_store::ProjectId;

/// Refused requests kept per project, newest last.
pub const RECENT_REFUSALS: usize = 50;
/// Services tracked per project; the least recently seen is forgotten past this.
pub const MAX_SERVICES: usize = 200;
/// A span that ends this long before it arrives is late.
pub const LATE_AFTER_NS: u64 = 2 * 60 * 1_000_000_000;
/// Longest refusal message kept.
const MAX_MESSAGE_CHARS: usize = 500;
const MINUTE_NS: u64 = 60 * 1_000_000_000;
/// Minutes of per-minute span counts kept per service.
pub const RATE_MINUTES: u64 = 60;

#[derive(Debug, Clone)]
pub struct Refusal {
    pub at_ns: u64,
    /// An error code (`bad_request`, `too_large`, `busy`, `unavailable`, ...) or `partial`
    /// for a request stored in part.
    pub reason: String,
    pub status: u16,
    pub transport: &'static str,
    pub signal: &'static str,
    pub message: String,
    /// Spans or records the request lost (partial successes only).
    pub rejected: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Count {
    pub count: u64,
    pub last_ns: u64,
}

impl Count {
    fn add(&mut self, n: u64, at_ns: u64) {
        self.count += n;
        self.last_ns = self.last_ns.max(at_ns);
    }
}

#[derive(Debug, Clone, Default)]
pub struct Service {
    pub last_seen_ns: u64,
    pub spans: u64,
    /// (minute since the epoch, spans), oldest first, the last `RATE_MINUTES` minutes.
    minutes: VecDeque<(u64, u64)>,
}

impl Service {
    fn add(&mut self, n: u64, at_ns: u64) {
        self.spans += n;
        self.last_seen_ns = self.last_seen_ns.max(at_ns);
        let minute = at_ns / MINUTE_NS;
        match self.minutes.back_mut() {
            Some((m, count)) if *m == minute => *count += n,
            _ => self.minutes.push_back((minute, n)),
        }
        while self
            .minutes
            .front()
            .is_some_and(|(m, _)| *m + RATE_MINUTES <= minute)
        {
            self.minutes.pop_front();
        }
    }

    /// Spans received in the `minutes` minutes up to `now` (the current minute included).
    pub fn spans_in_last(&self, minutes: u64, now_ns: u64) -> u64 {
        let current = now_ns / MINUTE_NS;
        self.minutes
            .iter()
            .filter(|(m, _)| *m + minutes > current)
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Clone)]
pub struct LateSpan {
    pub run_id: String,
    pub span_id: String,
    pub service: Option<String>,
    pub delay_ns: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Late {
    pub spans: u64,
    pub last_ns: u64,
    /// The latest of them.
    pub worst: Option<LateSpan>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectActivity {
    pub refused: VecDeque<Refusal>,
    pub reasons: BTreeMap<String, Count>,
    pub services: HashMap<String, Service>,
    pub late: Late,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub project: ProjectActivity,
    /// Refusals no project can be told: bad or missing keys.
    pub unattributed: BTreeMap<String, Count>,
}

#[derive(Default)]
struct State {
    projects: HashMap<ProjectId, ProjectActivity>,
    unattributed: BTreeMap<String, Count>,
}

#[derive(Default)]
pub struct Activity {
    state: Mutex<State>,
}

impl Activity {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn refused(&self, project: ProjectId, mut refusal: Refusal) {
        if let Some((cut, _)) = refusal.message.char_indices().nth(MAX_MESSAGE_CHARS) {
            refusal.message.truncate(cut);
            refusal.message.push('…');
        }
        let mut state = self.lock();
        let p = state.projects.entry(project).or_default();
        p.reasons
            .entry(refusal.reason.clone())
            .or_default()
            .add(1, refusal.at_ns);
        if p.refused.len() == RECENT_REFUSALS {
            p.refused.pop_front();
        }
        p.refused.push_back(refusal);
    }

    /// A refusal before the project is known (no key, or a key no project has).
    pub fn refused_unattributed(&self, reason: &str, at_ns: u64) {
        self.lock()
            .unattributed
            .entry(reason.to_string())
            .or_default()
            .add(1, at_ns);
    }

    /// Spans stored for the project: their services and lateness ([`observe`]).
    pub fn received(&self, project: ProjectId, seen: Observed) {
        let mut state = self.lock();
        let p = state.projects.entry(project).or_default();
        for (service, n) in seen.services {
            match p.services.get_mut(&service) {
                Some(s) => s.add(n, seen.at_ns),
                None => {
                    if p.services.len() == MAX_SERVICES {
                        forget_stalest(&mut p.services);
                    }
                    let mut s = Service::default();
                    s.add(n, seen.at_ns);
                    p.services.insert(service, s);
                }
            }
        }
        if let Some(worst) = seen.worst {
            p.late.spans += seen.late;
            p.late.last_ns = seen.at_ns;
            if p.late
                .worst
                .as_ref()
                .is_none_or(|old| worst.delay_ns >= old.delay_ns)
            {
                p.late.worst = Some(worst);
            }
        }
    }

    pub fn snapshot(&self, project: ProjectId) -> Snapshot {
        let state = self.lock();
        Snapshot {
            project: state.projects.get(&project).cloned().unwrap_or_default(),
            unattributed: state.unattributed.clone(),
        }
    }
}

/// What a batch of spans arriving at `at_ns` says about its senders.
#[derive(Debug, Default)]
pub struct Observed {
    at_ns: u64,
    services: HashMap<String, u64>,
    late: u64,
    worst: Option<LateSpan>,
}

/// Reads a batch before it is stored (the spans move into the commit); recorded with
/// [`Activity::received`] once the commit succeeded.
pub fn observe(spans: &[Span], now_ns: u64) -> Observed {
    let mut services: HashMap<&str, u64> = HashMap::new();
    let mut late = 0;
    let mut worst: Option<&Span> = None;
    for span in spans {
        *services
            .entry(span.service_name().unwrap_or("(no service.name)"))
            .or_default() += 1;
        if now_ns.saturating_sub(span.end_time_unix_nano) > LATE_AFTER_NS {
            late += 1;
            if worst.is_none_or(|w| span.end_time_unix_nano < w.end_time_unix_nano) {
                worst = Some(span);
            }
        }
    }
    Observed {
        at_ns: now_ns,
        services: services
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect(),
        late,
        worst: worst.map(|w| LateSpan {
            run_id: w.trace_id.clone(),
            span_id: w.span_id.clone(),
            service: w.service_name().map(str::to_string),
            delay_ns: now_ns.saturating_sub(w.end_time_unix_nano),
        }),
    }
}

fn forget_stalest(services: &mut HashMap<String, Service>) {
    let stalest = services
        .iter()
        .min_by_key(|(_, s)| s.last_seen_ns)
        .map(|(name, _)| name.clone());
    if let Some(name) = stalest {
        services.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn span(service: &str, end_ns: u64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: format!("s{end_ns}"),
            end_time_unix_nano: end_ns,
            resource: serde_json::Map::from_iter([("service.name".into(), json!(service))]),
            ..Span::default()
        }
    }

    #[test]
    fn services_rates_and_late_spans() {
        let activity = Activity::default();
        let p = ProjectId(1);
        let now = 1_000 * MINUTE_NS;
        let seen = |spans: &[Span], at| activity.received(p, observe(spans, at));
        seen(&[span("a", now), span("a", now), span("b", now)], now);
        seen(&[span("a", now - 3 * MINUTE_NS)], now + MINUTE_NS);
        seen(&[span("a", now)], now + 90 * MINUTE_NS);
        let snap = activity.snapshot(p).project;
        let a = &snap.services["a"];
        assert_eq!(a.spans, 4);
        assert_eq!(a.last_seen_ns, now + 90 * MINUTE_NS);
        assert_eq!(
            a.spans_in_last(60, now + 90 * MINUTE_NS),
            1,
            "older minutes age out"
        );
        assert_eq!(snap.services["b"].spans_in_last(60, now), 1);
        assert_eq!(snap.late.spans, 2);
        assert_eq!(snap.late.worst.unwrap().delay_ns, 90 * MINUTE_NS);
        assert!(activity.snapshot(ProjectId(2)).project.services.is_empty());
    }

    #[test]
    fn refusals_are_bounded_and_counted_by_reason() {
        let activity = Activity::default();
        let p = ProjectId(1);
        for i in 0..(RECENT_REFUSALS as u64 + 5) {
            activity.refused(
                p,
                Refusal {
                    at_ns: i,
                    reason: if i % 2 == 0 {
                        "bad_request"
                    } else {
                        "too_large"
                    }
                    .into(),
                    status: 400,
                    transport: "http",
                    signal: "traces",
                    message: "x".repeat(1_000),
                    rejected: None,
                },
            );
        }
        activity.refused_unattributed("unauthorized", 7);
        let snap = activity.snapshot(p);
        assert_eq!(snap.project.refused.len(), RECENT_REFUSALS);
        assert_eq!(
            snap.project.refused.back().unwrap().at_ns,
            RECENT_REFUSALS as u64 + 4
        );
        assert_eq!(snap.project.reasons["bad_request"].count, 28);
        assert_eq!(snap.project.reasons["too_large"].count, 27);
        assert!(snap.project.refused[0].message.chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert_eq!(snap.unattributed["unauthorized"].count, 1);
    }
}
