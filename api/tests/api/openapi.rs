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

/// A property of a component schema.
fn property<'a>(doc: &'a Value, schema: &str, name: &str) -> &'a Value {
    &doc["components"]["schemas"][schema]["properties"][name]
}

#[tokio::test]
async fn the_bounds_in_the_document_are_the_ones_the_server_checks() {
    use service::limits;
    run(Backend::Sqlite, |app| async move {
        let doc = document(&app).await;
        let name = property(&doc, "RegisterRequest", "name");
        assert_eq!(name["maxLength"], limits::NAME_MAX);
        assert_eq!(
            property(&doc, "RegisterRequest", "email")["maxLength"],
            limits::EMAIL_MAX
        );
        let password = property(&doc, "RegisterRequest", "password");
        assert_eq!(password["minLength"], limits::PASSWORD_MIN);
        assert_eq!(password["maxLength"], limits::PASSWORD_MAX);
        let username = property(&doc, "RegisterRequest", "username");
        assert_eq!(username["minLength"], limits::USERNAME_MIN);
        assert_eq!(username["maxLength"], limits::USERNAME_MAX);
        assert_eq!(
            property(&doc, "ProfileResponse", "patient_id")["maximum"],
            i64::from(i32::MAX)
        );

        // And the server refuses one character more, as the document says.
        let too_long = "x".repeat(limits::NAME_MAX + 1);
        let reply = app
            .post_json(
                "/auth/register",
                &serde_json::json!({"name": too_long, "email": "bounds@example.com",
                                    "password": crate::helpers::PASSWORD}),
            )
            .await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert!(reply.body["fields"]["name"].is_string(), "{}", reply.text);
    })
    .await;
}

#[tokio::test]
async fn public_operations_say_so_and_limited_ones_document_their_headers() {
    run(Backend::Sqlite, |app| async move {
        let doc = document(&app).await;
        for (path, method) in [
            ("/auth/register", "post"),
            ("/auth/login", "post"),
            ("/auth/refresh", "post"),
            ("/health", "get"),
            ("/ready", "get"),
            ("/openapi.json", "get"),
            ("/docs", "get"),
        ] {
            assert_eq!(
                doc["paths"][path][method]["security"],
                serde_json::json!([]),
                "{method} {path} is public on purpose"
            );
        }
        assert_ne!(
            doc["paths"]["/auth/me"]["get"]["security"],
            serde_json::json!([])
        );
        for route in api::rate_limit::LimitedRoute::ALL {
            let path = route.path();
            let responses = doc["paths"][path]["post"]["responses"]
                .as_object()
                .expect("responses");
            for (status, response) in responses {
                if status.starts_with('2') || status.starts_with('4') {
                    assert!(
                        response["headers"]["RateLimit"].is_object()
                            && response["headers"]["RateLimit-Policy"].is_object(),
                        "{path} {status}"
                    );
                }
            }
        }
        let me = &doc["paths"]["/auth/me"]["get"]["responses"]["200"]["headers"];
        assert!(
            me["RateLimit"].is_null(),
            "an operation without a limit claims none"
        );
        assert!(me["Access-Control-Allow-Origin"].is_object());
        assert_eq!(doc["servers"][0]["url"], "/");
        let bearer = doc["components"]["securitySchemes"]["bearer"]["description"]
            .as_str()
            .expect("description");
        assert!(
            bearer.contains("RFC8725") && bearer.contains("HS256"),
            "{bearer}"
        );
    })
    .await;
}

#[tokio::test]
async fn servers_names_the_configured_public_url() {
    let (address, _db, _server) =
        crate::helpers::sqlite_server(&[("PUBLIC_API_URL", "https://api.example.com/")]).await;
    let doc = crate::helpers::read(
        reqwest::get(format!("{address}/openapi.json"))
            .await
            .expect("sent"),
    )
    .await
    .body;
    assert_eq!(doc["servers"][0]["url"], "https://api.example.com");
    assert_eq!(doc["servers"][0]["x-internal"], false);
    let bad = api::settings::Settings::load(&database::SettingsSources::only(
        [("PUBLIC_API_URL".to_owned(), "ftp://x".to_owned())].into(),
    ));
    assert!(
        bad.is_err_and(|e| e.to_string().contains("public_api_url")),
        "a bad PUBLIC_API_URL names its key"
    );
}
