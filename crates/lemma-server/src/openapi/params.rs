//! Parameters as the OpenAPI document shows them, built from the constants the handlers enforce
//! so a limit or default cannot change in one place and not the other. Handlers read every
//! parameter as text (for the API's JSON errors), so the documented types are declared here.

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

/// A whole number in `min..=max` (no upper bound when `max` is `None`), `default` when absent.
pub fn number(
    name: &str,
    description: &str,
    default: usize,
    min: usize,
    max: Option<usize>,
) -> Parameter {
    let schema = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min as f64))
        .maximum(max.map(|m| m as f64))
        .default(Some(json!(default)));
    query(name, description, Required::False, schema)
}

/// One of `values` in the query, `default` when absent.
pub fn one_of(name: &str, description: &str, values: &[&str], default: &str) -> Parameter {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .default(Some(json!(default)));
    query(name, description, Required::False, schema)
}

/// Text in the query.
pub fn text(name: &str, description: &str, required: bool) -> Parameter {
    let required = if required {
        Required::True
    } else {
        Required::False
    };
    query(
        name,
        description,
        required,
        ObjectBuilder::new().schema_type(Type::String),
    )
}

fn query(name: &str, description: &str, required: Required, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(required)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A path segment; `pattern` when the handler checks its form (a 400 otherwise).
pub fn path(name: &str, description: &str, pattern: Option<&str>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(pattern),
        ))
        .build()
}

/// `{run_id}`: the trace ID, any case.
pub fn run_id() -> Parameter {
    path(
        "run_id",
        "The run's ID: its trace ID, 32 hex characters (any case).",
        Some("^[0-9a-fA-F]{32}$"),
    )
}

/// The query language's `q`, as the list routes take it.
pub fn q() -> Parameter {
    text(
        "q",
        "A query in Lemma's query language (e.g. `status:error agent:support since:24h`); at \
         most 4,096 characters and 100 terms. A query that does not parse is a 400 naming the \
         position.",
        false,
    )
}

/// `{run_id}` alone.
pub struct RunPath;

impl utoipa::IntoParams for RunPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![run_id()]
    }
}
