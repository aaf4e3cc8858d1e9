use serde_json::json;

use super::*;
use crate::{SpanEvent, StatusCode};

fn redactor(rules: serde_json::Value) -> Redactor {
    let rules: RedactionRules = serde_json::from_value(rules).unwrap();
    Redactor::new(&rules).unwrap().expect("rules are not empty")
}

fn counts(tally: &Tally) -> Vec<(String, u64)> {
    tally.iter().map(|(r, n)| (r.to_string(), n)).collect()
}

#[test]
fn empty_rules_compile_to_nothing() {
    assert!(Redactor::new(&RedactionRules::default()).unwrap().is_none());
}

#[test]
fn a_span_is_redacted_everywhere_it_holds_text() {
    let r = redactor(json!({
        "detectors": ["email", "secret"],
        "patterns": [{"name": "order", "regex": "ORD-\\d{6}"}],
        "drop_keys": ["http.request.header.cookie", "credentials.*"],
    }));
    let messages = json!([{"role": "user", "content": "I am ada@example.com, order ORD-123456"}]);
    let mut span = Span {
        name: "mail ada@example.com".into(),
        status: StatusCode::Error,
        status_message: Some("401 for key sk-proj-abcdefghijklmnopqrstuvwxyz".into()),
        attributes: Map::from_iter([
            ("input.value".to_string(), json!(messages.to_string())),
            ("user.id".to_string(), json!("ada@example.com")),
            ("http.request.header.cookie".to_string(), json!("session=1")),
            ("credentials.user".to_string(), json!("ada")),
            (
                "nested".to_string(),
                json!({"deep": ["bob@example.org", 7]}),
            ),
            ("tokens".to_string(), json!(12)),
        ]),
        events: vec![SpanEvent {
            name: "exception".into(),
            time_unix_nano: 1,
            attributes: Map::from_iter([(
                "exception.message".to_string(),
                json!("bad token=abcdefgh123"),
            )]),
            dropped_attributes_count: 0,
        }],
        resource: Map::from_iter([("owner".to_string(), json!("ops@example.com"))]),
        ..Span::default()
    };
    let mut tally = Tally::default();
    r.span(&mut span, &mut tally);

    assert_eq!(span.name, "mail [REDACTED:email]");
    assert_eq!(
        span.status_message.as_deref(),
        Some("401 for key [REDACTED:secret]")
    );
    let input: Value =
        serde_json::from_str(span.attributes["input.value"].as_str().unwrap()).unwrap();
    assert_eq!(
        input,
        json!([{"role": "user", "content": "I am [REDACTED:email], order [REDACTED:order]"}])
    );
    assert_eq!(span.attributes["user.id"], json!("[REDACTED:email]"));
    assert!(!span.attributes.contains_key("http.request.header.cookie"));
    assert!(!span.attributes.contains_key("credentials.user"));
    assert_eq!(
        span.attributes["nested"],
        json!({"deep": ["[REDACTED:email]", 7]})
    );
    assert_eq!(span.attributes["tokens"], json!(12));
    assert_eq!(
        span.events[0].attributes["exception.message"],
        json!("bad token=[REDACTED:secret]")
    );
    assert_eq!(span.resource["owner"], json!("[REDACTED:email]"));
    assert_eq!(
        counts(&tally),
        vec![
            ("drop_keys".into(), 2),
            ("email".into(), 5),
            ("order".into(), 1),
            ("secret".into(), 2),
        ]
    );
}

#[test]
fn json_strings_are_read_as_json() {
    let r = redactor(json!({"detectors": ["email"], "drop_keys": ["password"]}));
    let mut tally = Tally::default();
    // Escaped as JSON writes it: the raw text has no `@`.
    let text =
        r#"{"to":"ada\u0040example.com","password":"x","args":"{\"cc\":\"bob@example.org\"}"}"#;
    let out: Value = serde_json::from_str(&r.text(text, &mut tally).unwrap()).unwrap();
    assert_eq!(
        out,
        json!({"to": "[REDACTED:email]", "args": "{\"cc\":\"[REDACTED:email]\"}"})
    );
    assert_eq!(tally.total(), 3);
    // Text that only looks like JSON is matched as text.
    assert_eq!(
        r.text("[1, ada@example.com", &mut tally).as_deref(),
        Some("[1, [REDACTED:email]")
    );
    assert_eq!(r.text(r#"{"clean": true}"#, &mut tally), None);
}

#[test]
fn logs_and_metric_events() {
    let r = redactor(json!({"detectors": ["phone", "card"]}));
    let mut tally = Tally::default();
    let mut record = LogRecord {
        body: Some(json!({"content": "call +44 20 7946 0958"})),
        attributes: Map::from_iter([("card".to_string(), json!("4111 1111 1111 1111"))]),
        ..LogRecord::default()
    };
    r.log(&mut record, &mut tally);
    assert_eq!(
        record.body,
        Some(json!({"content": "call [REDACTED:phone]"}))
    );
    assert_eq!(record.attributes["card"], json!("[REDACTED:card]"));

    let mut event = MetricEvent {
        id: String::new(),
        run_id: "r".into(),
        span_id: None,
        name: "feedback".into(),
        value: MetricValue::Text("call me on 555-123-4567".into()),
        comment: Some("card 5555555555554444 declined".into()),
        source: None,
        time_unix_nano: 0,
    };
    r.metric(&mut event, &mut tally);
    assert_eq!(
        event.value,
        MetricValue::Text("call me on [REDACTED:phone]".into())
    );
    assert_eq!(
        event.comment.as_deref(),
        Some("card [REDACTED:card] declined")
    );
    assert_eq!(
        counts(&tally),
        vec![("card".into(), 2), ("phone".into(), 2)]
    );
}

#[test]
fn bad_rules_say_what_to_change() {
    let cases = [
        (
            json!({"patterns": [{"name": "x", "regex": "("}]}),
            "pattern \"x\"",
        ),
        (
            json!({"patterns": [{"name": "x", "regex": "a*"}]}),
            "matches empty text",
        ),
        (
            json!({"patterns": [{"name": "Bad Name", "regex": "a"}]}),
            "use 1 to 40",
        ),
        (
            json!({"patterns": [{"name": "email", "regex": "a"}]}),
            "built-in",
        ),
        (
            json!({"patterns": [{"name": "a", "regex": "a"}, {"name": "a", "regex": "b"}]}),
            "used twice",
        ),
        (json!({"drop_keys": ["*"]}), "drop_keys"),
        (
            json!({"patterns": [{"name": "big", "regex": "\\w{1000}\\w{1000}\\w{1000}"}]}),
            "big",
        ),
    ];
    for (rules, expected) in cases {
        let rules: RedactionRules = serde_json::from_value(rules).unwrap();
        let err = rules.validate().unwrap_err();
        assert!(err.contains(expected), "{err}");
    }
    assert!(serde_json::from_value::<RedactionRules>(json!({"detectors": ["ssn"]})).is_err());
}
