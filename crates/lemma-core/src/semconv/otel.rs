//! General OpenTelemetry attributes that every convention falls back on: user, session and
//! deployment environment (on the span or its resource).

use super::{Attrs, Fields};

pub fn read(a: &Attrs) -> Fields {
    Fields {
        user_id: a.text_any(&["user.id", "enduser.id"]),
        session_id: a.text("session.id"),
        environment: a
            .get_or_resource("deployment.environment.name")
            .or_else(|| a.get_or_resource("deployment.environment"))
            .and_then(crate::value::as_text),
        ..Fields::default()
    }
}
