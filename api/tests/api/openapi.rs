//! The OpenAPI document covers every route.
