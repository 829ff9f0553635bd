//! `accord.toml`: the configuration parser never panics; a bad file is an
//! error naming the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = accord_app::config::Config::parse(text, "accord.toml");
});
