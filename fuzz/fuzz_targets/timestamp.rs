//! Timestamps from untrusted input: parsing never panics, and what parses
//! prints and parses back to the same instant (at millisecond precision).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(t) = accord_stix::Timestamp::parse(text) {
        let back = accord_stix::Timestamp::parse(&t.to_millis_string()).expect("round trip");
        assert_eq!(back.unix_seconds, t.unix_seconds);
    }
});
