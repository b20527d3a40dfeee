//! `PUT` and `GET /objects/{key}`: the embedded object store's signed URLs, served by Confab
//! itself (on S3 the client talks to S3 and these answer 404). The signature decides everything:
//! no token, and nothing a URL was not signed for.
use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use confab_objects::{
    ObjectError,
    embedded::{EmbeddedObjects, Grant, Refusal, SignedQuery, UploadError},
};

use crate::{
    ApiError, AppState,
    byte_ranges::{self, Answer},
    extract::{PathParams, QueryParams},
    metrics,
    min_rate::{AtLeast, BodyError, UPLOAD_GRACE},
};

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn embedded(state: &AppState) -> Result<&EmbeddedObjects, ApiError> {
    state.embedded_objects.as_ref().ok_or_else(|| ApiError::not_found("not_found", "no such endpoint"))
}

fn refused(refusal: Refusal) -> ApiError {
    let code = match refusal {
        Refusal::Expired => "url_expired",
        Refusal::Unsigned | Refusal::BadSignature => "signature_mismatch",
    };
    ApiError::forbidden(code, refusal.to_string())
}

fn size_mismatch(size: u64) -> ApiError {
    ApiError::bad_request("size_mismatch", format!("the url is signed for a body of exactly {size} bytes"))
}

fn store_error(e: ObjectError) -> ApiError {
    match e {
        ObjectError::InvalidKey(_) | ObjectError::NotFound(_) => {
            ApiError::not_found("object_not_found", "no such object")
        }
        other => {
            tracing::warn!(error = %other, "embedded object store failed");
            ApiError::unavailable("object storage unavailable")
        }
    }
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    PathParams(key): PathParams<String>,
    QueryParams(query): QueryParams<SignedQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let objects = embedded(&state)?;
    let Grant::Put { size, content_type } = objects.authorize("PUT", &key, &query).map_err(refused)? else {
        return Err(refused(Refusal::BadSignature));
    };
    let sent_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if sent_type != Some(content_type.as_str()) {
        return Err(ApiError::bad_request(
            "content_type_mismatch",
            format!("the url is signed for content-type {content_type:?}"),
        ));
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::parse::<u64>);
    if declared.is_some_and(|length| length != Ok(size)) {
        return Err(size_mismatch(size));
    }
    state.use_cases.upload_still_open(&key).await?;
    let body = AtLeast::new(body.into_data_stream(), state.http.upload_min_bytes_per_sec, UPLOAD_GRACE);
    match objects.write(&key, size, &content_type, body).await {
        Ok(()) => {
            metrics::attachment_bytes("in", size);
            Ok(StatusCode::OK)
        }
        Err(UploadError::TooLong | UploadError::TooShort) => Err(size_mismatch(size)),
        Err(UploadError::Used) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "upload_url_used",
            "this upload url was used already; request a new upload for other bytes",
        )),
        Err(UploadError::Body(reason)) => match reason.downcast::<BodyError>().map(|e| *e) {
            Ok(too_slow @ BodyError::TooSlow(_)) => {
                Err(ApiError::new(StatusCode::REQUEST_TIMEOUT, "upload_too_slow", too_slow.to_string()))
            }
            Ok(other) => Err(ApiError::bad_request("invalid_body", other.to_string())),
            Err(other) => Err(ApiError::bad_request("invalid_body", other.to_string())),
        },
        Err(UploadError::Store(e)) => Err(store_error(e)),
    }
}

/// Serves a verified object: immutable, so named by its SHA-256 (`ETag`), cacheable privately
/// for as long as its URL lives, and readable in ranges.
pub(crate) async fn download(
    State(state): State<AppState>,
    PathParams(key): PathParams<String>,
    QueryParams(query): QueryParams<SignedQuery>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let objects = embedded(&state)?;
    let _ = objects.authorize("GET", &key, &query).map_err(refused)?;
    let object =
        objects.object(&key).await.map_err(store_error)?.ok_or_else(|| store_error(ObjectError::NotFound(key)))?;
    let meta = object.meta();
    let etag = object.sha256().map(|digest| format!("\"{}\"", hex::encode(digest)));
    // What every answer about this object says, a 304 included.
    let mut headers = HeaderMap::new();
    if let Some(etag) = etag.as_deref().and_then(|t| HeaderValue::from_str(t).ok()) {
        let _ = headers.insert(header::ETAG, etag);
    }
    let lives_for = query.expires.as_deref().and_then(|e| e.parse::<i64>().ok()).map_or(0, |e| e - now_secs()).max(0);
    let cache = format!("private, max-age={lives_for}, immutable");
    if let Ok(value) = HeaderValue::from_str(&cache) {
        let _ = headers.insert(header::CACHE_CONTROL, value);
    }
    let _ = headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // User content from the API's own origin: never rendered in place, never sniffed.
    let _ = headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    let _ = headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let _ = headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));

    let (status, range) = match byte_ranges::answer(&request, etag.as_deref(), meta.size) {
        Answer::NotModified => return Ok((StatusCode::NOT_MODIFIED, headers).into_response()),
        Answer::Unsatisfiable => {
            let mut refusal = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the range is malformed or outside the object's {} bytes", meta.size),
            )
            .into_response();
            refusal.headers_mut().extend(headers);
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{}", meta.size)) {
                let _ = refusal.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(refusal);
        }
        Answer::Whole => (StatusCode::OK, 0..meta.size),
        Answer::Part(range) => {
            let content_range = format!("bytes {}-{}/{}", range.start, range.end - 1, meta.size);
            if let Ok(value) = HeaderValue::from_str(&content_range) {
                let _ = headers.insert(header::CONTENT_RANGE, value);
            }
            (StatusCode::PARTIAL_CONTENT, range)
        }
    };
    let content_type = meta
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let _ = headers.insert(header::CONTENT_TYPE, content_type);
    let _ = headers.insert(header::CONTENT_LENGTH, HeaderValue::from(range.end - range.start));
    metrics::attachment_bytes("out", range.end - range.start);
    Ok((status, headers, Body::from_stream(object.bytes(range))).into_response())
}
