//! Checks shared by the fuzz targets, and the seed inputs of their corpora.
//!
//! Every target feeds its input to the decoder a peer or a file reaches and, for every accepted
//! input, checks a round trip: binary encodings re-encode to the very same bytes (SPEC 4:
//! `encode(decode(b)) == b`), text formats parse back from what they display to the same value.

pub mod seeds;

use std::fmt::Debug;
use timecoin::types::{Decode, Encode};

/// Decodes `data` with `decode`; for an accepted input asserts that the canonical encoding of
/// the value is `data` itself, and returns the value for the target's further checks.
pub fn round_trip<T, E>(data: &[u8], decode: impl FnOnce(&[u8]) -> Result<T, E>) -> Option<T>
where
    T: Encode + Debug,
{
    let v = decode(data).ok()?;
    let again = v.to_bytes();
    assert!(
        again == data,
        "encode(decode(b)) != b\n     b: {}\nencode: {}\n value: {v:?}",
        hex::encode(data),
        hex::encode(&again),
    );
    Some(v)
}

/// [`round_trip`] through the type's own [`Decode::from_bytes`].
pub fn canonical<T: Decode + Encode + Debug>(data: &[u8]) -> Option<T> {
    round_trip(data, T::from_bytes)
}

/// For a text format: when `parse` accepts `text`, what `show` makes of the value parses back to
/// the same value, and shows as the same text again (the shown form is a fixed point).
pub fn reparse<T, E>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
    show: impl Fn(&T) -> String,
) -> Option<T>
where
    T: PartialEq + Debug,
    E: Debug,
{
    let v = parse(text).ok()?;
    let shown = show(&v);
    let back = match parse(&shown) {
        Ok(b) => b,
        Err(e) => panic!("{text:?} parsed to {v:?}, shown as {shown:?}, which fails: {e:?}"),
    };
    assert_eq!(
        back, v,
        "{text:?} shown as {shown:?} parses to another value"
    );
    assert_eq!(
        show(&back),
        shown,
        "the shown form of {text:?} is not stable"
    );
    Some(v)
}
