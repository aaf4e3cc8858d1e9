//! Full-text search: an inverted index in `span_terms`, one row per word of a run's spans.
//!
//! **What is indexed.** A span's searchable text (`crate::search::searchable_text`, the same
//! text SQLite's FTS5 index holds) split into words by `crate::search::words` as FTS5's
//! `unicode61 remove_diacritics 2` tokenizer splits it: case folded, Latin diacritics removed,
//! split on anything that is not a letter or a number. A write adds one row per distinct word
//! of each run it carries spans of: `(project_id, term, trace_id, generation, spans,
//! positions)`, `spans` being the run's spans (of this write) holding the word and
//! `positions[i]` the word's places in `spans[i]`'s text (0 for the first word, counted over
//! the whole text, as FTS5 counts them). The spans of a run repeat much of their text (each
//! model call carries the conversation so far), so a row per run and word rather than per
//! span and word stores and merges about a seventh of the rows.
//!
//! **How a search finds spans.** The table's key is `(project_id, term, trace_id,
//! generation)`, so a word's postings are one contiguous range of the table found through the
//! primary index: a search reads the postings of its own words and never scans spans. A query's
//! free text is one phrase, as in SQLite (`"..."` in FTS5): split into words the same way, a
//! span matches when it holds them one after another. One word is a lookup of that term (with
//! `ARRAY JOIN` when spans, not runs, are wanted). For several, the postings of the phrase's
//! distinct words are unrolled to one row per span (`ARRAY JOIN spans, positions`) and grouped
//! by span, each word's positions taken with `anyIf(pos, term = ?)`, and a span matches when
//! some position `x` of the first word has the second at `x + 1`, the third at `x + 2`, and so
//! on (`HAVING arrayExists(x -> has(...), ...)`: in a `WHERE` over a subquery, 18.16 loses the
//! columns only a lambda reads). A repeated word (`"go go"`) just looks at the same positions
//! twice. Text without any word matches nothing, as in FTS5.
//!
//! **What stays exact.** Rows are only added: a span written again (a retried write whose
//! first attempt stored its words but not the span) is listed again with the same positions,
//! which changes nothing a search answers (`anyIf` of equal arrays, `IN` of equal keys). Postings carry the span's generation, so the spans of a deleted run (listed in
//! `run_deletes`) are left out by the reads that join postings to spans or runs, and the run
//! started anew after a deletion has postings of its own.
//!
//! **Why postings.** ClickHouse 18.16 has no token or n-gram skip indexes and no `hasToken`,
//! and matching text in span bodies would read every span of the project. The table is
//! sharded by trace id like `spans`, so on a cluster a span's postings live on its shard and
//! each shard answers its part of a search alone.
//!
//! **Cost.** A write stores one row per distinct word of each run (a span's searchable text
//! is at most about 64 KiB). A common word's postings are long, and a phrase holding one reads all of
//! them (key columns and positions only). Words longer than FTS5 would index
//! ([`crate::search::MAX_WORD_BYTES`]) cannot be searched and are not stored.

use std::collections::BTreeMap;

use lemma_core::Span;

use super::filter::Target;
use super::rows::TermRow;
use super::sql::Sql;
use super::Inner;
use crate::search::{searchable_text, words, MAX_WORD_BYTES};
use crate::{ProjectId, Result};

/// The index rows of one run's spans in one write: each distinct word of their searchable
/// texts, with the spans holding it and its positions in each.
pub(super) fn term_rows(
    project: ProjectId,
    trace_id: &str,
    spans: &[&Span],
    generation: u32,
    inserted: u32,
) -> Vec<TermRow> {
    let mut postings: BTreeMap<String, (Vec<String>, Vec<Vec<u32>>)> = BTreeMap::new();
    for span in spans {
        let mut positions: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (i, word) in words(&searchable_text(span)).into_iter().enumerate() {
            if word.len() <= MAX_WORD_BYTES {
                positions
                    .entry(word)
                    .or_default()
                    .push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        for (term, at) in positions {
            let (ids, places) = postings.entry(term).or_default();
            ids.push(span.span_id.clone());
            places.push(at);
        }
    }
    postings
        .into_iter()
        .map(|(term, (spans, positions))| TermRow {
            project_id: project.0,
            term,
            trace_id: trace_id.to_string(),
            generation,
            spans,
            positions,
            inserted,
        })
        .collect()
}

pub(super) async fn insert(inner: &Inner, rows: Vec<TermRow>) -> Result<()> {
    super::write::insert_all(inner, "span_terms", &rows).await
}

/// Appends the condition "the row holds `text` as a phrase": for spans (`s`) its key is among
/// the matching spans', for runs (`r`) its key and generation (`run_generation`) among the
/// matching spans' runs. Binds the project and the phrase's words.
pub(super) fn matches(
    sql: &mut Sql,
    target: Target,
    project: ProjectId,
    text: &str,
    run_generation: &str,
) {
    let phrase = words(text);
    if phrase.is_empty() {
        sql.push("0");
        return;
    }
    match target {
        Target::Spans => sql.push(
            "(s.trace_id, s.span_id, s.generation) IN (SELECT trace_id, span_id, generation FROM ",
        ),
        Target::Runs => sql.push(&format!(
            "(r.trace_id, {run_generation}) IN (SELECT trace_id, generation FROM "
        )),
    };
    spans_holding(sql, project, &phrase);
    sql.push(")");
}

/// `FROM` the keys (trace_id, span_id, generation) of the spans holding `phrase` (not empty).
fn spans_holding(sql: &mut Sql, project: ProjectId, phrase: &[String]) {
    if let [word] = phrase {
        let text = format!(
            "(SELECT trace_id, span_id, generation FROM span_terms ARRAY JOIN spans AS span_id
              WHERE project_id = {} AND term = {})",
            sql.bind(project.0),
            sql.bind(word.as_str()),
        );
        sql.push(&text);
        return;
    }
    let mut distinct: Vec<&str> = Vec::new();
    let at: Vec<usize> = phrase
        .iter()
        .map(|w| match distinct.iter().position(|d| d == w) {
            Some(i) => i,
            None => {
                distinct.push(w);
                distinct.len() - 1
            }
        })
        .collect();
    sql.push("(SELECT trace_id, span_id, generation");
    for (i, word) in distinct.iter().enumerate() {
        let text = format!(", anyIf(pos, term = {}) AS p{i}", sql.bind(*word));
        sql.push(&text);
    }
    let project = sql.bind(project.0);
    let terms: Vec<&str> = distinct.iter().map(|w| sql.bind(*w)).collect();
    sql.push(&format!(
        " FROM span_terms ARRAY JOIN spans AS span_id, positions AS pos
         WHERE project_id = {project} AND term IN ({})
         GROUP BY trace_id, span_id, generation HAVING arrayExists(x -> ",
        terms.join(", ")
    ));
    let next: Vec<String> = at
        .iter()
        .enumerate()
        .skip(1)
        .map(|(offset, d)| format!("has(p{d}, x + {offset})"))
        .collect();
    sql.push(&format!("{}, p{}))", next.join(" AND "), at[0]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clickhouse::sql::Param;

    fn span(id: u64, name: &str) -> Span {
        Span {
            trace_id: format!("{:032x}", 1),
            span_id: format!("{id:016x}"),
            name: name.into(),
            ..Span::default()
        }
    }

    #[test]
    fn rows_hold_each_word_once_with_its_spans_and_positions() {
        let (a, b) = (span(2, "Go, go — GÖ went"), span(3, "went home"));
        let rows = term_rows(ProjectId(3), &a.trace_id, &[&a, &b], 2, 9);
        let got: Vec<String> = rows
            .iter()
            .map(|r| {
                let spans: Vec<&str> = r.spans.iter().map(|s| &s[14..]).collect();
                format!("{} {spans:?} {:?}", r.term, r.positions)
            })
            .collect();
        assert_eq!(
            got,
            [
                r#"go ["02"] [[0, 1, 2]]"#,
                r#"home ["03"] [[1]]"#,
                r#"went ["02", "03"] [[3], [0]]"#,
            ]
        );
        assert!(rows.iter().all(|r| r.project_id == 3
            && r.trace_id == a.trace_id
            && r.generation == 2
            && r.inserted == 9));
        let long = span(4, &format!("a {} b", "x".repeat(MAX_WORD_BYTES + 1)));
        let rows = term_rows(ProjectId(3), &long.trace_id, &[&long], 0, 0);
        let got: Vec<(&str, &[Vec<u32>])> = rows
            .iter()
            .map(|r| (r.term.as_str(), r.positions.as_slice()))
            .collect();
        assert_eq!(
            got,
            [("a", &[vec![0]][..]), ("b", &[vec![2]][..])],
            "positions still count it"
        );
    }

    #[test]
    fn a_phrase_binds_its_words_and_checks_their_order() {
        let mut sql = Sql::new("");
        matches(&mut sql, Target::Spans, ProjectId(7), "Go go' went", "g");
        assert!(
            !sql.text.contains("went") && !sql.text.contains('\''),
            "{}",
            sql.text
        );
        assert!(
            sql.text
                .ends_with("HAVING arrayExists(x -> has(p0, x + 1) AND has(p1, x + 2), p0)))"),
            "{}",
            sql.text
        );
        assert_eq!(
            sql.params,
            [
                Param::from("go"),
                Param::from("went"),
                Param::I64(7),
                Param::from("go"),
                Param::from("went")
            ]
        );
        let mut sql = Sql::new("");
        matches(&mut sql, Target::Runs, ProjectId(7), " ?!\" ", "g");
        assert_eq!((sql.text.as_str(), sql.params.len()), ("0", 0));
    }
}
