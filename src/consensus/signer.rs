//! Double-sign protection (after CometBFT's `privval`): the guard remembers the last signed
//! (height, round, step, signing hash) and refuses to sign anything that goes backwards or
//! conflicts at the same (height, round, step). Re-signing the identical message is allowed so
//! that a restarted node can re-broadcast it.
//!
//! Protocol for the driver: ask [`DoubleSignGuard::next_state`]; on `Ok(state)` persist the
//! state together with the signed message durably (one write + fsync, see
//! `node::signer_store`), [`DoubleSignGuard::adopt`] it, and only then send. After a crash,
//! load the state with [`SignerState::from_bytes`] and build the guard with
//! [`DoubleSignGuard::new`].

use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::Hash;
use thiserror::Error;

/// The kind of message being signed, in the order they are signed within a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignStep {
    /// A block proposal.
    Propose,
    /// A prevote.
    Prevote,
    /// A precommit.
    Precommit,
}

impl SignStep {
    fn tag(self) -> u8 {
        match self {
            SignStep::Propose => 1,
            SignStep::Prevote => 2,
            SignStep::Precommit => 3,
        }
    }
}

impl From<crate::types::VoteKind> for SignStep {
    fn from(k: crate::types::VoteKind) -> Self {
        match k {
            crate::types::VoteKind::Prevote => SignStep::Prevote,
            crate::types::VoteKind::Precommit => SignStep::Precommit,
        }
    }
}

/// The last message signed: what the guard persists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastSigned {
    /// Height of the last signed message.
    pub height: u64,
    /// Round of the last signed message within its height.
    pub round: u32,
    /// Step of the last signed message; with height and round it orders the messages.
    pub step: SignStep,
    /// Hash of the exact bytes signed (`Vote::signing_bytes` / `Proposal::signing_bytes`).
    pub signing_hash: Hash,
}

/// Persistent signer state: plain data with a canonical encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SignerState {
    /// The last signed message, `None` for a key that never signed.
    pub last: Option<LastSigned>,
}

/// Why the guard refuses to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum GuardError {
    /// The message is for an earlier (height, round, step) than one already signed.
    #[error("refusing to sign h={height} r={round} {step:?}: already signed a later message")]
    Regression {
        /// Height of the refused message.
        height: u64,
        /// Round of the refused message.
        round: u32,
        /// Step of the refused message.
        step: SignStep,
    },
    /// A different message was already signed for this (height, round, step).
    #[error("refusing to sign h={height} r={round} {step:?}: a different message was signed")]
    Conflict {
        /// Height of the refused message (and of the one signed before).
        height: u64,
        /// Round of the refused message (and of the one signed before).
        round: u32,
        /// Step of the refused message (and of the one signed before).
        step: SignStep,
    },
}

/// Pure double-sign guard over a [`SignerState`].
#[derive(Clone, Debug, Default)]
pub struct DoubleSignGuard {
    state: SignerState,
}

impl DoubleSignGuard {
    /// A guard resuming from persisted state.
    pub fn new(state: SignerState) -> Self {
        DoubleSignGuard { state }
    }

    /// The current state (persist it after every successful [`Self::authorize`]).
    pub fn state(&self) -> &SignerState {
        &self.state
    }

    /// Checks whether signing `signing_hash` at (height, round, step) is safe, without
    /// recording it.
    pub fn check(
        &self,
        height: u64,
        round: u32,
        step: SignStep,
        signing_hash: Hash,
    ) -> Result<(), GuardError> {
        let Some(last) = self.state.last else {
            return Ok(());
        };
        let want = (height, round, step);
        let have = (last.height, last.round, last.step);
        if want < have {
            return Err(GuardError::Regression {
                height,
                round,
                step,
            });
        }
        if want == have && last.signing_hash != signing_hash {
            return Err(GuardError::Conflict {
                height,
                round,
                step,
            });
        }
        Ok(())
    }

    /// The state after signing `signing_hash` at (height, round, step), if that is safe, without
    /// recording it: persist it first, then [`Self::adopt`] it, so the guard never runs ahead
    /// of what is on disk.
    pub fn next_state(
        &self,
        height: u64,
        round: u32,
        step: SignStep,
        signing_hash: Hash,
    ) -> Result<SignerState, GuardError> {
        self.check(height, round, step, signing_hash)?;
        Ok(SignerState {
            last: Some(LastSigned {
                height,
                round,
                step,
                signing_hash,
            }),
        })
    }

    /// Records a state from [`Self::next_state`] once it is durable.
    pub fn adopt(&mut self, state: SignerState) {
        self.state = state;
    }

    /// Checks and records; on success returns the new state, which the caller must persist
    /// durably before the signature leaves the process.
    pub fn authorize(
        &mut self,
        height: u64,
        round: u32,
        step: SignStep,
        signing_hash: Hash,
    ) -> Result<SignerState, GuardError> {
        let state = self.next_state(height, round, step, signing_hash)?;
        self.adopt(state);
        Ok(state)
    }
}

impl Encode for SignStep {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
    }
}
impl Decode for SignStep {
    const MIN_LEN: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            1 => Ok(SignStep::Propose),
            2 => Ok(SignStep::Prevote),
            3 => Ok(SignStep::Precommit),
            tag => Err(DecodeError::InvalidTag {
                what: "sign step",
                tag,
            }),
        }
    }
}

impl Encode for LastSigned {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put::u64(out, self.height);
        put::u32(out, self.round);
        self.step.encode_to(out);
        self.signing_hash.encode_to(out);
    }
}
impl Decode for LastSigned {
    const MIN_LEN: usize = 8 + 4 + 1 + 32;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LastSigned {
            height: r.u64()?,
            round: r.u32()?,
            step: SignStep::decode_from(r)?,
            signing_hash: Hash::decode_from(r)?,
        })
    }
}

impl Encode for SignerState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put::option(out, &self.last);
    }
}
impl Decode for SignerState {
    const MIN_LEN: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SignerState {
            last: r.option("last signed")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Domain;
    use proptest::prelude::*;

    fn h(x: u8) -> Hash {
        Hash::of(Domain::Vote, &[x])
    }

    #[test]
    fn refuses_conflicts_and_regressions() {
        let mut g = DoubleSignGuard::default();
        assert!(g.authorize(5, 1, SignStep::Prevote, h(1)).is_ok());
        // Identical re-sign is allowed.
        assert!(g.authorize(5, 1, SignStep::Prevote, h(1)).is_ok());
        assert!(matches!(
            g.authorize(5, 1, SignStep::Prevote, h(2)),
            Err(GuardError::Conflict { .. })
        ));
        assert!(matches!(
            g.authorize(5, 1, SignStep::Propose, h(3)),
            Err(GuardError::Regression { .. })
        ));
        assert!(matches!(
            g.authorize(5, 0, SignStep::Precommit, h(3)),
            Err(GuardError::Regression { .. })
        ));
        assert!(matches!(
            g.authorize(4, 9, SignStep::Precommit, h(3)),
            Err(GuardError::Regression { .. })
        ));
        assert!(g.authorize(5, 1, SignStep::Precommit, h(4)).is_ok());
        assert!(g.authorize(5, 2, SignStep::Propose, h(5)).is_ok());
        assert!(g.authorize(6, 0, SignStep::Prevote, h(6)).is_ok());
    }

    #[test]
    fn survives_encode_decode() {
        let mut g = DoubleSignGuard::default();
        let s = g.authorize(9, 3, SignStep::Precommit, h(7)).unwrap();
        let bytes = s.to_bytes();
        let back = SignerState::from_bytes(&bytes).unwrap();
        assert_eq!(back, s);
        let g2 = DoubleSignGuard::new(back);
        assert!(g2.check(9, 3, SignStep::Precommit, h(8)).is_err());
        assert!(g2.check(9, 3, SignStep::Precommit, h(7)).is_ok());
        assert_eq!(
            SignerState::from_bytes(&SignerState::default().to_bytes()),
            Ok(SignerState::default())
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics_and_roundtrips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(s) = SignerState::from_bytes(&bytes) {
                prop_assert_eq!(s.to_bytes(), bytes);
            }
        }

        #[test]
        fn never_two_different_messages_for_one_slot(
            ops in proptest::collection::vec((0u64..3, 0u32..3, 0u8..3, 0u8..3), 1..40)
        ) {
            let mut g = DoubleSignGuard::default();
            let mut signed: std::collections::HashMap<(u64, u32, u8), Hash> = Default::default();
            for (hh, r, s, v) in ops {
                let step = [SignStep::Propose, SignStep::Prevote, SignStep::Precommit][s as usize];
                if g.authorize(hh, r, step, h(v)).is_ok() {
                    let prev = signed.insert((hh, r, s), h(v));
                    prop_assert!(prev.is_none() || prev == Some(h(v)));
                }
            }
        }
    }
}
