//! What each observation means and how to fix it: the endpoint's path and port, the first
//! bytes a server answers, connection errors, the API's answers. Pure, so every case is a unit
//! test; `checks.rs` makes the observations.

use std::io::ErrorKind;
use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

use super::endpoint::{
    Protocol, Source, ENDPOINT, GRPC_PORT, HTTP_PORT, LEMMA_URL, TRACES_ENDPOINT, TRACES_PATH,
};

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    pub detail: String,
    pub fix: Option<String>,
}

impl Verdict {
    pub fn pass(detail: impl Into<String>) -> Verdict {
        Verdict {
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Verdict {
        Verdict {
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

const LANGFUSE_BASE: &str = "/api/public/otel";

/// The endpoint's path, as `source` gave it: an exporter POSTs to it as is.
pub fn path(endpoint: &Url, source: Source, protocol: Protocol) -> Verdict {
    let p = endpoint.path();
    if !protocol.is_http() {
        return Verdict::pass(if p == "/" {
            "none (gRPC exporters send to the service's own path)".to_string()
        } else {
            format!("{p} is ignored: gRPC exporters send to the service's own path")
        });
    }
    let doubled = format!("{TRACES_PATH}{TRACES_PATH}");
    if p.contains(&doubled) {
        let mut single = p.to_string();
        while single.contains(&doubled) {
            single = single.replace(&doubled, TRACES_PATH);
        }
        let single = single.trim_end_matches('/').to_string();
        let base = single
            .strip_suffix(TRACES_PATH)
            .unwrap_or(&single)
            .to_string();
        return Verdict::fail(
            format!("{p}: /v1/traces is doubled, so the server answers 404"),
            set_to(endpoint, source, &base),
        );
    }
    if p.ends_with("/v1/traces/") {
        return Verdict::fail(
            format!("{p}: the trailing / makes it another route, which answers 404"),
            set_to(
                endpoint,
                source,
                p.trim_end_matches('/').trim_end_matches(TRACES_PATH),
            ),
        );
    }
    if p.ends_with(TRACES_PATH) {
        return Verdict::pass(if p.ends_with(&format!("{LANGFUSE_BASE}{TRACES_PATH}")) {
            format!("{p} (the Langfuse-compatible path, which Lemma serves too)")
        } else {
            p.to_string()
        });
    }
    for signal in ["/v1/logs", "/v1/metrics"] {
        if let Some(base) = p.strip_suffix(signal) {
            return Verdict::fail(
                format!(
                    "{p} is the {} endpoint, not the traces one",
                    &signal["/v1/".len()..]
                ),
                set_to(endpoint, source, base),
            );
        }
    }
    let trimmed = p.trim_end_matches('/');
    let detail = if trimmed.ends_with(LANGFUSE_BASE) {
        format!(
            "{p} is the Langfuse base path without /v1/traces; {source} is used as is, so \
             spans go to a route that answers 404"
        )
    } else {
        format!(
            "{p} does not end in /v1/traces; {source} is used as is, so spans go to a route \
             that answers 404"
        )
    };
    Verdict::fail(detail, set_to(endpoint, source, trimmed))
}

/// How to make `source` send to `<endpoint with path base_path>/v1/traces`.
fn set_to(endpoint: &Url, source: Source, base_path: &str) -> String {
    let mut base = endpoint.clone();
    base.set_path(if base_path.is_empty() { "/" } else { base_path });
    base.set_query(None);
    let base = base.as_str().trim_end_matches('/').to_string();
    let full = format!("{base}{TRACES_PATH}");
    match source {
        Source::Env(ENDPOINT) => format!(
            "{ENDPOINT} is the base URL, to which exporters add /v1/traces: set \
             {ENDPOINT}={base}"
        ),
        Source::Env(LEMMA_URL) => {
            format!("{LEMMA_URL} is the server's base URL: set {LEMMA_URL}={base}")
        }
        Source::Env(TRACES_ENDPOINT) => format!(
            "{TRACES_ENDPOINT} is the full URL: set {TRACES_ENDPOINT}={full} (or unset it and \
             set {ENDPOINT}={base}, to which exporters add /v1/traces)"
        ),
        Source::Flag(flag) => format!("use {flag} {full}"),
        other => format!("send to {full} (set by {other})"),
    }
}

/// `url` with the port that serves `protocol` when it has Lemma's other default port.
pub fn other_port(url: &Url, protocol: Protocol) -> Option<Url> {
    let (from, to) = if protocol.is_http() {
        (GRPC_PORT, HTTP_PORT)
    } else {
        (HTTP_PORT, GRPC_PORT)
    };
    if url.port_or_known_default() != Some(from) {
        return None;
    }
    let mut fixed = url.clone();
    fixed.set_port(Some(to)).ok()?;
    if protocol.is_http() && !fixed.path().ends_with(TRACES_PATH) {
        fixed.set_path(TRACES_PATH);
    }
    Some(fixed)
}

/// The server's base URL for the REST API: for OTLP/HTTP, the endpoint without the traces
/// path (or the Langfuse one); for gRPC, `LEMMA_URL`, else the endpoint with the HTTP port when
/// it has Lemma's gRPC port. `None` when nothing tells.
pub fn api_base(endpoint: &Url, protocol: Protocol, lemma_url: Option<&str>) -> Option<Url> {
    if !protocol.is_http() {
        if let Some(url) = lemma_url.and_then(|u| Url::parse(u).ok()) {
            return Some(url);
        }
        let mut base = endpoint.clone();
        if base.port_or_known_default() != Some(GRPC_PORT) {
            return None;
        }
        base.set_port(Some(HTTP_PORT)).ok()?;
        base.set_path("/");
        return Some(base);
    }
    let mut path = endpoint.path().trim_end_matches('/');
    loop {
        let shorter = [TRACES_PATH, "/v1/logs", "/v1/metrics"]
            .iter()
            .find_map(|suffix| path.strip_suffix(suffix))
            .map(|p| p.trim_end_matches('/'));
        match shorter {
            Some(p) => path = p,
            None => break,
        }
    }
    let path = path.strip_suffix(LANGFUSE_BASE).unwrap_or(path);
    let mut base = endpoint.clone();
    base.set_path(if path.is_empty() { "/" } else { path });
    base.set_query(None);
    Some(base)
}

/// What a server's first bytes say it speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP/1 status line.
    Http1(String),
    /// HTTP/2 frames without an HTTP/1 answer: a gRPC server (h2c prior knowledge only).
    Http2,
    /// A TLS record (a handshake or an alert), or an HTTP answer saying TLS is expected.
    Tls,
    /// The server closed the connection without a byte.
    Closed,
    /// Nothing arrived before the timeout.
    Silent,
    /// Bytes that are none of these, escaped.
    Other(String),
}

/// Classifies the first bytes a server sent (`eof`: it then closed the connection).
pub fn classify(bytes: &[u8], eof: bool) -> Answer {
    if bytes.is_empty() {
        return if eof { Answer::Closed } else { Answer::Silent };
    }
    // nginx and others answer plain HTTP on a TLS port with a 400 that says so.
    let text = String::from_utf8_lossy(bytes);
    if text.contains("plain HTTP request was sent to HTTPS port") || text.contains("HTTPS port") {
        return Answer::Tls;
    }
    if let Some(line) = text.strip_prefix("HTTP/") {
        let line = line.lines().next().unwrap_or("");
        return Answer::Http1(format!("HTTP/{}", line.trim_end()));
    }
    // A TLS record: content type handshake (22) or alert (21), then version 3.x.
    if matches!(bytes[0], 0x15 | 0x16) && bytes.get(1) == Some(&0x03) {
        return Answer::Tls;
    }
    // An HTTP/2 frame header: a 24-bit length, the type SETTINGS (4) or GOAWAY (7), flags,
    // and stream 0, as a server's first frame is.
    if bytes.len() >= 9 && matches!(bytes[3], 0x04 | 0x07) && bytes[5..9] == [0, 0, 0, 0] {
        return Answer::Http2;
    }
    Answer::Other(
        bytes
            .iter()
            .take(16)
            .flat_map(|b| b.escape_ascii())
            .map(char::from)
            .collect(),
    )
}

/// Whether the server speaks what the URL's scheme and the protocol expect. `answer` is what
/// it sent back to an HTTP/1 request (an `http` URL) or a TLS ClientHello (`https`); when that
/// went unanswered, the caller tries the other greeting and passes its answer if it has one.
pub fn transport(url: &Url, protocol: Protocol, answer: &Answer) -> Verdict {
    let https = url.scheme() == "https";
    let mut plain = url.clone();
    let _ = plain.set_scheme("http");
    let mut secure = url.clone();
    let _ = secure.set_scheme("https");
    let port_fix = |what: &str| match other_port(url, protocol) {
        Some(fixed) => format!("use {fixed}"),
        None if protocol.is_http() => format!(
            "send OTLP/HTTP to the server's HTTP port ({HTTP_PORT} unless --http-addr moved \
             it; `lemma serve` prints both), e.g. {}, or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
             to export over gRPC to {what}",
            with_port(url, HTTP_PORT, true)
        ),
        None => format!(
            "send gRPC to the server's gRPC port ({GRPC_PORT} unless --grpc-addr moved it), \
             e.g. {}, or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf to use {what}",
            with_port(url, GRPC_PORT, false)
        ),
    };
    match (https, protocol.is_http(), answer) {
        (false, true, Answer::Http1(line)) => Verdict::pass(format!("plain HTTP ({line})")),
        (false, false, Answer::Http2) => {
            Verdict::pass("plain HTTP/2 only, as a gRPC server speaks")
        }
        (true, _, Answer::Tls) => Verdict::pass("TLS"),
        (false, true, Answer::Http2) => Verdict::fail(
            "the port answers only HTTP/2 (gRPC): it is a gRPC port, like Lemma's 4317, not \
             OTLP/HTTP, so an http/protobuf or http/json exporter gets protocol errors",
            port_fix("this port"),
        ),
        (false, false, Answer::Http1(line)) => Verdict::fail(
            format!(
                "the port answers HTTP/1 ({line}): it is an HTTP port, like Lemma's \
                 {HTTP_PORT}, not gRPC"
            ),
            port_fix("this port"),
        ),
        (false, _, Answer::Tls) => Verdict::fail(
            "TLS mismatch: the URL says http:// but the server expects TLS",
            format!("use https://: {secure}"),
        ),
        (true, _, Answer::Http1(line)) => Verdict::fail(
            format!(
                "TLS mismatch: the URL says https:// but the server speaks plain HTTP \
                 (it answered the TLS handshake with {line})"
            ),
            format!(
                "use http://: {plain} (`lemma serve` speaks plain HTTP; put TLS in a reverse \
                 proxy in front of it)"
            ),
        ),
        (true, _, Answer::Http2) => Verdict::fail(
            "TLS mismatch: the URL says https:// but the server speaks plain HTTP/2 (a gRPC \
             port without TLS)",
            format!("use http://: {plain}"),
        ),
        (_, _, Answer::Closed) => Verdict::fail(
            "the server closed the connection without answering HTTP or TLS",
            "check that this port is Lemma's (a proxy or another program may hold it) and see \
             the server's log",
        ),
        (_, _, Answer::Silent) => Verdict::fail(
            "the server accepted the connection but answered nothing",
            "check that this port is Lemma's (a proxy or another program may hold it)",
        ),
        (_, _, Answer::Other(bytes)) => Verdict::fail(
            format!("the server answered something that is not HTTP or TLS: {bytes}"),
            "check that this port is Lemma's (4318 for OTLP/HTTP, 4317 for gRPC)",
        ),
    }
}

fn with_port(url: &Url, port: u16, traces_path: bool) -> Url {
    let mut fixed = url.clone();
    let _ = fixed.set_port(Some(port));
    if traces_path && !fixed.path().ends_with(TRACES_PATH) {
        fixed.set_path(TRACES_PATH);
    }
    fixed
}

/// A host name that does not resolve.
pub fn dns_failure(host: &str, error: &str) -> Verdict {
    Verdict::fail(
        format!("cannot resolve {host}: {error}"),
        format!(
            "check the host name for typos; in Docker use the server's service name (from \
             inside a container, 127.0.0.1 is the container itself); `getent hosts {host}` \
             shows what this machine resolves"
        ),
    )
}

/// A TCP connection that failed.
pub fn connect_failure(target: &str, kind: ErrorKind, error: &str, timeout: Duration) -> Verdict {
    match kind {
        ErrorKind::ConnectionRefused => Verdict::fail(
            format!("connection refused at {target}: nothing listens on that port"),
            format!(
                "start the server (`lemma serve`), or fix the port: Lemma listens on \
                 {HTTP_PORT} (OTLP/HTTP, API) and {GRPC_PORT} (OTLP/gRPC) unless --http-addr \
                 or --grpc-addr say otherwise"
            ),
        ),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Verdict::fail(
            format!(
                "timed out connecting to {target} after {}s: packets are dropped on the way",
                timeout.as_secs_f64()
            ),
            "check the host and port, firewalls and security groups, and that the server \
             listens on an address reachable from here (0.0.0.0, not 127.0.0.1, for other \
             machines or containers: --http-addr 0.0.0.0:4318)",
        ),
        _ => Verdict::fail(
            format!("cannot connect to {target}: {error}"),
            "check the network route to the server (host, port, VPN, proxy)",
        ),
    }
}

/// The API's answer to `GET /api/v1/project` with the key.
pub fn key_answer(status: u16, body: &Value, auth: &str, source: &str) -> Verdict {
    let message = body["error"]["message"].as_str().unwrap_or("no message");
    match status {
        200 => match body["project"]["name"].as_str() {
            Some(name) => Verdict::pass(format!("project {name:?} (key {auth}, from {source})")),
            None => Verdict::fail(
                format!("the server accepted the key but its answer names no project: {body}"),
                "check that the URL is a Lemma server",
            ),
        },
        401 | 403 => {
            let fix = if message.contains("(the Basic user name) is not") {
                "use the public key `lemma keys list` shows next to this secret key as the \
                 Basic user name"
                    .to_string()
            } else {
                format!(
                    "the key is wrong or revoked: `lemma keys list` shows the keys of each \
                     project, `lemma keys create --project <name>` makes a new one; then {}",
                    if source.starts_with("--") {
                        format!("pass it with {source}")
                    } else {
                        format!("set it in {source}")
                    }
                )
            };
            Verdict::fail(
                format!("the server refused the key ({status}): {message}"),
                fix,
            )
        }
        404 => Verdict::fail(
            format!("no Lemma API at this URL (404: {message})"),
            "check the URL: it should be the Lemma server's (the one `lemma serve` prints)",
        ),
        _ => Verdict::fail(
            format!("GET /api/v1/project answered {status}: {message}"),
            "see the server's log (LEMMA_LOG=debug) for why",
        ),
    }
}

/// No credential at all.
pub fn missing_key() -> Verdict {
    Verdict::fail(
        "no API key: every OTLP request would be refused (401)",
        "pass --key <key>, or set OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<key> as \
         exporters read it (create a key with `lemma keys create`)",
    )
}

/// The test export was refused with `status` and the server's `message`.
pub fn send_refused(status: u16, message: &str, endpoint: &str) -> Verdict {
    let detail = format!("POST {endpoint} answered {status}: {message}");
    let fix = match status {
        404 | 405 => "the endpoint's path is wrong: see the path check",
        401 | 403 => "the exporter's key is refused: see the key check",
        413 => "the server's --max-body-bytes is below this small request; raise it",
        415 => "send Content-Type application/x-protobuf or application/json",
        503 | 429 => "the server is overloaded or its disk is full; see its log",
        _ => "see the server's log (LEMMA_LOG=debug) for why",
    };
    Verdict::fail(detail, fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const HTTP: Protocol = Protocol::HttpProtobuf;

    #[test]
    fn the_traces_path_passes_and_the_langfuse_one_too() {
        let v = path(&url("http://h:4318/v1/traces"), Source::Default, HTTP);
        assert!(v.ok, "{v:?}");
        let v = path(&url("http://h/prefix/v1/traces"), Source::Default, HTTP);
        assert!(v.ok, "{v:?}");
        let v = path(
            &url("http://h:4318/api/public/otel/v1/traces"),
            Source::Env(ENDPOINT),
            HTTP,
        );
        assert!(v.ok && v.detail.contains("Langfuse"), "{v:?}");
    }

    #[test]
    fn a_doubled_path_is_named_with_the_fix_for_its_source() {
        let endpoint = url("http://h:4318/v1/traces/v1/traces");
        let v = path(&endpoint, Source::Env(ENDPOINT), HTTP);
        assert!(!v.ok);
        assert!(v.detail.contains("doubled"), "{v:?}");
        assert_eq!(
            v.fix.as_deref(),
            Some(
                "OTEL_EXPORTER_OTLP_ENDPOINT is the base URL, to which exporters add \
                 /v1/traces: set OTEL_EXPORTER_OTLP_ENDPOINT=http://h:4318"
            )
        );
        let v = path(&endpoint, Source::Flag("--url"), HTTP);
        assert_eq!(v.fix.as_deref(), Some("use --url http://h:4318/v1/traces"));
        let v = path(&endpoint, Source::Env(LEMMA_URL), HTTP);
        assert!(v.fix.unwrap().ends_with("set LEMMA_URL=http://h:4318"));
        // Three times, with the Langfuse base and a trailing slash.
        let v = path(
            &url("http://h/api/public/otel/v1/traces/v1/traces/v1/traces/"),
            Source::Env(TRACES_ENDPOINT),
            HTTP,
        );
        assert!(!v.ok && v.detail.contains("doubled"));
        assert!(
            v.fix
                .as_deref()
                .unwrap()
                .contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://h/api/public/otel/v1/traces "),
            "{v:?}"
        );
    }

    #[test]
    fn a_missing_path_is_named() {
        let v = path(&url("http://h:4318"), Source::Env(TRACES_ENDPOINT), HTTP);
        assert!(!v.ok);
        assert!(v.detail.contains("does not end in /v1/traces"), "{v:?}");
        let fix = v.fix.unwrap();
        assert!(
            fix.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://h:4318/v1/traces"),
            "{fix}"
        );
        assert!(
            fix.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://h:4318,"),
            "{fix}"
        );

        let v = path(
            &url("http://h:4318/api/public/otel"),
            Source::Env(TRACES_ENDPOINT),
            HTTP,
        );
        assert!(!v.ok && v.detail.contains("Langfuse base path"), "{v:?}");
        assert!(v
            .fix
            .unwrap()
            .contains("=http://h:4318/api/public/otel/v1/traces"));

        let v = path(&url("http://h/lemma"), Source::Flag("--url"), HTTP);
        assert_eq!(v.fix.as_deref(), Some("use --url http://h/lemma/v1/traces"));
    }

    #[test]
    fn a_trailing_slash_or_another_signal_is_named() {
        let v = path(
            &url("http://h:4318/v1/traces/"),
            Source::Flag("--url"),
            HTTP,
        );
        assert!(!v.ok && v.detail.contains("trailing"), "{v:?}");
        assert_eq!(v.fix.as_deref(), Some("use --url http://h:4318/v1/traces"));
        let v = path(&url("http://h:4318/v1/logs"), Source::Flag("--url"), HTTP);
        assert!(!v.ok && v.detail.contains("logs endpoint"), "{v:?}");
        assert_eq!(v.fix.as_deref(), Some("use --url http://h:4318/v1/traces"));
        let v = path(
            &url("http://h:4318/v1/metrics"),
            Source::Flag("--url"),
            HTTP,
        );
        assert!(!v.ok && v.detail.contains("metrics endpoint"), "{v:?}");
    }

    #[test]
    fn grpc_ignores_the_path() {
        assert!(path(&url("http://h:4317"), Source::Default, Protocol::Grpc).ok);
        let v = path(
            &url("http://h:4317/v1/traces"),
            Source::Default,
            Protocol::Grpc,
        );
        assert!(v.ok && v.detail.contains("ignored"));
    }

    #[test]
    fn the_other_default_port_is_suggested() {
        assert_eq!(
            other_port(&url("http://h:4317"), HTTP).unwrap().as_str(),
            "http://h:4318/v1/traces"
        );
        assert_eq!(
            other_port(&url("http://h:4317/v1/traces"), HTTP)
                .unwrap()
                .as_str(),
            "http://h:4318/v1/traces"
        );
        assert_eq!(
            other_port(&url("http://h:4318/v1/traces"), Protocol::Grpc)
                .unwrap()
                .as_str(),
            "http://h:4317/v1/traces"
        );
        assert_eq!(other_port(&url("http://h:4318/v1/traces"), HTTP), None);
        assert_eq!(other_port(&url("http://h:9999"), Protocol::Grpc), None);
    }

    #[test]
    fn the_api_base_is_the_endpoint_without_its_signal_path() {
        let base = |endpoint: &str| {
            api_base(&url(endpoint), HTTP, None)
                .unwrap()
                .as_str()
                .to_string()
        };
        assert_eq!(base("http://h:4318/v1/traces"), "http://h:4318/");
        assert_eq!(base("http://h:4318/v1/traces/v1/traces/"), "http://h:4318/");
        assert_eq!(
            base("http://h:4318/api/public/otel/v1/traces"),
            "http://h:4318/"
        );
        assert_eq!(base("http://h:4318/api/public/otel"), "http://h:4318/");
        assert_eq!(base("http://h/lemma/v1/traces?x=1"), "http://h/lemma");
        assert_eq!(base("http://h:4318"), "http://h:4318/");
        assert_eq!(base("http://h:4318/v1/logs"), "http://h:4318/");
        let grpc = Protocol::Grpc;
        assert_eq!(
            api_base(&url("http://h:4317"), grpc, None)
                .unwrap()
                .as_str(),
            "http://h:4318/"
        );
        assert_eq!(
            api_base(&url("http://h:4317"), grpc, Some("http://other:1"))
                .unwrap()
                .as_str(),
            "http://other:1/"
        );
        assert_eq!(api_base(&url("http://h:9000"), grpc, None), None);
    }

    #[test]
    fn first_bytes_are_classified() {
        assert_eq!(
            classify(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
                true
            ),
            Answer::Http1("HTTP/1.1 400 Bad Request".into())
        );
        // An h2 server's SETTINGS frame, then GOAWAY.
        let settings = [0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
        assert_eq!(classify(&settings, true), Answer::Http2);
        let goaway = [0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(classify(&goaway, false), Answer::Http2);
        // A TLS alert and a ServerHello.
        assert_eq!(
            classify(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46], true),
            Answer::Tls
        );
        assert_eq!(
            classify(&[0x16, 0x03, 0x03, 0x04, 0x00], false),
            Answer::Tls
        );
        assert_eq!(
            classify(
                b"HTTP/1.1 400 Bad Request\r\n\r\nThe plain HTTP request was sent to HTTPS port",
                true
            ),
            Answer::Tls
        );
        assert_eq!(classify(b"", true), Answer::Closed);
        assert_eq!(classify(b"", false), Answer::Silent);
        assert_eq!(
            classify(b"SSH-2.0-OpenSSH_9", false),
            Answer::Other("SSH-2.0-OpenSSH_".into())
        );
        assert_eq!(
            classify(&[0, 1, 2], false),
            Answer::Other("\\x00\\x01\\x02".into())
        );
    }

    #[test]
    fn transports_match_or_say_what_to_change() {
        let http = url("http://h:4318/v1/traces");
        let ok = transport(&http, HTTP, &Answer::Http1("HTTP/1.1 200 OK".into()));
        assert!(ok.ok, "{ok:?}");

        // OTLP/HTTP sent to the gRPC port.
        let grpc_port = url("http://h:4317/v1/traces");
        let v = transport(&grpc_port, HTTP, &Answer::Http2);
        assert!(!v.ok && v.detail.contains("gRPC"), "{v:?}");
        assert_eq!(v.fix.as_deref(), Some("use http://h:4318/v1/traces"));
        let moved = transport(&url("http://h:5000/v1/traces"), HTTP, &Answer::Http2);
        assert!(moved.fix.unwrap().contains("http://h:4318/v1/traces"));

        // gRPC sent to the HTTP port, and to the gRPC port.
        let v = transport(
            &url("http://h:4318"),
            Protocol::Grpc,
            &Answer::Http1("HTTP/1.1 200 OK".into()),
        );
        assert!(!v.ok && v.detail.contains("HTTP port"), "{v:?}");
        assert_eq!(v.fix.as_deref(), Some("use http://h:4317/"));
        assert!(transport(&url("http://h:4317"), Protocol::Grpc, &Answer::Http2).ok);

        // https to a plain server, http to a TLS one.
        let v = transport(
            &url("https://h:4318/v1/traces"),
            HTTP,
            &Answer::Http1("HTTP/1.1 400 Bad Request".into()),
        );
        assert!(!v.ok && v.detail.starts_with("TLS mismatch"), "{v:?}");
        assert!(v.fix.unwrap().contains("http://h:4318/v1/traces"));
        let v = transport(&http, HTTP, &Answer::Tls);
        assert!(!v.ok && v.detail.starts_with("TLS mismatch"), "{v:?}");
        assert_eq!(
            v.fix.as_deref(),
            Some("use https://: https://h:4318/v1/traces")
        );
        assert!(transport(&url("https://h/v1/traces"), HTTP, &Answer::Tls).ok);

        for answer in [Answer::Closed, Answer::Silent, Answer::Other("x".into())] {
            let v = transport(&http, HTTP, &answer);
            assert!(!v.ok && v.fix.is_some(), "{answer:?}");
        }
    }

    #[test]
    fn connection_errors_say_refused_timeout_or_dns() {
        let t = Duration::from_secs(5);
        let v = connect_failure("127.0.0.1:1", ErrorKind::ConnectionRefused, "refused", t);
        assert!(!v.ok && v.detail.starts_with("connection refused at 127.0.0.1:1"));
        assert!(v.fix.unwrap().contains("lemma serve"));
        let v = connect_failure("10.0.0.1:4318", ErrorKind::TimedOut, "timed out", t);
        assert!(v
            .detail
            .starts_with("timed out connecting to 10.0.0.1:4318 after 5s"));
        assert!(v.fix.unwrap().contains("0.0.0.0"));
        let v = connect_failure("h:1", ErrorKind::NetworkUnreachable, "unreachable", t);
        assert!(v.detail.contains("unreachable"));
        let v = dns_failure("lemma.invalid", "Name or service not known");
        assert!(v.detail.starts_with("cannot resolve lemma.invalid"));
        assert!(v.fix.unwrap().contains("getent hosts lemma.invalid"));
    }

    #[test]
    fn key_answers_name_the_project_or_the_fix() {
        let ok = key_answer(
            200,
            &serde_json::json!({"project": {"name": "default"}}),
            "Authorization: Bearer lm_ab…",
            "--api-key",
        );
        assert!(
            ok.ok && ok.detail.starts_with("project \"default\""),
            "{ok:?}"
        );
        let refused = key_answer(
            401,
            &serde_json::json!({"error": {"message": "invalid or revoked API key: send …"}}),
            "",
            "OTEL_EXPORTER_OTLP_HEADERS",
        );
        assert!(!refused.ok);
        assert!(refused.detail.contains("invalid or revoked API key"));
        let fix = refused.fix.unwrap();
        assert!(fix.contains("lemma keys create") && fix.contains("OTEL_EXPORTER_OTLP_HEADERS"));
        let basic = key_answer(
            401,
            &serde_json::json!({"error": {"message": "the public key \"x\" (the Basic user name) is not this secret key's"}}),
            "",
            "OTEL_EXPORTER_OTLP_HEADERS",
        );
        assert!(basic.fix.unwrap().contains("Basic user name"));
        assert!(!key_answer(404, &Value::Null, "", "").ok);
        assert!(!key_answer(200, &serde_json::json!({}), "", "").ok);
        assert!(!key_answer(500, &Value::Null, "", "").ok);
        assert!(!missing_key().ok);
    }

    #[test]
    fn refused_exports_point_at_the_check_to_read() {
        let v = send_refused(
            404,
            "no route /v1/traces/v1/traces",
            "http://h/v1/traces/v1/traces",
        );
        assert!(v.fix.unwrap().contains("path"));
        assert!(send_refused(401, "", "").fix.unwrap().contains("key"));
        assert!(!send_refused(500, "", "").ok);
    }
}
