//! Where an exporter would send traces, how, and with which headers: from the flags, else the
//! OpenTelemetry variables read as the OTLP exporter specification says, else `LEMMA_URL` /
//! `LEMMA_API_KEY` as the rest of the CLI reads them. Pure: the environment comes in as a
//! function, so every case is a unit test.

use std::fmt;

use base64::Engine as _;

pub const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
pub const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
pub const LEMMA_URL: &str = "LEMMA_URL";
pub const LEMMA_API_KEY: &str = "LEMMA_API_KEY";

/// Lemma's default ports (README, "Start it").
pub const HTTP_PORT: u16 = 4318;
pub const GRPC_PORT: u16 = 4317;
/// The signal path exporters append to `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub const TRACES_PATH: &str = "/v1/traces";
const DEFAULT_HTTP_BASE: &str = "http://127.0.0.1:4318";
const DEFAULT_GRPC_ENDPOINT: &str = "http://127.0.0.1:4317";

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--url`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// Neither: the default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) | Source::Env(name) => f.write_str(name),
            Source::Default => f.write_str("the default"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    HttpJson,
    Grpc,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            "http/json" => Some(Protocol::HttpJson),
            "grpc" => Some(Protocol::Grpc),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        }
    }

    pub fn is_http(self) -> bool {
        self != Protocol::Grpc
    }
}

/// A credential, read as the server reads it (`lemma-server`'s `auth.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer(String),
    /// `x-api-key: <key>`.
    ApiKey(String),
    /// `Authorization: Basic base64(public_key:secret)`, as the Langfuse SDKs send.
    Basic { public_key: String, secret: String },
}

impl Auth {
    /// How it is sent, with the secret cut to its first characters.
    pub fn describe(&self) -> String {
        match self {
            Auth::Bearer(key) => format!("Authorization: Bearer {}", redact(key)),
            Auth::ApiKey(key) => format!("x-api-key: {}", redact(key)),
            Auth::Basic { public_key, secret } => format!(
                "Authorization: Basic (public key {public_key}, secret {})",
                redact(secret)
            ),
        }
    }
}

/// The first characters of a secret, enough to tell two keys apart.
pub fn redact(secret: &str) -> String {
    let shown: String = secret.chars().take(6).collect();
    if shown.chars().count() < secret.chars().count() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// What was given on the command line.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub url: Option<String>,
    pub key: Option<String>,
    pub protocol: Option<String>,
}

/// A setting that cannot work as written, and how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub detail: String,
    pub fix: String,
}

/// What an exporter configured like this would do.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL trace requests are POSTed to (for gRPC, the server's address).
    pub endpoint: String,
    pub endpoint_source: Source,
    /// How `endpoint` was made from its source, e.g. "+ /v1/traces".
    pub endpoint_derivation: Option<&'static str>,
    pub protocol: Protocol,
    pub protocol_source: Source,
    /// Every header an exporter would send, names in lower case, values decoded.
    pub headers: Vec<(String, String)>,
    pub headers_source: Option<Source>,
    pub auth: Option<Auth>,
    pub auth_source: Option<Source>,
    /// `LEMMA_URL`, which the CLI and the Lemma SDKs use as the server's base URL.
    pub lemma_url: Option<String>,
    /// Things worth knowing that are not errors.
    pub notes: Vec<String>,
    pub problems: Vec<Problem>,
}

/// Reads the flags, then the environment (`env` returns a variable's value, if set).
pub fn resolve(flags: &Flags, env: impl Fn(&str) -> Option<String>) -> Settings {
    // The specification treats an empty variable as unset.
    let var = |name: &'static str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (v, Source::Env(name)))
    };
    let mut problems = Vec::new();
    let mut notes = Vec::new();

    let (protocol, protocol_source) = match flags
        .protocol
        .clone()
        .map(|p| (p, Source::Flag("--protocol")))
        .or_else(|| var(TRACES_PROTOCOL))
        .or_else(|| var(PROTOCOL))
    {
        None => (Protocol::HttpProtobuf, Source::Default),
        Some((raw, source)) => match Protocol::parse(&raw) {
            Some(p) => (p, source),
            None => {
                problems.push(Problem {
                    detail: format!(
                        "{source}={raw:?} is not a protocol OTLP exporters know; exporters \
                         fail or fall back to their default"
                    ),
                    fix: format!(
                        "set {source} to http/protobuf (or http/json) for Lemma's HTTP port \
                         {HTTP_PORT}, or grpc for its gRPC port {GRPC_PORT}"
                    ),
                });
                (Protocol::HttpProtobuf, source)
            }
        },
    };

    let lemma_url = var(LEMMA_URL).map(|(v, _)| v);
    let flag_url = flags.url.clone().map(|u| (u, Source::Flag("--url")));
    let (endpoint, endpoint_source, endpoint_derivation) = if protocol.is_http() {
        if let Some((url, source)) = flag_url {
            if is_bare(&url) {
                (with_traces_path(&url), source, Some("+ /v1/traces"))
            } else {
                (url, source, None)
            }
        } else if let Some((url, source)) = var(TRACES_ENDPOINT) {
            (url, source, None)
        } else if let Some((url, source)) = var(ENDPOINT) {
            (with_traces_path(&url), source, Some("+ /v1/traces"))
        } else if let Some(url) = &lemma_url {
            (
                with_traces_path(url),
                Source::Env(LEMMA_URL),
                Some("+ /v1/traces"),
            )
        } else {
            (
                with_traces_path(DEFAULT_HTTP_BASE),
                Source::Default,
                Some("+ /v1/traces"),
            )
        }
    } else {
        // gRPC exporters take the address as is, whichever variable gives it.
        match flag_url
            .or_else(|| var(TRACES_ENDPOINT))
            .or_else(|| var(ENDPOINT))
        {
            Some((url, source)) => (url, source, None),
            None => (DEFAULT_GRPC_ENDPOINT.to_string(), Source::Default, None),
        }
    };
    if let Some(problem) = url_problem(&endpoint, endpoint_source) {
        problems.push(problem);
    }

    let (raw_headers, headers_source) = match var(TRACES_HEADERS).or_else(|| var(HEADERS)) {
        Some((raw, source)) => (raw, Some(source)),
        None => (String::new(), None),
    };
    let parsed = parse_headers(&raw_headers);
    let mut headers = parsed.headers;
    if let Some(source) = headers_source {
        for entry in parsed.malformed {
            problems.push(Problem {
                detail: format!("{source}: {entry:?} is not a key=value pair; exporters drop it"),
                fix: format!(
                    "write {source} as comma-separated key=value pairs with URL-encoded values, \
                     e.g. Authorization=Bearer%20<key>"
                ),
            });
        }
        if parsed.raw_space {
            notes.push(format!(
                "{source} has a value with a plain space: some exporters (Python's) drop such \
                 a header; write the space as %20 (Authorization=Bearer%20<key>)"
            ));
        }
    }

    let (auth, auth_source) = if let Some(key) = &flags.key {
        // The flag stands for the exporter's key: it replaces the headers' credentials.
        headers.retain(|(name, _)| name != "authorization" && name != "x-api-key");
        headers.push(("authorization".into(), format!("Bearer {key}")));
        (
            Some(Auth::Bearer(key.clone())),
            Some(Source::Flag("--api-key")),
        )
    } else {
        match auth_from_headers(&headers) {
            Ok(Some(auth)) => (Some(auth), headers_source),
            Err(problem) => {
                problems.push(problem);
                (None, None)
            }
            Ok(None) => match var(LEMMA_API_KEY) {
                Some((key, source)) => {
                    headers.push(("authorization".into(), format!("Bearer {key}")));
                    if !matches!(endpoint_source, Source::Env(LEMMA_URL) | Source::Default) {
                        notes.push(format!(
                            "the key comes from {LEMMA_API_KEY}, which Lemma's SDKs and CLI read \
                             but a plain OpenTelemetry exporter does not: give it one with \
                             {HEADERS}=Authorization=Bearer%20<key>"
                        ));
                    }
                    (Some(Auth::Bearer(key)), Some(source))
                }
                None => (None, None),
            },
        }
    };

    if let (Some(url), Source::Env(TRACES_ENDPOINT | ENDPOINT) | Source::Flag(_)) =
        (&lemma_url, endpoint_source)
    {
        if protocol.is_http() && with_traces_path(url) != endpoint {
            notes.push(format!(
                "{LEMMA_URL}={url} points elsewhere; OpenTelemetry exporters use {endpoint_source}, \
                 and so does this check"
            ));
        }
    }

    Settings {
        endpoint,
        endpoint_source,
        endpoint_derivation,
        protocol,
        protocol_source,
        headers,
        headers_source,
        auth,
        auth_source,
        lemma_url,
        notes,
        problems,
    }
}

/// A URL with no path (or only `/`): a server's base URL.
fn is_bare(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| u.path() == "/")
}

/// `base` with `/v1/traces` appended, as exporters do to `OTEL_EXPORTER_OTLP_ENDPOINT`: one
/// `/` between them, whether or not `base` ends with one.
pub fn with_traces_path(base: &str) -> String {
    format!("{}{TRACES_PATH}", base.trim_end_matches('/'))
}

/// Why `url` cannot be an exporter's endpoint, if it cannot.
fn url_problem(url: &str, source: Source) -> Option<Problem> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => None,
        // `localhost:4318` parses as the scheme `localhost`.
        _ => Some(Problem {
            detail: format!("{source}={url:?} is not an http:// or https:// URL"),
            fix: format!(
                "write the scheme too: {source}=http://{}",
                url.split("://").last().unwrap_or(url)
            ),
        }),
    }
}

/// Headers parsed from an `OTEL_EXPORTER_OTLP_HEADERS` value.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedHeaders {
    /// (name in lower case, value URL-decoded), in order.
    pub headers: Vec<(String, String)>,
    /// Entries that are not `key=value`.
    pub malformed: Vec<String>,
    /// A value held a plain (not URL-encoded) space.
    pub raw_space: bool,
}

/// Comma-separated `key=value` pairs, values URL-encoded (the W3C baggage format the OTLP
/// exporter specification names). Blank entries are skipped.
pub fn parse_headers(raw: &str) -> ParsedHeaders {
    let mut out = ParsedHeaders::default();
    for entry in raw.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        match entry.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                let value = value.trim();
                out.raw_space |= value.contains(' ');
                out.headers.push((
                    percent_decode(name.trim()).to_ascii_lowercase(),
                    percent_decode(value),
                ));
            }
            _ => out.malformed.push(entry.to_string()),
        }
    }
    out
}

/// `%XX` escapes decoded; anything else (a `+` too) kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The credential in `headers`, read as the server reads it: `x-api-key` first, then
/// `Authorization` (Bearer, or Basic with `public_key:secret`).
pub fn auth_from_headers(headers: &[(String, String)]) -> Result<Option<Auth>, Problem> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
    };
    if let Some(key) = get("x-api-key").filter(|k| !k.is_empty()) {
        return Ok(Some(Auth::ApiKey(key.to_string())));
    }
    let Some(value) = get("authorization") else {
        return Ok(None);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    let how = "Authorization=Bearer%20<key> (or x-api-key=<key>)";
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(Problem {
                detail: "the Authorization header says Bearer but has no key after it".into(),
                fix: format!("put the key after it: {how}"),
            });
        }
        return Ok(Some(Auth::Bearer(rest.to_string())));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        return match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((public_key, secret)) => Ok(Some(Auth::Basic {
                public_key: public_key.to_string(),
                secret: secret.to_string(),
            })),
            None => Err(Problem {
                detail: "the Authorization header's Basic credentials are not \
                         base64(public_key:secret)"
                    .into(),
                fix: format!(
                    "encode \"<public key>:<secret key>\" in base64 after \"Basic \", or send \
                     {how}"
                ),
            }),
        };
    }
    if !rest.is_empty() || scheme.is_empty() {
        return Err(Problem {
            detail: format!("the Authorization scheme {scheme:?} is not one Lemma accepts"),
            fix: format!("send {how}"),
        });
    }
    // A bare value: the key without its scheme.
    Err(Problem {
        detail: "the Authorization header has no scheme (\"Bearer \" is missing)".into(),
        fix: format!("send {how}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve_with(flags: Flags, vars: &[(&str, &str)]) -> Settings {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        resolve(&flags, |name| env.get(name).cloned())
    }

    fn url_flag(url: &str) -> Flags {
        Flags {
            url: Some(url.into()),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_set_is_the_local_http_port() {
        let s = resolve_with(Flags::default(), &[]);
        assert_eq!(s.endpoint, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(s.endpoint_source, Source::Default);
        assert_eq!(s.protocol, Protocol::HttpProtobuf);
        assert_eq!(s.auth, None);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
    }

    #[test]
    fn the_url_flag_takes_a_base_or_a_full_endpoint() {
        let base = resolve_with(url_flag("http://h:4318"), &[]);
        assert_eq!(base.endpoint, "http://h:4318/v1/traces");
        assert_eq!(base.endpoint_source, Source::Flag("--url"));
        let slash = resolve_with(url_flag("http://h:4318/"), &[]);
        assert_eq!(slash.endpoint, "http://h:4318/v1/traces");
        let full = resolve_with(url_flag("http://h:4318/v1/traces/v1/traces"), &[]);
        assert_eq!(full.endpoint, "http://h:4318/v1/traces/v1/traces");
        let prefix = resolve_with(url_flag("http://h/lemma"), &[]);
        assert_eq!(prefix.endpoint, "http://h/lemma");
        // The flag wins over every variable.
        let both = resolve_with(
            url_flag("http://flag:1"),
            &[(TRACES_ENDPOINT, "http://env:2/v1/traces")],
        );
        assert_eq!(both.endpoint, "http://flag:1/v1/traces");
    }

    #[test]
    fn traces_endpoint_is_used_as_is_and_wins() {
        let s = resolve_with(
            Flags::default(),
            &[
                (TRACES_ENDPOINT, "http://a:4318"),
                (ENDPOINT, "http://b:4318"),
                (LEMMA_URL, "http://c:4318"),
            ],
        );
        assert_eq!(s.endpoint, "http://a:4318");
        assert_eq!(s.endpoint_source, Source::Env(TRACES_ENDPOINT));
        assert_eq!(s.endpoint_derivation, None);
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("LEMMA_URL=http://c:4318")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn the_general_endpoint_gets_the_signal_path() {
        for (base, want) in [
            ("http://b:4318", "http://b:4318/v1/traces"),
            ("http://b:4318/", "http://b:4318/v1/traces"),
            (
                "http://b:4318/api/public/otel",
                "http://b:4318/api/public/otel/v1/traces",
            ),
            (
                "http://b:4318/v1/traces",
                "http://b:4318/v1/traces/v1/traces",
            ),
        ] {
            let s = resolve_with(Flags::default(), &[(ENDPOINT, base), (LEMMA_URL, "")]);
            assert_eq!(s.endpoint, want, "{base}");
            assert_eq!(s.endpoint_source, Source::Env(ENDPOINT));
            assert_eq!(s.endpoint_derivation, Some("+ /v1/traces"));
        }
    }

    #[test]
    fn lemma_url_is_a_base_and_empty_variables_are_unset() {
        let s = resolve_with(
            Flags::default(),
            &[
                (TRACES_ENDPOINT, " "),
                (ENDPOINT, ""),
                (LEMMA_URL, "http://c:9/"),
            ],
        );
        assert_eq!(s.endpoint, "http://c:9/v1/traces");
        assert_eq!(s.endpoint_source, Source::Env(LEMMA_URL));
    }

    #[test]
    fn grpc_takes_the_address_as_is() {
        let s = resolve_with(
            Flags::default(),
            &[(PROTOCOL, "grpc"), (ENDPOINT, "http://g:4317")],
        );
        assert_eq!(s.protocol, Protocol::Grpc);
        assert_eq!(s.protocol_source, Source::Env(PROTOCOL));
        assert_eq!(s.endpoint, "http://g:4317");
        let default = resolve_with(Flags::default(), &[(TRACES_PROTOCOL, "GRPC")]);
        assert_eq!(default.endpoint, "http://127.0.0.1:4317");
        assert_eq!(default.protocol_source, Source::Env(TRACES_PROTOCOL));
    }

    #[test]
    fn protocols_parse_and_a_wrong_one_is_a_problem() {
        assert_eq!(Protocol::parse("http/json"), Some(Protocol::HttpJson));
        assert_eq!(
            Protocol::parse(" HTTP/Protobuf "),
            Some(Protocol::HttpProtobuf)
        );
        assert_eq!(Protocol::parse("http"), None);
        let s = resolve_with(Flags::default(), &[(PROTOCOL, "http")]);
        assert_eq!(s.protocol, Protocol::HttpProtobuf);
        assert_eq!(s.problems.len(), 1);
        assert!(s.problems[0]
            .detail
            .contains("OTEL_EXPORTER_OTLP_PROTOCOL=\"http\""));
        assert!(s.problems[0].fix.contains("http/protobuf"));
        let flag = resolve_with(
            Flags {
                protocol: Some("http/json".into()),
                ..Default::default()
            },
            &[(PROTOCOL, "grpc")],
        );
        assert_eq!(flag.protocol, Protocol::HttpJson);
        assert_eq!(flag.protocol_source, Source::Flag("--protocol"));
    }

    #[test]
    fn a_url_without_scheme_is_a_problem() {
        let s = resolve_with(Flags::default(), &[(ENDPOINT, "localhost:4318")]);
        assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
        assert!(
            s.problems[0].fix.contains("http://localhost:4318"),
            "{:?}",
            s.problems
        );
        let ip = resolve_with(
            Flags::default(),
            &[(TRACES_ENDPOINT, "127.0.0.1:4318/v1/traces")],
        );
        assert!(ip.problems[0]
            .fix
            .contains("=http://127.0.0.1:4318/v1/traces"));
        let ok = resolve_with(url_flag("https://lemma.example.com/v1/traces"), &[]);
        assert!(ok.problems.is_empty());
    }

    #[test]
    fn headers_are_key_value_pairs_with_url_encoded_values() {
        let p = parse_headers(
            " Authorization=Bearer%20lm_abc , X-Tenant=a%2Cb%3Dc,,empty=, plus=a+b,broken",
        );
        assert_eq!(
            p.headers,
            vec![
                ("authorization".to_string(), "Bearer lm_abc".to_string()),
                ("x-tenant".to_string(), "a,b=c".to_string()),
                ("empty".to_string(), String::new()),
                ("plus".to_string(), "a+b".to_string()),
            ]
        );
        assert_eq!(p.malformed, vec!["broken".to_string()]);
        assert!(!p.raw_space);
        assert!(parse_headers("authorization=Bearer lm_abc").raw_space);
        assert!(parse_headers("=x").malformed == vec!["=x".to_string()]);
        // The value keeps any further `=` (base64 padding).
        assert_eq!(
            parse_headers("authorization=Basic%20cGs6c2s=").headers[0].1,
            "Basic cGs6c2s="
        );
    }

    #[test]
    fn percent_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("%e2%9c%93"), "✓");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%2"), "%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn credentials_are_read_as_the_server_reads_them() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            auth_from_headers(&h(&[("authorization", "Bearer lm_a")])),
            Ok(Some(Auth::Bearer("lm_a".into())))
        );
        assert_eq!(
            auth_from_headers(&h(&[("authorization", "bearer  lm_a ")])),
            Ok(Some(Auth::Bearer("lm_a".into())))
        );
        // x-api-key first, as the server does.
        assert_eq!(
            auth_from_headers(&h(&[("authorization", "Bearer a"), ("x-api-key", "b")])),
            Ok(Some(Auth::ApiKey("b".into())))
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("pk-lm-1:lm_secret");
        assert_eq!(
            auth_from_headers(&h(&[("authorization", &format!("Basic {basic}"))])),
            Ok(Some(Auth::Basic {
                public_key: "pk-lm-1".into(),
                secret: "lm_secret".into()
            }))
        );
        let no_colon = base64::engine::general_purpose::STANDARD.encode("nocolon");
        for bad in [
            format!("Basic {no_colon}"),
            "Basic !!!".to_string(),
            "Bearer ".to_string(),
            "Token x".to_string(),
            "lm_bare_key".to_string(),
        ] {
            assert!(
                auth_from_headers(&h(&[("authorization", &bad)])).is_err(),
                "{bad}"
            );
        }
        assert_eq!(auth_from_headers(&h(&[("x-other", "v")])), Ok(None));
    }

    #[test]
    fn the_key_comes_from_the_flag_then_the_headers_then_lemma_api_key() {
        let env = [
            (HEADERS, "authorization=Bearer%20from-headers,x-tenant=t"),
            (LEMMA_API_KEY, "from-lemma"),
        ];
        let flag = resolve_with(
            Flags {
                key: Some("from-flag".into()),
                ..Default::default()
            },
            &env,
        );
        assert_eq!(flag.auth, Some(Auth::Bearer("from-flag".into())));
        assert_eq!(flag.auth_source, Some(Source::Flag("--api-key")));
        assert_eq!(
            flag.headers,
            vec![
                ("x-tenant".to_string(), "t".to_string()),
                ("authorization".to_string(), "Bearer from-flag".to_string())
            ]
        );

        let headers = resolve_with(Flags::default(), &env);
        assert_eq!(headers.auth, Some(Auth::Bearer("from-headers".into())));
        assert_eq!(headers.auth_source, Some(Source::Env(HEADERS)));

        let traces = resolve_with(
            Flags::default(),
            &[(TRACES_HEADERS, "x-api-key=t"), (HEADERS, "x-api-key=g")],
        );
        assert_eq!(traces.auth, Some(Auth::ApiKey("t".into())));
        assert_eq!(traces.headers_source, Some(Source::Env(TRACES_HEADERS)));

        let lemma = resolve_with(Flags::default(), &[(LEMMA_API_KEY, "from-lemma")]);
        assert_eq!(lemma.auth, Some(Auth::Bearer("from-lemma".into())));
        assert_eq!(lemma.auth_source, Some(Source::Env(LEMMA_API_KEY)));
        assert!(lemma.notes.is_empty(), "{:?}", lemma.notes);
        // An OTel exporter does not read LEMMA_API_KEY: say so when the endpoint is OTel's.
        let mixed = resolve_with(
            Flags::default(),
            &[(ENDPOINT, "http://h:4318"), (LEMMA_API_KEY, "k")],
        );
        assert!(
            mixed.notes.iter().any(|n| n.contains("does not")),
            "{:?}",
            mixed.notes
        );
    }

    #[test]
    fn bad_headers_are_problems_with_fixes() {
        let s = resolve_with(
            Flags::default(),
            &[
                (HEADERS, "Authorization=Token%20x,oops"),
                (LEMMA_API_KEY, "k"),
            ],
        );
        assert_eq!(s.auth, None);
        assert_eq!(s.problems.len(), 2, "{:?}", s.problems);
        assert!(s.problems.iter().any(|p| p.detail.contains("\"oops\"")));
        assert!(s.problems.iter().any(|p| p.detail.contains("\"Token\"")));
        let spaced = resolve_with(Flags::default(), &[(HEADERS, "Authorization=Bearer k")]);
        assert_eq!(spaced.auth, Some(Auth::Bearer("k".into())));
        assert!(spaced.notes.iter().any(|n| n.contains("%20")));
    }

    #[test]
    fn secrets_are_cut() {
        assert_eq!(redact("lm_0123456789"), "lm_012…");
        assert_eq!(redact("short"), "short");
        assert_eq!(
            Auth::Basic {
                public_key: "pk".into(),
                secret: "lm_0123456789".into()
            }
            .describe(),
            "Authorization: Basic (public key pk, secret lm_012…)"
        );
    }
}
