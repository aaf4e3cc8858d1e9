//! Opaque page cursors: the sort key of the last item of a page.

use base64::Engine;

use crate::order::{RunOrder, RunSort};
use crate::StoreError;

/// Where a page ended: items strictly after this (time, id) in the listing's order come next.
/// A run listing in another order than newest first also keeps the order and the last run's
/// value in it (`sorted`), so a cursor cannot continue a listing in another order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    pub time_unix_nano: u64,
    pub id: String,
    pub sorted: Option<(RunOrder, i64)>,
}

impl Cursor {
    /// `time:id`, or `sort-direction:value:time:id` for a listing in another order.
    pub fn encode(&self) -> String {
        let plain = format!("{}:{}", self.time_unix_nano, self.id);
        let text = match self.sorted {
            None => plain,
            Some((order, value)) => {
                let dir = if order.ascending { "asc" } else { "desc" };
                format!("{}-{dir}:{value}:{plain}", order.by.name())
            }
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(s: &str) -> Result<Cursor, StoreError> {
        let bad = || {
            StoreError::Invalid(format!(
                "invalid cursor {s:?}: pass back the next_cursor of a previous page"
            ))
        };
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let parts: Vec<&str> = raw.split(':').collect();
        let (sorted, t, id) = match parts[..] {
            [t, id] => (None, t, id),
            [order, value, t, id] => {
                let (by, dir) = order.rsplit_once('-').ok_or_else(bad)?;
                let order = RunOrder {
                    by: RunSort::parse(by).ok_or_else(bad)?,
                    ascending: match dir {
                        "asc" => true,
                        "desc" => false,
                        _ => return Err(bad()),
                    },
                };
                let value: i64 = value.parse().map_err(|_| bad())?;
                (Some((order, value)), t, id)
            }
            _ => return Err(bad()),
        };
        Ok(Cursor {
            time_unix_nano: t.parse().map_err(|_| bad())?,
            id: id.to_string(),
            sorted,
        })
    }

    /// The cursor's order: newest first unless it says otherwise.
    pub fn order(&self) -> RunOrder {
        self.sorted.map(|(o, _)| o).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let c = Cursor {
            time_unix_nano: 42,
            id: "abc".into(),
            sorted: None,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for value in [0, -1_000_000_000, i64::MAX] {
            let sorted = Cursor {
                sorted: Some((
                    RunOrder {
                        by: RunSort::Cost,
                        ascending: true,
                    },
                    value,
                )),
                ..c.clone()
            };
            assert_eq!(Cursor::decode(&sorted.encode()).unwrap(), sorted);
        }
        assert!(Cursor::decode("!!").is_err());
        assert!(Cursor::decode("Zm9v").is_err());
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        for garbage in [
            "price-asc:1:2:ab",
            "cost-up:1:2:ab",
            "cost-asc:0.5:2:ab",
            "a:b:c",
        ] {
            assert!(Cursor::decode(&encode(garbage)).is_err(), "{garbage}");
        }
    }
}
