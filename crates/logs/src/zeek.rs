//! Zeek logs: the TSV ("ASCII") writer with its `#` header, and the JSON
//! writer (one object per line, the same field names, `ts` a number or an
//! ISO 8601 string, nested records flattened with dots).

use crate::collect::{Action, Collector, FieldName, Val};
use crate::json::{Node, ROOT, Rules};
use crate::{Sink, SkipReason};

/// A Zeek field this crate knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Known {
    pub name: &'static str,
    pub action: Action,
    /// Holds a set or vector when the log has no `#types` line.
    pub multi: bool,
}

macro_rules! known_fields {
    ($( $b:literal => $action:ident $multi:literal ; )*) => {
        /// Zeek field names mapped to observables, and how. Fields of type
        /// `addr`, `set[addr]` and `vector[addr]` are addresses whatever their
        /// name.
        pub const FIELDS: &[(&str, &str)] = &[
            $( (match std::str::from_utf8($b) { Ok(s) => s, Err(_) => panic!() }, stringify!($action)), )*
        ];

        pub(crate) fn known(name: &[u8]) -> Option<&'static Known> {
            match name {
                $( $b => {
                    const K: Known = Known {
                        name: match std::str::from_utf8($b) { Ok(s) => s, Err(_) => panic!() },
                        action: Action::$action,
                        multi: $multi,
                    };
                    Some(&K)
                } )*
                _ => None,
            }
        }
    };
}

known_fields! {
    b"ts" => Time false;
    b"id.orig_h" => Ip false;
    b"id.resp_h" => Ip false;
    b"src" => Ip false;
    b"dst" => Ip false;
    b"tx_hosts" => Ip true;
    b"rx_hosts" => Ip true;
    b"san.ip" => Ip true;
    b"x_originating_ip" => Ip false;
    b"client_addr" => Ip false;
    b"server_addr" => Ip false;
    b"assigned_addr" => Ip false;
    b"requested_addr" => Ip false;
    b"query" => Name false;
    b"answers" => Name true;
    b"host_name" => Name false;
    b"client_fqdn" => Name false;
    b"host" => HttpHost false;
    b"uri" => HttpUri false;
    b"referrer" => Url false;
    b"origin" => Url false;
    b"server_name" => Host false;
    b"helo" => Host false;
    b"subject" => Dn false;
    b"client_subject" => Dn false;
    b"certificate.subject" => Dn false;
    b"sub" => Dn false;
    b"san.dns" => Name true;
    b"san.uri" => Url true;
    b"san.email" => Email true;
    b"md5" => Hash false;
    b"sha1" => Hash false;
    b"sha256" => Hash false;
    b"fingerprint" => Hash false;
    b"uri_sha256" => Hash false;
    b"cert_chain_fps" => Hash true;
    b"client_cert_chain_fps" => Hash true;
    b"filename" => Text false;
    b"orig_filenames" => Text true;
    b"resp_filenames" => Text true;
    b"mailfrom" => Email false;
    b"rcptto" => Email true;
    b"from" => Email false;
    b"to" => Email true;
    b"cc" => Email true;
    b"reply_to" => Email false;
    b"email_dest" => Email true;
    b"seen.indicator" => IntelValue false;
    b"seen.indicator_type" => IntelType false;
    b"indicator" => IntelValue false;
    b"indicator_type" => IntelType false;
    b"meta.url" => Url false;
    b"file_desc" => UrlIfScheme false;
}

#[derive(Debug, Clone, Copy)]
struct Col {
    field: FieldName,
    action: Action,
    multi: bool,
}

const IGNORED: Col = Col {
    field: FieldName::Static(""),
    action: Action::Ignore,
    multi: false,
};

/// The header state of a Zeek TSV log: what is in effect at a point of the
/// file. Cloned to start a chunk in the middle of a file.
#[derive(Debug, Clone)]
pub(crate) struct ZeekTsv {
    sep: u8,
    set_sep: u8,
    unset: Vec<u8>,
    empty: Vec<u8>,
    pub names: Vec<Box<str>>,
    types: Vec<Box<[u8]>>,
    cols: Vec<Col>,
    /// One past the last column read (the rest are only counted).
    last_used: usize,
    have_fields: bool,
}

impl Default for ZeekTsv {
    fn default() -> Self {
        ZeekTsv {
            sep: b'\t',
            set_sep: b',',
            unset: b"-".to_vec(),
            empty: b"(empty)".to_vec(),
            names: Vec::new(),
            types: Vec::new(),
            cols: Vec::new(),
            last_used: 0,
            have_fields: false,
        }
    }
}

/// Decodes Zeek's `\xHH` escapes (and `\\`) into `out`.
fn unescape_into(b: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            let h = |c: u8| (c as char).to_digit(16);
            if let (Some(a), Some(z)) = (h(b[i + 2]), h(b[i + 3])) {
                out.push((a * 16 + z) as u8);
                i += 4;
                continue;
            }
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
}

fn unescape(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.len());
    unescape_into(b, &mut v);
    v
}

fn is_container(t: &[u8]) -> bool {
    t.starts_with(b"set[") || t.starts_with(b"vector[")
}

fn is_addr_type(t: &[u8]) -> bool {
    matches!(t, b"addr" | b"set[addr]" | b"vector[addr]")
}

impl ZeekTsv {
    fn rebuild(&mut self) {
        let typed = self.types.len() == self.names.len();
        self.cols.clear();
        for (i, name) in self.names.iter().enumerate() {
            let ty = if typed { Some(&*self.types[i]) } else { None };
            let k = known(name.as_bytes());
            let col = match (ty, k) {
                (Some(t), _) if is_addr_type(t) => Col {
                    field: k.map_or(FieldName::Dyn(i as u32), |k| FieldName::Static(k.name)),
                    action: Action::Ip,
                    multi: is_container(t),
                },
                (Some(b"subnet" | b"set[subnet]" | b"vector[subnet]"), _) => IGNORED,
                (Some(t), Some(k)) => Col {
                    field: FieldName::Static(k.name),
                    action: k.action,
                    multi: is_container(t),
                },
                (None, Some(k)) => Col {
                    field: FieldName::Static(k.name),
                    action: k.action,
                    multi: k.multi,
                },
                _ => IGNORED,
            };
            self.cols.push(col);
        }
        self.last_used = self
            .cols
            .iter()
            .rposition(|c| c.action != Action::Ignore)
            .map_or(0, |i| i + 1);
    }

    /// Applies a `#` line. Returns `Some(reason)` if it is worth reporting.
    pub fn header(&mut self, line: &[u8]) -> Option<SkipReason> {
        if let Some(rest) = line.strip_prefix(b"#separator ") {
            let v = unescape(rest.trim_ascii());
            if v.len() != 1 {
                return Some(SkipReason::BadHeader);
            }
            self.sep = v[0];
            return None;
        }
        let mut parts = line.split(|&c| c == self.sep);
        let directive = parts.next().unwrap_or_default();
        match directive {
            b"#set_separator" => {
                let v = unescape(parts.next().unwrap_or_default());
                if v.len() != 1 {
                    return Some(SkipReason::BadHeader);
                }
                self.set_sep = v[0];
            }
            b"#empty_field" => self.empty = parts.next().unwrap_or_default().to_vec(),
            b"#unset_field" => self.unset = parts.next().unwrap_or_default().to_vec(),
            b"#fields" => {
                let mut names: Vec<Box<str>> = Vec::new();
                for p in parts {
                    match std::str::from_utf8(&unescape(p)) {
                        Ok(s) => names.push(s.into()),
                        Err(_) => return Some(SkipReason::BadHeader),
                    }
                }
                let changed = self.have_fields && names != self.names;
                self.names = names;
                self.types.clear();
                self.have_fields = true;
                self.rebuild();
                if changed {
                    return Some(SkipReason::HeaderChanged);
                }
            }
            b"#types" => {
                self.types = parts.map(|p| p.to_vec().into_boxed_slice()).collect();
                self.rebuild();
            }
            // #path, #open, #close, and comments.
            _ => {}
        }
        None
    }

    /// Reads one data line into `c`.
    pub fn line(&self, line: &[u8], c: &mut Collector) -> Result<(), SkipReason> {
        if !self.have_fields {
            return Err(SkipReason::MissingHeader);
        }
        if !crate::is_utf8(line) {
            return Err(SkipReason::InvalidUtf8);
        }
        let mut col = 0usize;
        let mut start = 0usize;
        let ncols = self.cols.len();
        loop {
            if col >= self.last_used {
                // The columns left are not read: only counted, in one
                // vectorised pass.
                col += memchr::memchr_iter(self.sep, &line[start..]).count() + 1;
                break;
            }
            let end = crate::classify::find_byte(self.sep, &line[start..]).map(|p| p + start);
            let e = end.unwrap_or(line.len());
            if col >= ncols {
                return Err(SkipReason::FieldCount);
            }
            let rule = self.cols[col];
            if rule.action != Action::Ignore {
                self.value(line, start, e, rule, c);
            }
            col += 1;
            match end {
                Some(p) => start = p + 1,
                None => break,
            }
        }
        if col != ncols {
            return Err(SkipReason::FieldCount);
        }
        Ok(())
    }

    fn value(&self, line: &[u8], s: usize, e: usize, rule: Col, c: &mut Collector) {
        let v = &line[s..e];
        if v == self.unset.as_slice() || v == self.empty.as_slice() || v.is_empty() {
            return;
        }
        if rule.multi {
            let mut a = s;
            while let Some(p) = crate::classify::find_byte(self.set_sep, &line[a..e]) {
                self.element(line, a, a + p, rule, c);
                a += p + 1;
            }
            self.element(line, a, e, rule, c);
        } else {
            self.element(line, s, e, rule, c);
        }
    }

    #[inline]
    fn element(&self, line: &[u8], s: usize, e: usize, rule: Col, c: &mut Collector) {
        let v = &line[s..e];
        let val = if crate::classify::find_byte(b'\\', v).is_some() {
            let a = c.scratch.len();
            unescape_into(v, &mut c.scratch);
            Val::Scratch(a as u32, c.scratch.len() as u32)
        } else {
            Val::Line(s as u32, e as u32)
        };
        c.apply(line, rule.field, rule.action, val);
    }

    /// Reads the lines of a chunk.
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
            if line[0] == b'#' {
                if let Some(r) = self.header(line) {
                    sink.skipped(no, r);
                }
                return;
            }
            c.clear();
            match self.line(line, c) {
                Ok(()) => {
                    c.finish(line);
                    c.deliver(no, line, &self.names, sink);
                }
                Err(r) => sink.skipped(no, r),
            }
        })
    }

    /// Applies the header lines of a chunk without reading its data.
    pub fn scan_headers(&mut self, bytes: &[u8]) {
        let mut at = |s: usize| {
            let e = memchr::memchr(b'\n', &bytes[s..]).map_or(bytes.len(), |p| s + p);
            let l = &bytes[s..e];
            self.header(l.strip_suffix(b"\r").unwrap_or(l));
        };
        // `#` is rare in data rows: a one-byte search, then a look at the
        // byte before (a two-byte `memmem` of "\n#" ran at ~1 GB/s here,
        // a third of a one-thread Zeek scan).
        for p in memchr::memchr_iter(b'#', bytes) {
            if p == 0 || bytes[p - 1] == b'\n' {
                at(p);
            }
        }
    }
}

/// Zeek JSON: a key is looked up by name (a nested record's keys as
/// `parent.child`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ZeekJson {
    prefix: Vec<u8>,
    stack: Vec<usize>,
    leaves: Vec<&'static Known>,
}

const NESTED: Node = 2;
const LEAF: Node = 16;

impl ZeekJson {
    pub fn reset(&mut self) {
        self.prefix.clear();
        self.stack.clear();
        self.leaves.clear();
    }
}

impl Rules for ZeekJson {
    fn child(&mut self, parent: Node, key: &[u8]) -> Node {
        let (k, mark) = if parent == ROOT {
            (known(key), None)
        } else if parent == NESTED {
            let mark = self.prefix.len();
            self.prefix.push(b'.');
            self.prefix.extend_from_slice(key);
            (known(&self.prefix), Some(mark))
        } else {
            return crate::json::IGNORE;
        };
        if let Some(k) = k {
            if let Some(m) = mark {
                self.prefix.truncate(m);
            }
            if self.leaves.len() >= usize::from(u16::MAX - LEAF) {
                return crate::json::IGNORE;
            }
            self.leaves.push(k);
            return LEAF + (self.leaves.len() - 1) as u16;
        }
        match mark {
            Some(m) => self.stack.push(m),
            None => {
                self.stack.push(0);
                self.prefix.clear();
                self.prefix.extend_from_slice(key);
            }
        }
        NESTED
    }

    fn leave(&mut self, node: Node) {
        if node == NESTED
            && let Some(m) = self.stack.pop()
        {
            self.prefix.truncate(m);
        }
    }

    fn string(&mut self, node: Node, val: Val, line: &[u8], c: &mut Collector) {
        if node >= LEAF {
            let k = self.leaves[usize::from(node - LEAF)];
            c.apply(line, FieldName::Static(k.name), k.action, val);
        }
    }

    fn number(&mut self, node: Node, text: &[u8], c: &mut Collector) {
        if node >= LEAF && self.leaves[usize::from(node - LEAF)].action == Action::Time {
            c.time = crate::time::parse_epoch(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(fields: &str, types: &str) -> ZeekTsv {
        let mut z = ZeekTsv::default();
        z.header(format!("#fields\t{fields}").as_bytes());
        z.header(format!("#types\t{types}").as_bytes());
        z
    }

    #[test]
    fn columns_past_the_last_read_are_counted() {
        // proto, service and duration are not read: only counted.
        let z = tsv(
            "ts\tid.orig_h\tproto\tservice\tduration",
            "time\taddr\tenum\tstring\tinterval",
        );
        assert_eq!(z.last_used, 2);
        let mut c = Collector::default();
        assert_eq!(z.line(b"1.5\t10.0.0.1\ttcp\tssl\t0.5", &mut c), Ok(()));
        assert_eq!(c.obs.len(), 1);
        for bad in [
            &b"1.5\t10.0.0.1\ttcp\tssl"[..],
            b"1.5\t10.0.0.1\ttcp\tssl\t0.5\textra",
            b"1.5\t10.0.0.1",
            b"1.5",
        ] {
            c.clear();
            assert_eq!(z.line(bad, &mut c), Err(SkipReason::FieldCount), "{bad:?}");
        }
        // Nothing read at all: every column counted.
        let z = tsv("proto\tservice", "enum\tstring");
        assert_eq!(z.last_used, 0);
        c.clear();
        assert_eq!(z.line(b"tcp\tssl", &mut c), Ok(()));
        assert_eq!(z.line(b"tcp", &mut c), Err(SkipReason::FieldCount));
    }

    #[test]
    fn headers_found_at_line_starts_only() {
        let mut z = ZeekTsv::default();
        z.scan_headers(b"x\t#fields\tnot-a-header\n#fields\tts\tid.orig_h\n1.5\t#x\n");
        assert!(z.have_fields);
        assert_eq!(z.names.len(), 2);
        let mut z = ZeekTsv::default();
        z.scan_headers(b"#fields\tts\n");
        assert_eq!(z.names.len(), 1);
    }
}
