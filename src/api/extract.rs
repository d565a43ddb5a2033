//! Request extractors that answer malformed input with the API's JSON error shape (instead of
//! axum's plain-text rejections), and the caller (authentication + per-key concurrency limit).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::auth::{Caller, Role};
use super::error::ApiError;

/// A JSON body; malformed JSON → 400, wrong content type → 415, too large → 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the body as JSON with `Content-Type: application/json`",
    )
}

/// 415 unless the request says its body is JSON (`application/json` or `application/*+json`),
/// for handlers that read the body as bytes.
pub fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json =
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    if json { Ok(()) } else { Err(not_json()) }
}

/// A serde message as a client should read it: without axum's preamble and without the names
/// of this server's Rust types ("expected struct TimeParam" → "expected an object").
pub fn wire_message(msg: &str) -> String {
    let msg = msg
        .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        .trim_start_matches("Failed to deserialize query string: ");
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    // The first of either keyword, so that an `enum` before a `struct` is not skipped.
    while let Some(i) = [rest.find("struct "), rest.find("enum ")]
        .into_iter()
        .flatten()
        .min()
    {
        let (kw, what) = if rest[i..].starts_with("struct ") {
            ("struct ", "an object")
        } else {
            ("enum ", "one of the allowed values")
        };
        let after = &rest[i + kw.len()..];
        let name_len = after
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(after.len());
        if name_len == 0 || !after.starts_with(|c: char| c.is_ascii_uppercase()) {
            out.push_str(&rest[..i + kw.len()]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..i]);
        out.push_str(what);
        rest = &after[name_len..];
    }
    out.push_str(rest);
    // serde names the number type it expected: "expected usize".
    for (ty, what) in NUMBER_TYPES {
        let from = format!("expected {ty}");
        if out.contains(&from) {
            out = out.replace(&from, &format!("expected {what}"));
        }
    }
    out
}

/// Rust number types as a client reads them.
const NUMBER_TYPES: [(&str, &str); 10] = [
    ("usize", "a whole number of at least 0"),
    ("u64", "a whole number of at least 0"),
    ("u32", "a whole number of at least 0"),
    ("u16", "a whole number of at least 0"),
    ("u8", "a whole number of at least 0"),
    ("i64", "a whole number"),
    ("i32", "a whole number"),
    ("f64", "a number"),
    ("f32", "a number"),
    ("bool", "true or false"),
];

fn json_rejection(rej: JsonRejection) -> ApiError {
    match rej {
        JsonRejection::MissingJsonContentType(_) => not_json(),
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::bad_request(format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => ApiError::bad_request(format!(
            "invalid request body: {}",
            wire_message(&e.body_text())
        )),
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the request body is larger than the configured limit (max_body_bytes)",
                )
            } else {
                ApiError::bad_request(format!("cannot read the request body: {}", e.body_text()))
            }
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

/// A raw body; too large → 413 in the API's error shape.
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(ApiBytes(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is larger than the configured limit (max_body_bytes)",
            )),
            Err(e) => Err(ApiError::bad_request(format!(
                "cannot read the request body: {}",
                e.body_text()
            ))),
        }
    }
}

/// Query-string parameters; bad values → 400 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::bad_request(
                format!("invalid query parameters: {}", wire_message(&e.body_text())),
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Path parameters; bad values → 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::bad_request(
                format!("invalid path parameter: {}", path_message(e.kind())),
            )),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// What is wrong with a path parameter, in the client's terms (axum's own text names the Rust
/// type it expected: "Cannot parse value … to a `u64`").
fn path_message(kind: &axum::extract::path::ErrorKind) -> String {
    use axum::extract::path::ErrorKind as K;
    let (value, expected) = match kind {
        K::ParseErrorAtIndex {
            value,
            expected_type,
            ..
        }
        | K::ParseErrorAtKey {
            value,
            expected_type,
            ..
        }
        | K::ParseError {
            value,
            expected_type,
        } => (value, *expected_type),
        K::InvalidUtf8InPathParam { .. } => {
            return "a path segment is not valid UTF-8 once percent-decoded".into();
        }
        _ => return "the path does not fit this route".into(),
    };
    let number = ["u8", "u16", "u32", "u64", "usize", "i32", "i64"].contains(&expected);
    if number {
        format!("`{value}` is not a number; this part of the path is a numeric id")
    } else {
        format!("`{value}` is not a valid value for this part of the path")
    }
}

/// The authenticated caller. With auth off, everyone is `local` with every role.
#[derive(Debug, Clone)]
pub struct Who(pub Caller);

impl FromRequestParts<AppState> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(Who(c.clone()));
        }
        Ok(Who(identify(parts, state)?))
    }
}

/// Identifies the caller from `Authorization: Bearer <key>` or `X-API-Key: <key>`.
pub fn identify(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let Some(auth) = &state.auth else {
        return Ok(Caller::local());
    };
    let key = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim);
    match key {
        None => Err(ApiError::unauthorized(
            "this service requires an API key: send `Authorization: Bearer <key>`",
        )),
        Some(k) => auth
            .identify(k)
            .ok_or_else(|| ApiError::unauthorized("the API key is not valid")),
    }
}

impl Who {
    /// Fails with 403 unless the caller has `need` in `namespace`.
    pub fn require(&self, namespace: &str, need: Role) -> Result<(), ApiError> {
        if self.0.allows(namespace, need) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "key {:?} needs the {} role in namespace {namespace:?} (it has {})",
                self.0.name,
                need.as_str(),
                self.0
                    .role(namespace)
                    .map(|r| r.as_str())
                    .unwrap_or("no role")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wire_message;

    #[test]
    fn wire_messages_name_no_rust_types() {
        assert_eq!(
            wire_message(
                "Failed to deserialize the JSON body into the target type: mode: expected enum \
                 Mode or struct TimeParam at line 1"
            ),
            "mode: expected one of the allowed values or an object at line 1"
        );
        // Words that only look like the keywords stay.
        assert_eq!(
            wire_message("a struct of lowercase"),
            "a struct of lowercase"
        );
        assert_eq!(
            wire_message("unknown field `entitty`"),
            "unknown field `entitty`"
        );
        assert_eq!(
            wire_message(
                "budget_chars: invalid type: floating point `1e+20`, expected usize at line 1"
            ),
            "budget_chars: invalid type: floating point `1e+20`, expected a whole number of at \
             least 0 at line 1"
        );
    }
}
