//! A [`RunIndex`] in memory: what [`super::summarize`] runs on, and the model a store's index
//! is checked against.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;

use super::ledger::{CallRow, Cover, RunIndex, ToolKey, ToolRow};
use super::SpanDigest;

/// What the index reads of a stored span.
#[derive(Debug)]
struct Stored {
    parent: Option<String>,
    tool_name: Option<String>,
    tool_args: Option<String>,
}

#[derive(Debug, Default)]
pub struct MemoryIndex {
    spans: HashMap<String, Stored>,
    cover: HashMap<String, Cover>,
    calls: BTreeMap<String, CallRow>,
    by_response: HashMap<String, BTreeSet<String>>,
    tools: BTreeMap<ToolKey, ToolRow>,
}

impl MemoryIndex {
    /// Stores the spans not stored before (by span id) and returns their positions in
    /// `spans`, as a store's insert does.
    pub fn insert(&mut self, spans: &[SpanDigest]) -> Vec<usize> {
        let mut new = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            if !self.spans.contains_key(&s.span_id) {
                let stored = Stored {
                    parent: s.parent_span_id.clone(),
                    tool_name: s.tool_name.clone(),
                    tool_args: s.tool_args.clone(),
                };
                self.spans.insert(s.span_id.clone(), stored);
                new.push(i);
            }
        }
        new
    }
}

impl RunIndex for MemoryIndex {
    type Error = Infallible;

    fn parent(&mut self, span_id: &str) -> Result<Option<Option<String>>, Infallible> {
        Ok(self.spans.get(span_id).map(|s| s.parent.clone()))
    }

    fn cover(&mut self, span_id: &str) -> Result<Cover, Infallible> {
        Ok(self.cover.get(span_id).copied().unwrap_or_default())
    }

    fn set_cover(&mut self, span_id: &str, cover: Cover) -> Result<(), Infallible> {
        self.cover.insert(span_id.to_string(), cover);
        Ok(())
    }

    fn call(&mut self, span_id: &str) -> Result<Option<CallRow>, Infallible> {
        Ok(self.calls.get(span_id).cloned())
    }

    fn calls_sharing(&mut self, response_id: &str) -> Result<Vec<CallRow>, Infallible> {
        Ok(self
            .by_response
            .get(response_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.calls.get(id).cloned())
            .collect())
    }

    fn put_call(&mut self, row: &CallRow) -> Result<(), Infallible> {
        if let Some(r) = &row.response_id {
            self.by_response
                .entry(r.clone())
                .or_default()
                .insert(row.span_id.clone());
        }
        self.calls.insert(row.span_id.clone(), row.clone());
        Ok(())
    }

    fn put_tool(&mut self, row: &ToolRow) -> Result<(), Infallible> {
        self.tools.insert(row.key.clone(), row.clone());
        Ok(())
    }

    fn tools_before(&mut self, key: &ToolKey, limit: usize) -> Result<Vec<ToolRow>, Infallible> {
        Ok(self
            .tools
            .range(..key.clone())
            .rev()
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn tools_after(&mut self, key: &ToolKey, limit: usize) -> Result<Vec<ToolRow>, Infallible> {
        use std::ops::Bound::{Excluded, Unbounded};
        Ok(self
            .tools
            .range((Excluded(key.clone()), Unbounded))
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn count_tools_before(&mut self, key: &ToolKey) -> Result<u64, Infallible> {
        Ok(self.tools.range(..key.clone()).count() as u64)
    }

    fn tool_call(&mut self, span_id: &str) -> Result<(Option<String>, Option<String>), Infallible> {
        Ok(self
            .spans
            .get(span_id)
            .map(|s| (s.tool_name.clone(), s.tool_args.clone()))
            .unwrap_or_default())
    }
}
