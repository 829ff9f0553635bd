//! The PostgreSQL backend connects to a throwaway cluster and migrates.

use accord_store::OpenOptions;
use accord_store::pg::PgStore;

#[test]
fn connects_and_migrates_twice() {
    let Some(pg) = accord_testkit::postgres::cluster("connects_and_migrates_twice") else {
        return;
    };
    let db = pg.fresh_database();
    let _a = PgStore::connect(&db, &OpenOptions::new()).expect("first connect");
    let _b = PgStore::connect(&db, &OpenOptions::new()).expect("second connect");
}
