//! Log lines from sensors (Zeek TSV and JSON, Suricata EVE, CSV, text):
//! the first byte picks the format (or detection), the rest is the log.
//! Reading never panics; bad lines are counted.
#![no_main]
use accord_logs::{Event, Format, Options, Parser, Sink, read_stream};
use libfuzzer_sys::fuzz_target;

struct Count(u64);
impl Sink for Count {
    fn event(&mut self, ev: &Event<'_>) {
        self.0 += 1;
        let _ = accord_logs::OwnedEvent::from_event(ev);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, log)) = data.split_first() else {
        return;
    };
    let format = match sel % 6 {
        0 => Some(Format::ZeekTsv),
        1 => Some(Format::ZeekJson),
        2 => Some(Format::Eve),
        3 => Some(Format::Csv),
        4 => Some(Format::Text),
        _ => None,
    };
    let mut sink = Count(0);
    if let Some(f) = format {
        let mut p = Parser::new(f);
        p.scan_headers(log);
        p.read_chunk(log, 1, &mut sink);
    }
    let opts = Options {
        format,
        max_line: 4096,
        read_size: 512,
        ..Options::default()
    };
    let mut r: &[u8] = log;
    let _ = read_stream("fuzz", &mut r, &opts, &mut sink);
});
