//! Domain values that can only be built by parsing.
//!
//! A [`UnitCode`], a [`DossierCode`], an [`IdNumber`] or a [`PhoneNumber`]
//! that exists is valid; the rest of the code never checks them again.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Why a value could not be parsed. The message names the kind of value and
/// says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} '{input}' is not valid: {expected}")]
pub struct ParseError {
    pub kind: &'static str,
    pub input: String,
    pub expected: &'static str,
}

impl ParseError {
    fn new(kind: &'static str, input: &str, expected: &'static str) -> Self {
        // Keep error messages short even when the input is huge.
        let input: String = input.chars().take(64).collect();
        Self {
            kind,
            input,
            expected,
        }
    }
}

macro_rules! string_value {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                String::from(&*v.0)
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// The code of an administrative unit (province, district, commune), as in
/// QĐ 19/2025/QĐ-TTg (`01`, `26734`) or a deployment's own scheme (`HN.BD`).
///
/// Upper-case letters, digits, `.` and `_`; never `-`, which separates the
/// parts of a dossier code.
///
/// Shared, not copied, when cloned: a report over a million dossiers holds
/// the same few hundred unit codes a million times.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(std::sync::Arc<str>);
string_value!(UnitCode);

impl UnitCode {
    pub const MAX_LEN: usize = 24;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str =
            "1 to 24 letters, digits, '.' or '_' (for example 26734), without '-'";
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if ok {
            Ok(Self(s.to_ascii_uppercase().into()))
        } else {
            Err(ParseError::new("unit code", s, EXPECTED))
        }
    }
}

/// A dossier code (mã hồ sơ): `{unit code}-{yyMMdd}-{NNNN}`, a daily sequence
/// per receiving unit. See [`crate::codes`] for how devices issue them offline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DossierCode {
    unit: UnitCode,
    date: NaiveDate,
    number: u16,
}

impl DossierCode {
    /// The largest daily sequence number that fits in four digits.
    pub const MAX_NUMBER: u16 = 9999;

    pub fn new(unit: UnitCode, date: NaiveDate, number: u16) -> Result<Self, ParseError> {
        if !(1..=Self::MAX_NUMBER).contains(&number) {
            return Err(ParseError::new(
                "dossier number",
                &number.to_string(),
                "a number from 0001 to 9999",
            ));
        }
        if !(2000..=2099).contains(&date.year()) {
            return Err(ParseError::new(
                "dossier date",
                &date.to_string(),
                "a date in the years 2000 to 2099 (the code keeps two digits of the year)",
            ));
        }
        Ok(Self { unit, date, number })
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str = "{unit code}-{yyMMdd}-{NNNN}, for example 26734-261128-0001";
        let bad = || ParseError::new("dossier code", s, EXPECTED);
        let s = s.trim();
        let mut parts = s.rsplitn(3, '-');
        let (Some(number), Some(date), Some(unit)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if number.len() != 4 || date.len() != 6 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let number: u16 = number.parse().map_err(|_| bad())?;
        let unit = UnitCode::parse(unit).map_err(|_| bad())?;
        let date = NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").map_err(|_| bad())?;
        Self::new(unit, date, number).map_err(|_| bad())
    }

    pub fn unit(&self) -> &UnitCode {
        &self.unit
    }

    /// The local (UTC+7) date the dossier was received.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    pub fn number(&self) -> u16 {
        self.number
    }
}

impl fmt::Display for DossierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}",
            self.unit,
            self.date.format("%y%m%d"),
            self.number
        )
    }
}

impl FromStr for DossierCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DossierCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<DossierCode> for String {
    fn from(c: DossierCode) -> String {
        c.to_string()
    }
}

/// A personal identification number: the 12-digit citizen identity number
/// (số định danh cá nhân / CCCD), the 9-digit identity card number of the old
/// CMND, or a passport number (a letter and 7 or 8 digits).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);
string_value!(IdNumber);

impl IdNumber {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str =
            "12 digits (CCCD), 9 digits (CMND) or a passport number such as B1234567";
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let digits = compact.bytes().all(|b| b.is_ascii_digit());
        let passport = {
            let mut chars = compact.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
                && (8..=9).contains(&compact.len())
                && chars.all(|c| c.is_ascii_digit())
        };
        if (digits && (compact.len() == 12 || compact.len() == 9)) || passport {
            Ok(Self(compact.to_ascii_uppercase()))
        } else {
            Err(ParseError::new("ID number", s, EXPECTED))
        }
    }
}

/// A Vietnamese phone number, stored in national form (`0912345678`):
/// 10-digit mobile numbers (03, 05, 07, 08, 09) and 11-digit landlines (02x).
/// `+84` and separators (spaces, dots, dashes) are accepted on input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);
string_value!(PhoneNumber);

impl PhoneNumber {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        const EXPECTED: &str =
            "a Vietnamese number such as 0912 345 678, +84 912 345 678 or 024 3825 1234";
        let mut digits: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        if let Some(rest) = digits.strip_prefix("+84") {
            digits = format!("0{rest}");
        } else if digits.starts_with("84") && digits.len() == 11 {
            digits = format!("0{}", &digits[2..]);
        }
        let all_digits = digits.bytes().all(|b| b.is_ascii_digit());
        let b = digits.as_bytes();
        let mobile =
            b.len() == 10 && b[0] == b'0' && matches!(b[1], b'3' | b'5' | b'7' | b'8' | b'9');
        let landline = b.len() == 11 && b[0] == b'0' && b[1] == b'2';
        if all_digits && (mobile || landline) {
            Ok(Self(digits))
        } else {
            Err(ParseError::new("phone number", s, EXPECTED))
        }
    }
}

/// The identity of one replicated document: 16 random bytes, written as 32
/// lower-case hex digits. Dossiers get a random id when they are received;
/// configuration documents get fixed, well-known ids.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId([u8; 16]);

impl DocId {
    pub const MIN: DocId = DocId([0; 16]);

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// A fresh random id from the platform's secure random source.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the platform has a secure random source");
        Self(bytes)
    }

    /// A fixed id derived from a name, for well-known documents.
    pub fn named(name: &str) -> Self {
        use sha2::Digest;
        let hash = sha2::Sha256::digest(name.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[..16]);
        Self(bytes)
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(s.trim(), &mut bytes)
            .map_err(|_| ParseError::new("document id", s, "32 hexadecimal digits"))?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({self})")
    }
}

impl FromStr for DocId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DocId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<DocId> for String {
    fn from(id: DocId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_ids_print_as_hex_and_parse_back() {
        let id = DocId::random();
        assert_eq!(DocId::parse(&id.to_string()).unwrap(), id);
        assert_ne!(DocId::random(), id);
        assert_eq!(DocId::named("config/units"), DocId::named("config/units"));
        assert!(DocId::parse("xyz").is_err());
    }

    #[test]
    fn unit_codes_are_upper_cased_and_never_contain_a_dash() {
        assert_eq!(UnitCode::parse(" hn.bd ").unwrap().as_str(), "HN.BD");
        assert!(UnitCode::parse("26-734").is_err());
        assert!(UnitCode::parse("").is_err());
        assert!(UnitCode::parse(&"1".repeat(25)).is_err());
    }

    #[test]
    fn dossier_code_round_trips_through_its_text_form() {
        let code = DossierCode::parse("26734-261128-0042").unwrap();
        assert_eq!(code.unit().as_str(), "26734");
        assert_eq!(code.date(), NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
        assert_eq!(code.number(), 42);
        assert_eq!(code.to_string(), "26734-261128-0042");
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"26734-261128-0042\"");
        assert_eq!(serde_json::from_str::<DossierCode>(&json).unwrap(), code);
    }

    #[test]
    fn dossier_code_rejects_wrong_shapes_with_the_expected_form() {
        for bad in [
            "26734-261128-0000",
            "26734-261131-0001",
            "26734-2611-0001",
            "261128-0001",
            "26734-261128-12345",
            "x y-261128-0001",
        ] {
            let err = DossierCode::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("{unit code}-{yyMMdd}-{NNNN}"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn id_numbers_accept_cccd_cmnd_and_passports() {
        assert_eq!(
            IdNumber::parse("0012 0300 1234").unwrap().as_str(),
            "001203001234"
        );
        assert!(IdNumber::parse("123456789").is_ok());
        assert_eq!(IdNumber::parse("b1234567").unwrap().as_str(), "B1234567");
        assert!(IdNumber::parse("12345").is_err());
        assert!(IdNumber::parse("00120300123A").is_err());
    }

    #[test]
    fn phone_numbers_are_stored_in_national_form() {
        assert_eq!(
            PhoneNumber::parse("+84 912 345 678").unwrap().as_str(),
            "0912345678"
        );
        assert_eq!(
            PhoneNumber::parse("0912.345.678").unwrap().as_str(),
            "0912345678"
        );
        assert_eq!(
            PhoneNumber::parse("024 3825 1234").unwrap().as_str(),
            "02438251234"
        );
        assert!(PhoneNumber::parse("0112345678").is_err());
        assert!(PhoneNumber::parse("091234567").is_err());
    }
}
