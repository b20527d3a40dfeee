//! The web client (`api/web/`), built into the binary: `/` and its assets. Plain files, no build
//! step; each answer says what the page may load (CSP) and is revalidated by its `ETag`, so a new
//! binary's client is picked up at once.
use std::sync::OnceLock;

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::ApiError;

/// One file of the client.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        bytes: include_bytes!("../../web/index.html"),
    },
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", bytes: include_bytes!("../../web/app.js") },
    Asset { name: "style.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("../../web/style.css") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../../web/icon.svg") },
];

/// What the page may load: its own scripts and styles only; images and connections also from the
/// object store's signed URLs, which may be another origin (S3, a CDN).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data: https: http:; connect-src 'self' ws: wss: https: http:; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// `GET /`: the client's page.
pub(crate) async fn page(request: HeaderMap) -> Response {
    serve(0, &request)
}

/// `GET /web/{file}`: its scripts, styles and icon.
pub(crate) async fn asset(Path(name): Path<String>, request: HeaderMap) -> Response {
    // Index 0, the page, is served at `/` only.
    match ASSETS.iter().skip(1).position(|asset| asset.name == name) {
        Some(index) => serve(index + 1, &request),
        None => ApiError::not_found("not_found", "no such file of the web client").into_response(),
    }
}

/// Serves `ASSETS[index]`.
fn serve(index: usize, request: &HeaderMap) -> Response {
    let (asset, etag) = (&ASSETS[index], etag_of(index));
    let mut headers = HeaderMap::new();
    let _ = headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let _ = headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let _ = headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let _ = headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    if let Ok(value) = HeaderValue::from_str(etag) {
        let _ = headers.insert(header::ETAG, value);
    }
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let _ = headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    (headers, asset.bytes).into_response()
}

/// The quoted SHA-256 (its first half) of `ASSETS[index]`, worked out once for every file.
fn etag_of(index: usize) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS.iter().map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.bytes)[..16]))).collect()
    });
    &tags[index]
}
