//! Discovery (§4.1), API roots (§4.2) and collections (§5.1, §5.2).

use super::taxii_json;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::AppState;
use crate::taxii::{
    ApiRoot, Collection, Collections, Discovery, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE,
};
use accord_app::config::CollectionConfig;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;

pub(crate) async fn discovery(
    State(s): State<Arc<AppState>>,
    Authenticated(_): Authenticated,
) -> Result<Response, ApiError> {
    let roots: Vec<String> = s
        .config
        .api_roots
        .iter()
        .map(|r| format!("/{}/", r.name))
        .collect();
    Ok(taxii_json(
        StatusCode::OK,
        &Discovery {
            title: s.config.title.clone(),
            description: s.config.description.clone(),
            default: roots.first().cloned(),
            api_roots: roots,
        },
    ))
}

pub(crate) async fn api_root(
    State(s): State<Arc<AppState>>,
    Path(root): Path<String>,
    Authenticated(_): Authenticated,
) -> Result<Response, ApiError> {
    let r = s.api_root(&root)?;
    Ok(taxii_json(
        StatusCode::OK,
        &ApiRoot {
            title: r.title.clone(),
            description: r.description.clone(),
            versions: vec![TAXII_MEDIA_TYPE],
            max_content_length: s.config.limits.max_content_length,
        },
    ))
}

fn collection_resource(c: &CollectionConfig, caller: &Caller) -> Collection {
    Collection {
        id: c.id.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        alias: c.alias.clone(),
        can_read: caller.can_read(&c.id),
        can_write: caller.can_write(&c.id),
        media_types: vec![STIX_MEDIA_TYPE],
    }
}

pub(crate) async fn collections(
    State(s): State<Arc<AppState>>,
    Path(root): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let r = s.api_root(&root)?;
    let list = r
        .collections
        .iter()
        .filter(|c| caller.can_read(&c.id) || caller.can_write(&c.id))
        .map(|c| collection_resource(c, &caller))
        .collect();
    Ok(taxii_json(
        StatusCode::OK,
        &Collections { collections: list },
    ))
}

pub(crate) async fn collection(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let c = s.collection(&root, &coll)?;
    if !caller.can_read(&c.id) && !caller.can_write(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` has no access to collection `{}`",
            caller.name, c.id
        )));
    }
    Ok(taxii_json(StatusCode::OK, &collection_resource(c, &caller)))
}
