//! A peer's byte stream: frames read back to back as the connection reader does, each payload
//! decoded as a message. Every frame read re-frames to exactly the bytes it consumed, every
//! error is the one the bytes call for, and every accepted message re-encodes to its payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timecoin::p2p::frame::{encode_frame, read_frame, FrameError, DEFAULT_MAX_FRAME};
use timecoin::p2p::Message;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        let before = rest;
        // Reading from a slice never waits, so the future completes on the first poll.
        match futures::executor::block_on(read_frame(&mut rest, DEFAULT_MAX_FRAME)) {
            Ok(payload) => {
                let used = before.len() - rest.len();
                assert_eq!(encode_frame(&payload), before[..used]);
                timecoin_fuzz::round_trip(&payload, Message::decode);
            }
            Err(e) => {
                let announced = before
                    .get(..4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
                match e {
                    FrameError::Closed => assert!(before.is_empty()),
                    FrameError::Empty => assert_eq!(announced, Some(0)),
                    FrameError::Oversized { announced: n, .. } => {
                        assert_eq!(announced, Some(n as usize));
                        assert!(n as usize > DEFAULT_MAX_FRAME);
                    }
                    FrameError::Io(_) => {
                        assert!(announced.is_none_or(|n| before.len() - 4 < n));
                    }
                }
                assert_eq!(
                    e.is_violation(),
                    matches!(e, FrameError::Empty | FrameError::Oversized { .. })
                );
                break;
            }
        }
    }
});
