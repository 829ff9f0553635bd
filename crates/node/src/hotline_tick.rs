//! The hotline's deadlines inside `accord serve`: a thread that runs
//! [`accord_app::hotline::Hotline::tick`] once a minute (and at start, so
//! deadlines passed while the node was down fire at once), with a log line
//! per escalation. Each deadline escalates once however often it is ticked
//! (the escalation note is derived from the case), so a restart or a
//! partner ticking the same case changes nothing. With `[hotline]
//! webhook`, each escalation is also POSTed there as JSON (3 attempts).

use accord_app::config::Config;
use accord_app::hotline::Hotline;
use accord_stix::Clock;
use accord_store::Backend;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// How often the deadlines run.
pub const TICK_EVERY: Duration = Duration::from_secs(60);

/// The running tick thread; [`HotlineTicker::stop`] ends it.
#[derive(Debug)]
pub struct HotlineTicker {
    stop: Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl HotlineTicker {
    /// Starts the thread on its own store handle. A node without an
    /// identity yet (`node-identity.json`: it has no case) ticks nothing
    /// until it has one.
    ///
    /// # Errors
    /// [`crate::NodeError::Store`] when no store handle can be opened,
    /// [`crate::NodeError::Io`] when the thread cannot start.
    pub fn start(
        config: Config,
        store: &dyn Backend,
        clock: Arc<dyn Clock>,
        every: Duration,
    ) -> Result<HotlineTicker, crate::NodeError> {
        let handle = store.new_handle()?;
        let (stop, stopped) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("hotline-tick".into())
            .spawn(move || run(&config, &*handle, &*clock, &stopped, every))
            .map_err(|source| crate::NodeError::Io {
                addr: "the hotline deadline thread".into(),
                source,
            })?;
        Ok(HotlineTicker { stop, thread })
    }

    /// Stops the thread and waits for it.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// One tick at the clock's time; returns how many escalations were
/// recorded.
pub fn tick_once(config: &Config, store: &dyn Backend, clock: &dyn Clock) -> usize {
    if !config.data_dir.join("node-identity.json").is_file() {
        return 0;
    }
    let hotline = match Hotline::new(config, store, clock.now_micros()) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("hotline deadlines: {e}");
            return 0;
        }
    };
    match hotline.tick(clock.now_timestamp()) {
        Ok(done) => {
            for e in &done {
                tracing::warn!(
                    case = %e.case,
                    deadline = e.deadline.as_str(),
                    cycle = e.cycle,
                    due = %e.due.to_millis_string(),
                    severity = e.severity.as_str(),
                    level = e.level,
                    exercise = e.exercise,
                    "hotline case escalated: the {} deadline passed unmet",
                    e.deadline.as_str()
                );
            }
            if let (Some(url), false) = (&config.hotline.webhook, done.is_empty()) {
                notify(url, &done);
            }
            done.len()
        }
        Err(e) => {
            tracing::error!("hotline deadlines: {e}");
            0
        }
    }
}

/// Posts each escalation to the webhook (3 attempts, 2 s then 4 s apart);
/// a failure is logged: the escalation itself is recorded already.
fn notify(url: &str, done: &[accord_app::hotline::Escalation]) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("hotline webhook: no runtime: {e}");
            return;
        }
    };
    for e in done {
        if let Err(err) = rt.block_on(accord_app::hotline::notify_webhook(
            url,
            e,
            3,
            Duration::from_secs(2),
        )) {
            tracing::error!("{err}");
        }
    }
}

fn run(
    config: &Config,
    store: &dyn Backend,
    clock: &dyn Clock,
    stopped: &Receiver<()>,
    every: Duration,
) {
    loop {
        tick_once(config, store, clock);
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
