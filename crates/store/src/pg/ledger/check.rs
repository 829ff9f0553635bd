//! `accord ledger verify` over PostgreSQL: the leaves and stored hashes
//! read block by block in one snapshot and fed to an
//! [`accord_ledger::TreeVerifier`], which does the recomputing.

use super::read::size_of;
use crate::ledger::shared::LeafRun;
use crate::pg::PgStore;
use crate::{LedgerCheck, LedgerProblem, StoreError};
use accord_ledger::{HASH_SIZE, MAX_PROBLEMS, TreeVerifier, stored_hash_count, stored_hash_index};
use postgres::types::Type;
use std::collections::HashMap;

/// Leaves read per round trip: memory is this many leaves with their
/// stored hashes and objects, whatever the log's size.
const BLOCK: i64 = 1024;

/// Recomputes every stored hash from the leaves alone and compares, as
/// the SQLite check does: each leaf must be a valid record in canonical
/// form, its stored hashes the recomputed ones, and a record of a stored
/// object must carry the SHA-256 of that object's bytes while it is there.
/// Then the rows must add up: `accord_meta`'s size is the number of
/// leaves, and no stored hash lies past them. One `repeatable read`
/// snapshot; memory is one block plus the tree's right edge.
pub(super) fn check_at(store: &PgStore, sizes: &[u64]) -> Result<LedgerCheck, StoreError> {
    let mut client = store.client();
    let err = |what: &'static str| crate::pg::pg_err(&store.server, what);
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(err("a read transaction"))?;
    let meta_size = size_of(&mut tx, &store.server)?;
    // No second copy of upper-level hashes here: every stored hash is a
    // row of ledger_hashes, compared as its leaf's run.
    let mut verifier = TreeVerifier::new(sizes, 64);
    let mut next: i64 = 0;
    loop {
        let rows = tx
            .query_typed(
                "SELECT idx, leaf, seq FROM ledger_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2",
                &[(&next, Type::INT8), (&BLOCK, Type::INT8)],
            )
            .map_err(err("the ledger's leaves"))?;
        let (Some(lo), Some(hi)) = (rows.first(), rows.last()) else {
            break;
        };
        let lo: u64 = lo
            .try_get::<_, i64>(0)
            .map_err(err("a leaf"))?
            .cast_unsigned();
        let hi: i64 = hi.try_get(0).map_err(err("a leaf"))?;
        let Some(after) = hi.checked_add(1) else {
            verifier.stop(format!("a leaf is stored at index {hi}, past any log"));
            break;
        };
        next = after;
        let hi = next.cast_unsigned();
        let hashes: HashMap<u64, Vec<u8>> = tx
            .query_typed(
                "SELECT idx, hash FROM ledger_hashes WHERE idx >= $1 AND idx < $2",
                &[
                    (&stored_hash_index(0, lo).cast_signed(), Type::INT8),
                    (&stored_hash_index(0, hi).cast_signed(), Type::INT8),
                ],
            )
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.try_get::<_, i64>(0)?.cast_unsigned(), r.try_get(1)?)))
                    .collect()
            })
            .map_err(err("the ledger's stored hashes"))?;
        let runs = runs_of(&rows, &hashes).map_err(err("a leaf"))?;
        let seqs: Vec<i64> = runs.iter().flat_map(LeafRun::object_seqs).collect();
        let mut objects: HashMap<i64, String> = tx
            .query_typed(
                "SELECT seq, raw FROM objects WHERE seq = ANY($1)",
                &[(&seqs, Type::INT8_ARRAY)],
            )
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            })
            .map_err(err("the objects the leaves record"))?;
        let mut go_on = true;
        for run in &runs {
            go_on = run.feed(&mut verifier, |seq| {
                Ok::<_, StoreError>(objects.remove(&seq))
            })?;
            if !go_on {
                break;
            }
        }
        if !go_on {
            break;
        }
    }
    let stopped = verifier.is_stopped();
    let mut check = verifier.finish();
    let mut problem = |index: u64, reason: String| {
        if check.problems.len() < MAX_PROBLEMS {
            check.problems.push(LedgerProblem { index, reason });
        }
    };
    if !stopped && check.size != meta_size {
        problem(
            check.size.min(meta_size),
            format!(
                "accord_meta says the log has {meta_size} leaves, ledger_leaves holds {}",
                check.size
            ),
        );
    }
    if !stopped {
        let past = stored_hash_count(check.size).cast_signed();
        let extra: i64 = tx
            .query_typed(
                "SELECT count(*) FROM ledger_hashes WHERE idx >= $1",
                &[(&past, Type::INT8)],
            )
            .and_then(|r| r.first().map_or(Ok(0), |r| r.try_get(0)))
            .map_err(err("the ledger's stored hashes"))?;
        if extra > 0 {
            problem(
                check.size,
                format!(
                    "ledger_hashes holds {extra} stored hashes past the {past} a log of {} leaves has",
                    check.size
                ),
            );
        }
    }
    tx.commit().map_err(err("ending the read transaction"))?;
    Ok(check)
}

/// The runs of consecutive leaves in `rows` (ordered by index), each with
/// its stored hashes from `hashes`: up to the first one missing (the
/// verifier then says which leaf lacks them), a malformed one (not 32
/// bytes) given as zeros, so that it shows as a hash that differs.
fn runs_of(
    rows: &[postgres::Row],
    hashes: &HashMap<u64, Vec<u8>>,
) -> Result<Vec<LeafRun>, postgres::Error> {
    let mut runs: Vec<LeafRun> = Vec::new();
    for r in rows {
        let idx = r.try_get::<_, i64>(0)?.cast_unsigned();
        let leaf: Vec<u8> = r.try_get(1)?;
        let seq: Option<i64> = r.try_get(2)?;
        match runs.last_mut() {
            Some(run) if run.first + run.leaves.len() as u64 == idx => {
                run.leaves.push(Ok(leaf));
                run.seqs.push(seq);
                run.rebuilt.push(false);
            }
            _ => runs.push(LeafRun {
                first: idx,
                hashes: Vec::new(),
                seqs: vec![seq],
                leaves: vec![Ok(leaf)],
                rebuilt: vec![false],
            }),
        }
    }
    for run in &mut runs {
        let end = run.first + run.leaves.len() as u64;
        for i in stored_hash_index(0, run.first)..stored_hash_index(0, end) {
            match hashes.get(&i) {
                Some(h) if h.len() == HASH_SIZE => run.hashes.extend_from_slice(h),
                Some(_) => run.hashes.extend_from_slice(&[0; HASH_SIZE]),
                None => break,
            }
        }
    }
    Ok(runs)
}
