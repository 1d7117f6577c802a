//! Amounts in base units with checked arithmetic.

use super::encoding::{Decode, DecodeError, Encode, Reader};
use std::fmt;
use thiserror::Error;

/// Base units per TIME.
pub const COIN: u64 = 100_000_000;

/// An amount of base units (1 TIME = 100,000,000 units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u64);

/// Why a decimal TIME string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountParseError {
    /// Not a decimal number.
    #[error("not a decimal amount: {0:?}")]
    Malformed(String),
    /// More than 8 decimals.
    #[error("at most 8 decimals are allowed")]
    TooPrecise,
    /// Above u64 base units.
    #[error("amount too large")]
    Overflow,
}

impl Amount {
    /// Zero base units (0 TIME).
    pub const ZERO: Amount = Amount(0);

    /// Whole TIME.
    pub const fn from_time(t: u64) -> Amount {
        Amount(t * COIN)
    }

    /// `self + o`, or `None` on overflow.
    pub fn checked_add(self, o: Amount) -> Option<Amount> {
        self.0.checked_add(o.0).map(Amount)
    }

    /// `self - o`, or `None` below zero.
    pub fn checked_sub(self, o: Amount) -> Option<Amount> {
        self.0.checked_sub(o.0).map(Amount)
    }

    /// Sum of amounts, `None` on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(iter: I) -> Option<Amount> {
        iter.into_iter().try_fold(Amount::ZERO, Amount::checked_add)
    }

    /// Parses a decimal TIME amount such as `"1.5"` exactly.
    pub fn parse_time(s: &str) -> Result<Amount, AmountParseError> {
        let s = s.trim();
        let bad = || AmountParseError::Malformed(s.to_string());
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if (whole.is_empty() && frac.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        if frac.len() > 8 {
            return Err(AmountParseError::TooPrecise);
        }
        let w: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| AmountParseError::Overflow)?
        };
        let mut f: u64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        for _ in frac.len()..8 {
            f *= 10;
        }
        w.checked_mul(COIN)
            .and_then(|x| x.checked_add(f))
            .map(Amount)
            .ok_or(AmountParseError::Overflow)
    }
}

impl fmt::Display for Amount {
    /// Decimal TIME with trailing zeros trimmed (at least one decimal).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / COIN;
        let frac = self.0 % COIN;
        let mut fs = format!("{frac:08}");
        while fs.len() > 1 && fs.ends_with('0') {
            fs.pop();
        }
        write!(f, "{whole}.{fs}")
    }
}

impl Encode for Amount {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out)
    }
}

impl Decode for Amount {
    const MIN_LEN: usize = 8;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Amount(r.u64()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        assert_eq!(Amount::parse_time("1.5"), Ok(Amount(150_000_000)));
        assert_eq!(Amount::parse_time("0.00000001"), Ok(Amount(1)));
        assert_eq!(Amount::parse_time(".5"), Ok(Amount(50_000_000)));
        assert_eq!(
            Amount::parse_time("1.000000001"),
            Err(AmountParseError::TooPrecise)
        );
        assert!(Amount::parse_time("1e5").is_err());
        assert!(Amount::parse_time("").is_err());
        assert!(Amount::parse_time("-1").is_err());
        assert_eq!(
            Amount::parse_time("999999999999"),
            Err(AmountParseError::Overflow)
        );
        assert_eq!(Amount(150_000_000).to_string(), "1.5");
        assert_eq!(Amount(COIN).to_string(), "1.0");
        assert_eq!(Amount(1).to_string(), "0.00000001");
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Amount(u64::MAX).checked_add(Amount(1)), None);
        assert_eq!(Amount(0).checked_sub(Amount(1)), None);
        assert_eq!(Amount::checked_sum([Amount(1), Amount(2)]), Some(Amount(3)));
    }
}
