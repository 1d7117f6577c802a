//! Framing: a little-endian `u32` payload length followed by the payload.
//!
//! The announced length is checked against the limit before any buffer is allocated, and the
//! buffer then grows only with the bytes that actually arrive (at most 64 KiB ahead), so a peer
//! that announces a large frame and goes silent costs almost nothing.

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Default hard limit on one frame's payload.
pub const DEFAULT_MAX_FRAME: usize = 4 * 1024 * 1024;
/// Initial buffer reserved for a frame; the rest grows as bytes arrive.
const INITIAL_CHUNK: usize = 64 * 1024;

/// Why a frame could not be read or written.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The peer announced more than the limit: a protocol violation.
    #[error("peer announced a {announced}-byte frame, above the {limit}-byte limit")]
    Oversized {
        /// Payload length the frame header announced, in bytes.
        announced: u64,
        /// The limit in force.
        limit: usize,
    },
    /// An empty frame (no message tag): a protocol violation.
    #[error("peer sent an empty frame")]
    Empty,
    /// The connection closed cleanly between frames.
    #[error("connection closed")]
    Closed,
    /// Transport error or connection closed inside a frame.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl FrameError {
    /// Whether the peer broke the protocol (as opposed to a network failure).
    pub fn is_violation(&self) -> bool {
        matches!(self, FrameError::Oversized { .. } | FrameError::Empty)
    }
}

/// Reads one frame's payload of at most `max` bytes.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    // Distinguish a clean close before a frame from a truncated frame.
    let first = r.read(&mut len[..1]).await?;
    if first == 0 {
        return Err(FrameError::Closed);
    }
    r.read_exact(&mut len[1..]).await?;
    let n = u32::from_le_bytes(len) as usize;
    check_len(n as u64, max)?;
    let mut buf = Vec::with_capacity(n.min(INITIAL_CHUNK));
    let got = (&mut *r).take(n as u64).read_to_end(&mut buf).await?;
    if got != n {
        return Err(FrameError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed inside a frame",
        )));
    }
    Ok(buf)
}

/// Checks an announced payload length against the limit.
pub fn check_len(n: u64, max: usize) -> Result<(), FrameError> {
    if n == 0 {
        return Err(FrameError::Empty);
    }
    if n > max as u64 {
        return Err(FrameError::Oversized {
            announced: n,
            limit: max,
        });
    }
    Ok(())
}

/// Prepends the length prefix to `payload`.
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    let n = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Writes one frame (payload must not exceed `max`).
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    payload: &[u8],
    max: usize,
) -> Result<(), FrameError> {
    check_len(payload.len() as u64, max)?;
    w.write_all(&encode_frame(payload)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_limits() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello", 16).await.unwrap();
        assert_eq!(&buf[..4], &5u32.to_le_bytes());
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r, 16).await.unwrap(), b"hello");
        assert!(matches!(
            read_frame(&mut r, 16).await,
            Err(FrameError::Closed)
        ));

        // Exactly at the limit is fine, one above is a violation.
        let at = encode_frame(&[7u8; 16]);
        assert_eq!(read_frame(&mut &at[..], 16).await.unwrap().len(), 16);
        let above = encode_frame(&[7u8; 17]);
        let e = read_frame(&mut &above[..], 16).await.unwrap_err();
        assert!(e.is_violation());

        // Writing above the limit is refused too.
        let mut sink = Vec::new();
        assert!(write_frame(&mut sink, &[0u8; 17], 16).await.is_err());
        assert!(sink.is_empty());
    }

    #[tokio::test]
    async fn four_gib_announcement_is_rejected_without_allocating() {
        let bytes = u32::MAX.to_le_bytes();
        let e = read_frame(&mut &bytes[..], DEFAULT_MAX_FRAME)
            .await
            .unwrap_err();
        assert!(
            matches!(e, FrameError::Oversized { announced, .. } if announced == u32::MAX as u64)
        );
    }

    #[tokio::test]
    async fn empty_and_truncated_frames() {
        let zero = 0u32.to_le_bytes();
        assert!(matches!(
            read_frame(&mut &zero[..], 16).await,
            Err(FrameError::Empty)
        ));
        let mut trunc = encode_frame(b"abcdef");
        trunc.truncate(7);
        assert!(matches!(
            read_frame(&mut &trunc[..], 16).await,
            Err(FrameError::Io(_))
        ));
        let half_len = [1u8, 0];
        assert!(matches!(
            read_frame(&mut &half_len[..], 16).await,
            Err(FrameError::Io(_))
        ));
    }

    #[tokio::test]
    async fn large_announced_frame_grows_with_data() {
        // A 1 MiB frame announced but only 10 bytes sent: fails as truncated, having reserved
        // only the initial chunk.
        let mut b = (1024u32 * 1024).to_le_bytes().to_vec();
        b.extend_from_slice(&[1u8; 10]);
        assert!(matches!(
            read_frame(&mut &b[..], DEFAULT_MAX_FRAME).await,
            Err(FrameError::Io(_))
        ));
    }
}
