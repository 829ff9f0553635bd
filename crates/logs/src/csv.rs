//! CSV (RFC 4180 quoting) with a header row or a caller-given column
//! mapping (`--columns src:ip,dst:ip,,url:url`).

use crate::collect::{Action, Collector, FieldName, Val};
use crate::{Error, Kind, Sink, SkipReason, classify};

/// How the columns of a CSV file map to observables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvColumns {
    cols: Vec<(Box<str>, Option<ColKind>)>,
}

/// What a CSV column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// One of the observable kinds.
    Kind(Kind),
    /// A host: an address or a DNS name, `:port` removed.
    Host,
    /// The event time (epoch seconds or ISO 8601).
    Time,
}

impl CsvColumns {
    /// Parses `name:kind,...` in column order. Kinds: `ip`, `domain`,
    /// `host`, `url`, `email`, `hash`, `text`, `time`; an entry with no
    /// kind (`name` or empty) is a column to ignore.
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let mut cols = Vec::new();
        for (i, entry) in spec.split(',').enumerate() {
            let entry = entry.trim();
            let (name, kind) = match entry.split_once(':') {
                Some((n, k)) => (n.trim(), Some(k.trim())),
                None => (entry, None),
            };
            let kind = match kind.map(str::to_ascii_lowercase).as_deref() {
                None | Some("" | "skip" | "ignore" | "-") => None,
                Some("ip" | "addr" | "address") => Some(ColKind::Kind(Kind::Ip)),
                Some("domain" | "name") => Some(ColKind::Kind(Kind::Domain)),
                Some("host") => Some(ColKind::Host),
                Some("url" | "uri") => Some(ColKind::Kind(Kind::Url)),
                Some("email" | "mail") => Some(ColKind::Kind(Kind::Email)),
                Some("hash" | "md5" | "sha1" | "sha256") => Some(ColKind::Kind(Kind::Hash)),
                Some("text" | "filename") => Some(ColKind::Kind(Kind::Text)),
                Some("time" | "ts" | "timestamp") => Some(ColKind::Time),
                Some(other) => {
                    return Err(Error::Columns {
                        spec: spec.to_string(),
                        reason: format!("unknown kind {other:?}"),
                    });
                }
            };
            let name = if name.is_empty() {
                format!("column{}", i + 1)
            } else {
                name.to_string()
            };
            cols.push((name.into_boxed_str(), kind));
        }
        Ok(CsvColumns { cols })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Ignore,
    Act(Action),
    /// No kind known: a cell that is wholly an address, URL, mailbox or hash.
    Auto,
}

/// CSV reader state: delimiter, header, column rules.
#[derive(Debug, Clone)]
pub(crate) struct Csv {
    delim: u8,
    header_pending: bool,
    /// Rows must have exactly this many columns (header mode) or at least
    /// `rules.len()` (mapping mode).
    exact: bool,
    pub names: Vec<Box<str>>,
    rules: Vec<Rule>,
    cells: Vec<(u32, u32, bool)>,
}

fn col_action(k: ColKind) -> Action {
    match k {
        ColKind::Kind(Kind::Ip) => Action::Ip,
        ColKind::Kind(Kind::Domain) => Action::Name,
        ColKind::Host => Action::Host,
        ColKind::Kind(Kind::Url) => Action::Url,
        ColKind::Kind(Kind::Email) => Action::Email,
        ColKind::Kind(Kind::Hash) => Action::Hash,
        ColKind::Kind(Kind::Text) => Action::Text,
        ColKind::Time => Action::Time,
    }
}

/// The rule for a header name (case-insensitive).
fn header_rule(name: &str) -> Rule {
    let n = name.trim().to_ascii_lowercase();
    let a = match n.as_str() {
        "ip" | "src" | "dst" | "src_ip" | "dst_ip" | "dest_ip" | "srcip" | "dstip"
        | "source_ip" | "destination_ip" | "sourceip" | "destinationip" | "client_ip"
        | "server_ip" | "ip_address" | "ipaddress" | "address" | "addr" | "src_addr"
        | "dst_addr" | "saddr" | "daddr" | "remote_ip" | "local_ip" | "id.orig_h" | "id.resp_h" => {
            Action::Ip
        }
        "domain" | "hostname" | "host" | "fqdn" | "query" | "qname" | "sni" | "server_name"
        | "dns_query" | "rrname" => Action::Host,
        "url" | "uri" | "referrer" | "referer" | "request_url" => Action::Url,
        "email" | "mail" | "sender" | "recipient" | "from" | "to" | "mailfrom" | "rcptto" => {
            Action::Email
        }
        "md5" | "sha1" | "sha256" | "sha512" | "hash" | "file_hash" => Action::Hash,
        "filename" | "file_name" => Action::Text,
        "time" | "timestamp" | "ts" | "date" | "datetime" | "@timestamp" => Action::Time,
        _ => return Rule::Auto,
    };
    Rule::Act(a)
}

impl Csv {
    pub fn new(delim: u8, columns: Option<&CsvColumns>, has_header: bool) -> Self {
        let mut c = Csv {
            delim,
            header_pending: has_header || columns.is_none(),
            exact: columns.is_none(),
            names: Vec::new(),
            rules: Vec::new(),
            cells: Vec::new(),
        };
        if let Some(cols) = columns {
            for (name, kind) in &cols.cols {
                c.names.push(name.clone());
                c.rules
                    .push(kind.map_or(Rule::Ignore, |k| Rule::Act(col_action(k))));
            }
        }
        c
    }

    /// Splits a record into cells (ranges of the line, or of `scratch` for
    /// quoted cells with `""`).
    fn split(&mut self, line: &[u8], c: &mut Collector) -> Result<(), SkipReason> {
        self.cells.clear();
        let mut i = 0;
        loop {
            if line.get(i) == Some(&b'"') {
                i += 1;
                let start = i;
                let mut owned: Option<usize> = None;
                loop {
                    let Some(p) = memchr::memchr(b'"', &line[i..]) else {
                        return Err(SkipReason::BadCsv);
                    };
                    if line.get(i + p + 1) == Some(&b'"') {
                        owned.get_or_insert(c.scratch.len());
                        c.scratch.extend_from_slice(&line[i..i + p + 1]);
                        i += p + 2;
                    } else {
                        match owned {
                            Some(s) => {
                                c.scratch.extend_from_slice(&line[i..i + p]);
                                self.cells.push((s as u32, c.scratch.len() as u32, true));
                            }
                            None => self.cells.push((start as u32, (i + p) as u32, false)),
                        }
                        i += p + 1;
                        break;
                    }
                }
                match line.get(i) {
                    None => return Ok(()),
                    Some(&d) if d == self.delim => i += 1,
                    Some(_) => return Err(SkipReason::BadCsv),
                }
            } else {
                let end = memchr::memchr(self.delim, &line[i..]).map_or(line.len(), |p| i + p);
                if memchr::memchr(b'"', &line[i..end]).is_some() {
                    return Err(SkipReason::BadCsv);
                }
                self.cells.push((i as u32, end as u32, false));
                if end == line.len() {
                    return Ok(());
                }
                i = end + 1;
            }
        }
    }

    fn header(&mut self, line: &[u8], c: &mut Collector) -> Result<(), SkipReason> {
        self.split(line, c)?;
        let mapped = !self.rules.is_empty();
        if !mapped {
            for &(s, e, owned) in &self.cells {
                let b = if owned {
                    &c.scratch[s as usize..e as usize]
                } else {
                    &line[s as usize..e as usize]
                };
                let name = std::str::from_utf8(b)
                    .map_err(|_| SkipReason::InvalidUtf8)?
                    .trim();
                self.names.push(name.into());
                self.rules.push(header_rule(name));
            }
        }
        Ok(())
    }

    fn record(&mut self, line: &[u8], c: &mut Collector) -> Result<(), SkipReason> {
        self.split(line, c)?;
        let n = self.cells.len();
        if (self.exact && n != self.rules.len()) || n < self.rules.len() {
            return Err(SkipReason::FieldCount);
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let (s, e, owned) = self.cells[i];
            let val = if owned {
                Val::Scratch(s, e)
            } else {
                Val::Line(s, e)
            };
            let field = FieldName::Dyn(i as u32);
            let cell = c.bytes(line, val);
            let (a, z) = trim(cell);
            if a == z {
                continue;
            }
            let val = val.sub(a, z);
            match *rule {
                Rule::Ignore => {}
                Rule::Act(action) => c.apply(line, field, action, val),
                Rule::Auto => {
                    let v = &cell[a..z];
                    if classify::is_ip(v) {
                        c.push(field, Kind::Ip, val);
                    } else if crate::collect::has_scheme(v) && is_web_scheme(v) {
                        c.push(field, Kind::Url, val);
                    } else if classify::is_hash(v) {
                        c.push(field, Kind::Hash, val);
                    } else if classify::mailbox(v) == Some((0, v.len()))
                        && classify::is_text_domain(&v[memchr::memchr(b'@', v).unwrap_or(0) + 1..])
                    {
                        c.push(field, Kind::Email, val);
                    }
                }
            }
        }
        Ok(())
    }

    pub fn chunk(
        &mut self,
        c: &mut Collector,
        bytes: &[u8],
        first_line: u64,
        sink: &mut dyn Sink,
    ) -> u64 {
        crate::for_each_line(bytes, first_line, |no, line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                return;
            }
            c.clear();
            if !crate::is_utf8(line) {
                sink.skipped(no, SkipReason::InvalidUtf8);
                return;
            }
            if self.header_pending {
                self.header_pending = false;
                if let Err(r) = self.header(line, c) {
                    sink.skipped(no, r);
                }
                return;
            }
            match self.record(line, c) {
                Ok(()) => {
                    c.finish(line);
                    c.deliver(no, line, &self.names, sink);
                }
                Err(r) => sink.skipped(no, r),
            }
        })
    }

    pub fn scan_headers(&mut self, bytes: &[u8]) {
        if !self.header_pending {
            return;
        }
        let mut c = Collector::default();
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                self.header_pending = false;
                let _ = self.header(line, &mut c);
                return;
            }
        }
    }
}

fn trim(b: &[u8]) -> (usize, usize) {
    let mut a = 0;
    let mut z = b.len();
    while a < z && b[a].is_ascii_whitespace() {
        a += 1;
    }
    while z > a && b[z - 1].is_ascii_whitespace() {
        z -= 1;
    }
    (a, z)
}

pub(crate) fn is_web_scheme(v: &[u8]) -> bool {
    let l = |p: &[u8]| v.len() > p.len() && v[..p.len()].eq_ignore_ascii_case(p);
    l(b"http://") || l(b"https://") || l(b"ftp://")
}
