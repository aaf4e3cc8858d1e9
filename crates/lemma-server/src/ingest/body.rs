//! Reading an OTLP/HTTP body: size limit, content encoding, content type.

use std::io::Read;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;
use lemma_core::otlp::Encoding;

use super::budget::Reservation;
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
/// again within `limit`, so a small gzip bomb cannot expand without bound. Every byte held is
/// reserved from `reservation` first (the body as read, then as decompressed), so a request
/// that would take the server past its budget is refused before it grows.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    reservation: &mut Reservation,
) -> Result<Vec<u8>, ApiError> {
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
    let raw = read_raw(headers, body, limit, reservation).await?;
    let mut decoder: Box<dyn Read> = match coding.as_str() {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&raw[..])),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(&raw[..])),
        _ => return Ok(raw),
    };
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|e| ApiError::bad_request(format!("invalid {coding} body: {e}")))?;
        if n == 0 {
            break;
        }
        if out.len() + n > limit {
            return Err(too_large(limit, "decompressed"));
        }
        reservation.grow(n)?;
        out.extend_from_slice(&chunk[..n]);
    }
    drop(decoder);
    reservation.shrink(raw.len());
    Ok(out)
}

/// The body's bytes as sent, frame by frame, each reserved before it is kept.
async fn read_raw(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    reservation: &mut Reservation,
) -> Result<Vec<u8>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit, "request"));
    }
    let mut raw = Vec::with_capacity(declared.unwrap_or(0).min(limit as u64) as usize);
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(unreadable)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if raw.len() + data.len() > limit {
            return Err(too_large(limit, "request"));
        }
        reservation.grow(data.len())?;
        raw.extend_from_slice(&data);
    }
    Ok(raw)
}

/// A body that could not be read: 408 when the client stopped sending (the body timeout),
/// else 400.
fn unreadable(e: axum::Error) -> ApiError {
    let source = e.into_inner();
    if source.is::<tower_http::timeout::TimeoutError>() {
        return ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body stopped arriving: send the whole body without long pauses",
        );
    }
    ApiError::bad_request(format!("could not read the request body: {source}"))
}
