//! The dashboard's sessions on PostgreSQL (`accord_store::pg::sessions`):
//! shared by two connections as by two processes, ended by idleness, age
//! and logout, and bounded in number.

use accord_store::pg::sessions::{PgSessions, SessionLimits, SessionRow};
use std::time::Duration;

const LIMITS: SessionLimits = SessionLimits {
    idle: Duration::from_secs(1800),
    max_age: Duration::from_secs(12 * 3600),
    max_sessions: 100,
};

fn digest(n: u8) -> [u8; 32] {
    [n; 32]
}

#[test]
fn a_session_started_on_one_process_is_live_on_another_until_logout() {
    let Some(pg) = accord_testkit::postgres::cluster("pg_sessions_shared") else {
        return;
    };
    let db = pg.fresh_database();
    let a = PgSessions::connect(&db).unwrap();
    let b = PgSessions::connect(&db).unwrap();
    a.start(&digest(1), "analyst", "csrf-1", LIMITS).unwrap();
    let want = SessionRow {
        account: "analyst".into(),
        csrf: "csrf-1".into(),
    };
    assert_eq!(b.get(&digest(1), LIMITS).unwrap(), Some(want.clone()));
    assert_eq!(a.get(&digest(1), LIMITS).unwrap(), Some(want));
    assert_eq!(b.get(&digest(2), LIMITS).unwrap(), None, "never started");
    b.end(&digest(1)).unwrap();
    assert_eq!(a.get(&digest(1), LIMITS).unwrap(), None, "logged out on b");
    assert_eq!(a.count().unwrap(), 0);
}

#[test]
fn sessions_end_when_idle_or_too_old_and_are_bounded_in_number() {
    let Some(pg) = accord_testkit::postgres::cluster("pg_sessions_limits") else {
        return;
    };
    let db = pg.fresh_database();
    let s = PgSessions::connect(&db).unwrap();
    let short_idle = SessionLimits {
        idle: Duration::from_millis(300),
        ..LIMITS
    };
    s.start(&digest(1), "a", "c", short_idle).unwrap();
    assert!(s.get(&digest(1), short_idle).unwrap().is_some());
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        s.get(&digest(1), short_idle).unwrap(),
        None,
        "idle too long"
    );
    assert_eq!(s.count().unwrap(), 0, "the ended session is deleted");

    let short_age = SessionLimits {
        max_age: Duration::from_millis(300),
        ..LIMITS
    };
    s.start(&digest(2), "a", "c", short_age).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(s.get(&digest(2), short_age).unwrap(), None, "too old");

    let three = SessionLimits {
        max_sessions: 3,
        ..LIMITS
    };
    for n in 10..15 {
        s.start(&digest(n), "a", "c", three).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(s.count().unwrap(), 3);
    for n in 10..12 {
        assert_eq!(s.get(&digest(n), three).unwrap(), None, "{n} went first");
    }
    for n in 12..15 {
        assert!(s.get(&digest(n), three).unwrap().is_some(), "{n} kept");
    }
}

#[test]
fn a_dropped_connection_costs_no_request() {
    let Some(pg) = accord_testkit::postgres::cluster("pg_sessions_dropped") else {
        return;
    };
    let db = pg.fresh_database();
    let name = db.rsplit("dbname=").next().unwrap().to_owned();
    let s = PgSessions::connect(&db).unwrap();
    s.start(&digest(1), "a", "c", LIMITS).unwrap();
    // The server ends every other session on the database (as a restart
    // or an administrator would).
    pg.psql(
        "postgres",
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    );
    assert!(
        s.get(&digest(1), LIMITS).unwrap().is_some(),
        "the first request after the drop is answered"
    );
}
