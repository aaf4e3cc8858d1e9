//! Reading an OTLP/HTTP body: size limit, content encoding, content type.

use std::io::Read;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use lemma_core::otlp::Encoding;

use crate::error::ApiError;

/// The request's encoding from its Content-Type, or 415.
pub fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "unsupported Content-Type {ct:?}: send OTLP as application/x-protobuf or application/json"
            ),
        )),
    }
}

fn too_large(limit: usize, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the {what} body exceeds the limit of {limit} bytes: export smaller batches or raise --max-body-bytes"),
    )
}

/// Reads the whole body (chunked or not) within `limit` bytes and undoes its Content-Encoding,
/// again within `limit`, so a small gzip bomb cannot expand without bound.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let coding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        coding.as_str(),
        "identity" | "" | "gzip" | "x-gzip" | "deflate"
    ) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("unsupported Content-Encoding {coding:?}: send gzip, deflate or no encoding"),
        ));
    }
    let raw = Limited::new(body, limit).collect().await.map_err(|e| {
        if e.downcast_ref::<LengthLimitError>().is_some() {
            too_large(limit, "request")
        } else {
            ApiError::bad_request(format!("could not read the request body: {e}"))
        }
    })?;
    let raw = raw.to_bytes();
    let mut out = Vec::new();
    let read = match coding.as_str() {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&raw[..])
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(&raw[..])
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        _ => return Ok(raw.to_vec()),
    };
    read.map_err(|e| ApiError::bad_request(format!("invalid {coding} body: {e}")))?;
    if out.len() > limit {
        return Err(too_large(limit, "decompressed"));
    }
    Ok(out)
}
