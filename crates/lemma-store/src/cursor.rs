//! Opaque page cursors: the sort key of the last item of a page.

use base64::Engine;

use crate::StoreError;

/// Where a page ended: items strictly after this (time, id) in the listing's order come next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub time_unix_nano: u64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{}:{}", self.time_unix_nano, self.id))
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
        let (t, id) = raw.split_once(':').ok_or_else(bad)?;
        Ok(Cursor {
            time_unix_nano: t.parse().map_err(|_| bad())?,
            id: id.to_string(),
        })
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
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("!!").is_err());
        assert!(Cursor::decode("Zm9v").is_err());
    }
}
