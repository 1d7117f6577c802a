//! A handful of valid inputs per target, written into `fuzz/seeds/<target>/` (committed) by the
//! main crate's `cargo test --test it fuzz_seeds -- --ignored`, which includes this file. Built
//! from the product's own constructors and its RPC mock chain, so a seed is always an encoding
//! the product itself produces. Uses nothing but `timecoin` and `toml`, so both crates compile it.

use std::path::Path;
use timecoin::config::Config;
use timecoin::p2p::frame::encode_frame;
use timecoin::p2p::message::{Hello, Message, ROLE_DIALER};
use timecoin::rpc::mock::{validator_key, wallet_key, MockBackend};
use timecoin::types::tx::{MasternodeExit, MasternodeRegistration, MasternodeUpdate};
use timecoin::types::vote::vote_signing_bytes;
use timecoin::types::{
    Address, Amount, Block, CommitCertificate, CommitSig, Encode, Evidence, Hash, Network,
    OutPoint, PaymentUri, Proposal, Tier, Transaction, TxKind, TxOut, Validator, ValidatorSet,
    Vote, VoteKind,
};
use timecoin::wallet::keystore;
use timecoin::wallet::KdfParams;

/// The passphrase of the seed wallet files; `wallet_file` tries it on every file it accepts.
pub const WALLET_PASSPHRASE: &str = "fuzz";

/// The seeds of one target: (file name, contents).
pub type Seeds = Vec<(String, Vec<u8>)>;

fn named<B: Into<Vec<u8>>>(items: impl IntoIterator<Item = (&'static str, B)>) -> Seeds {
    items
        .into_iter()
        .map(|(n, b)| (n.to_string(), b.into()))
        .collect()
}

/// Every target's seeds, by target name.
pub fn all() -> Vec<(&'static str, Seeds)> {
    let c = Chain::new();
    vec![
        ("p2p_frame", c.frames()),
        (
            "p2p_message",
            c.messages()
                .into_iter()
                .map(|(n, m)| (n, m.to_bytes()))
                .collect(),
        ),
        ("tx", c.txs()),
        ("block", c.blocks()),
        ("vote", c.votes()),
        ("proposal", c.proposals()),
        (
            "evidence",
            named([("conflicting_precommits", c.evidence().to_bytes())]),
        ),
        ("certificate", c.certificates()),
        ("wallet_file", wallet_files()),
        ("config", configs()),
        ("rpc_request", c.rpc_bodies()),
        ("payment_uri", c.uris()),
    ]
}

/// Writes every seed to `<dir>/<target>/<name>`.
pub fn write_all(dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for (target, seeds) in all() {
        let d = dir.join(target);
        std::fs::create_dir_all(&d)?;
        for (name, bytes) in seeds {
            std::fs::write(d.join(name), bytes)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The RPC mock's five-block chain and the keys around it.
struct Chain {
    backend: MockBackend,
    chain_id: Hash,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            backend: MockBackend::new(),
            chain_id: Hash([0xc1; 32]),
        }
    }

    fn block(&self, height: usize) -> (Block, Option<CommitCertificate>) {
        let st = self.backend.lock();
        let b = &st.blocks[height];
        (b.block.clone(), b.cert.clone())
    }

    fn mempool_tx(&self) -> Transaction {
        self.backend.lock().mempool[0].0.clone()
    }

    fn payout(&self) -> Address {
        Address::from_pubkey(&wallet_key().public())
    }

    fn masternode_txs(&self) -> [Transaction; 3] {
        let owner = wallet_key();
        let collateral = OutPoint {
            txid: self.block(1).0.txs[0].txid(),
            index: 0,
        };
        let input = self.mempool_tx().inputs[0].clone();
        let tx = |kind| Transaction {
            version: 1,
            inputs: vec![input.clone()],
            outputs: vec![TxOut {
                amount: Amount(99_000_000),
                address: self.payout(),
            }],
            lock_time: 3,
            kind,
        };
        let mut txs = [
            tx(TxKind::MasternodeRegister(Box::new(
                MasternodeRegistration {
                    collateral,
                    tier: Tier::Bronze,
                    node_key: validator_key(2).public(),
                    p2p_addr: "203.0.113.7:24000".into(),
                    payout: self.payout(),
                    owner: owner.public(),
                    owner_signature: Default::default(),
                },
            ))),
            tx(TxKind::MasternodeUpdate(Box::new(MasternodeUpdate {
                collateral,
                p2p_addr: "[2001:db8::1]:24000".into(),
                payout: self.payout(),
                owner: owner.public(),
                owner_signature: Default::default(),
            }))),
            tx(TxKind::MasternodeExit(Box::new(MasternodeExit {
                collateral,
                owner: owner.public(),
                owner_signature: Default::default(),
            }))),
        ];
        for t in &mut txs {
            t.sign_inputs(&self.chain_id, &[&owner], Some(&owner));
        }
        txs
    }

    fn txs(&self) -> Seeds {
        let [reg, upd, exit] = self.masternode_txs();
        named([
            ("transfer", self.mempool_tx().to_bytes()),
            ("coinbase", self.block(1).0.txs[0].to_bytes()),
            ("masternode_register", reg.to_bytes()),
            ("masternode_update", upd.to_bytes()),
            ("masternode_exit", exit.to_bytes()),
        ])
    }

    fn vote(&self, kind: VoteKind, block: Option<Hash>, key: u8) -> Vote {
        Vote::new_signed(self.chain_id, 5, 0, kind, block, &validator_key(key))
    }

    fn votes(&self) -> Seeds {
        named([
            (
                "prevote_nil",
                self.vote(VoteKind::Prevote, None, 0).to_bytes(),
            ),
            (
                "precommit_block",
                self.vote(VoteKind::Precommit, Some(Hash([4; 32])), 1)
                    .to_bytes(),
            ),
        ])
    }

    fn proposal(&self, pol_round: Option<u32>) -> Proposal {
        let round = pol_round.map_or(0, |r| r + 1);
        Proposal::new_signed(
            self.chain_id,
            5,
            round,
            pol_round,
            self.block(4).0.hash(),
            &validator_key(0),
        )
    }

    fn proposals(&self) -> Seeds {
        named([
            ("round0", self.proposal(None).to_bytes()),
            ("with_pol_round", self.proposal(Some(2)).to_bytes()),
        ])
    }

    fn evidence(&self) -> Evidence {
        Evidence::from_pair(
            self.vote(VoteKind::Precommit, Some(Hash([4; 32])), 0),
            self.vote(VoteKind::Precommit, Some(Hash([5; 32])), 0),
        )
    }

    /// A certificate whose precommit signatures verify.
    fn signed_certificate(&self) -> CommitCertificate {
        let block_hash = self.block(4).0.hash();
        let msg = vote_signing_bytes(&self.chain_id, 4, 1, VoteKind::Precommit, Some(block_hash));
        CommitCertificate {
            height: 4,
            round: 1,
            block_hash,
            sigs: (0..3)
                .map(|i| CommitSig {
                    voter: validator_key(i).public(),
                    signature: validator_key(i).sign(&msg.0),
                })
                .collect(),
        }
    }

    fn validator_set(&self) -> ValidatorSet {
        ValidatorSet::new(
            (0..3)
                .map(|i| Validator {
                    key: validator_key(i).public(),
                    weight: 1 + u64::from(i) * 10,
                })
                .collect(),
        )
    }

    fn certificates(&self) -> Seeds {
        named([
            ("empty", CommitCertificate::default().to_bytes()),
            ("mock", self.block(3).1.unwrap_or_default().to_bytes()),
            ("signed", self.signed_certificate().to_bytes()),
            ("validator_set", self.validator_set().to_bytes()),
        ])
    }

    fn blocks(&self) -> Seeds {
        let mut full = self.block(4).0;
        full.txs.push(self.mempool_tx());
        full.txs.extend(self.masternode_txs());
        full.evidence.push(self.evidence());
        full.last_commit = self.signed_certificate();
        full.header.merkle_root = full.compute_merkle_root();
        named([
            ("genesis", self.block(0).0.to_bytes()),
            ("height2", self.block(2).0.to_bytes()),
            ("full", full.to_bytes()),
            ("header", full.header.to_bytes()),
        ])
    }

    fn hello(&self) -> Hello {
        Hello::new_signed(
            &validator_key(1),
            self.chain_id,
            &[9; 32],
            ROLE_DIALER,
            "127.0.0.1:24310".into(),
            4,
        )
    }

    fn messages(&self) -> Vec<(String, Message)> {
        let (b3, c3) = self.block(3);
        let (b4, c4) = self.block(4);
        let tx = self.mempool_tx();
        let m = [
            ("hello", Message::Hello(self.hello())),
            ("ping", Message::Ping(7)),
            ("pong", Message::Pong(7)),
            ("getpeers", Message::GetPeers),
            (
                "peers",
                Message::Peers(vec!["127.0.0.1:24300".into(), "[::1]:24310".into()]),
            ),
            ("tx", Message::Tx(tx.clone())),
            (
                "txannounce",
                Message::TxAnnounce(vec![tx.txid(), Hash([3; 32])]),
            ),
            ("gettxs", Message::GetTxs(vec![tx.txid()])),
            (
                "proposal",
                Message::Proposal {
                    proposal: self.proposal(None),
                    block: b4.clone(),
                },
            ),
            (
                "vote",
                Message::Vote(self.vote(VoteKind::Prevote, Some(b4.hash()), 2)),
            ),
            (
                "status",
                Message::Status {
                    height: 4,
                    tip: b4.hash(),
                },
            ),
            ("getblocks", Message::GetBlocks { from: 1, count: 4 }),
            (
                "blocks",
                Message::Blocks(vec![
                    (b3, c3.unwrap_or_default()),
                    (b4, c4.unwrap_or_default()),
                ]),
            ),
            ("evidence", Message::Evidence(self.evidence())),
            (
                "txs",
                Message::Txs(std::iter::once(tx).chain(self.masternode_txs()).collect()),
            ),
        ];
        m.into_iter().map(|(n, m)| (n.to_string(), m)).collect()
    }

    /// Byte streams as a peer sends them: framed messages back to back.
    fn frames(&self) -> Seeds {
        let msgs = self.messages();
        let stream = |names: &[&str]| -> Vec<u8> {
            names
                .iter()
                .flat_map(|n| {
                    let m = msgs.iter().find(|(k, _)| k == n).map(|(_, m)| m.to_bytes());
                    encode_frame(&m.unwrap_or_default())
                })
                .collect()
        };
        named([
            ("handshake", stream(&["hello", "status", "getpeers"])),
            (
                "consensus",
                stream(&["proposal", "vote", "vote", "evidence"]),
            ),
            ("sync", stream(&["getblocks", "blocks", "ping", "pong"])),
            ("gossip", stream(&["txannounce", "gettxs", "txs", "tx"])),
        ])
    }

    fn rpc_bodies(&self) -> Seeds {
        let tip = self.block(4).0.hash().to_hex();
        let raw = hex::encode(self.mempool_tx().to_bytes());
        let addr = self.payout().encode(Network::Devnet);
        let bodies = [
            (
                "legacy",
                r#"{"method":"getblockcount","params":[],"id":1}"#.to_string(),
            ),
            (
                "v2_named",
                format!(
                    r#"{{"jsonrpc":"2.0","method":"getblock","params":{{"blockhash":"{tip}","verbosity":2}},"id":"a"}}"#
                ),
            ),
            (
                "decoderawtransaction",
                format!(
                    r#"{{"jsonrpc":"1.0","method":"decoderawtransaction","params":["{raw}"],"id":2}}"#
                ),
            ),
            (
                "sendrawtransaction",
                format!(
                    r#"{{"jsonrpc":"2.0","method":"sendrawtransaction","params":["{raw}",0.1],"id":3}}"#
                ),
            ),
            (
                "batch",
                format!(
                    r#"[{{"jsonrpc":"2.0","method":"getblockhash","params":[2],"id":1}},{{"jsonrpc":"2.0","method":"validateaddress","params":["{addr}"],"id":2}},{{"jsonrpc":"2.0","method":"getbalance"}},{{"method":"getblockheader","params":["{tip}",false],"id":null}}]"#
                ),
            ),
            (
                "notification",
                r#"{"jsonrpc":"2.0","method":"getrawmempool","params":[true]}"#.to_string(),
            ),
            (
                "getaddressutxos",
                format!(
                    r#"{{"method":"getaddressutxos","params":[{{"addresses":["{addr}"]}}],"id":4}}"#
                ),
            ),
            (
                "gettxout",
                format!(
                    r#"{{"method":"gettxout","params":["{}",0,true],"id":5}}"#,
                    self.block(1).0.txs[0].txid().to_hex()
                ),
            ),
        ];
        bodies
            .into_iter()
            .map(|(n, b)| (n.to_string(), b.into_bytes()))
            .collect()
    }

    fn uris(&self) -> Seeds {
        let a = self.payout();
        let uri = |net, amount, label: Option<&str>| {
            PaymentUri {
                address: a,
                amount,
                label: label.map(str::to_string),
            }
            .format(net)
        };
        named([
            ("address_mainnet", a.encode(Network::Mainnet)),
            (
                "address_devnet_upper",
                a.encode(Network::Devnet).to_uppercase(),
            ),
            ("uri_plain_testnet", uri(Network::Testnet, None, None)),
            (
                "uri_amount_label",
                uri(
                    Network::Devnet,
                    Some(Amount(150_000_000)),
                    Some("coffee & cake"),
                ),
            ),
            (
                "uri_label_utf8",
                uri(Network::Mainnet, Some(Amount(1)), Some("caf\u{e9} 100%")),
            ),
        ])
    }
}

fn wallet_files() -> Seeds {
    let fast = KdfParams::insecure_fast();
    [Network::Mainnet, Network::Testnet, Network::Devnet]
        .into_iter()
        .filter_map(|net| {
            let file = keystore::seal(&[0x42; 32], WALLET_PASSPHRASE, net, fast).ok()?;
            Some((format!("wallet_{}", net.name()), file))
        })
        .collect()
}

fn configs() -> Seeds {
    let mut custom = Config::default();
    custom.node.network = Network::Testnet;
    custom.node.datadir = Some("/var/lib/timecoin".into());
    custom.p2p.seeds = vec!["seed.example.org:24100".into()];
    custom.rpc.user = Some("alice".into());
    custom.rpc.password = Some("change me".into());
    custom.consensus.timeout_propose_ms = Some(3000);
    custom.masternode.enabled = true;
    custom.tui.theme = timecoin::config::Theme::Light;
    let text = |c: &Config| toml::to_string(c).unwrap_or_default();
    named([
        ("shipped", include_str!("../../config.toml").to_string()),
        ("default", text(&Config::default())),
        ("custom", text(&custom)),
    ])
}
