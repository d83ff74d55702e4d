//! `GET /openapi.json` (the document) and `GET /docs` (Swagger UI, with its files under
//! `/docs/`). Swagger UI is compiled into the binary (`utoipa-swagger-ui`'s `vendored` feature),
//! so the page needs nothing but this server: its Content-Security-Policy allows our own origin
//! only.

use std::sync::{Arc, OnceLock};

use actix_web::http::header::{ContentType, CONTENT_SECURITY_POLICY};
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

use crate::error::ApiError;
use crate::routes::Operation;
use crate::state::AppState;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The policy of the Swagger UI page and its files: scripts, styles, fonts and requests ("Try it
/// out") from this origin only, no inline script; images may also be `data:` URIs (Swagger UI's
/// CSS draws its icons with them); no plugins, no framing, no form posts elsewhere.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// The Swagger UI files the page loads; nothing else of its distribution is served.
const ASSETS: &[&str] = &[
    "swagger-ui.css",
    "index.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
];

/// The documentation operations.
pub fn operations() -> Vec<Operation> {
    [
        Operation::of::<__path_openapi_json>(|r| r.to(openapi_json)),
        Operation::of::<__path_swagger_ui>(|r| r.to(swagger_ui)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Registers `GET /docs/{file}`: Swagger UI's own files, not operations of the API (and
/// `GET /docs/`, the page again, for those who type the slash).
pub fn configure_assets(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::routes::resource("/docs/{file:.*}", "GET".to_owned()).route(web::get().to(asset)),
    );
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    responses(
        (status = 200, description = "The OpenAPI document.", content_type = "application/json",
            body = Object),
        (status = 500, response = crate::openapi::Internal),
    )
)]
async fn openapi_json(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let document = state.openapi_json.get_or_init(|| {
        crate::openapi::served(state.public_api_url.as_deref())
            .to_json()
            .map_err(|e| e.to_string())
    });
    match document {
        Ok(json) => Ok(HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(json.clone())),
        Err(error) => {
            log::error!("the OpenAPI document cannot be serialised: {error}");
            Err(ApiError::internal())
        }
    }
}

/// Swagger UI: the interactive view of the document; "Try it out" calls this server.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "docs",
    responses(
        (status = 200, description = "The Swagger UI page.", content_type = "text/html",
            body = String,
            headers(("Content-Security-Policy" = String, description = "Scripts from this origin only."))),
        (status = 500, response = crate::openapi::Internal),
    )
)]
async fn swagger_ui() -> Result<HttpResponse, ApiError> {
    let page = swagger_file("index.html")?.ok_or_else(ApiError::internal)?;
    let html = String::from_utf8(page.bytes.into_owned()).map_err(|_| ApiError::internal())?;
    // The page names its files relative to itself (`./swagger-ui.css`): served at `/docs`, they
    // must resolve under `/docs/`.
    let html = html.replacen("<head>", "<head>\n    <base href=\"/docs/\">", 1);
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((CONTENT_SECURITY_POLICY, DOCS_CSP))
        .body(html))
}

async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = file.into_inner();
    if name.is_empty() {
        return swagger_ui().await;
    }
    if !ASSETS.contains(&name.as_str()) {
        return Err(ApiError::not_found());
    }
    let found = swagger_file(&name)?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(found.content_type)
        .insert_header((CONTENT_SECURITY_POLICY, DOCS_CSP))
        .body(found.bytes.into_owned()))
}

/// One file of the embedded Swagger UI; `swagger-initializer.js` comes filled in with the config.
fn swagger_file(name: &str) -> Result<Option<utoipa_swagger_ui::SwaggerFile<'static>>, ApiError> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        Arc::new(
            Config::new([OPENAPI_PATH])
                // The standalone layout's top bar fetches any URL typed into it; not needed here.
                .use_base_layout()
                // Never send the document to swagger.io's validator.
                .validator_url("none")
                .try_it_out_enabled(true)
                .display_request_duration(true)
                // A bearer token typed into "Authorize" stays in the page, not in localStorage.
                .persist_authorization(false),
        )
    });
    utoipa_swagger_ui::serve(name, Arc::clone(config)).map_err(|error| {
        log::error!("Swagger UI file {name}: {error}");
        ApiError::internal()
    })
}
