//! A run's counted tokens and cost, by model and provider, kept as exact sums that a batch
//! adjusts by what it changes: a call that starts or stops counting adds or takes away its
//! contribution.
//!
//! Sums are integers so that adding and taking away in any order gives the same result: tokens
//! in `i128` (no span carries more than `u64`, so no sum a run can reach overflows), costs in
//! fixed point at 10⁻¹⁵ USD. Floating-point sums would depend on the order calls arrived in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ModelUsage, UNKNOWN_MODEL};
use crate::model::Usage;

/// Fixed-point units per USD.
const COST_UNITS: f64 = 1e15;
/// The largest cost one span contributes, in USD: far above any real call, and small enough
/// that no run's sum leaves `i128`.
const MAX_SPAN_COST: f64 = 1e18;

/// What one call adds to its model's sums.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Contribution {
    pub calls: i64,
    pub usage: [i128; 6],
    pub cost: i128,
    /// Calls whose cost counts (a model's cost is absent when none does).
    pub costed: i64,
}

impl Contribution {
    /// A call counted for its usage, its cost, or both (a call counts once in `calls`).
    pub fn of(usage: Option<&Usage>, cost_usd: Option<f64>) -> Contribution {
        let mut c = Contribution::default();
        if usage.is_none() && cost_usd.is_none() {
            return c;
        }
        c.calls = 1;
        if let Some(u) = usage {
            c.usage = [
                u.input_tokens,
                u.output_tokens,
                u.total(),
                u.cache_read_tokens,
                u.cache_write_tokens,
                u.reasoning_tokens,
            ]
            .map(|v| i128::from(v.unwrap_or(0)));
        }
        if let Some(cost) = cost_usd {
            c.cost = cost_units(cost);
            c.costed = 1;
        }
        c
    }

    fn add(&mut self, o: &Contribution, sign: i8) {
        let (s64, s128) = (i64::from(sign), i128::from(sign));
        self.calls += s64 * o.calls;
        for (a, b) in self.usage.iter_mut().zip(o.usage) {
            *a += s128 * b;
        }
        self.cost += s128 * o.cost;
        self.costed += s64 * o.costed;
    }

    fn is_empty(&self) -> bool {
        *self == Contribution::default()
    }
}

fn cost_units(usd: f64) -> i128 {
    if !usd.is_finite() {
        return 0;
    }
    (usd.clamp(-MAX_SPAN_COST, MAX_SPAN_COST) * COST_UNITS).round() as i128
}

/// Sums by (model, provider); a model's entry goes when its last counted call does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tally {
    #[serde(with = "entries")]
    by_model: BTreeMap<(String, Option<String>), Contribution>,
}

impl Tally {
    /// Adds (`sign` 1) or takes away (`sign` -1) a call's contribution under its model.
    pub fn apply(
        &mut self,
        model: Option<&str>,
        provider: Option<&str>,
        c: &Contribution,
        sign: i8,
    ) {
        if c.is_empty() {
            return;
        }
        let key = (
            model.unwrap_or(UNKNOWN_MODEL).to_string(),
            provider.map(str::to_string),
        );
        let entry = self.by_model.entry(key.clone()).or_default();
        entry.add(c, sign);
        if entry.is_empty() {
            self.by_model.remove(&key);
        }
    }

    /// The run's totals and its per-model split, largest first.
    pub fn finish(&self) -> (Usage, Option<f64>, Vec<ModelUsage>) {
        let mut total = Contribution::default();
        let mut by_model: Vec<ModelUsage> = self
            .by_model
            .iter()
            .map(|((model, provider), c)| {
                total.add(c, 1);
                let u = tokens(c);
                ModelUsage {
                    model: model.clone(),
                    provider: provider.clone(),
                    calls: c.calls.max(0) as u64,
                    input_tokens: u[0],
                    output_tokens: u[1],
                    total_tokens: u[2],
                    cache_read_tokens: u[3],
                    cache_write_tokens: u[4],
                    reasoning_tokens: u[5],
                    cost_usd: cost(c),
                }
            })
            .collect();
        // Equal token counts stay in (model, provider) order: the sort is stable.
        by_model.sort_by_key(|m| std::cmp::Reverse(m.total_tokens));
        let u = tokens(&total);
        let usage = Usage {
            input_tokens: Some(u[0]),
            output_tokens: Some(u[1]),
            total_tokens: Some(u[2]),
            cache_read_tokens: Some(u[3]),
            cache_write_tokens: Some(u[4]),
            reasoning_tokens: Some(u[5]),
        };
        (usage, cost(&total), by_model)
    }
}

/// Token sums as the API reports them: saturating at `u64::MAX`.
fn tokens(c: &Contribution) -> [u64; 6] {
    c.usage.map(|v| u64::try_from(v.max(0)).unwrap_or(u64::MAX))
}

fn cost(c: &Contribution) -> Option<f64> {
    (c.costed > 0).then(|| c.cost as f64 / COST_UNITS)
}

/// The map as a list in its stored form: JSON objects only take string keys.
mod entries {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Entry {
        model: String,
        provider: Option<String>,
        calls: i64,
        /// Decimal strings: JSON numbers do not hold every `i128`.
        usage: [String; 6],
        cost: String,
        costed: i64,
    }

    type Map = BTreeMap<(String, Option<String>), Contribution>;

    pub fn serialize<S: Serializer>(map: &Map, s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<Entry> = map
            .iter()
            .map(|((model, provider), c)| Entry {
                model: model.clone(),
                provider: provider.clone(),
                calls: c.calls,
                usage: c.usage.map(|v| v.to_string()),
                cost: c.cost.to_string(),
                costed: c.costed,
            })
            .collect();
        list.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        let list = Vec::<Entry>::deserialize(d)?;
        let num = |v: &str| v.parse::<i128>().map_err(serde::de::Error::custom);
        let mut map = Map::new();
        for e in list {
            let mut usage = [0i128; 6];
            for (slot, v) in usage.iter_mut().zip(&e.usage) {
                *slot = num(v)?;
            }
            let c = Contribution {
                calls: e.calls,
                usage,
                cost: num(&e.cost)?,
                costed: e.costed,
            };
            map.insert((e.model, e.provider), c);
        }
        Ok(map)
    }
}
