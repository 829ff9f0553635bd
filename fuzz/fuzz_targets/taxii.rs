//! TAXII 2.1 responses from a partner, as the client decodes them
//! (`accord_client::resources`): discovery, API root, collections,
//! manifest records, status and error messages. Decoding never panics.
#![no_main]
use accord_client::{ApiRoot, Collection, Discovery, ManifestRecord, Status, parse_error_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Discovery>(data);
    let _ = serde_json::from_slice::<ApiRoot>(data);
    let _ = serde_json::from_slice::<Collection>(data);
    let _ = serde_json::from_slice::<Vec<Collection>>(data);
    let _ = serde_json::from_slice::<Vec<ManifestRecord>>(data);
    if let Ok(s) = serde_json::from_slice::<Status>(data) {
        let _ = s.is_complete();
    }
    let _ = parse_error_message(data);
});
