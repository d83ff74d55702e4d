//! `GET /openapi.json` and `GET /docs`: the document cannot drift unnoticed (snapshot), it
//! describes exactly the operations the server serves, and the Swagger UI page loads from this
//! server alone under a strict Content-Security-Policy. The document is the same on every
//! database, so these run on SQLite only.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{run, Backend, TestApp};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp) -> Value {
    let reply = app
        .send(app.client.get(format!("{}/openapi.json", app.address)))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.header("content-type").starts_with("application/json"),
        "{:?}",
        reply.headers
    );
    reply.body
}

/// (method in upper case, path) of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    run(Backend::Sqlite, |app| async move {
        let doc = document(&app).await;
        assert_eq!(doc["openapi"], "3.1.0");
        insta::assert_json_snapshot!("openapi_document", doc);
    })
    .await;
}

#[tokio::test]
async fn the_route_table_and_the_document_name_the_same_operations() {
    run(Backend::Sqlite, |app| async move {
        let served: BTreeSet<(String, String)> = api::routes::operations()
            .into_iter()
            .map(|operation| (operation.method.to_string(), operation.path))
            .collect();
        assert_eq!(served, documented(&document(&app).await));
    })
    .await;
}

/// Independent of the table: each documented operation reaches a handler (not the JSON 404 of
/// unknown addresses, not a 405), and every other method on a documented path is a 405 whose
/// `Allow` lists exactly the documented methods.
#[tokio::test]
async fn every_documented_operation_is_served_and_no_other_method_is() {
    run(Backend::Sqlite, |app| async move {
        let doc = document(&app).await;
        let unknown = app
            .send(app.client.get(format!("{}/no-such-address", app.address)))
            .await;
        assert_eq!(unknown.status, 404);
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let concrete = path.replace("{session_id}", "no-such-session");
            let url = format!("{}{concrete}", app.address);
            let allowed: Vec<String> = METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| m.to_uppercase())
                .collect();
            for method in METHODS {
                let verb =
                    reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let reply = app.send(app.client.request(verb, &url)).await;
                if item.get(method).is_some() {
                    assert_ne!(reply.status, 405, "{method} {path}: {}", reply.text);
                    assert_ne!(
                        reply.text, unknown.text,
                        "{method} {path} is documented but nothing serves it"
                    );
                    let status = reply.status.to_string();
                    assert!(
                        item[method]["responses"].get(&status).is_some(),
                        "{method} {path} answered an undocumented {status}: {}",
                        reply.text
                    );
                } else {
                    assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
                    assert_eq!(reply.header("allow"), allowed.join(", "), "{path}");
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn protected_operations_require_the_bearer_scheme_and_public_ones_do_not() {
    run(Backend::Sqlite, |app| async move {
        let doc = document(&app).await;
        let scheme = &doc["components"]["securitySchemes"]["bearer"];
        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
        assert_eq!(scheme["bearerFormat"], "JWT");
        for (method, path) in documented(&doc) {
            let operation = &doc["paths"][&path][method.to_lowercase()];
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            let reply = app
                .send(app.client.request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{}{}", app.address, path.replace("{session_id}", "x")),
                ))
                .await;
            assert_eq!(
                secured,
                reply.error() == "missing_token",
                "{method} {path} without a token answered {}",
                reply.text
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_docs_page_loads_its_files_from_this_server_under_a_strict_csp() {
    run(Backend::Sqlite, |app| async move {
        let page = app
            .send(app.client.get(format!("{}/docs", app.address)))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.header("content-type").starts_with("text/html"));
        let csp = page.header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(
            !page.text.contains("http://") && !page.text.contains("https://"),
            "the page loads something from elsewhere: {}",
            page.text
        );
        let files = referenced_files(&page.text);
        assert!(
            files.iter().any(|f| f.ends_with(".js")) && files.iter().any(|f| f.ends_with(".css")),
            "{files:?}"
        );
        for file in &files {
            let url = format!("{}/docs/{}", app.address, file.trim_start_matches("./"));
            let reply = app.send(app.client.get(&url)).await;
            assert_eq!(reply.status, 200, "{url}");
            assert!(!reply.text.is_empty() || file.ends_with(".png"), "{url}");
        }
        let initializer = app
            .send(
                app.client
                    .get(format!("{}/docs/swagger-initializer.js", app.address)),
            )
            .await;
        assert!(
            initializer.text.contains("\"url\": \"/openapi.json\""),
            "{}",
            initializer.text
        );
        assert!(initializer.header("content-type").contains("javascript"));
        let with_slash = app
            .send(app.client.get(format!("{}/docs/", app.address)))
            .await;
        assert_eq!(with_slash.status, 200);
        assert_eq!(with_slash.text, page.text);
        // Only the page's own files are served, not the rest of Swagger UI's distribution.
        for other in [
            "index.html",
            "swagger-ui.js.map",
            "..%2Fbuild.rs",
            "oauth2-redirect.html",
            "a/swagger-ui.css",
        ] {
            let reply = app
                .send(app.client.get(format!("{}/docs/{other}", app.address)))
                .await;
            assert_eq!(reply.status, 404, "{other}");
            assert_eq!(reply.error(), "not_found");
        }
    })
    .await;
}

/// The `src` and `href` values of a page, in order.
fn referenced_files(html: &str) -> Vec<String> {
    let mut files = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            if let Some(end) = rest.find('"') {
                files.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
        }
    }
    files.retain(|f| f != "/docs/");
    files
}
