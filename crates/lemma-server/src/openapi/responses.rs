//! Answers many routes share, for `responses(...)` in `#[utoipa::path]`.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder, Type};
use utoipa::IntoResponses;

/// An error answer: the API's error object.
pub fn error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("Error"))),
    )
}

/// `Retry-After`, in seconds, on answers worth retrying.
pub fn retry_after(response: ResponseBuilder) -> ResponseBuilder {
    response.header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer),
            ))
            .description(Some("Seconds to wait before retrying."))
            .build(),
    )
}

/// What every route behind an API key may answer besides its own: a refused key, a store that
/// failed, and a store that cannot take the request now.
pub struct Keyed;

impl IntoResponses for Keyed {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let unauthorized = error(
            "No key, a malformed one, or a key that is unknown or revoked \
             (`code`: `unauthorized`); the message says how to send one.",
        )
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new().schema_type(Type::String),
                ))
                .description(Some("`Bearer realm=\"lemma\"`"))
                .build(),
        );
        let unavailable = retry_after(error(
            "The store cannot take this now (disk full, read-only or busy; `code`: \
             `unavailable`): retry after `Retry-After`.",
        ));
        let forbidden = error(
            "The key's scope does not allow this operation (`code`: `forbidden`): ingest keys \
             send data, read keys read it, admin keys do everything; the message names the \
             scope needed.",
        );
        BTreeMap::from([
            ("401".to_string(), unauthorized.build().into()),
            ("403".to_string(), forbidden.build().into()),
            (
                "500".to_string(),
                error("The store failed (`code`: `internal`); the server log has why.")
                    .build()
                    .into(),
            ),
            ("503".to_string(), unavailable.build().into()),
        ])
    }
}
