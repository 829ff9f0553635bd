//! Single-core reader throughput (per CPU second) on a real file, read into memory first:
//! `cargo run --release -p accord-logs --example throughput -- FILE [SECONDS]`.

use std::time::{Duration, Instant};

use accord_logs::{Event, Parser, Sink};

#[derive(Default)]
struct Count {
    events: u64,
    observables: u64,
}

impl Sink for Count {
    fn event(&mut self, ev: &Event<'_>) {
        self.events += 1;
        self.observables += ev.observables.len() as u64;
    }
}

/// Nanoseconds this thread has run on a CPU (Linux), so a busy machine
/// does not count against the reader.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: throughput FILE [SECONDS]");
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut accord_logs::open(path.as_ref()).expect("open"),
        &mut bytes,
    )
    .expect("read");
    let format = accord_logs::detect(&bytes);
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    let cpu0 = cpu_ns();
    let start = Instant::now();
    let mut rounds = 0u64;
    let mut c = Count::default();
    while start.elapsed() < Duration::from_secs_f64(secs) {
        let mut p = Parser::new(format);
        p.read_chunk(&bytes, 1, &mut c);
        rounds += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let t = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall,
    };
    println!(
        "{path}: {format:?}, {lines} lines x {rounds} (CPU {t:.2} s of {wall:.2} s): {:.0} lines/s, {:.0} MB/s, {:.0} ns/line, {:.1} observables/line",
        (lines * rounds) as f64 / t,
        (bytes.len() as u64 * rounds) as f64 / t / 1e6,
        t * 1e9 / (lines * rounds) as f64,
        c.observables as f64 / c.events.max(1) as f64
    );
}
