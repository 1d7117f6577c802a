//! Property tests: every encoded type round-trips, and decoding arbitrary or truncated bytes never
//! panics and never accepts a non-canonical form.

use super::*;
use proptest::prelude::*;

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}
fn pubkey() -> impl Strategy<Value = PublicKey> {
    any::<[u8; 32]>().prop_map(PublicKey)
}
fn sig() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&a);
        s[32..].copy_from_slice(&b);
        Signature(s)
    })
}
fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(|hash| Address { version: 0, hash })
}
fn outpoint() -> impl Strategy<Value = OutPoint> {
    (hash(), any::<u32>()).prop_map(|(txid, index)| OutPoint { txid, index })
}
fn tier() -> impl Strategy<Value = Tier> {
    prop_oneof![
        Just(Tier::Free),
        Just(Tier::Bronze),
        Just(Tier::Silver),
        Just(Tier::Gold)
    ]
}
fn kind() -> impl Strategy<Value = TxKind> {
    prop_oneof![
        Just(TxKind::Transfer),
        any::<u64>().prop_map(|height| TxKind::Coinbase { height }),
        (
            outpoint(),
            tier(),
            pubkey(),
            "[a-z0-9.:]{0,64}",
            address(),
            pubkey(),
            sig()
        )
            .prop_map(
                |(collateral, tier, node_key, p2p_addr, payout, owner, owner_signature)| {
                    TxKind::MasternodeRegister(Box::new(tx::MasternodeRegistration {
                        collateral,
                        tier,
                        node_key,
                        p2p_addr,
                        payout,
                        owner,
                        owner_signature,
                    }))
                }
            ),
        (outpoint(), "[a-z0-9.:]{0,64}", address(), pubkey(), sig()).prop_map(
            |(collateral, p2p_addr, payout, owner, owner_signature)| {
                TxKind::MasternodeUpdate(Box::new(tx::MasternodeUpdate {
                    collateral,
                    p2p_addr,
                    payout,
                    owner,
                    owner_signature,
                }))
            }
        ),
        (outpoint(), pubkey(), sig()).prop_map(|(collateral, owner, owner_signature)| {
            TxKind::MasternodeExit(Box::new(tx::MasternodeExit {
                collateral,
                owner,
                owner_signature,
            }))
        }),
    ]
}
fn transaction() -> impl Strategy<Value = Transaction> {
    (
        prop::collection::vec(
            (outpoint(), pubkey(), sig()).prop_map(|(prev, pubkey, signature)| TxIn {
                prev,
                pubkey,
                signature,
            }),
            0..4,
        ),
        prop::collection::vec(
            (any::<u64>(), address()).prop_map(|(a, address)| TxOut {
                amount: Amount(a),
                address,
            }),
            0..4,
        ),
        any::<u64>(),
        kind(),
    )
        .prop_map(|(inputs, outputs, lock_time, kind)| Transaction {
            version: tx::TX_VERSION,
            inputs,
            outputs,
            lock_time,
            kind,
        })
}
fn vote() -> impl Strategy<Value = Vote> {
    (
        hash(),
        any::<u64>(),
        any::<u32>(),
        any::<bool>(),
        prop::option::of(hash()),
        pubkey(),
        sig(),
    )
        .prop_map(
            |(chain_id, height, round, pc, block, voter, signature)| Vote {
                chain_id,
                height,
                round,
                kind: if pc {
                    VoteKind::Precommit
                } else {
                    VoteKind::Prevote
                },
                block,
                voter,
                signature,
            },
        )
}
fn header() -> impl Strategy<Value = BlockHeader> {
    (
        any::<u64>(),
        hash(),
        any::<u64>(),
        hash(),
        pubkey(),
        hash(),
        hash(),
    )
        .prop_map(
            |(
                height,
                prev_hash,
                time_ms,
                merkle_root,
                proposer,
                validator_set_hash,
                last_commit_hash,
            )| BlockHeader {
                version: block::BLOCK_VERSION,
                height,
                prev_hash,
                time_ms,
                merkle_root,
                proposer,
                validator_set_hash,
                last_commit_hash,
            },
        )
}

fn round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let b = v.to_bytes();
    let d = T::from_bytes(&b).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&d, v);
    // Every strict prefix is refused, and so is any extra byte.
    for cut in [0, b.len() / 2, b.len().saturating_sub(1)] {
        if cut < b.len() {
            prop_assert!(T::from_bytes(&b[..cut]).is_err());
        }
    }
    let mut longer = b.clone();
    longer.push(0);
    prop_assert!(T::from_bytes(&longer).is_err());
    Ok(())
}

fn reencodes<T: Encode + Decode>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(v) = T::from_bytes(bytes) {
        prop_assert_eq!(v.to_bytes(), bytes.to_vec());
    }
    Ok(())
}

proptest! {
    #[test]
    fn tx_round_trip(t in transaction()) { round_trip(&t)?; }

    #[test]
    fn vote_round_trip(v in vote()) { round_trip(&v)?; }

    #[test]
    fn evidence_round_trip(a in vote(), b in vote()) { round_trip(&Evidence { a, b })?; }

    #[test]
    fn header_round_trip(h in header()) { round_trip(&h)?; }

    #[test]
    fn block_round_trip(h in header(), txs in prop::collection::vec(transaction(), 0..3), ev in prop::collection::vec((vote(), vote()).prop_map(|(a, b)| Evidence { a, b }), 0..2)) {
        round_trip(&Block { header: h, txs, evidence: ev, last_commit: CommitCertificate::default() })?;
    }

    #[test]
    fn proposal_round_trip(chain_id in hash(), height in any::<u64>(), round in any::<u32>(), pol in prop::option::of(any::<u32>()), block_hash in hash(), proposer in pubkey(), signature in sig()) {
        round_trip(&Proposal { chain_id, height, round, pol_round: pol, block_hash, proposer, signature })?;
    }

    #[test]
    fn certificate_round_trip(height in any::<u64>(), round in any::<u32>(), block_hash in hash(), sigs in prop::collection::vec((pubkey(), sig()).prop_map(|(voter, signature)| CommitSig { voter, signature }), 0..5)) {
        round_trip(&CommitCertificate { height, round, block_hash, sigs })?;
    }

    #[test]
    fn random_bytes_never_panic_and_accepted_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        reencodes::<Transaction>(&bytes)?;
        reencodes::<Block>(&bytes)?;
        reencodes::<Vote>(&bytes)?;
        reencodes::<Proposal>(&bytes)?;
        reencodes::<CommitCertificate>(&bytes)?;
        reencodes::<Evidence>(&bytes)?;
        reencodes::<BlockHeader>(&bytes)?;
    }

    #[test]
    fn mutated_tx_never_panics(t in transaction(), pos in any::<usize>(), byte in any::<u8>()) {
        let mut b = t.to_bytes();
        let i = pos % b.len();
        b[i] = byte;
        reencodes::<Transaction>(&b)?;
    }
}
