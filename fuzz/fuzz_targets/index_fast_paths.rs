//! The match index's fast paths over stored indicators (a partner's
//! objects, once stored): the field scanner and the one-equality pattern
//! compiler must give exactly what serde_json and the pattern parser give,
//! or step aside to them; and never panic.
#![no_main]
use accord_app::matching::fast::{compile_both, read_both};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (fast, slow) = read_both(text);
    assert_eq!(fast, slow, "indicator text {text:?}");
    for v20 in [false, true] {
        let (fast, slow) = compile_both(text, v20, None);
        assert_eq!(fast, slow, "pattern {text:?} (2.0: {v20})");
    }
});
