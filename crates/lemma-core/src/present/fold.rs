//! Folding of repeated tool calls: the rule of the run's `loop` signal, applied to what is
//! shown. A run of at least [`LOOP_MIN_REPEATS`] calls of the same tool with identical
//! arguments reads as one item; model calls between them do not break the run.

use std::ops::Range;

use crate::run::LOOP_MIN_REPEATS;

/// What an item is to folding.
pub(crate) enum Class<K> {
    /// A tool call, with what makes two calls identical.
    Tool(K),
    /// A model call: part of a fold when inside one, as is anything nested deeper than the calls.
    Between,
    /// Anything else: ends a fold.
    Other,
}

/// An item as shown: itself, or a fold of `items` holding `count` identical tool calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unit {
    One(usize),
    Fold { items: Range<usize>, count: usize },
}

/// Folds `n` items given each one's nesting depth and class.
pub(crate) fn fold<K: PartialEq>(
    n: usize,
    depth: impl Fn(usize) -> usize,
    class: impl Fn(usize) -> Class<K>,
) -> Vec<Unit> {
    let ends = subtree_ends(n, &depth);
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let Class::Tool(key) = class(i) else {
            out.push(Unit::One(i));
            i += 1;
            continue;
        };
        let d = depth(i);
        let (mut last, mut count) = (i, 1);
        // Siblings only: an item's nested items go with it.
        let mut j = ends[i];
        while j < n && depth(j) == d {
            match class(j) {
                Class::Tool(k) if k == key => {
                    last = j;
                    count += 1;
                }
                Class::Between => {}
                _ => break,
            }
            j = ends[j];
        }
        if count >= LOOP_MIN_REPEATS as usize {
            out.push(Unit::Fold {
                items: i..ends[last],
                count,
            });
            i = ends[last];
        } else {
            out.push(Unit::One(i));
            i += 1;
        }
    }
    out
}

/// For each item, the index just past the items nested in it.
pub(crate) fn subtree_ends(n: usize, depth: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut ends = vec![n; n];
    let mut open: Vec<usize> = Vec::new();
    for i in 0..n {
        while let Some(&top) = open.last() {
            if depth(top) < depth(i) {
                break;
            }
            ends[top] = i;
            open.pop();
        }
        open.push(i);
    }
    ends
}
