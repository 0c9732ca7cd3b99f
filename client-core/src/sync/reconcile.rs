//! Anti-entropy: finding the documents on which a device and its hub differ,
//! in little traffic, whatever the number of documents.
//!
//! Range-based set reconciliation (the idea behind Negentropy). Each replica
//! sees its documents as a sorted set of `(doc id, heads digest)` items. A
//! range of ids is summarised by its item count and a fingerprint: the sum,
//! modulo 2¹²⁸, of a hash of each item — so equal sets give equal summaries
//! and the summary of a range is cheap to recompute.
//!
//! The device sends the summary of everything; when they agree (the usual
//! case after a catch-up) that is one round trip of a few dozen bytes. When
//! they differ, the hub answers with the summaries of 16 sub-ranges, or with
//! its items when a range holds at most [`ITEMS_THRESHOLD`] of them; the
//! device keeps asking only about sub-ranges that still differ. Any set of
//! differences is found in about log₁₆(N / 64) + 1 rounds.

use std::collections::BTreeSet;

use sha2::Digest as _;

use super::protocol::{HeadsDigest, Range, RangeFingerprint, RangeReply, Ranges, Reconcile};
use crate::ids::DocId;

/// Sub-ranges per split.
pub const FANOUT: usize = 16;
/// A range with at most this many items (on the hub) is answered with them.
pub const ITEMS_THRESHOLD: usize = 64;
/// Rounds after which a reconciliation gives up (a misbehaving peer).
pub const MAX_ROUNDS: u32 = 16;

/// One document as seen by reconciliation.
pub type Item = (DocId, HeadsDigest);

fn item_hash(item: &Item) -> u128 {
    let mut hasher = sha2::Sha256::new();
    hasher.update(item.0.as_bytes());
    hasher.update(item.1.0);
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(bytes)
}

/// The items of a sorted slice that fall in `range`.
pub fn in_range<'a>(sorted: &'a [Item], range: &Range) -> &'a [Item] {
    let start = sorted.partition_point(|(id, _)| *id < range.lo);
    let end = match &range.hi {
        Some(hi) => sorted.partition_point(|(id, _)| id < hi),
        None => sorted.len(),
    };
    &sorted[start..end.max(start)]
}

/// The summary of a range of a sorted item list.
pub fn summarize(sorted: &[Item], range: Range) -> RangeFingerprint {
    let items = in_range(sorted, &range);
    let sum = items
        .iter()
        .fold(0u128, |acc, item| acc.wrapping_add(item_hash(item)));
    RangeFingerprint {
        range,
        count: items.len() as u64,
        fingerprint: sum.to_le_bytes(),
    }
}

/// The hub's answer to one range summary, or `None` when the hub's own
/// summary of that range is the same.
pub fn answer(hub_sorted: &[Item], theirs: &RangeFingerprint) -> Option<RangeReply> {
    let ours = summarize(hub_sorted, theirs.range);
    if ours.count == theirs.count && ours.fingerprint == theirs.fingerprint {
        return None;
    }
    let items = in_range(hub_sorted, &theirs.range);
    if items.len() <= ITEMS_THRESHOLD {
        return Some(RangeReply::Items {
            range: theirs.range,
            items: items.to_vec(),
        });
    }
    // Cut at evenly spaced items so each part holds about 1/16 of them.
    let mut bounds: Vec<DocId> = (1..FANOUT)
        .map(|k| items[k * items.len() / FANOUT].0)
        .collect();
    bounds.dedup();
    let mut parts = Vec::with_capacity(FANOUT);
    let mut lo = theirs.range.lo;
    for bound in bounds {
        if bound > lo {
            parts.push(summarize(
                hub_sorted,
                Range {
                    lo,
                    hi: Some(bound),
                },
            ));
            lo = bound;
        }
    }
    parts.push(summarize(
        hub_sorted,
        Range {
            lo,
            hi: theirs.range.hi,
        },
    ));
    Some(RangeReply::Split(parts))
}

/// The hub's answer to a whole round.
pub fn answer_round(hub_sorted: &[Item], request: &Reconcile) -> Ranges {
    Ranges {
        round: request.round,
        replies: request
            .ranges
            .iter()
            .filter_map(|r| answer(hub_sorted, r))
            .collect(),
    }
}

/// What the device does after a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ask about these ranges next.
    Continue(Reconcile),
    /// Reconciliation is over; these documents differ (either side may lack
    /// them, or their heads differ).
    Done(BTreeSet<DocId>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error("reconciliation reply for round {got} while round {expected} was asked")]
    WrongRound { expected: u32, got: u32 },
    #[error("reconciliation did not converge in {MAX_ROUNDS} rounds")]
    TooManyRounds,
}

/// The device side of one reconciliation.
#[derive(Debug, Clone)]
pub struct Reconciler {
    items: Vec<Item>,
    round: u32,
    differences: BTreeSet<DocId>,
}

impl Reconciler {
    /// Starts with the device's items (sorted here) and returns the first
    /// request: the summary of everything.
    pub fn start(mut items: Vec<Item>) -> (Self, Reconcile) {
        items.sort();
        items.dedup_by(|a, b| a.0 == b.0);
        let first = Reconcile {
            round: 1,
            ranges: vec![summarize(&items, Range::ALL)],
        };
        (
            Self {
                items,
                round: 1,
                differences: BTreeSet::new(),
            },
            first,
        )
    }

    pub fn round(&self) -> u32 {
        self.round
    }

    pub fn on_reply(&mut self, reply: &Ranges) -> Result<Step, ReconcileError> {
        if reply.round != self.round {
            return Err(ReconcileError::WrongRound {
                expected: self.round,
                got: reply.round,
            });
        }
        let mut next = Vec::new();
        for r in &reply.replies {
            match r {
                RangeReply::Items { range, items } => {
                    let ours = in_range(&self.items, range);
                    let theirs: BTreeSet<&Item> =
                        items.iter().filter(|i| range.contains(&i.0)).collect();
                    let mine: BTreeSet<&Item> = ours.iter().collect();
                    self.differences
                        .extend(theirs.symmetric_difference(&mine).map(|i| i.0));
                }
                RangeReply::Split(parts) => {
                    for part in parts {
                        let mine = summarize(&self.items, part.range);
                        if mine.count != part.count || mine.fingerprint != part.fingerprint {
                            next.push(mine);
                        }
                    }
                }
            }
        }
        if next.is_empty() {
            return Ok(Step::Done(std::mem::take(&mut self.differences)));
        }
        self.round += 1;
        if self.round > MAX_ROUNDS {
            return Err(ReconcileError::TooManyRounds);
        }
        Ok(Step::Continue(Reconcile {
            round: self.round,
            ranges: next,
        }))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn item(n: u32, version: u8) -> Item {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&n.to_be_bytes());
        id[4..8].copy_from_slice(&n.wrapping_mul(2654435761).to_be_bytes());
        (DocId::from_bytes(id), HeadsDigest([version; 16]))
    }

    /// Runs a whole reconciliation and returns (differences, rounds).
    fn run(device: Vec<Item>, mut hub: Vec<Item>) -> (BTreeSet<DocId>, u32) {
        hub.sort();
        let (mut reconciler, mut request) = Reconciler::start(device);
        loop {
            let reply = answer_round(&hub, &request);
            match reconciler.on_reply(&reply).unwrap() {
                Step::Continue(next) => request = next,
                Step::Done(diff) => return (diff, reconciler.round()),
            }
        }
    }

    fn expected(device: &[Item], hub: &[Item]) -> BTreeSet<DocId> {
        let a: BTreeSet<&Item> = device.iter().collect();
        let b: BTreeSet<&Item> = hub.iter().collect();
        a.symmetric_difference(&b).map(|i| i.0).collect()
    }

    #[test]
    fn identical_sets_agree_in_one_round() {
        let items: Vec<Item> = (0..10_000).map(|n| item(n, 1)).collect();
        let (diff, rounds) = run(items.clone(), items);
        assert!(diff.is_empty());
        assert_eq!(rounds, 1);
    }

    #[test]
    fn one_changed_document_among_ten_thousand_is_found_in_a_few_rounds() {
        let device: Vec<Item> = (0..10_000).map(|n| item(n, 1)).collect();
        let mut hub = device.clone();
        hub[4321].1 = HeadsDigest([2; 16]);
        let (diff, rounds) = run(device, hub);
        assert_eq!(diff, BTreeSet::from([item(4321, 1).0]));
        assert!(rounds <= 3, "{rounds} rounds");
    }

    #[test]
    fn documents_missing_on_either_side_are_found() {
        let device: Vec<Item> = (0..500).map(|n| item(n, 1)).collect();
        let hub: Vec<Item> = (100..700).map(|n| item(n, 1)).collect();
        let (diff, _) = run(device.clone(), hub.clone());
        assert_eq!(diff, expected(&device, &hub));
        assert_eq!(diff.len(), 300);
    }

    #[test]
    fn replies_for_another_round_are_rejected() {
        let (mut r, _) = Reconciler::start(vec![item(1, 1)]);
        let err = r
            .on_reply(&Ranges {
                round: 7,
                replies: vec![],
            })
            .unwrap_err();
        assert_eq!(
            err,
            ReconcileError::WrongRound {
                expected: 1,
                got: 7
            }
        );
    }

    proptest! {
        #[test]
        fn finds_exactly_the_symmetric_difference(
            shared in 0u32..3000,
            device_only in proptest::collection::btree_set(3000u32..4000, 0..50),
            hub_only in proptest::collection::btree_set(4000u32..5000, 0..50),
            changed in proptest::collection::btree_set(0u32..3000, 0..50),
        ) {
            let mut device: Vec<Item> = (0..shared).map(|n| item(n, 1)).collect();
            let mut hub = device.clone();
            device.extend(device_only.iter().map(|n| item(*n, 1)));
            hub.extend(hub_only.iter().map(|n| item(*n, 1)));
            for n in changed.iter().filter(|n| **n < shared) {
                hub[*n as usize].1 = HeadsDigest([9; 16]);
            }
            let (diff, rounds) = run(device.clone(), hub.clone());
            prop_assert_eq!(diff, expected(&device, &hub));
            prop_assert!(rounds <= 5);
        }
    }
}
