//! The wallet's non-secret state ([`State`]: name, address chains, address book, own
//! transactions, collateral records) and its file, `<wallet file>.meta.json`, beside the
//! encrypted wallet file so that a locked wallet can still show addresses and history.
//!
//! The JSON form ([`MetaFile`], format [`META_FORMAT`]) is a contract: field names and
//! meanings do not change within a format version, unknown fields are refused, and every
//! address is checked against its public key when read.

use super::error::{Result, WalletError};
use super::keystore;
use super::types::{AddressEntry, Contact, Direction};
use crate::types::{Address, Amount, Hash, Network, OutPoint, PublicKey, Tier};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of the `<file>.meta.json` format.
const META_FORMAT: u32 = 1;
/// Largest state file read, in bytes.
const MAX_META: u64 = 64 * 1024 * 1024;

/// A transaction this wallet made.
#[derive(Clone, Debug)]
pub(super) struct TxRecord {
    pub(super) txid: Hash,
    /// The outputs it spends (to tell a conflicted transaction from a dropped one).
    pub(super) inputs: Vec<OutPoint>,
    /// The signed transaction, to submit again.
    pub(super) raw: Vec<u8>,
    pub(super) direction: Direction,
    /// Value paid out or moved, in base units (the fee not included).
    pub(super) amount: Amount,
    /// Fee in base units.
    pub(super) fee: Amount,
    /// Unix time in seconds when the wallet signed it.
    pub(super) time: u64,
    /// What it was ("payment", "masternode registration", ...).
    pub(super) memo: String,
}

/// A collateral output the wallet reserved or registered.
#[derive(Clone, Debug)]
pub(super) struct CollateralRecord {
    pub(super) outpoint: OutPoint,
    pub(super) tier: Tier,
    /// The txid of the registration that uses it; `None` while only reserved (funded, or
    /// adopted from the chain's registry).
    pub(super) registration: Option<Hash>,
}

/// The non-secret state.
#[derive(Clone, Debug, Default)]
pub(super) struct State {
    /// Shown wherever the wallet is named: the file stem, or the faucet's name.
    pub(super) name: String,
    /// Index of the next receive address to derive.
    pub(super) next_receive: u32,
    /// Index of the next change address to derive.
    pub(super) next_change: u32,
    /// Own addresses of both chains, in creation order.
    pub(super) addresses: Vec<AddressEntry>,
    pub(super) contacts: Vec<Contact>,
    /// Own transactions, oldest first.
    pub(super) history: Vec<TxRecord>,
    pub(super) collaterals: Vec<CollateralRecord>,
}

// ---- JSON form of the state ----

/// The file's top level, `format` first.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaFile {
    format: u32,
    network: Network,
    name: String,
    next_receive: u32,
    next_change: u32,
    addresses: Vec<MetaAddress>,
    contacts: Vec<MetaContact>,
    history: Vec<MetaTx>,
    collaterals: Vec<MetaCollateral>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaAddress {
    address: String,
    pubkey: String,
    label: String,
    change: bool,
    index: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaContact {
    label: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaTx {
    txid: String,
    inputs: Vec<String>,
    raw: String,
    direction: Direction,
    amount: u64,
    fee: u64,
    time: u64,
    memo: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaCollateral {
    outpoint: String,
    tier: String,
    registration: Option<String>,
}

fn outpoint_str(o: &OutPoint) -> String {
    format!("{}:{}", o.txid.to_hex(), o.index)
}

fn parse_outpoint(s: &str) -> Option<OutPoint> {
    let (t, i) = s.split_once(':')?;
    Some(OutPoint {
        txid: Hash::from_hex(t)?,
        index: i.parse().ok()?,
    })
}

impl State {
    /// An empty state named `name` (a new wallet, or one whose state file was lost).
    pub(super) fn new(name: &str) -> State {
        State {
            name: name.to_string(),
            ..State::default()
        }
    }

    /// Reads the state file of the wallet file `wallet_path`; `None` when there is none.
    pub(super) fn load(wallet_path: &Path, network: Network) -> Result<Option<State>> {
        let path = meta_path(wallet_path);
        match keystore::read_limited(&path, MAX_META) {
            Ok(bytes) => State::from_json(&bytes, network, &path).map(Some),
            Err(WalletError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the state file of the wallet file `wallet_path`, atomically.
    pub(super) fn save(&self, wallet_path: &Path, network: Network) -> Result<()> {
        keystore::write_atomic(&meta_path(wallet_path), &self.to_json(network))
    }

    fn to_json(&self, network: Network) -> Vec<u8> {
        let m = MetaFile {
            format: META_FORMAT,
            network,
            name: self.name.clone(),
            next_receive: self.next_receive,
            next_change: self.next_change,
            addresses: self
                .addresses
                .iter()
                .map(|a| MetaAddress {
                    address: a.address.encode(network),
                    pubkey: a.pubkey.to_hex(),
                    label: a.label.clone(),
                    change: a.change,
                    index: a.index,
                })
                .collect(),
            contacts: self
                .contacts
                .iter()
                .map(|c| MetaContact {
                    label: c.label.clone(),
                    address: c.address.encode(network),
                })
                .collect(),
            history: self
                .history
                .iter()
                .map(|h| MetaTx {
                    txid: h.txid.to_hex(),
                    inputs: h.inputs.iter().map(outpoint_str).collect(),
                    raw: hex::encode(&h.raw),
                    direction: h.direction,
                    amount: h.amount.0,
                    fee: h.fee.0,
                    time: h.time,
                    memo: h.memo.clone(),
                })
                .collect(),
            collaterals: self
                .collaterals
                .iter()
                .map(|c| MetaCollateral {
                    outpoint: outpoint_str(&c.outpoint),
                    tier: c.tier.name().to_string(),
                    registration: c.registration.map(|h| h.to_hex()),
                })
                .collect(),
        };
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_vec_pretty(&m).unwrap_or_default()
    }

    fn from_json(bytes: &[u8], network: Network, path: &Path) -> Result<State> {
        let bad = |reason: String| WalletError::Meta {
            path: path.to_path_buf(),
            reason,
        };
        let m: MetaFile = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if m.format != META_FORMAT {
            return Err(bad(format!("format {} (expected {META_FORMAT})", m.format)));
        }
        if m.network != network {
            return Err(WalletError::WrongNetwork {
                found: m.network,
                expected: network,
            });
        }
        let mut addresses = Vec::with_capacity(m.addresses.len());
        for a in m.addresses {
            let address = Address::parse(&a.address, network).map_err(|e| bad(e.to_string()))?;
            let pubkey = PublicKey::from_hex(&a.pubkey)
                .ok_or_else(|| bad(format!("bad public key for {}", a.address)))?;
            if Address::from_pubkey(&pubkey) != address {
                return Err(bad(format!("address {} does not match its key", a.address)));
            }
            addresses.push(AddressEntry {
                address,
                label: a.label,
                change: a.change,
                index: a.index,
                pubkey,
            });
        }
        let mut contacts = Vec::with_capacity(m.contacts.len());
        for c in m.contacts {
            contacts.push(Contact {
                address: Address::parse(&c.address, network).map_err(|e| bad(e.to_string()))?,
                label: c.label,
            });
        }
        let mut history = Vec::with_capacity(m.history.len());
        for h in m.history {
            let txid = Hash::from_hex(&h.txid).ok_or_else(|| bad("bad txid".to_string()))?;
            let inputs = h
                .inputs
                .iter()
                .map(|s| parse_outpoint(s).ok_or_else(|| bad(format!("bad outpoint {s:?}"))))
                .collect::<Result<Vec<_>>>()?;
            history.push(TxRecord {
                txid,
                inputs,
                raw: hex::decode(&h.raw).map_err(|e| bad(e.to_string()))?,
                direction: h.direction,
                amount: Amount(h.amount),
                fee: Amount(h.fee),
                time: h.time,
                memo: h.memo,
            });
        }
        let mut collaterals = Vec::with_capacity(m.collaterals.len());
        for c in m.collaterals {
            collaterals.push(CollateralRecord {
                outpoint: parse_outpoint(&c.outpoint)
                    .ok_or_else(|| bad(format!("bad outpoint {:?}", c.outpoint)))?,
                tier: Tier::from_name(&c.tier)
                    .ok_or_else(|| bad(format!("bad tier {:?}", c.tier)))?,
                registration: match c.registration {
                    Some(s) => Some(Hash::from_hex(&s).ok_or_else(|| bad("bad txid".into()))?),
                    None => None,
                },
            });
        }
        Ok(State {
            name: m.name,
            next_receive: m.next_receive,
            next_change: m.next_change,
            addresses,
            contacts,
            history,
            collaterals,
        })
    }
}

fn meta_path(path: &Path) -> PathBuf {
    keystore::with_suffix(path, ".meta.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::devnet_faucet_key;

    /// The state file of format 1 that [`state`] gives: field names, order and layout are the
    /// contract with every wallet already written.
    const FORMAT_1: &str = include_str!("testdata/meta_format_1.json");

    fn entry(index: u32, change: bool, label: &str) -> AddressEntry {
        let pubkey = devnet_faucet_key(index).public();
        AddressEntry {
            address: Address::from_pubkey(&pubkey),
            label: label.to_string(),
            change,
            index,
            pubkey,
        }
    }

    /// A state with one of everything the file holds.
    fn state() -> State {
        State {
            name: "savings".to_string(),
            next_receive: 1,
            next_change: 3,
            addresses: vec![entry(0, false, "default"), entry(2, true, "change")],
            contacts: vec![Contact {
                label: "shop".to_string(),
                address: entry(5, false, "").address,
            }],
            history: vec![TxRecord {
                txid: Hash([7; 32]),
                inputs: vec![OutPoint {
                    txid: Hash([8; 32]),
                    index: 1,
                }],
                raw: vec![0, 1, 0xfe],
                direction: Direction::SelfTransfer,
                amount: Amount(5_000),
                fee: Amount(200),
                time: 1_700_000_000,
                memo: "payment".to_string(),
            }],
            collaterals: vec![
                CollateralRecord {
                    outpoint: OutPoint {
                        txid: Hash([9; 32]),
                        index: 0,
                    },
                    tier: Tier::Bronze,
                    registration: Some(Hash([10; 32])),
                },
                CollateralRecord {
                    outpoint: OutPoint {
                        txid: Hash([11; 32]),
                        index: 2,
                    },
                    tier: Tier::Gold,
                    registration: None,
                },
            ],
        }
    }

    #[test]
    fn format_1_is_written_byte_for_byte() {
        let written = String::from_utf8(state().to_json(Network::Devnet)).unwrap();
        assert_eq!(written, FORMAT_1.trim_end());
    }

    #[test]
    fn format_1_reads_back_to_the_same_file() {
        let path = Path::new("w.dat.meta.json");
        let read = State::from_json(FORMAT_1.as_bytes(), Network::Devnet, path).unwrap();
        assert_eq!(
            read.to_json(Network::Devnet),
            FORMAT_1.trim_end().as_bytes()
        );
    }

    #[test]
    fn unknown_fields_other_formats_and_networks_are_refused() {
        let path = Path::new("w.dat.meta.json");
        let extra = FORMAT_1.replacen("{", "{\n  \"extra\": 1,", 1);
        let format_2 = FORMAT_1.replacen("\"format\": 1", "\"format\": 2", 1);
        for bad in [extra, format_2] {
            let e = State::from_json(bad.as_bytes(), Network::Devnet, path).err();
            assert!(matches!(e, Some(WalletError::Meta { .. })), "{e:?}");
        }
        let e = State::from_json(FORMAT_1.as_bytes(), Network::Mainnet, path).err();
        assert!(matches!(e, Some(WalletError::WrongNetwork { .. })), "{e:?}");
    }
}
