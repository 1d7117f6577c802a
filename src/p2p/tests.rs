//! Unit tests: every message variant round-trips, size limits hold, random bytes never panic.

use super::message::*;
use crate::types::encoding::{Decode, Encode};
use crate::types::*;
use proptest::prelude::*;

fn sample_tx(i: u8) -> Transaction {
    Transaction {
        version: tx::TX_VERSION,
        inputs: vec![TxIn {
            prev: OutPoint {
                txid: Hash([i; 32]),
                index: 1,
            },
            pubkey: PublicKey([2; 32]),
            signature: Signature([3; 64]),
        }],
        outputs: vec![TxOut {
            amount: Amount(5),
            address: Address::from_pubkey(&PublicKey([4; 32])),
        }],
        lock_time: 0,
        kind: TxKind::Transfer,
    }
}

fn sample_block() -> Block {
    Block {
        header: BlockHeader {
            version: block::BLOCK_VERSION,
            height: 7,
            prev_hash: Hash([1; 32]),
            time_ms: 99,
            merkle_root: Hash([2; 32]),
            proposer: PublicKey([3; 32]),
            validator_set_hash: Hash([4; 32]),
            last_commit_hash: Hash([5; 32]),
        },
        txs: vec![sample_tx(1), sample_tx(2)],
        evidence: vec![],
        last_commit: Default::default(),
    }
}

fn sample_vote() -> Vote {
    let k = SecretKey::from_seed(&[9; 32]);
    Vote::new_signed(
        Hash([1; 32]),
        5,
        0,
        VoteKind::Prevote,
        Some(Hash([2; 32])),
        &k,
    )
}

/// One example of every variant.
pub(crate) fn all_variants() -> Vec<Message> {
    let k = SecretKey::from_seed(&[8; 32]);
    let v = sample_vote();
    let mut v2 = v.clone();
    v2.block = None;
    vec![
        Message::Hello(Hello::new_signed(
            &k,
            Hash([1; 32]),
            &[7; 32],
            ROLE_DIALER,
            "127.0.0.1:24300".into(),
            42,
        )),
        Message::Ping(1),
        Message::Pong(u64::MAX),
        Message::GetPeers,
        Message::Peers(vec!["127.0.0.1:1".into(), "node.example:24000".into()]),
        Message::Peers(vec![]),
        Message::Tx(sample_tx(1)),
        Message::TxAnnounce(vec![Hash([1; 32]), Hash([2; 32])]),
        Message::GetTxs(vec![Hash([3; 32])]),
        Message::Proposal {
            proposal: Proposal::new_signed(Hash([1; 32]), 7, 1, Some(0), Hash([6; 32]), &k),
            block: sample_block(),
        },
        Message::Vote(v.clone()),
        Message::Status {
            height: 3,
            tip: Hash([4; 32]),
        },
        Message::GetBlocks {
            from: 10,
            count: 128,
        },
        Message::Blocks(vec![(
            sample_block(),
            CommitCertificate {
                height: 7,
                round: 0,
                block_hash: Hash([9; 32]),
                sigs: vec![CommitSig {
                    voter: PublicKey([1; 32]),
                    signature: Signature([2; 64]),
                }],
            },
        )]),
        Message::Blocks(vec![]),
        Message::Evidence(Evidence::from_pair(v, v2)),
        Message::Txs(vec![sample_tx(3), sample_tx(4)]),
        Message::Txs(vec![]),
        Message::Have(Hash([5; 32])),
        Message::GetProposal(Hash([6; 32])),
    ]
}

#[test]
fn every_variant_round_trips() {
    let all = all_variants();
    let mut kinds = std::collections::HashSet::new();
    for m in &all {
        kinds.insert(m.kind());
        let b = m.to_bytes();
        assert_eq!(&Message::decode(&b).unwrap(), m, "{}", m.kind());
        // Every strict prefix and any extra byte are refused.
        for cut in 0..b.len() {
            assert!(
                Message::decode(&b[..cut]).is_err(),
                "{} cut {cut}",
                m.kind()
            );
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(Message::decode(&longer).is_err());
    }
    assert_eq!(kinds.len(), 17, "every variant covered");
}

#[test]
fn hello_binding_is_role_and_session_specific() {
    let k = SecretKey::from_seed(&[8; 32]);
    let h = Hello::new_signed(&k, Hash([1; 32]), &[7; 32], ROLE_DIALER, String::new(), 0);
    assert!(h.verify(&[7; 32], ROLE_DIALER));
    assert!(!h.verify(&[7; 32], ROLE_LISTENER), "reflected hello");
    assert!(
        !h.verify(&[8; 32], ROLE_DIALER),
        "relayed from another session"
    );
    let mut other_chain = h.clone();
    other_chain.chain_id = Hash([2; 32]);
    assert!(!other_chain.verify(&[7; 32], ROLE_DIALER));
}

#[test]
fn limits_are_enforced() {
    // A vote padded past 512 bytes is refused by the per-kind limit.
    let mut b = Message::Vote(sample_vote()).to_bytes();
    b.resize(600, 0);
    assert!(matches!(
        Message::decode(&b),
        Err(DecodeError::LengthTooLarge { .. })
    ));
    // GetBlocks above 128.
    let b = Message::GetBlocks {
        from: 0,
        count: 129,
    }
    .to_bytes();
    assert!(Message::decode(&b).is_err());
    // Too many peer addresses, or too long an address.
    let many = Message::Peers(vec!["1.2.3.4:5".into(); MAX_PEERS_REPLY + 1]).to_bytes();
    assert!(Message::decode(&many).is_err());
    let long = Message::Peers(vec!["a".repeat(MAX_ADDR_LEN + 1)]).to_bytes();
    assert!(Message::decode(&long).is_err());
    // Unknown tag and empty input.
    assert!(Message::decode(&[200]).is_err());
    assert!(Message::decode(&[]).is_err());
    // A Blocks list declaring u32::MAX entries fails before allocating.
    let mut b = vec![12u8];
    b.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(Message::decode(&b).is_err());
    // Every kind's limit fits in the default frame limit.
    for t in 0..=14u8 {
        assert!(max_len_for_tag(t).unwrap() <= super::frame::DEFAULT_MAX_FRAME);
    }
}

#[test]
fn seen_set_is_bounded() {
    let mut s = super::gossip::SeenSet::new(3);
    for i in 0..5u8 {
        assert!(s.insert(Hash([i; 32])));
    }
    assert!(!s.insert(Hash([4; 32])));
    assert!(s.insert(Hash([0; 32])), "oldest forgotten");
}

#[test]
fn gossip_keys() {
    let t = Message::Tx(sample_tx(1));
    assert_eq!(gossip_key(&t, &t.to_bytes()), Some(sample_tx(1).txid()));
    let v = Message::Vote(sample_vote());
    assert!(gossip_key(&v, &v.to_bytes()).is_some());
    let p = Message::Ping(1);
    assert!(gossip_key(&p, &p.to_bytes()).is_none());
}

#[test]
fn consensus_keys_from_bytes_match_the_decoded_keys() {
    let mut consensus = 0;
    for m in all_variants() {
        let b = m.to_bytes();
        let early = consensus_key_of_encoded(&b);
        match m {
            Message::Vote(_) | Message::Proposal { .. } | Message::Evidence(_) => {
                consensus += 1;
                assert_eq!(early, gossip_key(&m, &b), "{}", m.kind());
                assert!(early.is_some());
            }
            _ => assert_eq!(early, None, "{}", m.kind()),
        }
    }
    assert_eq!(consensus, 3, "all three consensus kinds were checked");
}

proptest! {
    #[test]
    fn random_bytes_never_panic(tag in 0u8..16, body in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut b = vec![tag];
        b.extend_from_slice(&body);
        if let Ok(m) = Message::decode(&b) {
            prop_assert_eq!(m.to_bytes(), b);
        }
    }

    #[test]
    fn mutated_variants_never_panic(i in 0usize..18, pos in any::<usize>(), byte in any::<u8>()) {
        let all = all_variants();
        let m = &all[i % all.len()];
        let mut b = m.to_bytes();
        let p = pos % b.len();
        b[p] = byte;
        if let Ok(m2) = Message::decode(&b) {
            prop_assert_eq!(m2.to_bytes(), b);
        }
    }

    #[test]
    fn hello_round_trip(seed in any::<[u8; 32]>(), chain in any::<[u8; 32]>(), exp in any::<[u8; 32]>(), addr in "[a-z0-9.:]{0,64}", height in any::<u64>()) {
        let k = SecretKey::from_seed(&seed);
        let h = Hello::new_signed(&k, Hash(chain), &exp, ROLE_LISTENER, addr, height);
        prop_assert!(h.verify(&exp, ROLE_LISTENER));
        let m = Message::Hello(h);
        prop_assert_eq!(Message::decode(&m.to_bytes()).unwrap(), m);
    }
}

#[allow(dead_code)]
fn _assert_decode_trait(b: &[u8]) -> Result<Message, DecodeError> {
    Message::from_bytes(b)
}
