//! The administrative unit tree and the scopes derived from it.
//!
//! Since 1 July 2025 Vietnam has provinces and communes only, but older
//! deployments still have districts in between, and units merge. So the tree
//! is data of any depth, and every scope check ("may this device see this
//! dossier?") is a question about ancestors in it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::UnitCode;

/// The tier of a unit. The tree does not require any particular sequence of
/// tiers below a parent; it only requires that a child sits below its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    National,
    Province,
    District,
    Commune,
}

impl UnitLevel {
    pub const ALL: [UnitLevel; 4] = [
        UnitLevel::National,
        UnitLevel::Province,
        UnitLevel::District,
        UnitLevel::Commune,
    ];

    /// The identifier used in documents, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::National => "national",
            UnitLevel::Province => "province",
            UnitLevel::District => "district",
            UnitLevel::Commune => "commune",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            UnitLevel::National => "Trung ương",
            UnitLevel::Province => "Tỉnh",
            UnitLevel::District => "Huyện",
            UnitLevel::Commune => "Xã",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub code: UnitCode,
    pub name: String,
    pub level: UnitLevel,
    pub parent: Option<UnitCode>,
    /// First day the unit exists (units are created by mergers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<NaiveDate>,
    /// Last day the unit exists; dossiers received before then stay with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_to: Option<NaiveDate>,
}

impl Unit {
    pub fn is_effective_on(&self, date: NaiveDate) -> bool {
        self.effective_from.is_none_or(|from| from <= date)
            && self.effective_to.is_none_or(|to| date <= to)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitTreeError {
    #[error("unit {0} appears twice in the unit tree")]
    Duplicate(UnitCode),
    #[error("unit {unit} names parent {parent}, which is not in the unit tree")]
    UnknownParent { unit: UnitCode, parent: UnitCode },
    #[error("unit {0} is its own ancestor: the unit tree has a cycle")]
    Cycle(UnitCode),
    #[error("unit {unit} has an empty name")]
    EmptyName { unit: UnitCode },
    #[error("unit {unit} ends ({to}) before it starts ({from})")]
    EffectiveDates {
        unit: UnitCode,
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// A validated forest of units (normally one root: the province or the nation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Unit>", into = "Vec<Unit>")]
pub struct UnitTree {
    units: BTreeMap<UnitCode, Unit>,
}

impl UnitTree {
    pub fn new(units: Vec<Unit>) -> Result<Self, UnitTreeError> {
        let mut map = BTreeMap::new();
        for unit in units {
            if unit.name.trim().is_empty() {
                return Err(UnitTreeError::EmptyName { unit: unit.code });
            }
            if let (Some(from), Some(to)) = (unit.effective_from, unit.effective_to)
                && to < from
            {
                return Err(UnitTreeError::EffectiveDates {
                    unit: unit.code,
                    from,
                    to,
                });
            }
            if let Some(previous) = map.insert(unit.code.clone(), unit) {
                return Err(UnitTreeError::Duplicate(previous.code));
            }
        }
        let tree = Self { units: map };
        for unit in tree.units.values() {
            if let Some(parent) = &unit.parent
                && !tree.units.contains_key(parent)
            {
                return Err(UnitTreeError::UnknownParent {
                    unit: unit.code.clone(),
                    parent: parent.clone(),
                });
            }
            // Walking up more steps than there are units means a cycle.
            let mut steps = 0;
            let mut cursor = unit.parent.as_ref();
            while let Some(code) = cursor {
                steps += 1;
                if steps > tree.units.len() {
                    return Err(UnitTreeError::Cycle(unit.code.clone()));
                }
                cursor = tree.units[code].parent.as_ref();
            }
        }
        Ok(tree)
    }

    pub fn get(&self, code: &UnitCode) -> Option<&Unit> {
        self.units.get(code)
    }

    pub fn contains(&self, code: &UnitCode) -> bool {
        self.units.contains_key(code)
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    /// The codes of the communes (wards, towns): the units that receive dossiers.
    pub fn commune_codes(&self) -> Vec<UnitCode> {
        self.units()
            .filter(|u| u.level == UnitLevel::Commune)
            .map(|u| u.code.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    pub fn children<'a>(&'a self, code: &'a UnitCode) -> impl Iterator<Item = &'a Unit> + 'a {
        self.units
            .values()
            .filter(move |u| u.parent.as_ref() == Some(code))
    }

    /// The unit's ancestors, nearest first (not including the unit itself).
    pub fn ancestors(&self, code: &UnitCode) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut cursor = self.units.get(code).and_then(|u| u.parent.as_ref());
        while let Some(parent) = cursor.and_then(|c| self.units.get(c)) {
            out.push(parent);
            cursor = parent.parent.as_ref();
        }
        out
    }

    /// Whether `unit` is `scope` itself or lies below it. Unknown units are in
    /// no scope: a dossier of a unit the tree does not know is denied.
    pub fn is_within(&self, unit: &UnitCode, scope: &UnitCode) -> bool {
        if !self.units.contains_key(unit) || !self.units.contains_key(scope) {
            return false;
        }
        unit == scope || self.ancestors(unit).iter().any(|a| &a.code == scope)
    }

    /// `scope` and every unit below it, in code order.
    pub fn subtree(&self, scope: &UnitCode) -> Vec<UnitCode> {
        self.units
            .keys()
            .filter(|u| self.is_within(u, scope))
            .cloned()
            .collect()
    }
}

impl TryFrom<Vec<Unit>> for UnitTree {
    type Error = UnitTreeError;
    fn try_from(units: Vec<Unit>) -> Result<Self, UnitTreeError> {
        Self::new(units)
    }
}

impl From<UnitTree> for Vec<Unit> {
    fn from(tree: UnitTree) -> Vec<Unit> {
        tree.units.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, level: UnitLevel, parent: Option<&str>) -> Unit {
        Unit {
            code: UnitCode::parse(code).unwrap(),
            name: format!("Đơn vị {code}"),
            level,
            parent: parent.map(|p| UnitCode::parse(p).unwrap()),
            effective_from: None,
            effective_to: None,
        }
    }

    fn code(s: &str) -> UnitCode {
        UnitCode::parse(s).unwrap()
    }

    #[test]
    fn scope_follows_a_tree_of_any_depth() {
        let tree = UnitTree::new(vec![
            unit("01", UnitLevel::Province, None),
            unit("001", UnitLevel::District, Some("01")),
            unit("00001", UnitLevel::Commune, Some("001")),
            unit("00004", UnitLevel::Commune, Some("01")),
        ])
        .unwrap();
        assert!(tree.is_within(&code("00001"), &code("01")));
        assert!(tree.is_within(&code("00001"), &code("001")));
        assert!(tree.is_within(&code("00001"), &code("00001")));
        assert!(!tree.is_within(&code("00004"), &code("001")));
        assert!(!tree.is_within(&code("01"), &code("00001")));
        assert!(!tree.is_within(&code("99999"), &code("01")));
        assert_eq!(tree.subtree(&code("001")), vec![code("00001"), code("001")]);
    }

    #[test]
    fn rejects_unknown_parents_and_cycles() {
        let err = UnitTree::new(vec![unit("00001", UnitLevel::Commune, Some("01"))]).unwrap_err();
        assert!(matches!(err, UnitTreeError::UnknownParent { .. }));
        let err = UnitTree::new(vec![
            unit("A", UnitLevel::Province, Some("B")),
            unit("B", UnitLevel::Province, Some("A")),
        ])
        .unwrap_err();
        assert!(matches!(err, UnitTreeError::Cycle(_)));
    }

    #[test]
    fn round_trips_as_a_json_list() {
        let tree = UnitTree::new(vec![
            unit("01", UnitLevel::Province, None),
            unit("00004", UnitLevel::Commune, Some("01")),
        ])
        .unwrap();
        let json = serde_json::to_string(&tree).unwrap();
        assert_eq!(serde_json::from_str::<UnitTree>(&json).unwrap(), tree);
    }
}
