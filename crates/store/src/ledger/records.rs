//! A stored object's ledger record: its source as kept in the object row,
//! the record rebuilt from that row, and the copies kept when objects are
//! deleted.

use accord_ledger::{Decision, Direction, ExchangeRecord, Hash};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Digest as _;

/// What a stored object's ledger record holds beyond its row, as kept in
/// `objects.ledger_src`: `direction:len:partner`, then the time, then
/// `;` and the record's salt, where `len` is the partner's length in bytes,
/// `-0` for no partner. Rows written before salts existed have no `;salt`
/// (the time never holds a `;`): their records are rebuilt unsalted, as
/// they were logged.
#[cfg_attr(feature = "bench-no-ledger", allow(dead_code))]
pub(crate) fn record_source(
    direction: Direction,
    partner: Option<&str>,
    time: &str,
    salt: Option<&str>,
) -> String {
    let p = partner.unwrap_or("");
    let mut s = String::with_capacity(50 + p.len() + time.len() + salt.map_or(0, str::len));
    s.push_str(direction.as_str());
    s.push(':');
    if partner.is_none() {
        s.push('-');
    }
    s.push_str(&p.len().to_string());
    s.push(':');
    s.push_str(p);
    s.push_str(time);
    if let Some(salt) = salt {
        s.push(';');
        s.push_str(salt);
    }
    s
}

/// What [`record_source`] wrote.
#[derive(Debug, PartialEq, Eq)]
struct Source<'a> {
    direction: Direction,
    partner: Option<&'a str>,
    time: &'a str,
    salt: Option<&'a str>,
}

/// Inverse of [`record_source`].
fn parse_record_source(src: &str) -> Option<Source<'_>> {
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
    let rest = rest.get(len..)?;
    let (time, salt) = match rest.split_once(';') {
        Some((time, salt)) => (time, Some(salt)),
        None => (rest, None),
    };
    Some(Source {
        direction,
        partner: (!none).then_some(partner),
        time,
        salt,
    })
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
        let Some(Source {
            direction,
            partner,
            time,
            salt,
        }) = parse_record_source(&src)
        else {
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
            salt: salt.map(str::to_owned),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sources_round_trip_with_and_without_a_salt() {
        let salt = "0123456789abcdef0123456789abcdef";
        for (direction, partner, time, salt) in [
            (
                Direction::Local,
                None,
                "2026-01-01T00:00:00.000000Z",
                Some(salt),
            ),
            (
                Direction::In,
                Some("cert:b;x"),
                "2026-01-01T00:00:00Z",
                Some(salt),
            ),
            (Direction::In, Some(""), "2026-01-01T00:00:00Z", None),
            (Direction::Local, None, "2026-01-01T00:00:00Z", None),
        ] {
            let src = record_source(direction, partner, time, salt);
            assert_eq!(
                parse_record_source(&src),
                Some(Source {
                    direction,
                    partner,
                    time,
                    salt
                }),
                "{src}"
            );
        }
        // A row written before salts: no salt.
        assert_eq!(
            parse_record_source("in:6:cert.b2026-01-01T00:00:00Z")
                .unwrap()
                .salt,
            None
        );
    }
}
