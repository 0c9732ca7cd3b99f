//! Issuing dossier codes offline, with no collision and no coordination at
//! issue time.
//!
//! A code is `{unit code}-{yyMMdd}-{NNNN}`. Counting existing dossiers
//! (`count() + 1`) or locking inside one process cannot work for devices that
//! do not talk to each other, so the four-digit daily number space of a unit
//! is partitioned once, at enrolment — the only moment a device must be
//! online anyway:
//!
//! - the number space 0001–9999 is cut into 100 *slots* of 99 numbers:
//!   slot `s` owns `s·100 + 1 ..= s·100 + 99` (slot 0 owns 0001–0099,
//!   slot 99 owns 9901–9999);
//! - the hub gives each enrolled device of a unit one or more slots that no
//!   other active device of that unit holds;
//! - a device issues, each day, the next number after the highest one it has
//!   already used in its own slots that day.
//!
//! Two devices therefore never issue the same number, whatever they do while
//! offline. A device that receives more than 99 dossiers a day is given more
//! than one slot; when it runs out it gets a clear error rather than a
//! duplicate.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{DossierCode, UnitCode};

/// One hundredth of a unit's daily number space, held by one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct CodeSlot(u8);

impl CodeSlot {
    pub const COUNT: u8 = 100;
    /// Numbers per slot per day.
    pub const SIZE: u16 = 99;

    pub fn new(slot: u8) -> Result<Self, CodeError> {
        if slot < Self::COUNT {
            Ok(Self(slot))
        } else {
            Err(CodeError::BadSlot(slot))
        }
    }

    pub fn index(self) -> u8 {
        self.0
    }

    /// The slot that owns a daily number.
    pub fn of_number(number: u16) -> Self {
        Self((number / 100) as u8)
    }

    /// The `k`-th number (0-based) of this slot.
    fn number(self, k: u16) -> u16 {
        u16::from(self.0) * 100 + 1 + k
    }

    fn contains(self, number: u16) -> bool {
        Self::of_number(number) == self && !number.is_multiple_of(100)
    }

    /// The lowest slot no other active device of the unit holds.
    pub fn first_free(taken: &[CodeSlot]) -> Option<CodeSlot> {
        Self::first_free_in(taken, 0..=Self::COUNT - 1)
    }

    /// The lowest free slot within `range`.
    pub fn first_free_in(
        taken: &[CodeSlot],
        range: std::ops::RangeInclusive<u8>,
    ) -> Option<CodeSlot> {
        range
            .filter(|s| *s < Self::COUNT)
            .map(CodeSlot)
            .find(|s| !taken.contains(s))
    }

    /// The slots a hub at `depth` (0 = the top hub) hands out. A unit's
    /// devices may be enrolled at its commune node or directly at a hub
    /// above it; each level draws from its own share so that the two never
    /// give out the same slot, even while they cannot talk to each other.
    pub fn range_for_depth(depth: u8) -> std::ops::RangeInclusive<u8> {
        match depth {
            0 => 0..=49,
            1 => 50..=79,
            2 => 80..=94,
            _ => 95..=99,
        }
    }
}

impl TryFrom<u8> for CodeSlot {
    type Error = CodeError;
    fn try_from(slot: u8) -> Result<Self, CodeError> {
        Self::new(slot)
    }
}

impl From<CodeSlot> for u8 {
    fn from(slot: CodeSlot) -> u8 {
        slot.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("code slot {0} does not exist (slots are 0 to 99)")]
    BadSlot(u8),
    #[error("this device holds no code slot for unit {0}; enrol it again to receive one")]
    NoSlots(UnitCode),
    #[error(
        "this device has used all {capacity} dossier numbers of its slots for {date} at unit {unit}; \
         ask an administrator to give the device another code slot"
    )]
    Exhausted {
        unit: UnitCode,
        date: NaiveDate,
        capacity: usize,
    },
}

/// Issues the codes of one device for one receiving unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeIssuer {
    unit: UnitCode,
    slots: Vec<CodeSlot>,
}

impl CodeIssuer {
    pub fn new(unit: UnitCode, mut slots: Vec<CodeSlot>) -> Result<Self, CodeError> {
        slots.sort();
        slots.dedup();
        if slots.is_empty() {
            return Err(CodeError::NoSlots(unit));
        }
        Ok(Self { unit, slots })
    }

    pub fn unit(&self) -> &UnitCode {
        &self.unit
    }

    pub fn slots(&self) -> &[CodeSlot] {
        &self.slots
    }

    /// How many codes this device can issue in one day.
    pub fn capacity_per_day(&self) -> usize {
        self.slots.len() * usize::from(CodeSlot::SIZE)
    }

    /// Whether this device could have issued `code`.
    pub fn owns(&self, code: &DossierCode) -> bool {
        code.unit() == &self.unit && self.slots.iter().any(|s| s.contains(code.number()))
    }

    /// The next code for a dossier received on `date` (local date), given the
    /// codes already present on this replica. Only this device's own codes of
    /// that day matter, and this device always holds all of them.
    pub fn issue<'a>(
        &self,
        date: NaiveDate,
        existing: impl IntoIterator<Item = &'a DossierCode>,
    ) -> Result<DossierCode, CodeError> {
        let used = existing
            .into_iter()
            .filter(|c| c.date() == date && self.owns(c))
            .map(|c| self.position(c.number()))
            .max();
        let next = used.map_or(0, |p| p + 1);
        let exhausted = || CodeError::Exhausted {
            unit: self.unit.clone(),
            date,
            capacity: self.capacity_per_day(),
        };
        let slot = self
            .slots
            .get(next / usize::from(CodeSlot::SIZE))
            .ok_or_else(exhausted)?;
        let number = slot.number((next % usize::from(CodeSlot::SIZE)) as u16);
        DossierCode::new(self.unit.clone(), date, number).map_err(|_| exhausted())
    }

    /// The 0-based position of a number in this device's sequence of the day.
    fn position(&self, number: u16) -> usize {
        let slot = CodeSlot::of_number(number);
        let rank = self.slots.iter().position(|s| *s == slot).unwrap_or(0);
        rank * usize::from(CodeSlot::SIZE) + usize::from(number % 100) - 1
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    fn unit() -> UnitCode {
        UnitCode::parse("26734").unwrap()
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn first_codes_of_a_slot_and_of_the_next_slot() {
        let issuer = CodeIssuer::new(
            unit(),
            vec![CodeSlot::new(3).unwrap(), CodeSlot::new(7).unwrap()],
        )
        .unwrap();
        let mut codes = Vec::new();
        for _ in 0..100 {
            let code = issuer.issue(day(), &codes).unwrap();
            codes.push(code);
        }
        assert_eq!(codes[0].to_string(), "26734-261128-0301");
        assert_eq!(codes[98].to_string(), "26734-261128-0399");
        assert_eq!(codes[99].to_string(), "26734-261128-0701");
    }

    #[test]
    fn a_new_day_starts_again_and_other_devices_codes_are_ignored() {
        let issuer = CodeIssuer::new(unit(), vec![CodeSlot::new(0).unwrap()]).unwrap();
        let other = CodeIssuer::new(unit(), vec![CodeSlot::new(1).unwrap()]).unwrap();
        let mine = issuer.issue(day(), []).unwrap();
        let theirs = other.issue(day(), [&mine]).unwrap();
        assert_eq!(theirs.to_string(), "26734-261128-0101");
        let next = issuer.issue(day(), [&mine, &theirs]).unwrap();
        assert_eq!(next.to_string(), "26734-261128-0002");
        let tomorrow = issuer
            .issue(day().succ_opt().unwrap(), [&mine, &next])
            .unwrap();
        assert_eq!(tomorrow.to_string(), "26734-261129-0001");
    }

    #[test]
    fn running_out_is_an_error_not_a_duplicate() {
        let issuer = CodeIssuer::new(unit(), vec![CodeSlot::new(99).unwrap()]).unwrap();
        let mut codes = Vec::new();
        for _ in 0..99 {
            codes.push(issuer.issue(day(), &codes).unwrap());
        }
        assert_eq!(codes.last().unwrap().number(), 9999);
        let err = issuer.issue(day(), &codes).unwrap_err();
        assert!(
            matches!(err, CodeError::Exhausted { capacity: 99, .. }),
            "{err}"
        );
    }

    #[test]
    fn slot_numbers_never_end_in_00() {
        for s in 0..CodeSlot::COUNT {
            let slot = CodeSlot::new(s).unwrap();
            for k in 0..CodeSlot::SIZE {
                let n = slot.number(k);
                assert!(slot.contains(n) && !n.is_multiple_of(100) && (1..=9999).contains(&n));
            }
        }
        assert!(CodeSlot::new(100).is_err());
        assert_eq!(
            CodeSlot::first_free(&[CodeSlot(0), CodeSlot(2)]),
            Some(CodeSlot(1))
        );
    }

    proptest! {
        /// Many devices of one unit, each with its own slots, issue codes on the
        /// same day without ever seeing each other's: no code repeats.
        #[test]
        fn devices_that_never_talk_never_issue_the_same_code(
            slot_sets in proptest::collection::vec(proptest::collection::vec(0u8..100, 1..3), 1..40),
            per_device in proptest::collection::vec(0usize..150, 40),
            order_seed in any::<u64>(),
        ) {
            // The hub hands out slots so that no two active devices share one.
            let mut taken = HashSet::new();
            let mut devices = Vec::new();
            for wanted in slot_sets {
                let slots: Vec<CodeSlot> = wanted
                    .into_iter()
                    .filter(|s| taken.insert(*s))
                    .map(|s| CodeSlot::new(s).unwrap())
                    .collect();
                if let Ok(issuer) = CodeIssuer::new(unit(), slots) {
                    devices.push((issuer, Vec::<DossierCode>::new()));
                }
            }
            // Interleave issuing across devices in a seeded order; each device
            // sees only its own replica.
            let mut remaining: Vec<usize> = devices
                .iter()
                .enumerate()
                .map(|(i, (issuer, _))| per_device[i].min(issuer.capacity_per_day()))
                .collect();
            let mut state = order_seed;
            while remaining.iter().any(|r| *r > 0) {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                let i = (state >> 33) as usize % devices.len();
                if remaining[i] == 0 { continue; }
                remaining[i] -= 1;
                let (issuer, own) = &mut devices[i];
                let code = issuer.issue(day(), own.iter()).unwrap();
                prop_assert_eq!(DossierCode::parse(&code.to_string()).unwrap(), code.clone());
                own.push(code);
            }
            let all: Vec<&DossierCode> = devices.iter().flat_map(|(_, own)| own.iter()).collect();
            let unique: HashSet<&DossierCode> = all.iter().copied().collect();
            prop_assert_eq!(unique.len(), all.len());
        }
    }
}
