//! The dashboard: server-rendered HTML (maud) on the node's own port, for
//! the node's own accounts, with their rights.
//!
//! - `/`: the login form for a signed-out visitor, else the overview.
//! - `POST /login`, `POST /logout`: sessions ([`session`]): a new random
//!   token per login in an `HttpOnly`, `SameSite=Strict` cookie (`Secure`
//!   under TLS); wrong passwords are throttled exactly like TAXII's (the
//!   same per-account and per-address buckets, the same argon2 permits).
//! - `/ui/partners`, `/ui/objects` (search), `/ui/objects/{collection}/{id}`,
//!   `/ui/sightings`, `/ui/cases` (+ a case's page and its forms),
//!   `/ui/techniques` (+ a technique's page), `/ui/log`.
//! - Every form carries the session's CSRF token, checked before anything
//!   is done; every page is sent with a strict Content-Security-Policy
//!   (scripts and styles only from this node, no framing), `no-store`.
//!
//! Rights: a page shows only the collections the account may read (the
//! same `read` list as TAXII); partners' accounts cannot sign in here
//! (they exchange through TAXII, under their agreement).

pub(crate) mod cases;
pub mod chart;
pub mod fmt;
pub(crate) mod pages;
pub mod session;
pub(crate) mod techniques;

use crate::auth::{AuthError, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use accord_app::exchange::Counterparty;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use session::{COOKIE, LOGIN_COOKIE, Session, Sessions, same_secret};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the dashboard keeps between requests.
#[derive(Default)]
pub struct UiState {
    /// Signed-in sessions.
    pub sessions: Sessions,
    /// Each collection's tally (by type and origin), kept a minute: a
    /// tally reads every row of a collection.
    tallies: Mutex<HashMap<String, (Instant, Tallied)>>,
    /// Collections whose tally is being counted.
    refreshing: Mutex<std::collections::HashSet<String>>,
    /// The reciprocity figures of the log so far, and the index of the
    /// next entry to add: each page view reads only what was appended.
    pub(crate) reciprocity: Mutex<(u64, accord_app::reciprocity::Accumulator)>,
    /// The search index, once [`index`] has opened it (`accord serve`).
    pub(crate) search: std::sync::OnceLock<Arc<accord_store::search::SearchIndex>>,
    /// Where to put the highest seq the search index has read: a cluster
    /// process reports it with its heartbeat, for the lag `accord cluster
    /// status` shows (set by `accord serve` when it joins a cluster).
    pub(crate) followed: std::sync::OnceLock<Arc<std::sync::atomic::AtomicI64>>,
    /// The ATT&CK techniques' breakdown, once [`follow_techniques`] made
    /// one.
    pub(crate) techniques: techniques::Kept,
}

/// Keeps the dashboard's breakdown by ATT&CK technique up with the store,
/// in the background, for as long as the node serves (see
/// [`techniques`]).
pub async fn follow_techniques(state: Arc<AppState>) {
    techniques::follow(state).await;
}

/// A collection's tally as kept.
type Tallied = Arc<Vec<accord_store::Tally>>;

/// Counts every served collection's tally (for `accord serve` at start).
pub async fn warm(state: Arc<AppState>) {
    pages::warm(state).await;
}

/// Keeps the dashboard's search index ([`accord_store::search`]) up with
/// the store, in the background, for as long as the node serves: what was
/// stored since the last round every 2 s, 5,000 versions at a time (one of the store's read permits, held briefly), and
/// when behind, resting as long as each round took (at most half a core:
/// a store of 1,000,000 is indexed in the first minutes after its first
/// start; the search scans what the index has not reached yet).
pub async fn index(state: Arc<AppState>) {
    let dir = state.config.data_dir.clone();
    let opened =
        tokio::task::spawn_blocking(move || accord_store::search::SearchIndex::open(&dir)).await;
    let index = match opened {
        Ok(Ok(i)) => Arc::new(i),
        Ok(Err(e)) => {
            tracing::error!(
                "the dashboard's search index: {e}; searching by value reads the newest versions only"
            );
            return;
        }
        Err(e) => {
            tracing::error!("the dashboard's search index: {e}");
            return;
        }
    };
    if let Some(why) = index.rebuilt() {
        tracing::warn!("the dashboard's search index could not be read ({why}): rebuilding it");
    }
    let _ = state.ui.search.set(Arc::clone(&index));
    let weak = Arc::downgrade(&state);
    drop(state);
    let (started, mut indexed, mut caught_up) = (Instant::now(), 0usize, false);
    loop {
        let Some(state) = weak.upgrade() else { return };
        let i = Arc::clone(&index);
        let round = Instant::now();
        let done = state
            .read("indexing for search", move |store| {
                let n = i.catch_up(store, &accord_app::search::terms, INDEX_BUDGET)?;
                Ok((n, i.indexed_through()?))
            })
            .await
            .map(|(n, through)| {
                if let Some(f) = state.ui.followed.get() {
                    f.store(through, std::sync::atomic::Ordering::Relaxed);
                }
                n
            });
        drop(state);
        match done {
            Ok(n) if n >= INDEX_BUDGET => {
                indexed += n;
                // Behind: go on, but rest as long as the round took, so
                // the indexer never takes more than half a core from
                // what the node is doing (a search scans what it has not
                // reached).
                tokio::time::sleep(round.elapsed()).await;
                continue;
            }
            Ok(n) => {
                indexed += n;
                if !caught_up {
                    caught_up = true;
                    tracing::info!(
                        "search index caught up: {indexed} versions indexed in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            Err(e) => tracing::warn!("the dashboard's search index: {}", e.description),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Versions indexed per round of [`index`].
const INDEX_BUDGET: usize = 5_000;

/// How long a collection's tally is reused before it is counted again in
/// the background (the old one is shown meanwhile).
const TALLY_TTL: Duration = Duration::from_secs(60);

impl UiState {
    /// A collection's kept tally and whether it is younger than a minute.
    pub(crate) fn cached_tally(&self, collection: &str) -> Option<(Tallied, bool)> {
        let m = self.tallies.lock().ok()?;
        let (at, t) = m.get(collection)?;
        Some((Arc::clone(t), at.elapsed() < TALLY_TTL))
    }

    pub(crate) fn keep_tally(&self, collection: &str, t: Tallied) {
        if let Ok(mut m) = self.tallies.lock() {
            m.insert(collection.to_owned(), (Instant::now(), t));
        }
    }

    /// Marks a collection's tally as being counted; false when it already
    /// is (one count at a time per collection).
    pub(crate) fn start_refresh(&self, collection: &str) -> bool {
        self.refreshing
            .lock()
            .map(|mut s| s.insert(collection.to_owned()))
            .unwrap_or(false)
    }

    pub(crate) fn end_refresh(&self, collection: &str) {
        if let Ok(mut s) = self.refreshing.lock() {
            s.remove(collection);
        }
    }
}

/// The dashboard's routes (merged at the root, beside TAXII's `/taxii2/`).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/ui/style.css", get(style))
        .route("/ui/app.js", get(script))
        .route("/ui/partners", get(pages::partners))
        .route("/ui/objects", get(pages::objects))
        .route("/ui/objects/{collection}/{id}", get(pages::object))
        .route("/ui/objects/{collection}/{id}/log", get(pages::trail))
        .route("/ui/log/proof/{index}", get(pages::proof))
        .route("/ui/sightings", get(pages::sightings))
        .route("/ui/log", get(pages::log))
        .route("/ui/cases", get(cases::list).post(cases::open))
        .route("/ui/cases/{id}", get(cases::show).post(cases::act))
        .route("/ui/techniques", get(techniques::list))
        .route("/ui/techniques/{technique}", get(techniques::show))
}

/// Headers on every dashboard page.
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

/// An HTML page response.
pub(crate) fn html_page(status: StatusCode, m: Markup) -> Response {
    let mut r = (status, m.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(r)
}

/// A page's failure, shown as a page.
#[derive(Debug)]
pub(crate) struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> UiError {
        UiError {
            status,
            message: message.into(),
        }
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> UiError {
        UiError::new(e.status, e.description)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        html_page(
            self.status,
            html! {
                (DOCTYPE)
                html lang="en" {
                    head { meta charset="utf-8"; title { "Accord — " (title) } link rel="stylesheet" href="/ui/style.css"; }
                    body {
                        main.narrow {
                            h1 { (title) }
                            p.error { (self.message) }
                            p { a href="/" { "Back to the overview" } }
                        }
                    }
                }
            },
        )
    }
}

/// The signed-in session of a request. A request without one is sent to
/// the login form (GET) or refused (any other method).
pub(crate) struct Signed {
    pub(crate) session: Session,
}

impl Signed {
    pub(crate) fn caller(&self) -> &Caller {
        &self.session.caller
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub(crate) fn check_csrf(&self, token: &str) -> Result<(), UiError> {
        if same_secret(token, &self.session.csrf) {
            Ok(())
        } else {
            Err(UiError::new(
                StatusCode::FORBIDDEN,
                "this form was not sent from this session's page (its CSRF token is missing or wrong): reload the page and try again",
            ))
        }
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Arc<AppState>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let found = match cookie(&parts.headers, COOKIE) {
            Some(t) => state
                .ui
                .sessions
                .find(t, &state.accounts)
                .await
                .map_err(|e| unavailable(&e))?,
            None => None,
        };
        match found {
            Some(session) => Ok(Signed { session }),
            None if parts.method == Method::GET => Err(secure(Redirect::to("/").into_response())),
            None => Err(UiError::new(
                StatusCode::FORBIDDEN,
                "you are signed out (the session ended or was never started): sign in again",
            )
            .into_response()),
        }
    }
}

/// The page for a session that could not be read, started or ended: the
/// cluster's database is unreachable (503 with `Retry-After: 1`, as the
/// TAXII API answers then) or failed (500).
pub(crate) fn unavailable(e: &accord_store::StoreError) -> Response {
    let api = ApiError::store("the dashboard's sessions", e);
    let status = api.status;
    let mut r = UiError::from(api).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// The address a request came from (for the login throttle).
pub(crate) struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let secure = if state.config.tls.is_some() {
        "; Secure"
    } else {
        ""
    };
    let age = max_age.map_or_else(String::new, |s| format!("; Max-Age={s}"));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The login page, with a fresh login CSRF cookie.
pub(crate) fn login_page(state: &AppState, status: StatusCode, message: Option<&str>) -> Response {
    let token = session::random_token();
    let m = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Accord — sign in" }
                link rel="stylesheet" href="/ui/style.css";
            }
            body {
                main.narrow {
                    h1 { (state.config.title) }
                    p { "Sign in with this node's account (the same user name and password as its TAXII API)." }
                    @if let Some(m) = message { p.error role="alert" { (m) } }
                    form method="post" action="/login" {
                        input type="hidden" name="csrf" value=(token);
                        label { "User name" input type="text" name="user" autocomplete="username" required autofocus; }
                        label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    let mut r = html_page(status, m);
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_COOKIE, &token, Some(3600)),
    );
    r
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Response {
    // Login CSRF: the form must come from a login page this browser got.
    if !cookie(&headers, LOGIN_COOKIE).is_some_and(|c| same_secret(c, &f.csrf)) {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some(
                "This sign-in form has expired or did not come from this node. Please sign in again.",
            ),
        );
    }
    use base64::Engine;
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", f.user, f.password))
    );
    let checked = match state.accounts.authenticate_fast(Some(&header)) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => match state.accounts.reserve(Some(&header), addr) {
            Err(e) => Err(e),
            Ok(reservation) => {
                let permit = match Arc::clone(&state.accounts.password_checks)
                    .acquire_owned()
                    .await
                {
                    Ok(p) => p,
                    Err(e) => {
                        return UiError::from(ApiError::internal("checking a password", &e))
                            .into_response();
                    }
                };
                let st = Arc::clone(&state);
                tokio::task::spawn_blocking(move || {
                    let r = st.accounts.verify_password(Some(&header), reservation);
                    drop(permit);
                    r
                })
                .await
                .unwrap_or(Err(AuthError::Denied))
            }
        },
        Err(e) => Err(e),
    };
    let caller = match checked {
        Ok(c) => c,
        Err(AuthError::Throttled {
            retry_after_secs, ..
        }) => {
            let mut r = login_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many failed sign-ins lately. The password was not checked; try again in {retry_after_secs} s."
                )),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
        Err(_) => {
            return login_page(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("Wrong user name or password."),
            );
        }
    };
    if let Counterparty::Partner(p) = state.counterparty(&caller.name) {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some(&format!(
                "Account `{}` is partner {p}'s: partners exchange through TAXII; the dashboard is for this node's own accounts.",
                caller.name
            )),
        );
    }
    let token = match state.ui.sessions.open(caller).await {
        Ok(t) => t,
        Err(e) => return unavailable(&e),
    };
    let mut r = secure(Redirect::to("/").into_response());
    // Replace 303 semantics: a POST answered by a redirect to a GET.
    *r.status_mut() = StatusCode::SEE_OTHER;
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, COOKIE, &token, Some(session::MAX_AGE.as_secs())),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, "", Some(0)),
    );
    r
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    signed: Signed,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, UiError> {
    signed.check_csrf(&f.csrf)?;
    if let Some(t) = cookie(&headers, COOKIE)
        && let Err(e) = state.ui.sessions.close(t).await
    {
        return Ok(unavailable(&e));
    }
    let mut r = secure(Redirect::to("/").into_response());
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, COOKIE, "", Some(0)));
    Ok(r)
}

/// The frame of every signed-in page.
pub(crate) fn layout(
    state: &AppState,
    signed: &Signed,
    active: &str,
    title: &str,
    body: Markup,
) -> Markup {
    let nav = [
        ("/", "Overview"),
        ("/ui/partners", "Partners"),
        ("/ui/objects", "Objects"),
        ("/ui/sightings", "Sightings"),
        ("/ui/cases", "Hotline"),
        ("/ui/techniques", "Techniques"),
        ("/ui/log", "Log"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (state.config.title) }
                link rel="stylesheet" href="/ui/style.css";
                script src="/ui/app.js" defer {}
            }
            body {
                header.top {
                    span.brand { (state.config.title) }
                    nav {
                        @for (href, name) in nav {
                            a href=(href) aria-current=[(name == active).then_some("page")] { (name) }
                        }
                    }
                    form.signout method="post" action="/logout" {
                        span { "Signed in as " strong { (signed.caller().name) } }
                        input type="hidden" name="csrf" value=(signed.session.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

async fn style() -> Response {
    static_file("text/css; charset=utf-8", STYLE)
}

async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", SCRIPT)
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Rewrites `<time>` elements in the viewer's own zone (UTC stays in
/// the title); the only script of the dashboard.
const SCRIPT: &str = r#"document.querySelectorAll('time[datetime]').forEach(function (t) {
  var d = new Date(t.getAttribute('datetime'));
  if (!isNaN(d)) { t.textContent = d.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'short'}); }
});
"#;

const STYLE: &str = r#":root { --fg: #1b1f24; --muted: #5b6470; --line: #d5dae0; --accent: #1f5fa8; --bad: #b3261e; --warn: #8a5a00; --ok: #1d6b38; --bg: #fff; --soft: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--soft); flex-wrap: wrap; }
header.top .brand { font-weight: 600; }
header.top nav { display: flex; gap: 1rem; flex: 1; }
header.top nav a { color: var(--fg); text-decoration: none; padding: .2rem 0; }
header.top nav a[aria-current=page] { border-bottom: 2px solid var(--accent); font-weight: 600; }
form.signout { display: flex; gap: .6rem; align-items: center; margin: 0; }
main { padding: 1rem 1.2rem 3rem; max-width: 1200px; }
main.narrow { max-width: 420px; margin: 4rem auto; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .9rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: .8rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; }
.card .big { font-size: 1.6rem; font-weight: 600; }
.card .what { color: var(--muted); font-size: .9rem; }
.empty { color: var(--muted); font-style: italic; }
.error { color: var(--bad); }
.overdue, .bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); }
.good { color: var(--ok); }
label { display: block; margin: .6rem 0; }
label input, label select, label textarea { display: block; width: 100%; padding: .4rem; margin-top: .2rem; font: inherit; }
form.inline { display: flex; gap: .6rem; align-items: end; flex-wrap: wrap; }
form.inline label { margin: 0; }
button { font: inherit; padding: .4rem .9rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
pre { background: var(--soft); padding: .8rem; overflow-x: auto; font-size: .85rem; }
figure.chart { margin: .4rem 0 1rem; }
figure.chart figcaption { color: var(--muted); font-size: .85rem; }
svg .bar { fill: var(--accent); }
svg .label, svg .value { font-size: 12px; fill: var(--fg); }
svg .axis { stroke: var(--line); }
.thread li { margin: .6rem 0; list-style: none; border-left: 3px solid var(--line); padding-left: .8rem; }
.thread { padding: 0; }
.meta { color: var(--muted); font-size: .85rem; }
"#;

/// The login page for `/` when signed out.
pub(crate) fn signed_out(state: &AppState) -> Response {
    login_page(state, StatusCode::OK, None)
}
