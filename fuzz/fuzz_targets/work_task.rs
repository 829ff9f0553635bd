//! The payloads of a cluster's durable tasks and reports, as a node reads
//! them from NATS (anyone who can publish there can craft them): ingest
//! batches (JSON lines or framed objects), match chunks (header, prefix,
//! lines) and match reports. Nothing panics; what is read stays inside
//! the payload.
#![no_main]
use accord_node::{ingest_work, match_work};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((h, body)) = ingest_work::parse(data) {
        if let Ok(records) = ingest_work::records(h.v, body) {
            let total: usize = records.iter().map(|r| r.len()).sum();
            assert!(total <= body.len());
        }
    }
    if let Ok(records) = ingest_work::records(ingest_work::FORMAT_FRAMED, data) {
        let total: usize = records.iter().map(|r| r.len()).sum();
        assert!(total <= data.len());
    }
    if let Ok((_, _, prefix, lines)) = match_work::parse(data) {
        assert!(prefix.len() + lines.len() <= data.len());
    }
    let _ = match_work::ChunkReport::from_wire(data);
});
