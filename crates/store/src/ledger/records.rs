//! A stored object's ledger record: its source as kept in the object row,
//! the record rebuilt from that row, and the copies kept when objects are
//! deleted.

use accord_ledger::{Decision, Direction, ExchangeRecord, Hash};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Digest as _;

/// What a stored object's ledger record holds beyond its row, as kept in
/// `objects.ledger_src`: `direction:len:partner` then the time, where
/// `len` is the partner's length in bytes, `-0` for no partner.
#[cfg_attr(feature = "bench-no-ledger", allow(dead_code))]
pub(crate) fn record_source(direction: Direction, partner: Option<&str>, time: &str) -> String {
    let p = partner.unwrap_or("");
    let mut s = String::with_capacity(16 + p.len() + time.len());
    s.push_str(direction.as_str());
    s.push(':');
    if partner.is_none() {
        s.push('-');
    }
    s.push_str(&p.len().to_string());
    s.push(':');
    s.push_str(p);
    s.push_str(time);
    s
}

/// Inverse of [`record_source`].
fn parse_record_source(src: &str) -> Option<(Direction, Option<&str>, &str)> {
    let (direction, rest) = src.split_once(':')?;
    let direction = match direction {
        "in" => Direction::In,
        "out" => Direction::Out,
        "local" => Direction::Local,
        _ => return None,
    };
    let (len, rest) = rest.split_once(':')?;
    let (none, len) = match len.strip_prefix('-') {
        Some(l) => (true, l),
        None => (false, len),
    };
    let len: usize = len.parse().ok()?;
    let partner = rest.get(..len)?;
    let time = rest.get(len..)?;
    Some((direction, (!none).then_some(partner), time))
}

/// The JCS bytes of the record of stored object version `seq`: rebuilt
/// from its row, or as kept when it was deleted. `Err` says why it cannot
/// be had.
pub(crate) fn stored_record(
    conn: &Connection,
    seq: i64,
) -> rusqlite::Result<Result<Vec<u8>, String>> {
    let mut st = conn.prepare_cached(
        "SELECT c.name, o.id, o.modified, o.raw, o.ledger_src FROM objects o
         JOIN collections c ON c.coll_id = o.coll_id WHERE o.seq = ?1",
    )?;
    let row = st
        .query_row([seq], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    if let Some((collection, id, modified, raw, src)) = row {
        let Some(src) = src else {
            return Ok(Err(format!(
                "object `{id}` (seq {seq}) has no ledger source to rebuild its record from"
            )));
        };
        let Some((direction, partner, time)) = parse_record_source(&src) else {
            return Ok(Err(format!(
                "object `{id}` (seq {seq}) has a malformed ledger source {src:?}"
            )));
        };
        return Ok(Ok(ExchangeRecord {
            direction,
            partner: partner.map(str::to_owned),
            collection,
            object_id: id,
            modified,
            sha256: Hash(sha2::Sha256::digest(raw.as_bytes()).into()).to_hex(),
            decision: Decision::Stored,
            time: time.to_owned(),
        }
        .to_leaf_bytes()));
    }
    let kept: Option<Vec<u8>> = conn
        .prepare_cached("SELECT leaf FROM ledger_detached WHERE seq = ?1")?
        .query_row([seq], |r| Ok(r.get_ref(0)?.as_bytes()?.to_vec()))
        .optional()?;
    Ok(kept.ok_or_else(|| {
        format!("its object (seq {seq}) is gone and no copy of its record was kept")
    }))
}

/// Keeps the records of the stored versions about to be deleted (rows
/// `seqs`), inside the delete's transaction.
pub(crate) fn detach(conn: &Connection, seqs: &[i64]) -> rusqlite::Result<()> {
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO ledger_detached (seq, leaf) VALUES (?1, ?2)")?;
    for &seq in seqs {
        if let Ok(leaf) = stored_record(conn, seq)? {
            insert.execute(params![seq, leaf])?;
        }
    }
    Ok(())
}
