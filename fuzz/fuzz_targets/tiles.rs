//! Tiles and entry bundles served by a partner's log (tlog-tiles): tile
//! paths and entry-bundle bytes. Nothing panics.
#![no_main]
use accord_ledger::Tile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = accord_ledger::tiles::parse_entry_bundle(data) {
        let again = accord_ledger::tiles::entry_bundle(&entries).expect("re-encodes");
        assert_eq!(again, data, "an entry bundle re-encodes to its bytes");
    }
    if let Ok(path) = std::str::from_utf8(data)
        && let Ok(t) = Tile::parse_path(path)
    {
        let _ = t.path();
    }
});
