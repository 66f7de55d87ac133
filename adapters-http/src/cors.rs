//! CORS through tower-http, for real preflights only. tower-http answers
//! every `OPTIONS` as a preflight; the contract routes an `OPTIONS` without
//! `Origin` or `Access-Control-Request-Method` like any other method (404
//! for an unknown path, 405 with `Allow` for a known one).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::Method;
use axum::http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use tower::{Layer, Service};
use tower_http::cors::{Cors, CorsLayer};

/// Wraps a service so that only CORS traffic goes through `CorsLayer`.
#[derive(Clone)]
pub struct PreflightOnlyLayer(pub CorsLayer);

impl<S: Clone> Layer<S> for PreflightOnlyLayer {
    type Service = PreflightOnly<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PreflightOnly {
            cors: self.0.layer(inner.clone()),
            plain: inner,
        }
    }
}

#[derive(Clone)]
pub struct PreflightOnly<S> {
    cors: Cors<S>,
    plain: S,
}

fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(ORIGIN)
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

impl<S> Service<Request> for PreflightOnly<S>
where
    S: Service<Request> + Clone,
    S::Future: Send + 'static,
    Cors<S>: Service<Request, Response = S::Response, Error = S::Error>,
    <Cors<S> as Service<Request>>::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Both wrap clones of one router, which is always ready.
        match self.cors.poll_ready(cx) {
            Poll::Ready(Ok(())) => self.plain.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() != Method::OPTIONS || is_preflight(&request) {
            Box::pin(self.cors.call(request))
        } else {
            Box::pin(self.plain.call(request))
        }
    }
}
