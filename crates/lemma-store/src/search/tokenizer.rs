//! Splitting text into the words the embedded store's FTS5 index holds.
//!
//! The SQLite store indexes text with FTS5's `unicode61 remove_diacritics 2` tokenizer. The
//! ClickHouse store has no such tokenizer, so it splits text here, and a search only finds
//! the same spans in both stores if the two split text the same way. This is our own
//! implementation of that behaviour, from Unicode's data (general categories, canonical
//! decompositions and simple case folding, from the ICU4X crates); the tests compare it with
//! the tokenizer of the SQLite this crate links.
//!
//! **Which characters make a word.** A word is a longest run of *word characters*, which
//! are:
//!
//! - letters (general category `L*`), numbers (`N*`) and private-use characters (`Co`);
//! - code points Unicode has not assigned (`Cn`), because SQLite counts every code point
//!   its own Unicode tables do not know as part of a word. Noncharacters are unassigned
//!   too, except U+FFFE and U+FFFF, which SQLite reads as U+FFFD (a symbol).
//!
//! *Latin diacritics*, the 25 combining marks that Unicode composes with ASCII letters into
//! precomposed letters (U+0301 in `é`, U+0327 in `ç`, ...), continue a word but do not start
//! one: after a separator they are separators themselves. Every other combining mark
//! separates words, as it does in SQLite, even within U+0300..U+036F (U+0305 overline, U+0342
//! Greek perispomeni), and so do the vowel signs and viramas of Indic scripts (`Mc`, `Mn`),
//! which split `हिन्दी` into several words in both stores. Everything else (spaces,
//! punctuation, `_`, symbols, emoji, controls, format characters) separates words.
//!
//! **How a word is spelled.** Each character takes its simple case folding (`A` → `a`,
//! `Σ` and `ς` → `σ`, `ſ` → `s`, `µ` → `μ`). A character whose canonical decomposition starts
//! with an ASCII letter then becomes that letter (`é` → `e`, `Ñ` → `n`, `ǘ` → `u`, `İ` → `i`,
//! `Å` (U+212B) → `a`). Other characters stay as they are, among them Latin letters with no
//! canonical decomposition (`ø`, `ß`, `æ`, `đ`, `ł`), those made from a non-ASCII letter
//! (`ǿ` from `ø`) and every non-Latin letter with its marks (`ά`, `й`). Latin diacritics
//! inside a word are dropped, so `e` followed by U+0301 reads as `e`, as `é` does.
//!
//! SQLite's tables follow an older Unicode version than ICU4X's data: characters assigned
//! since (new letters, symbols, emoji, marks) and the few whose category changed can split or
//! fold differently in the two stores, and so do `Ǡ` and `ǡ`, which SQLite alone keeps (here
//! they read as `a`, like `ǟ`). The tests measure how many.

use icu_casemap::CaseMapperBorrowed;
use icu_normalizer::properties::{CanonicalDecompositionBorrowed, Decomposed};
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
use icu_properties::{CodePointMapData, CodePointMapDataBorrowed};

const CATEGORIES: CodePointMapDataBorrowed<'static, GeneralCategory> =
    CodePointMapData::<GeneralCategory>::new();
const CASE: CaseMapperBorrowed<'static> = CaseMapperBorrowed::new();
const DECOMPOSITIONS: CanonicalDecompositionBorrowed<'static> =
    CanonicalDecompositionBorrowed::new();

/// The words of `text`, in order, as FTS5 indexes them; a word's position is its index.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    for c in text.chars() {
        match kind(c) {
            Kind::Word => push_folded(c, word.get_or_insert_with(String::new)),
            Kind::Diacritic if word.is_some() => {}
            Kind::Diacritic | Kind::Separator => out.extend(word.take()),
        }
    }
    out.extend(word);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Starts or continues a word.
    Word,
    /// Continues a word (and is dropped from it), or separates words.
    Diacritic,
    /// Ends a word.
    Separator,
}

fn kind(c: char) -> Kind {
    if c.is_ascii() {
        return if c.is_ascii_alphanumeric() {
            Kind::Word
        } else {
            Kind::Separator
        };
    }
    if is_latin_diacritic(c) {
        return Kind::Diacritic;
    }
    let category = CATEGORIES.get(c);
    let word = GeneralCategoryGroup::Letter.contains(category)
        || GeneralCategoryGroup::Number.contains(category)
        || category == GeneralCategory::PrivateUse
        || (category == GeneralCategory::Unassigned && !matches!(c, '\u{FFFE}' | '\u{FFFF}'));
    if word {
        Kind::Word
    } else {
        Kind::Separator
    }
}

/// The combining marks that follow an ASCII letter in the canonical decomposition of some
/// precomposed letter: the marks diacritic removal drops. A test derives the same set from
/// Unicode's decompositions.
fn is_latin_diacritic(c: char) -> bool {
    matches!(
        c,
        // Grave, acute, circumflex, tilde, macron.
        '\u{0300}'..='\u{0304}'
        // Breve, dot above, diaeresis, hook above, ring above, double acute, caron.
        | '\u{0306}'..='\u{030C}'
        // Double grave, inverted breve, horn.
        | '\u{030F}' | '\u{0311}' | '\u{031B}'
        // Dot below, diaeresis below, ring below, comma below, cedilla, ogonek.
        | '\u{0323}'..='\u{0328}'
        // Circumflex below, breve below, tilde below, macron below.
        | '\u{032D}' | '\u{032E}' | '\u{0330}' | '\u{0331}'
    )
}

/// Appends word character `c` to `word`, case folded and without its diacritics if it is a
/// Latin letter.
fn push_folded(c: char, word: &mut String) {
    if c.is_ascii() {
        word.push(c.to_ascii_lowercase());
        return;
    }
    let folded = CASE.simple_fold(c);
    word.push(ascii_base(folded).unwrap_or(folded));
}

/// The lowercase ASCII letter `c`'s full canonical decomposition starts with, if any.
fn ascii_base(c: char) -> Option<char> {
    let mut base = c;
    while let Decomposed::Singleton(first) | Decomposed::Expansion(first, _) =
        DECOMPOSITIONS.decompose(base)
    {
        base = first;
    }
    base.is_ascii_alphabetic()
        .then(|| base.to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
