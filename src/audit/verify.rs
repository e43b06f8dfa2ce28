//! `rspd audit verify`: walks the chain in `seq` order and names the first row that was edited, deleted,
//! inserted or moved.

use super::{chain_hash, AuditRecord, GENESIS_HASH};

/// The stored chain head (`audit_head`): the last appended seq and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("row seq {seq}: its content does not match its hash (the row was edited)")]
    Edited { seq: i64 },
    #[error(
        "row seq {seq}: prev_hash does not match the row before it (a row was deleted, inserted or moved before it)"
    )]
    Relinked { seq: i64 },
    #[error("row seq {found} where seq {expected} was expected (rows deleted, inserted or renumbered)")]
    Sequence { expected: i64, found: i64 },
    #[error("a row without a chain position (seq is NULL, id {id}): inserted around the chain")]
    Unchained { id: i64 },
    #[error("the chain ends at seq {last} but the head says {head_seq}: rows at the end were deleted, or the head was edited")]
    Head { last: i64, head_seq: i64 },
}

/// Checks rows fed in `seq` order, a batch at a time (the chain may be longer than memory).
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { expected_seq: 1, prev_hash: GENESIS_HASH.to_owned() }
    }
}

impl ChainVerifier {
    /// Checks the next row of the chain.
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if r.seq != self.expected_seq {
            return Err(ChainBreak::Sequence { expected: self.expected_seq, found: r.seq });
        }
        if r.prev_hash != self.prev_hash {
            return Err(ChainBreak::Relinked { seq: r.seq });
        }
        if chain_hash(&r.prev_hash, r) != r.hash {
            return Err(ChainBreak::Edited { seq: r.seq });
        }
        self.expected_seq += 1;
        self.prev_hash.clone_from(&r.hash);
        Ok(())
    }

    /// How many rows checked so far.
    pub fn rows(&self) -> i64 {
        self.expected_seq - 1
    }

    /// The end of the chain must be the stored head.
    pub fn finish(&self, head: &ChainHead) -> Result<(), ChainBreak> {
        if head.seq != self.rows() || head.hash != self.prev_hash {
            return Err(ChainBreak::Head { last: self.rows(), head_seq: head.seq });
        }
        Ok(())
    }
}

/// Verifies a whole chain held in memory.
pub fn verify_chain(rows: &[AuditRecord], head: &ChainHead) -> Result<i64, ChainBreak> {
    let mut v = ChainVerifier::default();
    for r in rows {
        v.push(r)?;
    }
    v.finish(head)?;
    Ok(v.rows())
}

#[cfg(test)]
mod tests {
    use super::super::tests::row;
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut rows = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for seq in 1..=n {
            let r = row(seq, &prev);
            prev.clone_from(&r.hash);
            rows.push(r);
        }
        rows
    }

    fn head(rows: &[AuditRecord]) -> ChainHead {
        let last = rows.last().unwrap();
        ChainHead { seq: last.seq, hash: last.hash.clone() }
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        assert_eq!(verify_chain(&rows, &head(&rows)), Ok(5));
        assert_eq!(verify_chain(&[], &ChainHead { seq: 0, hash: GENESIS_HASH.into() }), Ok(0));
    }

    #[test]
    fn edit_delete_reorder_and_truncation_are_named() {
        let rows = chain(5);
        let h = head(&rows);
        let mut edited = rows.clone();
        edited[2].to_state = Some("installed".into());
        assert_eq!(verify_chain(&edited, &h), Err(ChainBreak::Edited { seq: 3 }));

        let mut deleted = rows.clone();
        deleted.remove(1);
        assert_eq!(verify_chain(&deleted, &h), Err(ChainBreak::Sequence { expected: 2, found: 3 }));

        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        (swapped[1].seq, swapped[2].seq) = (2, 3);
        assert_eq!(verify_chain(&swapped, &h), Err(ChainBreak::Relinked { seq: 2 }));

        assert_eq!(verify_chain(&rows[..4], &h), Err(ChainBreak::Head { last: 4, head_seq: 5 }));
    }
}
