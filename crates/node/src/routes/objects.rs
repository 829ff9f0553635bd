//! Objects (§5.3, §5.4 POST is in [`super::ingest`]), one object (§5.5,
//! §5.6 DELETE), its versions (§5.7) and the manifest (§5.3 manifest).

use super::{date_headers, envelope_response, params, read_page, taxii_json, version_of};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::{AppState, log_sent};
use crate::taxii::{Manifest, ManifestRecord, STIX_MEDIA_TYPE, Versions};
use accord_store::Store;
use accord_store::VersionFilter;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub(crate) async fn get_objects(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("objects", None),
        VersionFilter::Last,
    )
    .await?;
    log_sent(&s, &r.caller, &r.collection_id, &r.page.objects).await?;
    Ok(envelope_response(&r))
}

pub(crate) async fn get_object(
    State(s): State<Arc<AppState>>,
    Path((root, coll, object)): Path<(String, String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("object", Some(&object)),
        VersionFilter::Last,
    )
    .await?;
    if r.page.objects.is_empty() && r.params.next.is_none() {
        // Nothing matched the filters: 404 only when no version exists at all.
        let (store_name, id) = (r.store_name.clone(), object.clone());
        let exists = s
            .read("reading an object", move |st| {
                Ok(!st.get_versions(&store_name, &id)?.is_empty())
            })
            .await?;
        if !exists {
            return Err(ApiError::not_found(format!(
                "no object `{object}` in collection `{}`",
                r.collection_id
            )));
        }
    }
    log_sent(&s, &r.caller, &r.collection_id, &r.page.objects).await?;
    Ok(envelope_response(&r))
}

pub(crate) async fn manifest(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("manifest", None),
        VersionFilter::Last,
    )
    .await?;
    let body = Manifest {
        more: r.page.more,
        next: r.next.clone(),
        objects: r
            .page
            .objects
            .iter()
            .map(|o| ManifestRecord {
                id: o.id.clone(),
                date_added: o.date_added.clone(),
                version: version_of(o),
                media_type: STIX_MEDIA_TYPE,
            })
            .collect(),
    };
    let mut res = taxii_json(StatusCode::OK, &body);
    date_headers(&mut res, &r.page);
    Ok(res)
}

pub(crate) async fn versions(
    State(s): State<Arc<AppState>>,
    Path((root, coll, object)): Path<(String, String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("versions", Some(&object)),
        VersionFilter::All,
    )
    .await?;
    if r.page.objects.is_empty() && r.params.next.is_none() {
        return Err(ApiError::not_found(format!(
            "no object `{object}` in collection `{}`",
            r.collection_id
        )));
    }
    let mut list: Vec<String> = r.page.objects.iter().map(version_of).collect();
    list.sort_by_key(|v| accord_stix::Timestamp::parse(v).ok());
    let mut res = taxii_json(
        StatusCode::OK,
        &Versions {
            more: r.page.more,
            next: r.next.clone(),
            versions: list,
        },
    );
    date_headers(&mut res, &r.page);
    Ok(res)
}

pub(crate) async fn delete_object(
    State(s): State<Arc<AppState>>,
    Path((root, coll, object)): Path<(String, String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let c = s.collection(&root, &coll)?;
    if !caller.can_write(&c.id) || !caller.can_read(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` may not delete from collection `{}` (it needs read and write)",
            caller.name, c.id
        )));
    }
    let params = params(&pairs)?;
    let q = params
        .filters
        .to_query(c.store_name(), 0, VersionFilter::All);
    if !q.spec_versions.is_empty() && !q.spec_versions.iter().any(|v| v == "2.1") {
        return Err(ApiError::not_found(format!(
            "no object `{object}` with that spec_version"
        )));
    }
    let writer = s.writer.clone();
    let store_name = c.store_name().to_owned();
    let id = object.clone();
    let n = tokio::task::spawn_blocking(move || writer.delete(&store_name, &id, &q.versions))
        .await
        .map_err(|e| ApiError::internal("deleting an object", &e))?
        .map_err(|e| ApiError::internal("deleting an object", &e))?;
    if n == 0 {
        return Err(ApiError::not_found(format!(
            "no object `{object}` in collection `{}`",
            c.id
        )));
    }
    Ok(StatusCode::OK.into_response())
}
