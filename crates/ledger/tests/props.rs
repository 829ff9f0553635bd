//! Property tests: every proof for random sizes verifies, and any bit flip
//! in the leaf, a proof hash or the root makes it fail.

use accord_ledger::{
    Hash, MemoryLog, consistency_proof, inclusion_proof, leaf_hash, root_of_leaf_hashes, tree_root,
    verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

fn log_of(n: u64) -> MemoryLog {
    let mut log = MemoryLog::new();
    let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_le_bytes().to_vec()).collect();
    // Uneven batches exercise the batch append.
    let mut start = 0usize;
    let mut batch = 1usize;
    while start < leaves.len() {
        let end = (start + batch).min(leaves.len());
        log.append(&leaves[start..end]).unwrap();
        start = end;
        batch = batch * 3 % 17 + 1;
    }
    log
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h.0[bit / 8 % 32] ^= 1 << (bit % 8);
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inclusion_proofs_verify_and_bit_flips_fail(
        size in 1u64..600,
        index_seed in any::<u64>(),
        bit in 0usize..256,
        which in any::<prop::sample::Index>(),
    ) {
        let log = log_of(size);
        let index = index_seed % size;
        let root = tree_root(&log, size).unwrap();
        let leaf = leaf_hash(log.entry(index).unwrap());
        let proof = inclusion_proof(&log, index, size).unwrap();
        prop_assert!(proof.len() <= 64 - size.leading_zeros() as usize);
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());

        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
        if !proof.is_empty() {
            let mut p = proof.clone();
            let i = which.index(p.len());
            p[i] = flip(&p[i], bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
        }
        // A flipped bit in the leaf's bytes changes its hash.
        let mut bytes = log.entry(index).unwrap().to_vec();
        if !bytes.is_empty() {
            let b = bit % (bytes.len() * 8);
            bytes[b / 8] ^= 1 << (b % 8);
            prop_assert!(verify_inclusion(&leaf_hash(&bytes), index, size, &proof, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_bit_flips_fail(
        new_size in 1u64..600,
        old_seed in any::<u64>(),
        bit in 0usize..256,
        which in any::<prop::sample::Index>(),
    ) {
        let log = log_of(new_size);
        let old_size = old_seed % (new_size + 1);
        let old_root = tree_root(&log, old_size).unwrap();
        let new_root = tree_root(&log, new_size).unwrap();
        let proof = consistency_proof(&log, old_size, new_size).unwrap();
        prop_assert!(proof.len() <= 2 * 64);
        prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof).is_ok());
        if old_size > 0 {
            prop_assert!(verify_consistency(old_size, new_size, &flip(&old_root, bit), &new_root, &proof).is_err());
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &flip(&new_root, bit), &proof).is_err());
        }
        if !proof.is_empty() {
            let mut p = proof.clone();
            let i = which.index(p.len());
            p[i] = flip(&p[i], bit);
            prop_assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &p).is_err());
        }
    }

    #[test]
    fn roots_equal_the_recursive_definition(size in 0u64..300) {
        let log = log_of(size);
        let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(log.entry(i).unwrap())).collect();
        prop_assert_eq!(tree_root(&log, size).unwrap(), root_of_leaf_hashes(&leaves));
        prop_assert_eq!(log.root().unwrap(), root_of_leaf_hashes(&leaves));
    }

    #[test]
    fn verification_never_panics_on_junk(
        index in any::<u64>(),
        size in any::<u64>(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..80),
        a in any::<[u8; 32]>(),
        b in any::<[u8; 32]>(),
    ) {
        let p: Vec<Hash> = proof.into_iter().map(Hash).collect();
        let _ = verify_inclusion(&Hash(a), index, size, &p, &Hash(b));
        let _ = verify_consistency(index, size, &Hash(a), &Hash(b), &p);
    }
}
