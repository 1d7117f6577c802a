//! One canonical binary encoding for everything that is hashed, signed or sent.
//!
//! Integers are fixed-width little endian, booleans and option tags are a single byte that must be
//! 0 or 1, sequences carry a `u32` length prefix. Decoding rejects trailing bytes, unknown tags and
//! any declared length that the remaining input (or the caller's limit) cannot hold, before it
//! allocates. Because every field has exactly one representation, `encode(decode(b)) == b` for
//! every accepted `b`.

use thiserror::Error;

/// Why a byte string is not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value was complete.
    #[error("input ended early: needed {needed} more bytes at offset {offset}")]
    UnexpectedEnd {
        /// Byte offset where reading stopped.
        offset: usize,
        /// Bytes that were still needed.
        needed: usize,
    },
    /// Bytes were left after a complete value.
    #[error("{0} trailing bytes after a complete value")]
    TrailingBytes(usize),
    /// A declared length exceeds the limit or the bytes present.
    #[error("declared length {declared} of {what} exceeds the limit {limit}")]
    LengthTooLarge {
        /// What was being decoded.
        what: &'static str,
        /// The length the input declared.
        declared: u64,
        /// The largest acceptable length.
        limit: u64,
    },
    /// A tag byte had no meaning.
    #[error("invalid tag {tag} for {what}")]
    InvalidTag {
        /// What was being decoded.
        what: &'static str,
        /// The tag byte found.
        tag: u8,
    },
    /// A value was well-formed bytes but not a valid value (e.g. a non-UTF-8 string).
    #[error("invalid {0}")]
    InvalidValue(&'static str),
}

/// Types with a canonical encoding.
pub trait Encode {
    /// Appends the canonical encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The canonical encoding as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// Types that can be decoded from their canonical encoding.
pub trait Decode: Sized {
    /// The fewest bytes any value of this type encodes to; bounds preallocation from the wire.
    const MIN_LEN: usize;

    /// Reads one value from `r`.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly one value that must span all of `bytes`.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

/// A cursor over input bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Reads one byte; `UnexpectedEnd` when none is left.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a little-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a sequence length and checks it against `limit` and against the bytes present,
    /// given that each element takes at least `min_elem` bytes.
    pub fn len_prefix(
        &mut self,
        what: &'static str,
        limit: usize,
        min_elem: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        let fits_input = n.saturating_mul(min_elem.max(1)) <= self.remaining();
        if n > limit || !fits_input {
            let bound = limit.min(self.remaining() / min_elem.max(1));
            return Err(DecodeError::LengthTooLarge {
                what,
                declared: n as u64,
                limit: bound as u64,
            });
        }
        Ok(n)
    }

    /// Reads a length-prefixed vector of at most `limit` elements.
    pub fn vec<T: Decode>(
        &mut self,
        what: &'static str,
        limit: usize,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.len_prefix(what, limit, T::MIN_LEN)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::decode_from(self)?);
        }
        Ok(v)
    }

    /// Reads length-prefixed raw bytes of at most `limit` bytes.
    pub fn bytes(&mut self, what: &'static str, limit: usize) -> Result<&'a [u8], DecodeError> {
        let n = self.len_prefix(what, limit, 1)?;
        self.take(n)
    }

    /// Reads a length-prefixed UTF-8 string of at most `limit` bytes.
    pub fn string(&mut self, what: &'static str, limit: usize) -> Result<String, DecodeError> {
        let b = self.bytes(what, limit)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidValue(what))
    }

    /// Reads an option tag (0 = none, 1 = some) and, if set, the value.
    pub fn option<T: Decode>(&mut self, what: &'static str) -> Result<Option<T>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(T::decode_from(self)?)),
            tag => Err(DecodeError::InvalidTag { what, tag }),
        }
    }

    /// Reads a boolean byte (0 or 1).
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::InvalidTag { what, tag }),
        }
    }
}

/// Writers for primitive fields.
pub mod put {
    use super::Encode;

    /// Appends a `u8`.
    pub fn u8(out: &mut Vec<u8>, v: u8) {
        out.push(v);
    }
    /// Appends a little-endian `u16`.
    pub fn u16(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a little-endian `u32`.
    pub fn u32(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a little-endian `u64`.
    pub fn u64(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a length prefix. Lengths above `u32::MAX` cannot occur: every limit is far below.
    pub fn len(out: &mut Vec<u8>, n: usize) {
        u32(out, u32::try_from(n).unwrap_or(u32::MAX));
    }
    /// Appends length-prefixed bytes.
    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        len(out, b.len());
        out.extend_from_slice(b);
    }
    /// Appends a length-prefixed sequence.
    pub fn vec<T: Encode>(out: &mut Vec<u8>, items: &[T]) {
        len(out, items.len());
        for i in items {
            i.encode_to(out);
        }
    }
    /// Appends an option tag and the value.
    pub fn option<T: Encode>(out: &mut Vec<u8>, v: &Option<T>) {
        match v {
            None => out.push(0),
            Some(x) => {
                out.push(1);
                x.encode_to(out);
            }
        }
    }
}

macro_rules! impl_int {
    ($t:ty, $n:expr, $r:ident) => {
        impl Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Decode for $t {
            const MIN_LEN: usize = $n;
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.$r()
            }
        }
    };
}
impl_int!(u8, 1, u8);
impl_int!(u16, 2, u16);
impl_int!(u32, 4, u32);
impl_int!(u64, 8, u64);

impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}
impl<const N: usize> Decode for [u8; N] {
    const MIN_LEN: usize = N;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(
            u32::from_bytes(&[1, 0, 0, 0, 9]),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(u32::from_bytes(&[1, 0, 0, 0]), Ok(1));
    }

    #[test]
    fn declared_length_beyond_input_fails_before_allocation() {
        let mut b = Vec::new();
        put::u32(&mut b, u32::MAX);
        let mut r = Reader::new(&b);
        let e = r.vec::<u64>("test", usize::MAX).unwrap_err();
        assert!(
            matches!(e, DecodeError::LengthTooLarge { declared, .. } if declared == u32::MAX as u64)
        );
    }

    #[test]
    fn option_and_bool_tags_are_strict() {
        let mut r = Reader::new(&[2]);
        assert!(r.option::<u8>("o").is_err());
        let mut r = Reader::new(&[2]);
        assert!(r.bool("b").is_err());
    }
}
