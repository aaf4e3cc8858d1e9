use super::*;

fn usage(input: u64, output: u64) -> Usage {
    Usage {
        input_tokens: Some(input),
        output_tokens: Some(output),
        ..Usage::default()
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

fn price(input: f64, output: f64) -> Price {
    Price {
        input,
        output,
        cache_read: None,
        cache_write: None,
        reasoning: None,
    }
}

#[test]
fn builtin_table_parses_and_states_its_date() {
    let table = PriceTable::builtin();
    assert!(table.entries().len() > 40);
    assert!(table.entries().iter().all(|e| e.price.validate().is_ok()));
    let date = PriceTable::builtin_as_of();
    assert_eq!(date.len(), 10, "{date}");
    for model in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "o1",
        "o3",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "claude-3-5-sonnet",
        "claude-3-7-sonnet",
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "gemini-1.5-pro",
        "gemini-2.0-flash",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "mistral-large",
        "mistral-medium",
        "mistral-small",
        "codestral",
    ] {
        let e = table.lookup(model).unwrap_or_else(|| panic!("{model}"));
        assert_eq!(e.source, PriceSource::Builtin);
    }
}

#[test]
fn matching_exact_snapshots_prefixes_and_case() {
    let t = PriceTable::builtin();
    let model = |m: &str| t.lookup(m).map(|e| e.model.as_str());
    assert_eq!(model("gpt-4o-mini"), Some("gpt-4o-mini"));
    assert_eq!(model("gpt-4o-mini-2024-07-18"), Some("gpt-4o-mini"));
    assert_eq!(model("GPT-4o-Mini"), Some("gpt-4o-mini"));
    assert_eq!(model("openai/gpt-4o"), Some("gpt-4o"));
    assert_eq!(model("models/gemini-2.5-pro"), Some("gemini-2.5-pro"));
    assert_eq!(
        model("gemini-2.5-flash-preview-05-20"),
        Some("gemini-2.5-flash")
    );
    assert_eq!(model("gemini-1.5-pro-002"), Some("gemini-1.5-pro"));
    assert_eq!(
        model("claude-sonnet-4-5-20250929"),
        Some("claude-sonnet-4-5")
    );
    assert_eq!(model("claude-3-7-sonnet-latest"), Some("claude-3-7-sonnet"));
    assert_eq!(
        model("us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
        Some("claude-3-5-sonnet")
    );
    assert_eq!(
        model("claude-3-5-sonnet-v2@20241022"),
        Some("claude-3-5-sonnet")
    );
    assert_eq!(
        model("openrouter/anthropic/claude-3.5-sonnet"),
        Some("claude-3-5-sonnet")
    );
    assert_eq!(model("mistral-large-2411"), Some("mistral-large"));
    assert_eq!(model("o3-mini-2025-01-31"), Some("o3-mini"));
    // Longest match: the first gpt-4o snapshot has its own price.
    assert_eq!(model("gpt-4o-2024-05-13"), Some("gpt-4o-2024-05-13"));
    assert_eq!(model("gpt-4o-2024-08-06"), Some("gpt-4o"));
    // A different model is not a snapshot of a shorter name.
    assert_eq!(model("claude-opus-4-5-20251101"), Some("claude-opus-4-5"));
    assert_eq!(model("claude-opus-4-20250514"), Some("claude-opus-4"));
    assert_eq!(model("gpt-4o-search-preview"), None);
    assert_eq!(model("gpt-4.5-preview"), None);
    assert_eq!(model("gpt-5.9"), None);
    assert_eq!(model("ft:gpt-4o-mini-2024-07-18:acme::x1"), None);
    assert_eq!(model("llama-3.1-8b"), None);
}

#[test]
fn plain_call_is_input_plus_output() {
    let c = cost(&usage(1_000, 500), "gpt-4o", PriceTable::builtin());
    // 1000 × $2.50/M + 500 × $10/M
    assert!(close(c, 0.0075), "{c:?}");
}

#[test]
fn cache_heavy_anthropic_call() {
    // 10k input of which 8k read from the cache and 1.5k written to it.
    let u = Usage {
        cache_read_tokens: Some(8_000),
        cache_write_tokens: Some(1_500),
        ..usage(10_000, 400)
    };
    let c = cost(&u, "claude-sonnet-4-5-20250929", PriceTable::builtin());
    // 500 × 3 + 8000 × 0.30 + 1500 × 3.75 + 400 × 15, per million
    let want = (500.0 * 3.0 + 8_000.0 * 0.3 + 1_500.0 * 3.75 + 400.0 * 15.0) / 1e6;
    assert!(close(c, want), "{c:?} != {want}");
}

#[test]
fn cache_without_its_own_price_pays_input() {
    let mut t = PriceTable::default();
    t.insert("m", price(2.0, 4.0), PriceSource::Override);
    let u = Usage {
        cache_read_tokens: Some(600),
        cache_write_tokens: Some(200),
        ..usage(1_000, 100)
    };
    assert!(close(
        cost(&u, "m", &t),
        (1_000.0 * 2.0 + 100.0 * 4.0) / 1e6
    ));
}

#[test]
fn reasoning_is_output_unless_priced_apart() {
    let u = Usage {
        reasoning_tokens: Some(3_000),
        ..usage(1_000, 3_500)
    };
    // o3: reasoning is part of output and billed as output.
    let c = cost(&u, "o3-2025-04-16", PriceTable::builtin());
    assert!(close(c, (1_000.0 * 2.0 + 3_500.0 * 8.0) / 1e6), "{c:?}");
    let mut t = PriceTable::default();
    t.insert(
        "thinker",
        Price {
            reasoning: Some(1.0),
            ..price(1.0, 10.0)
        },
        PriceSource::Override,
    );
    let c = cost(&u, "thinker", &t);
    assert!(close(c, (1_000.0 + 500.0 * 10.0 + 3_000.0) / 1e6), "{c:?}");
}

#[test]
fn unknown_model_or_no_counts_cost_nothing() {
    let t = PriceTable::builtin();
    assert_eq!(cost(&usage(10, 10), "my-local-llama", t), None);
    assert_eq!(cost(&Usage::default(), "gpt-4o", t), None);
    let only_total = Usage {
        total_tokens: Some(50),
        ..Usage::default()
    };
    assert_eq!(cost(&only_total, "gpt-4o", t), None);
    // Embeddings report input only.
    let input_only = Usage {
        input_tokens: Some(1_000_000),
        ..Usage::default()
    };
    assert!(close(cost(&input_only, "text-embedding-3-small", t), 0.02));
}

#[test]
fn override_beats_builtin_and_extends_it() {
    let t = PriceTable::with_overrides([("gpt-4o", price(1.0, 1.0)), ("acme-7b", price(0.5, 0.5))]);
    let e = t.lookup("gpt-4o-2024-08-06").unwrap();
    assert_eq!((e.source, e.price.input), (PriceSource::Override, 1.0));
    assert!(close(cost(&usage(1_000_000, 0), "gpt-4o", &t), 1.0));
    assert_eq!(
        t.lookup("acme-7b-latest").unwrap().source,
        PriceSource::Override
    );
    // Other built-in prices stay.
    assert_eq!(
        t.lookup("gpt-4o-mini").unwrap().source,
        PriceSource::Builtin
    );
    assert_eq!(PriceTable::builtin().lookup("acme-7b"), None);
}

#[test]
fn price_span_keeps_provided_costs() {
    let t = PriceTable::builtin();
    let mut span = Span {
        model: Some("gpt-4o-mini".into()),
        usage: usage(1_000_000, 1_000_000),
        ..Span::default()
    };
    price_span(&mut span, t);
    assert!(close(span.cost_usd, 0.75));
    assert_eq!(span.cost_source, Some(CostSource::Computed));

    span.cost_usd = Some(9.0);
    span.cost_source = Some(CostSource::Provided);
    price_span(&mut span, t);
    assert_eq!(span.cost_usd, Some(9.0));

    let mut unknown = Span {
        model: Some("mystery".into()),
        usage: usage(1, 1),
        cost_usd: Some(1.0),
        cost_source: Some(CostSource::Computed),
        ..Span::default()
    };
    price_span(&mut unknown, t);
    assert_eq!((unknown.cost_usd, unknown.cost_source), (None, None));
}

#[test]
fn validation_and_patterns() {
    assert!(price(0.0, 1.5).validate().is_ok());
    let err = price(-1.0, 1.0).validate().unwrap_err();
    assert!(
        err.contains("input") && err.contains("non-negative"),
        "{err}"
    );
    let err = Price {
        cache_read: Some(f64::INFINITY),
        ..price(1.0, 1.0)
    }
    .validate()
    .unwrap_err();
    assert!(err.contains("cache_read"), "{err}");
    assert!(price(1.0, f64::NAN).validate().is_err());

    assert_eq!(normalize_pattern(" OpenAI/GPT-4o ").unwrap(), "gpt-4o");
    assert_eq!(normalize_pattern("gpt-4.1").unwrap(), "gpt-4.1");
    assert!(normalize_pattern("  ").is_err());
    assert!(normalize_pattern("a b").is_err());
    assert!(normalize_pattern(&"x".repeat(201)).is_err());
}

#[test]
fn a_snapshot_belongs_to_its_model_and_nothing_else_does() {
    for (model, family) in [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4-0613", "gpt-4"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-opus-4-5", "claude-opus-4-5"),
        ("gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("o1-2024-12-17", "o1"),
        ("gpt-4o-LATEST", "gpt-4o"),
        ("llama-3-2-90b", "llama-3-2-90b"),
        ("2024-08-06", "2024-08-06"),
        ("", ""),
    ] {
        assert_eq!(model_family(model), family, "{model}");
    }
    assert!(is_version_of("gpt-4o", "gpt-4o"));
    assert!(is_version_of("gpt-4o-2024-08-06", "gpt-4o"));
    assert!(!is_version_of("gpt-4o-mini", "gpt-4o"));
    assert!(!is_version_of("gpt-4o-mini-2024-07-18", "gpt-4o"));
    assert!(!is_version_of("gpt-4o2024", "gpt-4o"));
    assert!(!is_version_of("gpt-4", "gpt-4o"));
    assert!(is_version_of(
        "anthropic.claude-3@20240620",
        "anthropic.claude-3"
    ));
}

#[test]
fn the_version_pattern_escapes_the_model() {
    assert_eq!(
        version_pattern("gpt-4.1"),
        "^gpt-4\\.1(?:[-@:](?i:latest|preview|exp|v[0-9]+|[0-9]{3,})\
         (?:[-@:](?i:latest|preview|exp|v[0-9]+|[0-9]+))*)?$"
    );
    assert!(version_pattern("a(b)*").starts_with("^a\\(b\\)\\*(?:"));
}
