//! One injectable source of the current time.
//!
//! Code that stamps records (`created`/`modified` of new objects,
//! `date_added`, ledger times, witness cosignatures) takes a [`Clock`]
//! instead of reading the system time itself, so tests can fix or step the
//! time. [`SystemClock`] reads the system time; [`FixedClock`] returns a
//! time the test sets and advances.
//!
//! Every reading is one number, Unix microseconds ([`Clock::now_micros`]);
//! the other methods derive their forms from it:
//!
//! | method                    | form                                   |
//! |---------------------------|----------------------------------------|
//! | [`Clock::now_micros`]     | `1462522628123456`                     |
//! | [`Clock::now_unix_secs`]  | `1462522628` (floor)                   |
//! | [`Clock::now_timestamp`]  | a [`Timestamp`]                        |
//! | [`Clock::now_stix`]       | `2016-05-06T08:17:08.123Z` (millis)    |
//! | [`Clock::now_rfc3339`]    | `2016-05-06T08:17:08.123456Z` (micros) |
//!
//! ```
//! use accord_stix::{Clock, FixedClock};
//! let clock = FixedClock::new(1_462_522_628_123_456);
//! assert_eq!(clock.now_stix(), "2016-05-06T08:17:08.123Z");
//! clock.advance_micros(1_000_000);
//! assert_eq!(clock.now_unix_secs(), 1_462_522_629);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::timestamp::Timestamp;

/// A source of the current time, in Unix microseconds.
///
/// Implementors give [`Clock::now_micros`]; the other methods are derived
/// from one reading of it, so the forms of one call agree.
pub trait Clock: Send + Sync {
    /// Now, in microseconds since 1970-01-01T00:00:00Z. [`SystemClock`]
    /// gives 0 for a system time before 1970.
    fn now_micros(&self) -> i64;

    /// Now, in whole seconds since 1970-01-01T00:00:00Z (rounded down).
    fn now_unix_secs(&self) -> i64 {
        self.now_micros().div_euclid(1_000_000)
    }

    /// Now, as a [`Timestamp`] (microsecond resolution).
    fn now_timestamp(&self) -> Timestamp {
        Timestamp::from_unix_micros(self.now_micros())
    }

    /// Now, as a STIX timestamp with millisecond precision,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ` (the form of `created` and `modified` of
    /// objects this node makes; truncated, not rounded).
    fn now_stix(&self) -> String {
        self.now_timestamp().to_millis_string()
    }

    /// Now, as RFC 3339 UTC with six fractional digits,
    /// `YYYY-MM-DDTHH:MM:SS.ssssssZ` (the form of ledger record times and
    /// TAXII `date_added`).
    fn now_rfc3339(&self) -> String {
        self.now_timestamp().format(6)
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

/// A clock that reads what it was set to, for tests: it stands still
/// until [`FixedClock::set_micros`] or [`FixedClock::advance_micros`] moves
/// it. Shared by reference (or in an [`Arc`]), it can be moved by the test
/// while the code under test reads it.
#[derive(Debug, Default)]
pub struct FixedClock {
    micros: AtomicI64,
}

impl FixedClock {
    /// A clock standing at `micros` Unix microseconds.
    pub fn new(micros: i64) -> FixedClock {
        FixedClock {
            micros: AtomicI64::new(micros),
        }
    }

    /// A clock standing at the instant a timestamp names.
    pub fn at(t: &Timestamp) -> FixedClock {
        FixedClock::new(
            t.unix_seconds
                .saturating_mul(1_000_000)
                .saturating_add(i64::from(t.nanos / 1_000)),
        )
    }

    /// Sets the clock to `micros` Unix microseconds.
    pub fn set_micros(&self, micros: i64) {
        self.micros.store(micros, Ordering::SeqCst);
    }

    /// Moves the clock by `micros` (negative moves it back); returns the
    /// new time.
    pub fn advance_micros(&self, micros: i64) -> i64 {
        self.micros.fetch_add(micros, Ordering::SeqCst) + micros
    }
}

impl Clock for FixedClock {
    fn now_micros(&self) -> i64 {
        self.micros.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_micros(&self) -> i64 {
        (**self).now_micros()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_micros(&self) -> i64 {
        (**self).now_micros()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now_micros(&self) -> i64 {
        (**self).now_micros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2016-05-06T08:17:08.123456Z.
    const T: i64 = 1_462_522_628_123_456;

    #[test]
    fn forms_of_one_reading() {
        let c = FixedClock::new(T);
        assert_eq!(c.now_micros(), T);
        assert_eq!(c.now_unix_secs(), 1_462_522_628);
        assert_eq!(c.now_stix(), "2016-05-06T08:17:08.123Z");
        assert_eq!(c.now_rfc3339(), "2016-05-06T08:17:08.123456Z");
        assert_eq!(c.now_timestamp().unix_seconds, 1_462_522_628);
        assert_eq!(c.now_timestamp().nanos, 123_456_000);
    }

    #[test]
    fn whole_seconds_keep_their_fraction_digits() {
        let c = FixedClock::new(1_462_522_628_000_000);
        assert_eq!(c.now_stix(), "2016-05-06T08:17:08.000Z");
        assert_eq!(c.now_rfc3339(), "2016-05-06T08:17:08.000000Z");
        // The epoch itself, which is what SystemClock gives for a time before it.
        let c = FixedClock::new(0);
        assert_eq!(c.now_stix(), "1970-01-01T00:00:00.000Z");
        assert_eq!(c.now_unix_secs(), 0);
    }

    #[test]
    fn before_1970_rounds_down() {
        let c = FixedClock::new(-1);
        assert_eq!(c.now_unix_secs(), -1);
        assert_eq!(c.now_rfc3339(), "1969-12-31T23:59:59.999999Z");
        assert_eq!(c.now_stix(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn stix_form_parses_back_and_validates_as_created() {
        let c = FixedClock::new(T);
        let t = Timestamp::parse(&c.now_stix()).unwrap();
        assert_eq!(t.frac_digits, 3);
        assert_eq!(t.unix_seconds, c.now_unix_secs());
        let r = Timestamp::parse(&c.now_rfc3339()).unwrap();
        assert_eq!((r.unix_seconds, r.nanos), (1_462_522_628, 123_456_000));
    }

    #[test]
    fn fixed_clock_stands_still_until_moved() {
        let c = FixedClock::new(T);
        assert_eq!(c.now_micros(), c.now_micros());
        assert_eq!(c.advance_micros(544), T + 544);
        assert_eq!(c.now_rfc3339(), "2016-05-06T08:17:08.124000Z");
        c.set_micros(5);
        assert_eq!(c.now_micros(), 5);
        assert_eq!(c.advance_micros(-5), 0);
        let at = FixedClock::at(&Timestamp::parse("2016-05-06T08:17:08.123456789Z").unwrap());
        assert_eq!(at.now_micros(), T);
    }

    #[test]
    fn shared_clock_is_moved_by_its_owner() {
        let c = Arc::new(FixedClock::new(T));
        let as_dyn: Arc<dyn Clock> = c.clone();
        c.advance_micros(1_000_000);
        assert_eq!(as_dyn.now_unix_secs(), 1_462_522_629);
        fn takes(clock: impl Clock) -> i64 {
            clock.now_micros()
        }
        assert_eq!(takes(&*c), T + 1_000_000);
        assert_eq!(takes(as_dyn.clone()), T + 1_000_000);
        let boxed: Box<dyn Clock> = Box::new(FixedClock::new(7));
        assert_eq!(takes(boxed), 7);
    }

    #[test]
    fn system_clock_is_now() {
        // Against the system time read around the clock's reading (the wall
        // clock may be stepped between readings, hence the minute of slack).
        let sys = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros() as i64
        };
        let before = sys();
        let now = SystemClock.now_micros();
        let after = sys();
        assert!(
            before - 60_000_000 <= now && now <= after + 60_000_000,
            "{before} <= {now} <= {after}"
        );
        // After this crate was written, so not 0 or some other default.
        assert!(SystemClock.now_unix_secs() > 1_700_000_000);
        let s = SystemClock.now_stix();
        assert!(Timestamp::parse(&s).is_ok(), "{s}");
        assert_eq!(s.len(), "2016-05-06T08:17:08.123Z".len());
    }
}
