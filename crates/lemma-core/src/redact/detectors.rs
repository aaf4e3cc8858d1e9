//! The built-in detectors: what each finds, as regular expressions plus the checks a regular
//! expression cannot make (a card number's checksum, a phone number's digit count).

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};

/// A built-in detector a project can turn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Email addresses.
    Email,
    /// Payment card numbers (13 to 19 digits, optionally grouped by spaces or dashes, that pass
    /// the Luhn checksum and start like a card network's numbers).
    Card,
    /// API keys and tokens: OpenAI, Anthropic and Langfuse (`sk-…`), Lemma (`lm_…`), AWS access
    /// key ids, GitHub, Slack, Google and Stripe keys, JSON Web Tokens, bearer tokens, private
    /// key blocks, and values written as `password=…`, `api_key: …`, `token=…` or `secret=…`.
    Secret,
    /// Phone numbers: international (`+` and 8 to 15 digits) and North American
    /// (`(555) 123-4567`, `555-123-4567`).
    Phone,
}

impl Detector {
    pub const ALL: [Detector; 4] = [
        Detector::Secret,
        Detector::Email,
        Detector::Card,
        Detector::Phone,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Card => "card",
            Detector::Secret => "secret",
            Detector::Phone => "phone",
        }
    }

    /// What the detector finds, for people choosing detectors.
    pub fn description(self) -> &'static str {
        match self {
            Detector::Email => "Email addresses.",
            Detector::Card => {
                "Payment card numbers: 13 to 19 digits, grouped or not, that pass the Luhn check."
            }
            Detector::Secret => {
                "API keys and tokens (OpenAI, Anthropic, Langfuse, Lemma, AWS, GitHub, Slack, \
                 Google, Stripe), JSON Web Tokens, bearer tokens, private keys, and the values \
                 of password=, api_key:, token= and secret=."
            }
            Detector::Phone => {
                "Phone numbers: international (+ and 8 to 15 digits) and North American."
            }
        }
    }

    /// The expressions this detector applies, in order.
    pub(super) fn matchers(self) -> &'static [Matcher] {
        match self {
            Detector::Email => &*EMAIL,
            Detector::Card => &*CARD,
            Detector::Secret => &*SECRET,
            Detector::Phone => &*PHONE,
        }
    }
}

/// One expression of a detector. A match is replaced unless `accept` refuses it; the text of
/// capture group `keep`, when set, stays (the `password=` of `password=hunter2`).
pub(super) struct Matcher {
    pub regex: Regex,
    accept: fn(&str) -> bool,
    keep: Option<usize>,
}

impl Matcher {
    fn new(pattern: &str) -> Matcher {
        Matcher::custom(Regex::new(pattern).expect("built-in pattern"))
    }

    /// A project's own expression: every match is replaced whole.
    pub(super) fn custom(regex: Regex) -> Matcher {
        Matcher {
            regex,
            accept: |_| true,
            keep: None,
        }
    }

    fn accept(mut self, accept: fn(&str) -> bool) -> Matcher {
        self.accept = accept;
        self
    }

    fn keep(mut self, group: usize) -> Matcher {
        self.keep = Some(group);
        self
    }

    /// The replacement of one match, or the match itself when it is not one after all.
    pub(super) fn replace(&self, caps: &Captures, placeholder: &str, hits: &mut u64) -> String {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        if !(self.accept)(whole) {
            return whole.to_string();
        }
        *hits += 1;
        match self.keep.and_then(|g| caps.get(g)) {
            Some(kept) => format!("{}{placeholder}", kept.as_str()),
            None => placeholder.to_string(),
        }
    }
}

static EMAIL: LazyLock<[Matcher; 1]> = LazyLock::new(|| {
    [Matcher::new(
        r"(?i)\b[a-z0-9._%+-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}\b",
    )]
});

static CARD: LazyLock<[Matcher; 1]> =
    LazyLock::new(|| [Matcher::new(r"\b[3-6]\d(?:[ -]?\d){11,17}\b").accept(is_card_number)]);

static PHONE: LazyLock<[Matcher; 2]> = LazyLock::new(|| {
    [
        Matcher::new(r"\+\d[\d .()-]{6,20}\d").accept(is_international_phone),
        Matcher::new(r"(?:\(\d{3}\)\s?|\b\d{3}[.-])\d{3}[.-]\d{4}\b"),
    ]
});

static SECRET: LazyLock<[Matcher; 12]> = LazyLock::new(|| {
    [
        Matcher::new(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        ),
        Matcher::new(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        Matcher::new(r"\bsk-[A-Za-z0-9_-]{20,}"),
        Matcher::new(r"\blm_[A-Za-z0-9]{32,}"),
        Matcher::new(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        Matcher::new(r"\bAKIA[0-9A-Z]{16}\b"),
        Matcher::new(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
        Matcher::new(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        Matcher::new(r"\bAIza[0-9A-Za-z_-]{35}"),
        Matcher::new(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/-]{16,}=*").keep(1),
        Matcher::new(
            r#"(?i)(\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd|pwd)["']?\s*[:=]\s*["']?)[^\s"',;&]{6,}"#,
        )
        .keep(1),
        Matcher::new(r"(?i)(\b(?:x-api-key|api-key|authorization):\s*)[^\s,;]{16,}").keep(1),
    ]
});

/// 13 to 19 digits passing the Luhn checksum.
fn is_card_number(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (0, _) => d,
            (_, doubled) if doubled > 9 => doubled - 9,
            (_, doubled) => doubled,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// 8 to 15 digits (E.164 allows at most 15).
fn is_international_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (8..=15).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(detector: Detector, text: &str) -> bool {
        detector.matchers().iter().any(|m| {
            m.regex
                .find_iter(text)
                .any(|found| (m.accept)(found.as_str()))
        })
    }

    #[test]
    fn emails() {
        for text in [
            "write to ada@example.com today",
            "A.Lovelace+lemma@mail.example.co.uk",
            "\"user\":\"bob_99@sub-domain.io\"",
        ] {
            assert!(finds(Detector::Email, text), "{text}");
        }
        for text in ["@example.com", "ada@", "version 1.2@3", "user@localhost"] {
            assert!(!finds(Detector::Email, text), "{text}");
        }
    }

    #[test]
    fn cards_pass_the_checksum() {
        for text in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555555555554444",
            "378282246310005",
            "card: 6011111111111117.",
        ] {
            assert!(finds(Detector::Card, text), "{text}");
        }
        for text in [
            "4111 1111 1111 1112", // checksum fails
            "1733500000000000000", // a timestamp in nanoseconds
            "order 41111111",      // too short
        ] {
            assert!(!finds(Detector::Card, text), "{text}");
        }
    }

    #[test]
    fn phones() {
        for text in [
            "+44 20 7946 0958",
            "call +1 (555) 123-4567",
            "+4915112345678",
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
        ] {
            assert!(finds(Detector::Phone, text), "{text}");
        }
        for text in ["2026-12-06", "version 1.2.3", "+1 2", "id 5551234567890123"] {
            assert!(!finds(Detector::Phone, text), "{text}");
        }
    }

    #[test]
    fn secrets() {
        for text in [
            "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx",
            "lm_abcdefghijklmnopqrstuvwxyz0123456789ABCD",
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",
            "xoxb-1234567890-abcdefghij",
            "Authorization: Bearer abcdefghijklmnop.qrstuvwx",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "password=hunter2!!",
            "{\"api_key\": \"abc123def456\"}",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        ] {
            assert!(finds(Detector::Secret, text), "{text}");
        }
        for text in [
            "the password is required",
            "token count 42",
            "sk-short",
            "desk-organizer",
        ] {
            assert!(!finds(Detector::Secret, text), "{text}");
        }
    }

    #[test]
    fn luhn() {
        assert!(is_card_number("4111111111111111"));
        assert!(!is_card_number("4111111111111121"));
        assert!(!is_card_number("411111111111"));
    }
}
