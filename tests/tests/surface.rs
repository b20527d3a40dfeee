//! Health, readiness, the OpenAPI document, and JSON errors for routes that do not exist.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::{Method, StatusCode};

async fn health_readiness_and_openapi(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);

    let health = client.get("/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    let ready = client.ready().await;
    assert_eq!(ready["status"], "ready");
    for projection in ["users", "messages", "groups", "attachments", "analytics"] {
        assert_eq!(ready["projections"][projection]["ok"], true, "{ready}");
    }
    // Anyone learns whether each check passed; offsets, errors and the generation are for
    // admins (the harness names an operator in --admins).
    let public = serde_json::to_string(&ready).unwrap();
    assert!(!public.contains("applied") && !public.contains("generation"), "{public}");
    let user = client.user("alice").await;
    let not_admin = client.get("/readyz", Some(&user.token)).await.body;
    assert!(
        not_admin["generation"].is_null() && not_admin["projections"]["messages"]["applied"].is_null(),
        "{not_admin}"
    );
    let full = client.readiness().await.body;
    assert_eq!(full["status"], "ready");
    assert!(full["projections"]["messages"]["applied"].is_object(), "{full}");
    assert!(full["generation"].is_u64(), "{full}");

    let doc = client.get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/auth/register", "post"),
        ("/auth/login", "post"),
        ("/chat/send", "post"),
        ("/chat/messages", "get"),
        ("/groups", "get"),
        ("/groups/create", "post"),
        ("/groups/{groupId}", "get"),
        ("/groups/{groupId}", "patch"),
        ("/groups/{groupId}/add-member", "put"),
        ("/groups/{groupId}/members/{username}", "delete"),
        ("/groups/{groupId}/members/{username}/role", "put"),
        ("/groups/{groupId}/send", "post"),
        ("/groups/{groupId}/messages", "get"),
        ("/chat/read", "post"),
        ("/groups/{groupId}/read", "post"),
        ("/ws", "get"),
        ("/attachments", "post"),
        ("/attachments/{attachmentId}", "get"),
        ("/attachments/{attachmentId}/complete", "post"),
        ("/chat/attachments", "get"),
        ("/groups/{groupId}/attachments", "get"),
        ("/analytics/summary", "get"),
        ("/encrypt", "post"),
        ("/decrypt", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        let operation = &doc.body["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} missing from the OpenAPI document");
        assert!(!operation["responses"].as_object().unwrap().is_empty());
    }
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc.body["components"]["schemas"]["ErrorBody"].is_object());
}

async fn unknown_routes_and_methods_answer_json_errors(backend: Backend) {
    let deployment = Deployment::new(backend);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);

    let missing = client.get("/no/such/thing", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "not_found");
    let wrong_method = client.call(Method::DELETE, "/chat/send", None, None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.error_code(), "method_not_allowed");
}

backend_tests!(health_readiness_and_openapi, unknown_routes_and_methods_answer_json_errors,);
