//! The request extractors every handler uses instead of axum's own, so a
//! malformed path, query string or JSON body is answered with the error body
//! (a 4xx) rather than axum's plain-text rejection.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// axum-extra's query extractor, which reads a repeated key
/// (`tag=a%3D1&tag=b%3D2`) into a list.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum_extra::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);
