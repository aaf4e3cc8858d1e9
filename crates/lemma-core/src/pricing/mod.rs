//! Cost from token counts: prices per model, model ids matched to them, and the arithmetic.
//!
//! Prices are USD per million tokens. The built-in table (`builtin.json`) holds providers' public
//! list prices; a project overrides or extends it per model pattern. A provided cost always wins
//! over a computed one: [`price_span`] leaves it alone.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::model::{CostSource, Span, Usage};

/// One model's prices, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens, reasoning included unless `reasoning` is set.
    pub output: f64,
    /// Input tokens read from the cache; the input price when `None`.
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Input tokens written to the cache; the input price when `None`.
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Reasoning tokens, for a model that prices them apart from other output.
    #[serde(default)]
    pub reasoning: Option<f64>,
}

impl Price {
    /// Every price must be a non-negative finite number.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("reasoning", self.reasoning),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(format!("{name} must be a non-negative number, not {v}"));
                }
            }
        }
        Ok(())
    }
}

/// Where a price in a table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    Builtin,
    /// The project's own price.
    Override,
}

/// A price as a table holds it: the model pattern it was given for, and its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceEntry {
    pub model: String,
    #[serde(flatten)]
    pub price: Price,
    pub source: PriceSource,
}

/// Prices by model pattern. See [`PriceTable::lookup`] for how a model id finds its price.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    /// Keyed by the pattern's [`match_key`].
    entries: HashMap<String, PriceEntry>,
}

#[derive(Deserialize)]
struct BuiltinFile {
    as_of: String,
    providers: HashMap<String, HashMap<String, Price>>,
}

fn builtin_file() -> &'static (String, PriceTable) {
    static BUILTIN: OnceLock<(String, PriceTable)> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        // Embedded and checked by a unit test, so a parse failure here is a build defect.
        let file: BuiltinFile = serde_json::from_str(include_str!("builtin.json"))
            .expect("pricing/builtin.json is valid");
        let mut table = PriceTable::default();
        for (model, price) in file.providers.into_values().flatten() {
            table.insert(&model, price, PriceSource::Builtin);
        }
        (file.as_of, table)
    })
}

impl PriceTable {
    /// The prices Lemma ships with.
    pub fn builtin() -> &'static PriceTable {
        &builtin_file().1
    }

    /// The date the built-in prices were taken from (`YYYY-MM-DD`).
    pub fn builtin_as_of() -> &'static str {
        &builtin_file().0
    }

    /// The built-in table with a project's overrides on top: an override replaces the built-in
    /// price of the same pattern and adds the patterns the built-in table lacks.
    pub fn with_overrides<'a>(overrides: impl IntoIterator<Item = (&'a str, Price)>) -> PriceTable {
        let mut table = PriceTable::builtin().clone();
        for (model, price) in overrides {
            table.insert(model, price, PriceSource::Override);
        }
        table
    }

    pub fn insert(&mut self, model: &str, price: Price, source: PriceSource) {
        let entry = PriceEntry {
            model: model.to_string(),
            price,
            source,
        };
        self.entries.insert(match_key(model), entry);
    }

    /// The price of a model id: the pattern equal to it, else the longest pattern it extends
    /// by a snapshot suffix (`-2024-07-18`, `-20250929`, `-latest`, `-preview-05-06`,
    /// `-v1:0`, `@20240620`), so a dated snapshot is priced as its model but `gpt-4o-mini` is
    /// never priced as `gpt-4o`. Case, provider prefixes (`openai/`, `models/`,
    /// `anthropic.`) and `.` versus `-` in version numbers do not matter.
    pub fn lookup(&self, model: &str) -> Option<&PriceEntry> {
        let key = match_key(model);
        if let Some(e) = self.entries.get(&key) {
            return Some(e);
        }
        key.char_indices()
            .rev()
            .filter(|&(_, c)| is_separator(c))
            .find_map(|(i, _)| {
                let e = self.entries.get(&key[..i])?;
                is_version_of(&key, &key[..i]).then_some(e)
            })
    }

    /// Every entry, by model pattern.
    pub fn entries(&self) -> Vec<&PriceEntry> {
        let mut out: Vec<&PriceEntry> = self.entries.values().collect();
        out.sort_by(|a, b| a.model.cmp(&b.model));
        out
    }
}

/// What a project's override is stored under: the model id trimmed, lower-cased and without
/// provider prefixes. Errors say what is wrong with it.
pub fn normalize_pattern(model: &str) -> Result<String, String> {
    let pattern = strip_prefixes(&model.trim().to_lowercase()).to_string();
    if pattern.is_empty() {
        return Err("a model pattern is a model id such as gpt-4o, not empty".into());
    }
    if pattern.chars().count() > 200 {
        return Err("a model pattern is at most 200 characters".into());
    }
    if pattern.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "a model pattern has no spaces or control characters: {model:?}"
        ));
    }
    Ok(pattern)
}

/// `openrouter/anthropic/claude-3.5-sonnet` → `claude-3.5-sonnet`,
/// `us.anthropic.claude-3-5-sonnet-20241022-v2:0` → `claude-3-5-sonnet-20241022-v2:0`.
fn strip_prefixes(model: &str) -> &str {
    let mut rest = model.rsplit('/').next().unwrap_or(model);
    // Bedrock's `vendor.` prefixes: letters then a dot. A dot inside a version (`gpt-4.1`)
    // follows a digit, so it is never taken for one.
    while let Some((head, tail)) = rest.split_once('.') {
        if head.is_empty() || !head.chars().all(|c| c.is_ascii_lowercase()) {
            break;
        }
        rest = tail;
    }
    rest
}

/// The form patterns and model ids are compared in.
fn match_key(model: &str) -> String {
    strip_prefixes(&model.trim().to_lowercase()).replace('.', "-")
}

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '@' | ':')
}

/// The model a snapshot id is a version of: `gpt-4o-2024-08-06` → `gpt-4o`,
/// `claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`, `gpt-4-0613` → `gpt-4`; any other id
/// is its own model (`gpt-4o-mini` stays, `claude-opus-4-5` is not a version of
/// `claude-opus-4`). The snapshot rule of [`PriceTable::lookup`].
pub fn model_family(model: &str) -> &str {
    model
        .char_indices()
        .filter(|&(i, c)| i > 0 && is_separator(c))
        .find(|&(i, _)| is_version_of(model, &model[..i]))
        .map_or(model, |(i, _)| &model[..i])
}

/// Whether `model` is `base` or a snapshot of it (`base` then only a date or version):
/// what `model:<base>` matches.
pub fn is_version_of(model: &str, base: &str) -> bool {
    match model.strip_prefix(base) {
        Some("") => true,
        Some(rest) => {
            rest.starts_with(is_separator) && is_snapshot_suffix(&rest[1..].to_ascii_lowercase())
        }
        None => false,
    }
}

/// A regular expression (RE2 and Rust `regex` syntax) that matches what [`is_version_of`]
/// accepts for `base`: for stores that filter in SQL without calling back into Rust.
pub fn version_pattern(base: &str) -> String {
    const WORD: &str = "latest|preview|exp|v[0-9]+";
    let mut escaped = String::with_capacity(base.len() + 8);
    for c in base.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("^{escaped}(?:[-@:](?i:{WORD}|[0-9]{{3,}})(?:[-@:](?i:{WORD}|[0-9]+))*)?$")
}

/// Whether what follows a model name is only a snapshot's date or version. The first part must
/// be a date-like number (3+ digits) or a snapshot word, so `claude-opus-4-5` (a different
/// model) does not extend `claude-opus-4`.
fn is_snapshot_suffix(rest: &str) -> bool {
    let word = |s: &str| {
        matches!(s, "latest" | "preview" | "exp")
            || s.strip_prefix('v')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = rest.split(is_separator);
    let first_ok = parts
        .next()
        .is_some_and(|p| word(p) || (digits(p) && p.len() >= 3));
    first_ok && parts.all(|p| word(p) || digits(p))
}

/// The cost in USD of one call's usage, or `None` when the model has no price or the usage no
/// input or output count. Input counts include cache reads and writes (the OTel rule): the
/// uncached rest pays the input price, cached tokens their own prices. Output pays the output
/// price, except reasoning tokens when the model prices them apart.
pub fn cost(usage: &Usage, model: &str, table: &PriceTable) -> Option<f64> {
    if usage.input_tokens.is_none() && usage.output_tokens.is_none() {
        return None;
    }
    let p = table.lookup(model)?.price;
    let input = usage.input_tokens.unwrap_or(0);
    let read = usage.cache_read_tokens.unwrap_or(0);
    let write = usage.cache_write_tokens.unwrap_or(0);
    let uncached = input.saturating_sub(read.saturating_add(write));
    let output = usage.output_tokens.unwrap_or(0);
    let (reasoning, reasoning_price) = match p.reasoning {
        Some(price) => (usage.reasoning_tokens.unwrap_or(0).min(output), price),
        None => (0, p.output),
    };
    let micro = uncached as f64 * p.input
        + read as f64 * p.cache_read.unwrap_or(p.input)
        + write as f64 * p.cache_write.unwrap_or(p.input)
        + (output - reasoning) as f64 * p.output
        + reasoning as f64 * reasoning_price;
    // Rounded to 1e-10 USD so sums print cleanly and re-pricing compares exactly.
    Some((micro / 1e6 * 1e10).round() / 1e10)
}

/// Sets a span's computed cost from its model and usage, unless the emitter provided one.
/// Clears a computed cost the table can no longer price.
pub fn price_span(span: &mut Span, table: &PriceTable) {
    if span.cost_source == Some(CostSource::Provided) {
        return;
    }
    span.cost_usd = span
        .model
        .as_deref()
        .and_then(|m| cost(&span.usage, m, table));
    span.cost_source = span.cost_usd.map(|_| CostSource::Computed);
}

/// Re-prices a stored span's digest (one whose cost was computed, or never set) with `table`;
/// whether its cost changed.
pub fn reprice_digest(digest: &mut crate::SpanDigest, table: &PriceTable) -> bool {
    let cost = digest
        .model
        .as_deref()
        .and_then(|m| cost(&digest.usage, m, table));
    let changed = cost != digest.cost_usd;
    digest.cost_usd = cost;
    changed
}

#[cfg(test)]
mod tests;
