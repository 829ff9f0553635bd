//! Objects (§5.3, §5.4 POST is in [`super::ingest`]), one object (§5.5,
//! §5.6 DELETE), its versions (§5.7) and the manifest (§5.3 manifest).

use super::{date_headers, envelope_response, params, read_page, taxii_json, version_of};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::{AppState, decide, release};
use crate::taxii::{Manifest, ManifestRecord, STIX_MEDIA_TYPE, Versions};
use accord_app::exchange::Release;
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
    let mut r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("objects", None),
        VersionFilter::last(),
    )
    .await?;
    let by_id = !r.params.filters.ids.is_empty();
    let released = release(&s, &r.caller, &r.collection_id, &mut r.page.objects, by_id).await?;
    Ok(envelope_response(&r, &released))
}

pub(crate) async fn get_object(
    State(s): State<Arc<AppState>>,
    Path((root, coll, object)): Path<(String, String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let mut r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("object", Some(&object)),
        VersionFilter::last(),
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
    let released = release(&s, &r.caller, &r.collection_id, &mut r.page.objects, true).await?;
    if !r.page.objects.is_empty() && !r.page.more && released.iter().all(withheld) {
        // Every version the caller could see is withheld from it: to the
        // caller the object does not exist.
        return Err(ApiError::not_found(format!(
            "no object `{object}` in collection `{}`",
            r.collection_id
        )));
    }
    Ok(envelope_response(&r, &released))
}

/// Whether the seam withholds the object.
fn withheld(r: &Release) -> bool {
    matches!(r, Release::Withhold { .. })
}

/// The objects of a page the seam lets `caller` see, each with the id it
/// leaves with (a cyber-observable whose id derives from data the caller
/// may not see leaves with another), for the manifest and versions, which
/// list objects without sending them (so no `out` record). `by_id`: the
/// read selected objects by id ([`accord_app::exchange::Exchange::release_by_id`]).
async fn visible<'p>(
    s: &Arc<AppState>,
    caller: &str,
    objects: &'p mut Vec<accord_store::StoredObject>,
    by_id: bool,
) -> Result<Vec<(&'p accord_store::StoredObject, String)>, ApiError> {
    let released = decide(s, caller, objects, by_id).await?;
    let objects: &'p [accord_store::StoredObject] = objects;
    Ok(objects
        .iter()
        .zip(released)
        .filter_map(|(o, r)| match r {
            Release::Send => Some((o, o.id.clone())),
            Release::Redact { raw, .. } => Some((
                o,
                accord_app::exchange::released_id(&raw).unwrap_or_else(|| o.id.clone()),
            )),
            Release::Withhold { .. } => None,
        })
        .collect())
}

pub(crate) async fn manifest(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
    Authenticated(caller): Authenticated,
) -> Result<Response, ApiError> {
    let mut r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("manifest", None),
        VersionFilter::last(),
    )
    .await?;
    let by_id = !r.params.filters.ids.is_empty();
    let body = Manifest {
        more: r.page.more,
        next: r.next.clone(),
        objects: visible(&s, &r.caller, &mut r.page.objects, by_id)
            .await?
            .into_iter()
            .map(|(o, id)| ManifestRecord {
                id,
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
    let mut r = read_page(
        &s,
        caller,
        (&root, &coll),
        &pairs,
        ("versions", Some(&object)),
        VersionFilter::all(),
    )
    .await?;
    let mut list: Vec<String> = visible(&s, &r.caller, &mut r.page.objects, true)
        .await?
        .into_iter()
        .map(|(o, _)| version_of(o))
        .collect();
    if list.is_empty() && r.params.next.is_none() && !r.page.more {
        // 404 when the object does not exist (or every version the caller
        // could see is withheld from it); an object whose versions the
        // filters (`added_after`, `match[spec_version]`) all leave out is
        // an empty list, as for one object (§5.7: 404 is "the API Root,
        // Collection ID and/or Object ID are not found").
        let (store_name, id) = (r.store_name.clone(), object.clone());
        let exists = !r.page.objects.is_empty()
            || s.read("reading versions", move |st| {
                Ok(!st.get_versions(&store_name, &id)?.is_empty())
            })
            .await?;
        if !exists || !r.page.objects.is_empty() {
            return Err(ApiError::not_found(format!(
                "no object `{object}` in collection `{}`",
                r.collection_id
            )));
        }
    }
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
    if let Some(what) = s.read_now("reading the collection's kind", |b| {
        accord_app::reference::of(b, c.store_name())
    })? {
        return Err(ApiError::forbidden(format!(
            "collection `{}` is a read-only reference collection ({what})",
            c.id
        )));
    }
    let params = params(&pairs)?;
    let q = params
        .filters
        .to_query(c.store_name(), 0, VersionFilter::all());
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
