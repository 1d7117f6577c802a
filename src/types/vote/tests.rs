//! Tests of the consensus messages: a fuzz regression of the validator set's encoding, and
//! certificate and vote checks with known signatures and decoded keys.

use super::*;

/// Found by `fuzz/fuzz_targets/certificate.rs`: three validators out of key order decoded to
/// the sorted set, whose encoding differs from the input (SPEC 4: `encode(decode(b)) == b`).
#[test]
fn fuzz_unsorted_validator_set_is_refused() {
    let crash = "03000000000000000100000000ffff0000002cde240000a8000000ffffffdede00000000\
                 240000000000002c002f0000000000000000010000010000090100e3000000ffffffdede\
                 0000000000002cde240000000000000000000000000000000000000000000100000000\
                 0000800000000000001100200000000000";
    let bytes = hex::decode(crash).expect("hex");
    assert_eq!(
        ValidatorSet::from_bytes(&bytes),
        Err(DecodeError::InvalidValue(
            "validator set (keys not strictly ascending)"
        ))
    );
    // The same validators in ascending order are the canonical encoding.
    let set = ValidatorSet::new(vec![
        Validator {
            key: PublicKey([2; 32]),
            weight: 5,
        },
        Validator {
            key: PublicKey([1; 32]),
            weight: 7,
        },
    ]);
    let b = set.to_bytes();
    assert_eq!(ValidatorSet::from_bytes(&b).as_ref(), Ok(&set));
    assert_eq!(ValidatorSet::from_bytes(&b).map(|s| s.to_bytes()), Ok(b));
}

/// A set of `keys`, weight 1 each.
fn equal_weights(keys: &[&SecretKey]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                key: k.public(),
                weight: 1,
            })
            .collect(),
    )
}

/// Four validators, a certificate for `block` at height 5 by the first three (a quorum),
/// and the validators' secret keys.
fn signed_certificate(block: Hash) -> (ValidatorSet, CommitCertificate, Vec<SecretKey>) {
    let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
    let set = equal_weights(&keys.iter().collect::<Vec<_>>());
    let sigs = keys[..3]
        .iter()
        .map(|k| {
            let v = Vote::new_signed(Hash::default(), 5, 0, VoteKind::Precommit, Some(block), k);
            CommitSig {
                voter: v.voter,
                signature: v.signature,
            }
        })
        .collect();
    let cert = CommitCertificate {
        height: 5,
        round: 0,
        block_hash: block,
        sigs,
    };
    (set, cert, keys)
}

#[test]
fn known_signatures_are_skipped_and_nothing_else() {
    let block = Hash::of(Domain::Vote, b"block");
    let chain = Hash::default();
    let (set, cert, keys) = signed_certificate(block);
    let mut known = SigCache::new(64);
    assert_eq!(
        cert.verify_remembered(&chain, 5, &block, &set, &mut known),
        Ok(())
    );
    assert_eq!(known.len(), 3);
    assert_eq!(cert.verify_known(&chain, 5, &block, &set, &known), Ok(()));

    // A forged signature is caught though its signer's real precommit is known.
    let mut forged = cert.clone();
    forged.sigs[1].signature.0[7] ^= 1;
    assert_eq!(
        forged.verify_known(&chain, 5, &block, &set, &known),
        Err(ConsensusMsgError::BadSignature(forged.sigs[1].voter))
    );
    // Known signatures of another round or block do not stand for this one's.
    let mut other_round = cert.clone();
    other_round.round = 1;
    assert_eq!(
        other_round.verify_known(&chain, 5, &block, &set, &known),
        Err(ConsensusMsgError::BadSignature(cert.sigs[0].voter))
    );
    // Membership and quorum are checked whatever is known.
    let mut short = cert.clone();
    short.sigs.truncate(2);
    assert!(matches!(
        short.verify_known(&chain, 5, &block, &set, &known),
        Err(ConsensusMsgError::NoQuorum { .. })
    ));
    let stranger = SecretKey::from_seed(&[9; 32]);
    let mut foreign = cert.clone();
    foreign.sigs[0].voter = stranger.public();
    assert_eq!(
        foreign.verify_known(&chain, 5, &block, &set, &known),
        Err(ConsensusMsgError::NotAValidator(stranger.public()))
    );
    // A vote verified as a member's is what makes its precommit known.
    let mut votes = SigCache::new(64);
    let v = Vote::new_signed(chain, 5, 0, VoteKind::Precommit, Some(block), &keys[3]);
    assert_eq!(v.verify_member(&set, &mut votes), Ok(()));
    assert!(votes.contains(&v.signing_bytes(), &v.voter, &v.signature));
    let outsider = Vote::new_signed(chain, 5, 0, VoteKind::Precommit, Some(block), &stranger);
    assert_eq!(
        outsider.verify_member(&set, &mut votes),
        Err(ConsensusMsgError::NotAValidator(stranger.public()))
    );
    assert_eq!(votes.len(), 1);
}

#[test]
fn decoded_keys_leave_equality_alone() {
    let block = Hash::of(Domain::Vote, b"block");
    let (set, cert, _) = signed_certificate(block);
    let fresh = ValidatorSet::from_bytes(&set.to_bytes()).expect("canonical encoding");
    assert_eq!(cert.verify(&Hash::default(), 5, &block, &set), Ok(()));
    assert!(set.verifying.get().is_some() && fresh.verifying.get().is_none());
    assert_eq!(set, fresh);
    assert_eq!(format!("{set:?}"), format!("{fresh:?}"));
}

#[test]
fn a_set_takes_the_keys_an_earlier_set_decoded_and_decodes_its_new_members() {
    let block = Hash::of(Domain::Vote, b"block");
    let (earlier, cert, keys) = signed_certificate(block);
    let newcomer = SecretKey::from_seed(&[7; 32]);
    let next = equal_weights(&[&keys[0], &keys[1], &keys[2], &newcomer]);
    next.reuse_keys(&earlier);
    assert!(next.verifying.get().is_none(), "nothing decoded to take");
    assert_eq!(cert.verify(&Hash::default(), 5, &block, &earlier), Ok(()));
    next.reuse_keys(&earlier);
    let decoded = next.verifying_keys();
    assert_eq!(decoded.len(), 4);
    for (v, k) in next.validators().iter().zip(decoded) {
        assert_eq!(k.key(), &v.key);
    }
    // The newcomer's key was decoded, the others' taken: all of them verify as before.
    let v = Vote::new_signed(Hash::default(), 6, 0, VoteKind::Prevote, None, &newcomer);
    assert_eq!(v.verify_member(&next, &mut SigCache::new(8)), Ok(()));
    let v = Vote::new_signed(Hash::default(), 6, 0, VoteKind::Prevote, None, &keys[1]);
    assert_eq!(v.verify_member(&next, &mut SigCache::new(8)), Ok(()));
}
