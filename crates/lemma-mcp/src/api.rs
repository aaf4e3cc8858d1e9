//! The seam between the tools and Lemma: one REST call at a time.
//!
//! The tools never touch a store. They call the same `/api/v1` the CLI and the dashboard use,
//! which keeps authentication, project scoping and validation in one place. `lemma mcp` sends
//! the calls over the network; the server's `/mcp` route answers them in-process.

use async_trait::async_trait;
use http::{HeaderMap, Method};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::Value;

/// What must be escaped in a path segment: everything but unreserved characters.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']')
    .add(b'+')
    .add(b'&')
    .add(b'=')
    .add(b';')
    .add(b':')
    .add(b'@')
    .add(b',')
    .add(b'$')
    .add(b'!')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*');

/// One REST call: a method, a path under `/api/v1` with its query, and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    pub method: Method,
    /// Starts with `/api/v1/`; segments and query values are percent-encoded.
    pub path_and_query: String,
    pub body: Option<Value>,
}

impl ApiCall {
    /// `GET /api/v1/<segments>?<query>`, skipping query pairs whose value is empty.
    pub fn get(segments: &[&str], query: &[(&str, &str)]) -> ApiCall {
        ApiCall {
            method: Method::GET,
            path_and_query: path(segments, query),
            body: None,
        }
    }

    /// `POST /api/v1/<segments>` with a JSON body.
    pub fn post(segments: &[&str], body: Value) -> ApiCall {
        ApiCall {
            method: Method::POST,
            path_and_query: path(segments, &[]),
            body: Some(body),
        }
    }
}

fn path(segments: &[&str], query: &[(&str, &str)]) -> String {
    let mut out = String::from("/api/v1");
    for segment in segments {
        out.push('/');
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    let pairs: Vec<&(&str, &str)> = query.iter().filter(|(_, v)| !v.is_empty()).collect();
    if !pairs.is_empty() {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            form.append_pair(k, v);
        }
        out.push('?');
        out.push_str(&form.finish());
    }
    out
}

/// Why a call gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// Lemma answered with an error status and its message.
    Status { status: u16, message: String },
    /// Lemma could not be reached, or answered something that is not its API.
    Unreachable(String),
}

impl ApiFailure {
    /// An API answer as the tools take it: the body of a success, else the status and the
    /// message of the API's `{"error": {...}}` body.
    pub fn check(status: u16, body: Value) -> Result<Value, ApiFailure> {
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        Err(ApiFailure::Status {
            status,
            message: message.to_string(),
        })
    }
}

/// Lemma's REST API, wherever it is.
#[async_trait]
pub trait Api: Send + Sync + 'static {
    /// Makes one call. `caller` holds the headers of the MCP request when it came over HTTP:
    /// the in-process API authenticates with them; a remote API uses its own key.
    async fn call(&self, call: ApiCall, caller: Option<&HeaderMap>) -> Result<Value, ApiFailure>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_query_values_are_encoded() {
        let call = ApiCall::get(
            &["threads", "t/42 ?#%"],
            &[
                ("q", "agent:a status:error \"x y\""),
                ("cursor", ""),
                ("limit", "5"),
            ],
        );
        assert_eq!(
            call.path_and_query,
            "/api/v1/threads/t%2F42%20%3F%23%25?q=agent%3Aa+status%3Aerror+%22x+y%22&limit=5"
        );
        assert_eq!(ApiCall::get(&["runs"], &[]).path_and_query, "/api/v1/runs");
        let post = ApiCall::post(
            &["runs", "abc", "metrics"],
            serde_json::json!({"name": "x"}),
        );
        assert_eq!(
            (post.method, post.path_and_query.as_str()),
            (Method::POST, "/api/v1/runs/abc/metrics")
        );
    }

    #[test]
    fn answers_are_checked_by_status() {
        let body = serde_json::json!({"runs": []});
        assert_eq!(ApiFailure::check(200, body.clone()), Ok(body));
        let refused =
            serde_json::json!({"error": {"code": "not_found", "message": "run x not found"}});
        assert_eq!(
            ApiFailure::check(404, refused),
            Err(ApiFailure::Status {
                status: 404,
                message: "run x not found".into()
            })
        );
        assert_eq!(
            ApiFailure::check(502, serde_json::json!("gateway")),
            Err(ApiFailure::Status {
                status: 502,
                message: "no message".into()
            })
        );
    }
}
