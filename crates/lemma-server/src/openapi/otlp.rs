//! The OTLP/HTTP receivers' answers. Their bodies are OTLP's own messages (the protobuf
//! definitions, or their JSON mapping), which are not restated here: the document names them.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Response, Schema, Type};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

use super::responses::retry_after;

/// A protobuf message's bytes.
pub struct Protobuf;

impl PartialSchema for Protobuf {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/x-protobuf")
            .description(Some("A protobuf message, as bytes."))
            .into()
    }
}

impl ToSchema for Protobuf {}

/// An OTLP error in JSON: the google.rpc.Status fields and the API's error object, so either
/// kind of client reads it (`ingest::http::otlp_error`). In protobuf it is a google.rpc.Status.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OtlpError {
    /// The gRPC status code: 3 invalid argument, 16 unauthenticated, 14 unavailable, 13 internal.
    code: i32,
    message: String,
    error: crate::error::ErrorBody<'static>,
}

/// An OTLP error answer in both encodings.
fn otlp_error(description: &str) -> utoipa::openapi::ResponseBuilder {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("OtlpError")))
                .build(),
        )
        .content(
            "application/x-protobuf",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Protobuf")))
                .build(),
        )
}

/// Every way an OTLP/HTTP export is refused.
pub struct OtlpErrors;

impl IntoResponses for OtlpErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let answers = [
            (
                "400",
                otlp_error("The body does not decode as the signal's export request."),
            ),
            (
                "401",
                otlp_error("No key, a malformed one, or an unknown or revoked key."),
            ),
            (
                "403",
                otlp_error("A read key: sending needs an ingest or admin key."),
            ),
            (
                "408",
                otlp_error("The client stopped sending the body (the body timeout)."),
            ),
            (
                "413",
                otlp_error("The body, as sent or decompressed, is over `--max-body-bytes`."),
            ),
            (
                "415",
                otlp_error(
                    "A Content-Type other than protobuf or JSON, or a Content-Encoding other \
                     than gzip or deflate.",
                ),
            ),
            ("500", otlp_error("The store failed.")),
            (
                "503",
                retry_after(otlp_error(
                    "The ingest queue or memory budget is full, the server is shutting down, \
                     or the store cannot take the batch now: nothing was stored; retry after \
                     `Retry-After`.",
                )),
            ),
        ];
        answers
            .into_iter()
            .map(|(status, r)| (status.to_string(), r.build().into()))
            .collect()
    }
}
