//! The POST of an envelope (§5.4): content type and size checks,
//! validation on every core, and the store's group-commit writer.

use super::taxii_json;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::{AppState, MAX_STATUSES};
use crate::taxii::{Status, StatusDetails, TAXII_MEDIA_TYPE};
use accord_app::exchange::{Admission, Counterparty, Exchange, Refusal};
use accord_store::{NewObject, ObjectMeta, ObjectWrite, PutOutcome, StoreError};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use rayon::prelude::*;
use serde_json::value::RawValue;
use std::sync::Arc;

#[derive(serde::Deserialize)]
struct EnvelopeIn<'a> {
    #[serde(borrow, default)]
    objects: Vec<&'a RawValue>,
}

/// Checks the request's Content-Type: TAXII 2.1 JSON, else 415.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let norm: String = ct
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if norm == "application/taxii+json;version=2.1" || norm == "application/taxii+json" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("a POST of objects must be `{TAXII_MEDIA_TYPE}`, not `{ct}`"),
        ))
    }
}

pub(crate) async fn add_objects(
    State(s): State<Arc<AppState>>,
    Path((root, coll)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let c = s.collection(&root, &coll)?;
    if !caller.can_write(&c.id) {
        return Err(ApiError::forbidden(format!(
            "account `{}` may not add to collection `{}`",
            caller.name, c.id
        )));
    }
    // A reference collection (`accord import attack`) is never written
    // over TAXII.
    if let Some(what) = s.read_now("reading the collection's kind", |b| {
        accord_app::reference::of(b, c.store_name())
    })? {
        return Err(ApiError::forbidden(format!(
            "collection `{}` is a read-only reference collection ({what})",
            c.id
        )));
    }
    check_content_type(&headers)?;
    let max = s.config.limits.max_content_length;
    let too_big = |n: &dyn std::fmt::Display| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            format!(
                "the envelope is {n} bytes; this API root takes at most {max} bytes (max_content_length)"
            ),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max
    {
        return Err(too_big(&len));
    }
    let bytes: Bytes = axum::body::to_bytes(body, usize::try_from(max).unwrap_or(usize::MAX))
        .await
        .map_err(|e| {
            let e = e.into_inner();
            if e.is::<http_body_util::LengthLimitError>() {
                too_big(&"more than that")
            } else {
                // A pause longer than body_read_timeout_secs, or a broken body.
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "Request body not received",
                    format!(
                        "reading the envelope failed: {e} (body_read_timeout_secs bounds a pause)"
                    ),
                )
            }
        })?;
    let request_timestamp = accord_stix::Timestamp::from_unix(s.clock.now_unix_secs(), 0).format(6);
    let store_name = c.store_name().to_owned();
    // Logged as received from the posting account; what a partner sends
    // is kept as the partner's (`partner:NAME`), which decides where it
    // may go onward.
    let from = s.counterparty(&caller.name);
    let origin = match from {
        Counterparty::Partner(name) => format!("partner:{name}"),
        _ => format!("taxii:{}", caller.name),
    };
    let writer = s.writer.received_from(from.label().unwrap_or(&caller.name));
    // The counterparty, owned, for the blocking task.
    let (is_partner, who) = (
        matches!(from, Counterparty::Partner(_)),
        from.label().unwrap_or(&caller.name).to_owned(),
    );
    let exchange = s.exchange.clone();
    // What a partner posts is checked against the protected facilities
    // (the registry read once per request; nothing when there is none).
    let facilities = if is_partner {
        let state = Arc::clone(&s);
        match s
            .read("reading the protected facilities", move |store| {
                Ok(state.facilities.registry(store))
            })
            .await?
        {
            Ok(r) => Some(r).filter(|r| !r.is_empty()),
            Err(e) => {
                tracing::error!("protected facilities not checked: {e}");
                None
            }
        }
    } else {
        None
    };
    // Indicators on the node's warninglists are counted as `accord ingest`
    // counts them (the lists as they are now; the stored bytes unchanged).
    let lists = s.warninglists.set().filter(|l| !l.is_empty());
    let st = tokio::task::spawn_blocking(move || {
        let from = if is_partner {
            Counterparty::Partner(&who)
        } else {
            Counterparty::Account(&who)
        };
        let seam = (&exchange, from);
        ingest_envelope(
            &bytes,
            &store_name,
            &origin,
            &*writer,
            request_timestamp,
            seam,
            facilities.as_deref(),
            lists.as_deref(),
        )
    })
    .await
    .map_err(|e| ApiError::internal("storing objects", &e))??;
    let (st, touches, flagged) = st;
    if let Some(what) = flagged.describe() {
        tracing::info!(
            "POST {} to collection `{}` by `{}`: {} of {} stored; {what}",
            st.id,
            c.id,
            caller.name,
            st.success_count,
            st.total_count
        );
    }
    if !touches.is_empty() {
        // Stored and durable: the touches escalate before the answer.
        let config = s.config.clone();
        let now = s.clock.now_timestamp();
        s.read("escalating a protected facility's touch", move |store| {
            accord_app::facility::escalate_logged(&config, store, &touches, now);
            Ok(())
        })
        .await?;
    }
    if let Ok(mut log) = s.statuses.lock() {
        if log.order.len() >= MAX_STATUSES
            && let Some(old) = log.order.pop_front()
        {
            log.by_id.remove(&old);
        }
        log.order.push_back(st.id.clone());
        log.by_id.insert(st.id.clone(), st.clone());
    }
    Ok(taxii_json(StatusCode::ACCEPTED, &st))
}

/// An admitted object of an envelope: its indexed fields, its text and the
/// policy's flags.
type Checked<'r> = (ObjectMeta, &'r str, Vec<String>);

/// Admits object `i` of an envelope through the exchange seam: its indexed
/// fields, or the failure to report with the validator's (or the
/// policy's) reasons.
fn check_object<'r>(
    exchange: &Exchange,
    from: Counterparty<'_>,
    i: usize,
    raw: &'r str,
) -> Result<Checked<'r>, StatusDetails> {
    match exchange.admit(from, raw) {
        Admission::Admitted { meta, flags, .. } => {
            for f in &flags {
                tracing::warn!(
                    "object {} from {}: {f}",
                    meta.id(),
                    from.label().unwrap_or("local")
                );
            }
            Ok((meta, raw, flags))
        }
        Admission::Rejected(r) => {
            let message = match (&r.refusal, &r.id) {
                (Refusal::Unparsable(e), None) => format!("object {i} of the envelope: {e}"),
                (refusal, _) => refusal.to_string(),
            };
            Err(StatusDetails {
                id: r.id.unwrap_or_default(),
                version: r.version,
                message: Some(message),
            })
        }
    }
}

/// Objects per piece of an envelope: each piece is validated (on every
/// core) and queued for the writer while the writer stores the previous
/// one, so the writer starts on a 1,000-object envelope after a quarter of
/// the validation instead of all of it.
const PIECE: usize = 256;

/// Validates an envelope's objects, stores the valid ones durably and
/// returns the status: each object a success (stored, or already there
/// unchanged) or a failure with the validator's reason, or the store's
/// when its piece could not be stored. An indicator stored whose value is
/// on one of `lists` is counted in the returned [`Flagged`] and its
/// success says `warninglisted: LIST, …` in its `message` (a string, as
/// TAXII's status-details allow).
///
/// [`Flagged`]: accord_app::warninglists::Flagged
#[allow(clippy::too_many_arguments)]
fn ingest_envelope(
    bytes: &[u8],
    store_name: &str,
    origin: &str,
    writer: &dyn ObjectWrite,
    request_timestamp: String,
    (exchange, from): (&Exchange, Counterparty<'_>),
    facilities: Option<&accord_app::facility::Registry>,
    lists: Option<&accord_app::warninglists::Set>,
) -> Result<
    (
        Status,
        Vec<accord_app::facility::Touch>,
        accord_app::warninglists::Flagged,
    ),
    ApiError,
> {
    let mut touches = Vec::new();
    let mut flagged = accord_app::warninglists::Flagged::default();
    let env: EnvelopeIn<'_> = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a TAXII envelope: {} at line {} column {}",
            e.to_string().split(" at line ").next().unwrap_or(""),
            e.line(),
            e.column()
        ))
    })?;
    let mut failures = Vec::new();
    // Per piece: the status entries of its valid objects, and the writer's
    // answer.
    let mut pieces = Vec::new();
    for (p, piece) in env.objects.chunks(PIECE).enumerate() {
        let results: Vec<Result<Checked<'_>, StatusDetails>> = piece
            .par_iter()
            .enumerate()
            .map(|(i, raw)| check_object(exchange, from, p * PIECE + i, raw.get()))
            .collect();
        let mut checked: Vec<Checked<'_>> = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(c) => checked.push(c),
                Err(f) => failures.push(f),
            }
        }
        if checked.is_empty() {
            continue;
        }
        let news: Vec<NewObject<'_>> = checked
            .iter()
            .map(|(m, raw, _)| m.new_object(raw, store_name, origin))
            .collect();
        // An admitted object the policy flagged says so in its status.
        let details: Vec<StatusDetails> = news
            .iter()
            .zip(&checked)
            .map(|(n, (_, _, flags))| StatusDetails {
                id: n.id.to_owned(),
                version: n.modified.or(n.created).unwrap_or("").to_owned(),
                message: (!flags.is_empty()).then(|| format!("flagged: {}", flags.join("; "))),
            })
            .collect();
        let texts: Vec<(String, &str)> = checked
            .iter()
            .map(|(m, raw, _)| (m.type_name().to_owned(), *raw))
            .collect();
        pieces.push((details, texts, writer.submit(&news)));
    }
    let mut successes = Vec::new();
    let mut first_error = None;
    let mut stored_any = false;
    for (details, texts, pending) in pieces {
        let outcomes = match pending.and_then(accord_store::Pending::wait) {
            Ok(o) => o,
            Err(e) => {
                let why = format!("not stored: {e}");
                failures.extend(details.into_iter().map(|d| StatusDetails {
                    message: Some(why.clone()),
                    ..d
                }));
                first_error.get_or_insert(e);
                continue;
            }
        };
        stored_any = true;
        for ((detail, (type_name, raw)), outcome) in details.into_iter().zip(texts).zip(outcomes) {
            match outcome {
                PutOutcome::Stored { .. } => {
                    if let Some(reg) = facilities
                        && let Some(t) = accord_app::facility::touch_of(
                            reg,
                            &type_name,
                            &detail.id,
                            raw,
                            from.label().unwrap_or(origin),
                        )
                    {
                        touches.push(t);
                    }
                    let mut detail = detail;
                    if let Some(set) = lists
                        && type_name == "indicator"
                    {
                        let hits = accord_app::warninglists::indicator_hits(set, raw);
                        if !hits.is_empty() {
                            flagged.add(&hits);
                            let listed = format!(
                                "warninglisted: {}",
                                accord_app::warninglists::names(&hits)
                            );
                            detail.message = Some(match detail.message {
                                Some(m) => format!("{m}; {listed}"),
                                None => listed,
                            });
                        }
                    }
                    successes.push(detail);
                }
                PutOutcome::Duplicate { .. } => successes.push(StatusDetails {
                    message: Some(match detail.message {
                        Some(m) => format!("already stored, unchanged; {m}"),
                        None => "already stored, unchanged".into(),
                    }),
                    ..detail
                }),
                PutOutcome::Conflict { .. } => failures.push(StatusDetails {
                    message: Some(
                        "another object with this id and version is already stored; versions are immutable".into(),
                    ),
                    ..detail
                }),
            }
        }
    }
    // Nothing stored because of the store: the request failed, not the objects.
    if let (false, Some(e)) = (stored_any, first_error) {
        return Err(match e {
            StoreError::Full { .. } => ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "Storage full",
                format!("nothing of this envelope was stored: {e}"),
            ),
            other => ApiError::store("storing objects", &other),
        });
    }
    Ok((
        Status {
            id: uuid::Uuid::new_v4().to_string(),
            status: "complete",
            request_timestamp,
            total_count: env.objects.len() as u64,
            success_count: successes.len() as u64,
            successes,
            failure_count: failures.len() as u64,
            failures,
            pending_count: 0,
            pendings: Vec::new(),
        },
        touches,
        flagged,
    ))
}
