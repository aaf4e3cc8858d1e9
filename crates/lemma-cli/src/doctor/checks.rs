//! The checks that talk to the server: resolve its name, connect, see what its port speaks,
//! ask the API about the key, and send a test run as an exporter would. Each returns a
//! [`Verdict`]; what an observation means is `diagnose.rs`'s.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde_json::Value;

use super::diagnose::{self, Answer, Verdict};
use super::endpoint::{Auth, Source};
use crate::client::Refused;
use crate::demo::{otlp, send, spec::SpanSpec};

/// The service name of the test run, to find it (and tell it apart) in the dashboard.
pub const SERVICE_NAME: &str = "lemma-doctor";

/// The endpoint's host resolved to addresses, or why it does not resolve.
pub fn resolve(url: &Url) -> Result<(Vec<SocketAddr>, Verdict), Verdict> {
    let host = url.host_str().unwrap_or_default();
    let addrs = url
        .socket_addrs(|| None)
        .map_err(|e| diagnose::dns_failure(host, &e.to_string()))?;
    if addrs.is_empty() {
        return Err(diagnose::dns_failure(host, "no address"));
    }
    let listed: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    let detail = if !is_domain(url) {
        format!("{host} is an address")
    } else {
        format!("{host} is {}", listed.join(", "))
    };
    Ok((addrs, Verdict::pass(detail)))
}

/// A TCP connection to the first address that accepts one.
pub fn connect(addrs: &[SocketAddr], timeout: Duration) -> Result<(TcpStream, Verdict), Verdict> {
    let mut last = None;
    for addr in addrs {
        let started = Instant::now();
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => {
                let detail = format!("{addr} accepted in {}", millis(started.elapsed()));
                return Ok((stream, Verdict::pass(detail)));
            }
            Err(e) => last = Some((*addr, e)),
        }
    }
    let (addr, error) = last.expect("at least one address");
    let target = if addrs.len() > 1 {
        format!("{addr} (and {} other addresses)", addrs.len() - 1)
    } else {
        addr.to_string()
    };
    Err(diagnose::connect_failure(
        &target,
        error.kind(),
        &error.to_string(),
        timeout,
    ))
}

/// What the port answers: to a TLS ClientHello when `tls`, else to an HTTP/1 request.
pub fn probe(mut stream: TcpStream, url: &Url, tls: bool, timeout: Duration) -> Answer {
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let host = url.host_str().unwrap_or_default();
    let greeting = if tls {
        let name = is_domain(url).then_some(host);
        client_hello(name)
    } else {
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {host}{port}\r\nUser-Agent: lemma-doctor\r\n\
             Connection: close\r\n\r\n"
        )
        .into_bytes()
    };
    if stream.write_all(&greeting).is_err() {
        return Answer::Closed;
    }
    let mut bytes = Vec::new();
    let mut eof = false;
    let mut chunk = [0u8; 2048];
    while bytes.len() < 4096 {
        match stream.read(&mut chunk) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                eof = matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe);
                break;
            }
        }
        // A TLS server waits for the rest of the handshake, and an HTTP/2 one may wait for a
        // preface: their first bytes say enough. An HTTP/1 answer is read to its end.
        if matches!(
            diagnose::classify(&bytes, false),
            Answer::Tls | Answer::Http2
        ) {
            break;
        }
    }
    diagnose::classify(&bytes, eof)
}

/// A TLS 1.2 ClientHello (TLS 1.3 servers answer it too), with the server name if there is one:
/// enough for a TLS server to answer with a handshake record or an alert.
fn client_hello(server_name: Option<&str>) -> Vec<u8> {
    fn with_len16(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }
    let mut extensions = Vec::new();
    if let Some(name) = server_name {
        let mut entry = vec![0u8]; // host_name
        entry.extend(with_len16(name.as_bytes()));
        extensions.extend([0, 0]); // server_name
        extensions.extend(with_len16(&with_len16(&entry)));
    }
    // supported_groups: x25519, secp256r1; ec_point_formats: uncompressed; signature_algorithms:
    // ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256.
    extensions.extend([0, 0x0a]);
    extensions.extend(with_len16(&with_len16(&[0, 0x1d, 0, 0x17])));
    extensions.extend([0, 0x0b, 0, 2, 1, 0]);
    extensions.extend([0, 0x0d]);
    extensions.extend(with_len16(&with_len16(&[4, 3, 8, 4, 4, 1])));

    let mut hello = vec![3, 3]; // TLS 1.2
    let random: [u8; 32] = rand::random();
    hello.extend(random);
    hello.push(0); // no session id
                   // ECDHE with AES-GCM, then RSA with AES-GCM.
    hello.extend(with_len16(&[
        0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0, 0x9c,
    ]));
    hello.extend([1, 0]); // null compression
    hello.extend(with_len16(&extensions));

    let mut handshake = vec![1]; // client_hello
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 3, 1];
    record.extend(with_len16(&handshake));
    record
}

/// The project of the key, from `GET <base>/api/v1/project` with the exporter's headers.
pub fn key(
    base: &Url,
    auth: Option<(&Auth, Source)>,
    headers: &[(String, String)],
    timeout: Duration,
) -> Verdict {
    let Some((auth, source)) = auth else {
        return diagnose::missing_key();
    };
    match api_get(base, &["project"], headers, timeout) {
        Ok((status, body)) => {
            diagnose::key_answer(status, &body, &auth.describe(), &source.to_string())
        }
        Err(e) => Verdict::fail(
            format!("GET {} failed: {e:#}", api_url(base, &["project"])),
            "check that the URL is a Lemma server's",
        ),
    }
}

/// One small trace sent to `endpoint` as an exporter would, then read back from the API until
/// it is there.
pub fn test_run(
    endpoint: &str,
    base: &Url,
    headers: &[(String, String)],
    timeout: Duration,
    wait: Duration,
) -> Verdict {
    let mut root = SpanSpec::new(format!("invoke_agent {SERVICE_NAME}"), false, 4);
    root.attr("gen_ai.operation.name", "invoke_agent")
        .attr("gen_ai.agent.name", SERVICE_NAME)
        .attr("ai.agent.input", "Do spans reach Lemma?")
        .attr("ai.agent.output", "They do.");
    let mut tool = SpanSpec::new("execute_tool check_endpoint", false, 1);
    tool.attr("gen_ai.operation.name", "execute_tool")
        .attr("gen_ai.tool.name", "check_endpoint");
    root.children.push(tool);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let start = now.saturating_sub(root.total_ms() * 1_000_000);
    let (requests, trace_ids) = otlp::requests_of(SERVICE_NAME, &[(&root, start)]);
    let trace_id = &trace_ids[0];

    let exporter = match send::Exporter::to_endpoint(endpoint, headers, timeout) {
        Ok(e) => e,
        Err(e) => {
            return Verdict::fail(
                format!("the headers cannot be sent: {e:#}"),
                "fix the header in OTEL_EXPORTER_OTLP_HEADERS",
            )
        }
    };
    let sent = Instant::now();
    for request in &requests {
        if let Err(e) = exporter.export(request) {
            return match e.downcast_ref::<Refused>() {
                Some(r) => diagnose::send_refused(r.status.as_u16(), &r.message, endpoint),
                None => Verdict::fail(
                    format!("POST {endpoint} failed: {e:#}"),
                    "see the checks above, and the server's log",
                ),
            };
        }
    }
    let acknowledged = Instant::now();
    loop {
        match api_get(base, &["runs", trace_id], headers, timeout) {
            Ok((200, _)) => break,
            Ok((404, _)) => {}
            // An ingest key sends but reads nothing: the send is what this setup does.
            Ok((403, _)) => {
                return Verdict::pass(format!(
                    "run {trace_id} (service {SERVICE_NAME}) acknowledged in {}; this key \
                     cannot read runs (an ingest key), so it was not read back: find it in the \
                     dashboard under service:{SERVICE_NAME}",
                    millis(acknowledged - sent),
                ))
            }
            Ok((status, body)) => {
                return Verdict::fail(
                    format!(
                        "the test run {trace_id} was acknowledged, but reading it back answered \
                         {status}: {}",
                        body["error"]["message"].as_str().unwrap_or("no message")
                    ),
                    "see the server's log (LEMMA_LOG=debug)",
                )
            }
            Err(e) => {
                return Verdict::fail(
                    format!("the test run was acknowledged, but reading it back failed: {e:#}"),
                    "see the server's log",
                )
            }
        }
        if acknowledged.elapsed() > wait {
            return Verdict::fail(
                format!(
                    "the test run {trace_id} was acknowledged but is not readable after {}s",
                    wait.as_secs()
                ),
                "the server's writer may be stalled (a full or slow disk, a ClickHouse store \
                 that does not answer): see its log",
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let readable = acknowledged.elapsed();
    let mut link = base.clone();
    if let Ok(mut path) = link.path_segments_mut() {
        path.pop_if_empty().extend(["runs", trace_id]);
    }
    Verdict::pass(format!(
        "run {trace_id} (service {SERVICE_NAME}) acknowledged in {}, readable {} after that: {link}",
        millis(acknowledged - sent),
        millis(readable),
    ))
}

/// `<base>/api/v1/<segments...>`, each segment percent-encoded.
fn api_url(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(["api", "v1"]).extend(segments);
    }
    url
}

/// GET an API route with the exporter's headers: the status and the JSON answer (null if none).
fn api_get(
    base: &Url,
    segments: &[&str],
    headers: &[(String, String)],
    timeout: Duration,
) -> anyhow::Result<(u16, Value)> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_str(value)?,
        );
    }
    let resp = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()?
        .get(api_url(base, segments))
        .headers(map)
        .send()?;
    let status = resp.status().as_u16();
    let body = resp.json().unwrap_or(Value::Null);
    Ok((status, body))
}

/// A host name rather than an IP address.
fn is_domain(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_err()
    })
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hello_is_one_well_formed_record() {
        let hello = client_hello(Some("lemma.example.com"));
        assert_eq!(&hello[..3], &[0x16, 3, 1]);
        let record_len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(hello.len(), 5 + record_len);
        assert_eq!(hello[5], 1, "a client_hello handshake");
        let handshake_len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(record_len, 4 + handshake_len);
        let text = String::from_utf8_lossy(&hello);
        assert!(text.contains("lemma.example.com"));
        // Without a name there is no server_name extension, and the lengths still add up.
        let bare = client_hello(None);
        assert_eq!(bare.len(), hello.len() - ("lemma.example.com".len() + 9));
    }

    #[test]
    fn api_urls_keep_the_base_path_and_encode_segments() {
        let base = Url::parse("http://h:4318/lemma/").unwrap();
        assert_eq!(
            api_url(&base, &["runs", "a/b"]).as_str(),
            "http://h:4318/lemma/api/v1/runs/a%2Fb"
        );
    }
}
