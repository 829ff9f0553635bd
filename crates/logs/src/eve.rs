//! Suricata EVE JSON: the paths that hold an address, a name, a URL, a hash
//! or a mailbox, as a table of nodes walked by the [`crate::json`] scanner.

use crate::collect::{Action, Collector, FieldName, Val};
use crate::json::{IGNORE, Node, ROOT, Rules};

/// The EVE paths this reader turns into observables, with what it does
/// with each (`[]` marks array items). Anything else is skipped unread.
pub const FIELDS: &[(&str, &str)] = &[
    ("timestamp", "event time"),
    ("src_ip", "ip"),
    ("dest_ip", "ip"),
    ("flow.src_ip", "ip"),
    ("flow.dest_ip", "ip"),
    ("tunnel.src_ip", "ip"),
    ("tunnel.dest_ip", "ip"),
    ("alert.source.ip", "ip"),
    ("alert.target.ip", "ip"),
    ("dns.rrname", "name"),
    ("dns.rdata", "name or ip"),
    ("dns.query[].rrname", "name"),
    ("dns.queries[].rrname", "name"),
    ("dns.answers[].rrname", "name"),
    ("dns.answers[].rdata", "name or ip"),
    ("dns.authorities[].rrname", "name"),
    ("dns.authorities[].rdata", "name or ip"),
    ("dns.additionals[].rrname", "name"),
    ("dns.additionals[].rdata", "name or ip"),
    ("dns.grouped.A[]", "ip"),
    ("dns.grouped.AAAA[]", "ip"),
    ("dns.grouped.CNAME[]", "name"),
    ("dns.grouped.PTR[]", "name"),
    ("dns.grouped.NS[]", "name"),
    ("dns.grouped.MX[]", "name"),
    ("http.hostname", "host"),
    ("http.url", "url (joined with http.hostname)"),
    ("http.http_refer", "url"),
    ("http.redirect", "url"),
    ("tls.sni", "host"),
    ("tls.subject", "CN name, emailAddress"),
    (
        "tls.fingerprint",
        "hash (SHA-1 of the certificate, colons removed)",
    ),
    ("tls.ja3.hash", "hash"),
    ("tls.ja3s.hash", "hash"),
    ("quic.sni", "host"),
    ("fileinfo.filename", "text"),
    ("fileinfo.md5", "hash"),
    ("fileinfo.sha1", "hash"),
    ("fileinfo.sha256", "hash"),
    ("files[].filename", "text"),
    ("files[].md5", "hash"),
    ("files[].sha1", "hash"),
    ("files[].sha256", "hash"),
    ("smtp.helo", "host"),
    ("smtp.mail_from", "email"),
    ("smtp.rcpt_to[]", "email"),
    ("email.from", "email"),
    ("email.to[]", "email"),
    ("email.cc[]", "email"),
    ("email.bcc[]", "email"),
    ("email.reply_to", "email"),
    ("email.url[]", "url"),
    ("email.attachment[]", "text"),
    ("dhcp.assigned_ip", "ip"),
    ("dhcp.client_ip", "ip"),
    ("dhcp.next_server_ip", "ip"),
    ("dhcp.relay_ip", "ip"),
    ("dhcp.dns_servers[]", "ip"),
    ("dhcp.routers[]", "ip"),
    ("dhcp.hostname", "host"),
    ("ssh.client.hassh.hash", "hash"),
    ("ssh.server.hassh.hash", "hash"),
    ("ftp_data.filename", "text"),
];

// Containers.
const DNS: Node = 2;
const DNS_QUERY: Node = 3;
const DNS_QUERIES: Node = 4;
const DNS_ANSWERS: Node = 5;
const DNS_AUTH: Node = 6;
const DNS_ADDL: Node = 7;
const DNS_GROUPED: Node = 8;
const HTTP: Node = 9;
const TLS: Node = 10;
const TLS_JA3: Node = 11;
const TLS_JA3S: Node = 12;
const QUIC: Node = 13;
const FILEINFO: Node = 14;
const FILES: Node = 15;
const SMTP: Node = 16;
const EMAIL: Node = 17;
const FLOW: Node = 18;
const TUNNEL: Node = 19;
const ALERT: Node = 20;
const ALERT_SOURCE: Node = 21;
const ALERT_TARGET: Node = 22;
const DHCP: Node = 23;
const SSH: Node = 24;
const SSH_CLIENT: Node = 25;
const SSH_SERVER: Node = 26;
const SSH_CLIENT_HASSH: Node = 27;
const SSH_SERVER_HASSH: Node = 28;
const FTP_DATA: Node = 29;
/// Leaves are `LEAF + index` into [`LEAVES`].
const LEAF: Node = 64;

const LEAVES: &[(&str, Action)] = &[
    ("timestamp", Action::Time),                // 0
    ("src_ip", Action::Ip),                     // 1
    ("dest_ip", Action::Ip),                    // 2
    ("flow.src_ip", Action::Ip),                // 3
    ("flow.dest_ip", Action::Ip),               // 4
    ("tunnel.src_ip", Action::Ip),              // 5
    ("tunnel.dest_ip", Action::Ip),             // 6
    ("alert.source.ip", Action::Ip),            // 7
    ("alert.target.ip", Action::Ip),            // 8
    ("dns.rrname", Action::Name),               // 9
    ("dns.rdata", Action::Name),                // 10
    ("dns.query[].rrname", Action::Name),       // 11
    ("dns.queries[].rrname", Action::Name),     // 12
    ("dns.answers[].rrname", Action::Name),     // 13
    ("dns.answers[].rdata", Action::Name),      // 14
    ("dns.authorities[].rrname", Action::Name), // 15
    ("dns.authorities[].rdata", Action::Name),  // 16
    ("dns.additionals[].rrname", Action::Name), // 17
    ("dns.additionals[].rdata", Action::Name),  // 18
    ("dns.grouped.A[]", Action::Ip),            // 19
    ("dns.grouped.AAAA[]", Action::Ip),         // 20
    ("dns.grouped.CNAME[]", Action::Name),      // 21
    ("dns.grouped.PTR[]", Action::Name),        // 22
    ("dns.grouped.NS[]", Action::Name),         // 23
    ("dns.grouped.MX[]", Action::Name),         // 24
    ("http.hostname", Action::HttpHost),        // 25
    ("http.url", Action::HttpUri),              // 26
    ("http.http_refer", Action::Url),           // 27
    ("http.redirect", Action::Url),             // 28
    ("tls.sni", Action::Host),                  // 29
    ("tls.subject", Action::Dn),                // 30
    ("tls.fingerprint", Action::Fingerprint),   // 31
    ("tls.ja3.hash", Action::Hash),             // 32
    ("tls.ja3s.hash", Action::Hash),            // 33
    ("quic.sni", Action::Host),                 // 34
    ("fileinfo.filename", Action::Text),        // 35
    ("fileinfo.md5", Action::Hash),             // 36
    ("fileinfo.sha1", Action::Hash),            // 37
    ("fileinfo.sha256", Action::Hash),          // 38
    ("files[].filename", Action::Text),         // 39
    ("files[].md5", Action::Hash),              // 40
    ("files[].sha1", Action::Hash),             // 41
    ("files[].sha256", Action::Hash),           // 42
    ("smtp.helo", Action::Host),                // 43
    ("smtp.mail_from", Action::Email),          // 44
    ("smtp.rcpt_to[]", Action::Email),          // 45
    ("email.from", Action::Email),              // 46
    ("email.to[]", Action::Email),              // 47
    ("email.cc[]", Action::Email),              // 48
    ("email.bcc[]", Action::Email),             // 49
    ("email.reply_to", Action::Email),          // 50
    ("email.url[]", Action::Url),               // 51
    ("email.attachment[]", Action::Text),       // 52
    ("dhcp.assigned_ip", Action::Ip),           // 53
    ("dhcp.client_ip", Action::Ip),             // 54
    ("dhcp.next_server_ip", Action::Ip),        // 55
    ("dhcp.relay_ip", Action::Ip),              // 56
    ("dhcp.dns_servers[]", Action::Ip),         // 57
    ("dhcp.routers[]", Action::Ip),             // 58
    ("dhcp.hostname", Action::Host),            // 59
    ("ssh.client.hassh.hash", Action::Hash),    // 60
    ("ssh.server.hassh.hash", Action::Hash),    // 61
    ("ftp_data.filename", Action::Text),        // 62
];

const fn leaf(i: u16) -> Node {
    LEAF + i
}

/// The EVE rules table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Eve;

impl Rules for Eve {
    #[inline]
    fn child(&mut self, parent: Node, key: &[u8]) -> Node {
        match parent {
            ROOT => match key {
                b"timestamp" => leaf(0),
                b"src_ip" => leaf(1),
                b"dest_ip" => leaf(2),
                b"dns" => DNS,
                b"http" => HTTP,
                b"tls" => TLS,
                b"fileinfo" => FILEINFO,
                b"files" => FILES,
                b"flow" => FLOW,
                b"alert" => ALERT,
                b"smtp" => SMTP,
                b"email" => EMAIL,
                b"tunnel" => TUNNEL,
                b"quic" => QUIC,
                b"dhcp" => DHCP,
                b"ssh" => SSH,
                b"ftp_data" => FTP_DATA,
                _ => IGNORE,
            },
            FLOW => match key {
                b"src_ip" => leaf(3),
                b"dest_ip" => leaf(4),
                _ => IGNORE,
            },
            TUNNEL => match key {
                b"src_ip" => leaf(5),
                b"dest_ip" => leaf(6),
                _ => IGNORE,
            },
            ALERT => match key {
                b"source" => ALERT_SOURCE,
                b"target" => ALERT_TARGET,
                _ => IGNORE,
            },
            ALERT_SOURCE if key == b"ip" => leaf(7),
            ALERT_TARGET if key == b"ip" => leaf(8),
            DNS => match key {
                b"rrname" => leaf(9),
                b"rdata" => leaf(10),
                b"query" => DNS_QUERY,
                b"queries" => DNS_QUERIES,
                b"answers" => DNS_ANSWERS,
                b"authorities" => DNS_AUTH,
                b"additionals" => DNS_ADDL,
                b"grouped" => DNS_GROUPED,
                _ => IGNORE,
            },
            DNS_QUERY if key == b"rrname" => leaf(11),
            DNS_QUERIES if key == b"rrname" => leaf(12),
            DNS_ANSWERS => match key {
                b"rrname" => leaf(13),
                b"rdata" => leaf(14),
                _ => IGNORE,
            },
            DNS_AUTH => match key {
                b"rrname" => leaf(15),
                b"rdata" => leaf(16),
                _ => IGNORE,
            },
            DNS_ADDL => match key {
                b"rrname" => leaf(17),
                b"rdata" => leaf(18),
                _ => IGNORE,
            },
            DNS_GROUPED => match key {
                b"A" => leaf(19),
                b"AAAA" => leaf(20),
                b"CNAME" => leaf(21),
                b"PTR" => leaf(22),
                b"NS" => leaf(23),
                b"MX" => leaf(24),
                _ => IGNORE,
            },
            HTTP => match key {
                b"hostname" => leaf(25),
                b"url" => leaf(26),
                b"http_refer" => leaf(27),
                b"redirect" => leaf(28),
                _ => IGNORE,
            },
            TLS => match key {
                b"sni" => leaf(29),
                b"subject" => leaf(30),
                b"fingerprint" => leaf(31),
                b"ja3" => TLS_JA3,
                b"ja3s" => TLS_JA3S,
                _ => IGNORE,
            },
            TLS_JA3 if key == b"hash" => leaf(32),
            TLS_JA3S if key == b"hash" => leaf(33),
            QUIC if key == b"sni" => leaf(34),
            FILEINFO => match key {
                b"filename" => leaf(35),
                b"md5" => leaf(36),
                b"sha1" => leaf(37),
                b"sha256" => leaf(38),
                _ => IGNORE,
            },
            FILES => match key {
                b"filename" => leaf(39),
                b"md5" => leaf(40),
                b"sha1" => leaf(41),
                b"sha256" => leaf(42),
                _ => IGNORE,
            },
            SMTP => match key {
                b"helo" => leaf(43),
                b"mail_from" => leaf(44),
                b"rcpt_to" => leaf(45),
                _ => IGNORE,
            },
            EMAIL => match key {
                b"from" => leaf(46),
                b"to" => leaf(47),
                b"cc" => leaf(48),
                b"bcc" => leaf(49),
                b"reply_to" => leaf(50),
                b"url" => leaf(51),
                b"attachment" => leaf(52),
                _ => IGNORE,
            },
            DHCP => match key {
                b"assigned_ip" => leaf(53),
                b"client_ip" => leaf(54),
                b"next_server_ip" => leaf(55),
                b"relay_ip" => leaf(56),
                b"dns_servers" => leaf(57),
                b"routers" => leaf(58),
                b"hostname" => leaf(59),
                _ => IGNORE,
            },
            SSH => match key {
                b"client" => SSH_CLIENT,
                b"server" => SSH_SERVER,
                _ => IGNORE,
            },
            SSH_CLIENT if key == b"hassh" => SSH_CLIENT_HASSH,
            SSH_SERVER if key == b"hassh" => SSH_SERVER_HASSH,
            SSH_CLIENT_HASSH if key == b"hash" => leaf(60),
            SSH_SERVER_HASSH if key == b"hash" => leaf(61),
            FTP_DATA if key == b"filename" => leaf(62),
            _ => IGNORE,
        }
    }

    #[inline]
    fn string(&mut self, node: Node, val: Val, line: &[u8], c: &mut Collector) {
        if node >= LEAF {
            let (name, action) = LEAVES[usize::from(node - LEAF)];
            c.apply(line, FieldName::Static(name), action, val);
        }
    }
}

/// Scans one EVE line: a pure function of the bytes, for fuzzing and tests.
/// Returns the event time and the `(field, kind, value)` observables, or why
/// the line is skipped.
pub fn scan_line(line: &[u8]) -> Result<crate::OwnedEvent, crate::SkipReason> {
    let mut c = Collector::default();
    crate::json::scan(line, &mut Eve, &mut c)?;
    c.finish(line);
    Ok(crate::OwnedEvent::from_collector(&c, line, &[]))
}

/// The observables one value at `field` (a name of [`FIELDS`]) yields on
/// its own (`http.url` needs its line's `http.hostname` and yields nothing
/// here; `timestamp` is not an observable). For reference tests.
#[doc(hidden)]
pub fn field_observables(field: &str, value: &[u8]) -> Vec<(String, crate::Kind, Vec<u8>)> {
    let Some(&(name, action)) = LEAVES.iter().find(|(n, _)| *n == field) else {
        return Vec::new();
    };
    let mut c = Collector::default();
    c.apply(
        value,
        FieldName::Static(name),
        action,
        Val::Line(0, value.len() as u32),
    );
    crate::OwnedEvent::from_collector(&c, value, &[]).observables
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_and_leaves_agree() {
        assert_eq!(super::FIELDS.len(), super::LEAVES.len());
        for (a, b) in super::FIELDS.iter().zip(super::LEAVES) {
            assert_eq!(a.0, b.0);
        }
    }
}
