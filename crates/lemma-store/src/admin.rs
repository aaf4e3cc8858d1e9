//! Rules for projects and keys that every store applies the same way.

use crate::{Result, StoreError};

/// A project name as stored (trimmed), or why it cannot be one.
pub fn check_project_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(|c| c.is_control()) {
        return Err(StoreError::Invalid(
            "a project name is 1 to 100 printable characters".into(),
        ));
    }
    Ok(name)
}

/// Whether a key's secret may be used as given.
pub fn check_key_secret(secret: &str) -> Result<()> {
    if secret.len() < 8 || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(StoreError::Invalid(
            "an API key is at least 8 characters with no spaces".into(),
        ));
    }
    Ok(())
}

/// Whether a key from another store may be imported as it is: a public key, a SHA-256 and a
/// hint, none of them blank.
pub fn check_imported_key(key: &crate::StoredKey) -> Result<()> {
    let printable =
        |s: &str| !s.trim().is_empty() && s.len() <= 200 && !s.chars().any(|c| c.is_control());
    if !printable(&key.public_key) || !printable(&key.hint) || key.secret_hash.len() != 32 {
        return Err(StoreError::Invalid(format!(
            "key {:?} cannot be imported: it needs a public key, a hint and a 32-byte secret hash",
            key.public_key
        )));
    }
    Ok(())
}

/// Redaction rules as a store keeps them (JSON), once they are checked.
pub(crate) fn encode_redaction(rules: &lemma_core::redact::RedactionRules) -> Result<String> {
    rules.validate().map_err(StoreError::Invalid)?;
    serde_json::to_string(rules).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Stored redaction rules. Rules that cannot be read fail the read rather than redact nothing.
pub(crate) fn decode_redaction(json: &str) -> Result<lemma_core::redact::RedactionRules> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Backend(format!("a project's stored redaction rules: {e}")))
}

/// Signal thresholds as stored, checked first.
pub(crate) fn encode_signal_settings(
    settings: &lemma_core::signals::SignalSettings,
) -> Result<String> {
    settings.validate().map_err(StoreError::Invalid)?;
    serde_json::to_string(settings).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Stored signal thresholds, or the defaults when none are stored. Thresholds that cannot be
/// read (written by a newer version) give the defaults with a warning: signals keep working.
pub(crate) fn decode_signal_settings(
    json: Option<&str>,
) -> Result<lemma_core::signals::SignalSettings> {
    Ok(json
        .and_then(|j| match serde_json::from_str(j) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "a project's stored signal thresholds could not be read; using the defaults");
                None
            }
        })
        .unwrap_or_default())
}

/// Alert rules and channels as stored, checked first (their queries parse).
pub(crate) fn encode_alert_config(config: &lemma_core::alerts::AlertConfig) -> Result<String> {
    config
        .validate(|q| {
            lemma_core::query::parse(q, 0)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .map_err(StoreError::Invalid)?;
    serde_json::to_string(config).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Stored alert rules and channels. A config that cannot be read fails the read: alerts
/// must not stop silently.
pub(crate) fn decode_alert_config(json: &str) -> Result<lemma_core::alerts::AlertConfig> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Backend(format!("a project's stored alert rules: {e}")))
}

/// The `Conflict` of a change made over an older version.
pub(crate) fn alert_conflict(stored: u64, expected: u64) -> StoreError {
    StoreError::Conflict(format!(
        "the alert rules changed meanwhile (version {stored}, not {expected}): read them again and redo the change"
    ))
}

/// A retention a store accepts: at least a day, at most about 270 years.
pub(crate) fn check_retention(days: Option<u32>) -> Result<Option<u32>> {
    match days {
        Some(0) => Err(StoreError::Invalid(
            "retention must be at least 1 day (or none, to keep runs forever)".into(),
        )),
        Some(d) if d > 100_000 => Err(StoreError::Invalid(format!(
            "retention must be at most 100000 days, not {d}"
        ))),
        d => Ok(d),
    }
}
