//! `GET /openapi.json` and `GET /docs`: the OpenAPI document generated from
//! the routes, and Swagger UI to read and try it. Swagger UI's files are
//! compiled into the binary (utoipa-swagger-ui's `vendored` feature), so the
//! page needs no CDN and no network.

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::Config;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(docs_page))
        .routes(routes!(docs_file))
}

/// The OpenAPI 3.1 document of this API, generated from the code.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document.", body = serde_json::Value, content_type = "application/json")),
)]
async fn openapi_json() -> Result<Response, ApiError> {
    // The document depends on the code only, so it is written once.
    static JSON: LazyLock<Result<Bytes, serde_json::Error>> =
        LazyLock::new(|| crate::openapi().to_json().map(Bytes::from));
    match &*JSON {
        Ok(json) => Ok(([(CONTENT_TYPE, "application/json")], json.clone()).into_response()),
        Err(error) => Err(ApiError::internal(format!(
            "the OpenAPI document could not be written: {error}"
        ))),
    }
}

/// An interactive page of this API (Swagger UI), rendered from
/// `/openapi.json`.
#[utoipa::path(
    get, path = "/docs", tag = "operations",
    responses((status = 200, description = "An HTML page.", body = String, content_type = "text/html")),
)]
async fn docs_page() -> Html<&'static str> {
    Html(include_str!("../assets/docs.html"))
}

/// The files of the `/docs` page: Swagger UI's scripts, styles and icons.
#[utoipa::path(
    get, path = "/docs/{file}", tag = "operations",
    params(("file" = String, Path, description = "A file name, e.g. `swagger-ui.css`.")),
    responses(
        (status = 200, description = "The file, with its media type (JavaScript, CSS, PNG or HTML)."),
        (status = 404, description = "No such file.", body = ErrorBody),
    ),
)]
async fn docs_file(Path(file): Path<String>) -> Result<Response, ApiError> {
    static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
        // `validator_url("none")`: Swagger UI would otherwise send the
        // document's address to an online validator.
        Arc::new(
            Config::new(["/openapi.json"])
                .validator_url("none")
                .persist_authorization(false)
                .display_request_duration(true),
        )
    });
    match utoipa_swagger_ui::serve(&file, CONFIG.clone()) {
        Ok(Some(found)) => Ok((
            [(CONTENT_TYPE, found.content_type)],
            found.bytes.into_owned(),
        )
            .into_response()),
        Ok(None) => Err(ApiError::not_found(format!(
            "the API page has no file '{file}'"
        ))),
        Err(error) => Err(ApiError::internal(format!(
            "the API page's file '{file}' could not be served: {error}"
        ))),
    }
}
