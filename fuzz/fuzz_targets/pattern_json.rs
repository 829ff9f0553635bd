//! The light JSON reader of `accord pattern match --batch`
//! (`accord_pattern::Json`), on untrusted case lines: it never panics, it
//! accepts exactly what serde_json accepts, and builds the same tree.
#![no_main]
use accord_pattern::{Json, JsonNode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let light = Json::parse(text);
    let full = serde_json::from_str::<serde_json::Value>(text);
    match (light, full) {
        (Ok(l), Ok(f)) => assert_eq!(l.to_value(), f, "{text}"),
        (Err(_), Err(_)) => {}
        (l, f) => panic!("light {:?} / serde_json {:?} on {text:?}", l.is_ok(), f.is_ok()),
    }
});
