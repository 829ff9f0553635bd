//! An event as STIX 2.1 observed-data, for the pattern evaluator.

use crate::sighting;
use accord_logs::{Event, Kind};
use serde_json::{Value, json};

/// A STIX 2.1 observed-data with one SCO per observable (and a
/// network-traffic object joining source and destination addresses), for
/// the pattern evaluator.
pub fn observed_data(ev: &Event<'_>) -> Vec<Value> {
    let t = sighting::ts_from_micros(ev.time.unwrap_or(0));
    let mut objects = vec![Value::Null];
    let mut refs = Vec::new();
    let (mut src, mut dst) = (None, None);
    for (i, o) in ev.observables.iter().enumerate() {
        let value = String::from_utf8_lossy(o.value);
        let id_of = |ty: &str| format!("{ty}--00000000-0000-4000-8000-{:012x}", i + 1);
        let obj = match o.kind {
            Kind::Ip => {
                let ty = if value.contains(':') {
                    "ipv6-addr"
                } else {
                    "ipv4-addr"
                };
                let id = id_of(ty);
                let f = o.field;
                if f.ends_with("src_ip") || f.ends_with("orig_h") || f.starts_with("src") {
                    src = Some(id.clone());
                } else if f.ends_with("dest_ip") || f.ends_with("resp_h") || f.starts_with("dst") {
                    dst = Some(id.clone());
                }
                json!({"type": ty, "id": id, "value": value})
            }
            Kind::Domain => {
                json!({"type": "domain-name", "id": id_of("domain-name"), "value": value})
            }
            Kind::Url => json!({"type": "url", "id": id_of("url"), "value": value}),
            Kind::Email => json!({"type": "email-addr", "id": id_of("email-addr"), "value": value}),
            Kind::Hash => {
                let alg = match o.value.len() {
                    32 => "MD5",
                    40 => "SHA-1",
                    64 => "SHA-256",
                    128 => "SHA-512",
                    _ => continue,
                };
                json!({"type": "file", "id": id_of("file"), "hashes": {alg: value.to_ascii_lowercase()}})
            }
            Kind::Text => json!({"type": "file", "id": id_of("file"), "name": value}),
        };
        refs.push(obj["id"].clone());
        objects.push(obj);
    }
    if src.is_some() || dst.is_some() {
        let id = "network-traffic--00000000-0000-4000-8000-000000000000";
        let mut nt = json!({"type": "network-traffic", "id": id, "protocols": ["ip"]});
        if let Some(s) = src {
            nt["src_ref"] = json!(s);
        }
        if let Some(d) = dst {
            nt["dst_ref"] = json!(d);
        }
        refs.push(json!(id));
        objects.push(nt);
    }
    objects[0] = json!({
        "type": "observed-data",
        "id": "observed-data--00000000-0000-4000-8000-000000000000",
        "first_observed": t, "last_observed": t, "number_observed": 1,
        "object_refs": refs,
    });
    objects
}
