//! The spans of a run in reading order: pre-order of the parent tree, children by start time.
//!
//! Spans are hostile input: parents may be missing, point at themselves or form cycles, and a
//! run may be thousands of spans deep, so nothing here recurses.

use std::cmp::Reverse;
use std::collections::HashMap;

use crate::model::{Span, SpanOutline};

/// What the tree reads of a span: full spans and light outline rows order alike.
pub(crate) trait Node {
    fn id(&self) -> &str;
    fn parent(&self) -> Option<&str>;
    fn start(&self) -> u64;
    fn end(&self) -> u64;
}

impl Node for Span {
    fn id(&self) -> &str {
        &self.span_id
    }
    fn parent(&self) -> Option<&str> {
        self.parent_span_id.as_deref()
    }
    fn start(&self) -> u64 {
        self.start_time_unix_nano
    }
    fn end(&self) -> u64 {
        self.end_time_unix_nano
    }
}

impl Node for SpanOutline {
    fn id(&self) -> &str {
        &self.span_id
    }
    fn parent(&self) -> Option<&str> {
        self.parent_span_id.as_deref()
    }
    fn start(&self) -> u64 {
        self.start_time_unix_nano
    }
    fn end(&self) -> u64 {
        self.end_time_unix_nano
    }
}

/// The tree of a run's spans. Indices point into `spans`.
pub(crate) struct SpanTree<'a, T: Node = Span> {
    pub spans: Vec<&'a T>,
    pub children: Vec<Vec<usize>>,
    /// Every span once, parents before children, siblings in start order.
    pub order: Vec<usize>,
    /// Depth of each span in the tree, roots at 0.
    pub depth: Vec<usize>,
}

impl<'a, T: Node> SpanTree<'a, T> {
    pub fn new(all: &'a [T]) -> SpanTree<'a, T> {
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        let mut spans = Vec::new();
        for s in all {
            if !by_id.contains_key(s.id()) {
                by_id.insert(s.id(), spans.len());
                spans.push(s);
            }
        }
        let mut children = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            match s.parent().and_then(|p| by_id.get(p)) {
                Some(&p) if p != i => children[p].push(i),
                _ => roots.push(i),
            }
        }
        roots.sort_by_key(|&i| start_key(&spans, i));
        for c in &mut children {
            c.sort_by_key(|&i| start_key(&spans, i));
        }
        let mut tree = SpanTree {
            depth: vec![0; spans.len()],
            order: Vec::with_capacity(spans.len()),
            spans,
            children,
        };
        let mut seen = vec![false; tree.spans.len()];
        for r in roots {
            tree.walk(r, &mut seen);
        }
        // Spans caught in a parent cycle are reachable from no root: each cycle starts at its
        // earliest span.
        let mut stranded: Vec<usize> = (0..tree.spans.len()).filter(|&i| !seen[i]).collect();
        stranded.sort_by_key(|&i| start_key(&tree.spans, i));
        for s in stranded {
            tree.walk(s, &mut seen);
        }
        tree
    }

    fn walk(&mut self, root: usize, seen: &mut [bool]) {
        if seen[root] {
            return;
        }
        let mut stack = vec![(root, 0)];
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            self.depth[i] = depth;
            self.order.push(i);
            stack.extend(self.children[i].iter().rev().map(|&c| (c, depth + 1)));
        }
    }
}

/// Siblings in start order; of two starting together, the longer first.
fn start_key<'a, T: Node>(spans: &[&'a T], i: usize) -> (u64, Reverse<u64>, &'a str) {
    let s = spans[i];
    (s.start(), Reverse(s.end()), s.id())
}
