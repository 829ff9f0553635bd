//! Per-line observable buffer shared by every reader. Values are byte
//! ranges into the line or into a scratch buffer (unescaped strings, built
//! URLs), turned into borrowed [`Observable`]s only once the whole line has
//! been validated, so a bad line never yields a partial event.

use crate::classify;
use crate::{Event, Kind, Observable, Sink};

/// Where a value's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    /// A range of the line.
    Line(u32, u32),
    /// A range of the scratch buffer.
    Scratch(u32, u32),
}

impl Val {
    pub fn sub(self, s: usize, e: usize) -> Val {
        match self {
            Val::Line(a, _) => Val::Line(a + s as u32, a + e as u32),
            Val::Scratch(a, _) => Val::Scratch(a + s as u32, a + e as u32),
        }
    }
}

/// A field's name: static for known names, else an index into the reader's
/// table of names (Zeek `#fields`, CSV header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldName {
    Static(&'static str),
    Dyn(u32),
}

/// What a reader does with a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Ignore,
    /// The event time.
    Time,
    /// An address as written by the sensor (not re-validated).
    Ip,
    /// A host (`Host:` header, SNI, HELO): port stripped, IP or DNS name.
    Host,
    /// A DNS name or an address (DNS answers, rdata); other text dropped.
    Name,
    /// An absolute URL.
    Url,
    /// A value that is a URL when it starts with a scheme (Zeek's
    /// `file_desc`: the URL of a file fetched over HTTP, else free text).
    UrlIfScheme,
    /// An HTTP request target, joined with the request's host into a URL.
    HttpUri,
    /// An HTTP host: emitted as a host and remembered for [`Action::HttpUri`].
    HttpHost,
    /// A mailbox (`Name <a@b>`): its addr-spec.
    Email,
    /// A hex hash.
    Hash,
    /// A colon-separated hex fingerprint (`2d:d1:9f:…`): colons removed.
    Fingerprint,
    /// A file name.
    Text,
    /// A distinguished name: its CN (a name) and emailAddress.
    Dn,
    /// The value of a Zeek Intel indicator, typed by [`Action::IntelType`].
    IntelValue,
    /// `Intel::ADDR`, `Intel::DOMAIN`, …
    IntelType,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct RawObs {
    pub field: FieldName,
    pub kind: Kind,
    pub val: Val,
}

/// The observables of the line being read.
#[derive(Clone, Default, Debug)]
pub(crate) struct Collector {
    pub obs: Vec<RawObs>,
    pub scratch: Vec<u8>,
    pub time: Option<i64>,
    http_host: Option<Val>,
    http_uri: Option<(FieldName, Val)>,
    intel_value: Option<(FieldName, Val)>,
    intel_kind: Option<Option<Kind>>,
    out: Vec<Observable<'static>>,
}

/// Reuses a vector's allocation for another lifetime (in-place collect of an
/// empty iterator keeps the buffer).
fn recycle<'b>(mut v: Vec<Observable<'_>>) -> Vec<Observable<'b>> {
    v.clear();
    v.into_iter().map(|_| unreachable!()).collect()
}

impl Collector {
    pub fn clear(&mut self) {
        self.obs.clear();
        self.scratch.clear();
        self.time = None;
        self.http_host = None;
        self.http_uri = None;
        self.intel_value = None;
        self.intel_kind = None;
    }

    #[inline]
    pub fn bytes<'a>(&'a self, line: &'a [u8], v: Val) -> &'a [u8] {
        match v {
            Val::Line(s, e) => &line[s as usize..e as usize],
            Val::Scratch(s, e) => &self.scratch[s as usize..e as usize],
        }
    }

    #[inline]
    pub fn push(&mut self, field: FieldName, kind: Kind, val: Val) {
        self.obs.push(RawObs { field, kind, val });
    }

    /// Appends a value's bytes to scratch.
    fn append(&mut self, line: &[u8], v: Val) {
        match v {
            Val::Line(s, e) => self
                .scratch
                .extend_from_slice(&line[s as usize..e as usize]),
            Val::Scratch(s, e) => self.scratch.extend_from_within(s as usize..e as usize),
        }
    }

    /// Applies `action` to one value.
    pub fn apply(&mut self, line: &[u8], field: FieldName, action: Action, val: Val) {
        let b = self.bytes(line, val);
        if b.is_empty() {
            return;
        }
        match action {
            Action::Ignore => {}
            Action::Time => {
                self.time = crate::time::parse_any(b);
            }
            Action::Ip => self.push(field, Kind::Ip, val),
            Action::Host | Action::HttpHost => {
                let (s, e) = classify::host_part(b);
                let h = &b[s..e];
                if let Some(kind) = classify::classify_name(h) {
                    let v = val.sub(s, e);
                    self.push(field, kind, v);
                    if action == Action::HttpHost {
                        self.http_host = Some(v);
                    }
                }
            }
            Action::Name => {
                if let Some(kind) = classify::classify_name(b) {
                    self.push(field, kind, val);
                }
            }
            Action::Url => self.push(field, Kind::Url, val),
            Action::UrlIfScheme => {
                if has_scheme(b) {
                    self.push(field, Kind::Url, val);
                }
            }
            Action::HttpUri => self.http_uri = Some((field, val)),
            Action::Email => {
                if let Some((s, e)) = classify::mailbox(b) {
                    self.push(field, Kind::Email, val.sub(s, e));
                }
            }
            Action::Hash => {
                if classify::all_hex(b, false) {
                    self.push(field, Kind::Hash, val);
                }
            }
            Action::Fingerprint => {
                if classify::all_hex(b, true) {
                    if memchr::memchr(b':', b).is_some() {
                        let s = self.scratch.len();
                        self.append(line, val);
                        let mut w = s;
                        for r in s..self.scratch.len() {
                            let c = self.scratch[r];
                            if c != b':' {
                                self.scratch[w] = c;
                                w += 1;
                            }
                        }
                        self.scratch.truncate(w);
                        let v = Val::Scratch(s as u32, self.scratch.len() as u32);
                        self.push(field, Kind::Hash, v);
                    } else {
                        self.push(field, Kind::Hash, val);
                    }
                }
            }
            Action::Text => self.push(field, Kind::Text, val),
            Action::Dn => {
                let mut found: [(bool, usize, usize); 4] = [(false, 0, 0); 4];
                let mut n = 0;
                classify::dn_parts(b, |is_email, s, e| {
                    if n < found.len() {
                        found[n] = (is_email, s, e);
                        n += 1;
                    }
                });
                for &(is_email, s, e) in &found[..n] {
                    let v = &self.bytes(line, val)[s..e];
                    if is_email {
                        if let Some((a, z)) = classify::mailbox(v) {
                            self.push(field, Kind::Email, val.sub(s + a, s + z));
                        }
                    } else {
                        // A wildcard certificate names its parent domain.
                        let skip = if v.starts_with(b"*.") { 2 } else { 0 };
                        if let Some(kind) = classify::classify_name(&v[skip..]) {
                            self.push(field, kind, val.sub(s + skip, e));
                        }
                    }
                }
            }
            Action::IntelValue => self.intel_value = Some((field, val)),
            Action::IntelType => self.intel_kind = Some(intel_kind(b)),
        }
    }

    /// Resolves what needs the whole line: HTTP host + URI into a URL,
    /// Intel values by their type.
    pub fn finish(&mut self, line: &[u8]) {
        if let Some((field, uri)) = self.http_uri.take() {
            let u = self.bytes(line, uri);
            if has_scheme(u) {
                self.push(field, Kind::Url, uri);
            } else if let Some(host) = self.http_host {
                let s = self.scratch.len();
                self.scratch.extend_from_slice(b"http://");
                self.append(line, host);
                if self.bytes(line, uri).first() != Some(&b'/') {
                    self.scratch.push(b'/');
                }
                self.append(line, uri);
                self.push(
                    field,
                    Kind::Url,
                    Val::Scratch(s as u32, self.scratch.len() as u32),
                );
            }
        }
        if let (Some((field, val)), Some(Some(kind))) = (self.intel_value.take(), self.intel_kind) {
            let b = self.bytes(line, val);
            if kind == Kind::Url && !has_scheme(b) {
                let s = self.scratch.len();
                self.scratch.extend_from_slice(b"http://");
                self.append(line, val);
                self.push(
                    field,
                    kind,
                    Val::Scratch(s as u32, self.scratch.len() as u32),
                );
            } else if kind == Kind::Email {
                self.apply(line, field, Action::Email, val);
            } else {
                self.push(field, kind, val);
            }
        }
    }

    /// Hands the line's event to the sink.
    pub fn deliver(&mut self, line_no: u64, line: &[u8], names: &[Box<str>], sink: &mut dyn Sink) {
        let mut out = recycle(std::mem::take(&mut self.out));
        for o in &self.obs {
            let field: &str = match o.field {
                FieldName::Static(s) => s,
                FieldName::Dyn(i) => names.get(i as usize).map_or("?", |s| &**s),
            };
            let value = match o.val {
                Val::Line(s, e) => &line[s as usize..e as usize],
                Val::Scratch(s, e) => &self.scratch[s as usize..e as usize],
            };
            out.push(Observable {
                field,
                kind: o.kind,
                value,
            });
        }
        sink.event(&Event {
            line: line_no,
            time: self.time,
            observables: &out,
        });
        self.out = recycle(out);
    }
}

/// `scheme://` at the start (letters, digits, `+-.`).
pub(crate) fn has_scheme(b: &[u8]) -> bool {
    let Some(p) = memchr::memmem::find(&b[..b.len().min(16)], b"://") else {
        return false;
    };
    p > 0
        && b[..p]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// The kind of a Zeek `Intel::Type`; `None` for types no index holds
/// (subnets, software, user names, public-key hashes).
fn intel_kind(t: &[u8]) -> Option<Kind> {
    let t = t.strip_prefix(b"Intel::").unwrap_or(t);
    match t {
        b"ADDR" => Some(Kind::Ip),
        b"DOMAIN" => Some(Kind::Domain),
        b"URL" => Some(Kind::Url),
        b"EMAIL" => Some(Kind::Email),
        b"FILE_HASH" | b"CERT_HASH" | b"JA3" => Some(Kind::Hash),
        b"FILE_NAME" => Some(Kind::Text),
        _ => None,
    }
}
