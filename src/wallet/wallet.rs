//! [`Wallet`]: lock state, addresses, balances, sending, history, contacts and masternodes.
//!
//! # Keys
//!
//! All keys come from the 24-word phrase (empty BIP39 passphrase) at
//! `m/44'/6060'/0'/<change>'/<index>'`: change 0 is the receive chain, change 1 the change chain.
//!
//! # Balances
//!
//! See [`Balances`]: `finalized` is what final blocks give the wallet minus what pending
//! transactions are spending (`outgoing`); `pending` is what mempool transactions pay it
//! (incoming payments and the change of its own pending sends).
//!
//! # Sending
//!
//! [`Wallet::prepare_send`] selects coins largest-first among final outputs that no mempool
//! transaction spends (and that are not masternode collateral), computes the fee from the exact
//! signed size (signatures are a fixed 64 bytes, so the size is known before signing), and sends
//! the change to a fresh address on the change chain. Change below [`DUST_LIMIT`] is not
//! created: it goes to the fee. [`Wallet::confirm_send`] signs and records the transaction as
//! pending; the caller submits it to the node.
//!
//! # History status
//!
//! For a transaction the wallet made: the node's [`ChainTxStatus`] when it knows the
//! transaction (final or pending). When the node does not know it: [`TxStatus::Conflicted`] if
//! one of its inputs is no longer unspent or is spent by another mempool transaction (another
//! spend won), else [`TxStatus::Dropped`] (never submitted or evicted; its coins are spendable
//! again). Payments received show as incoming while their outputs are unspent.

use super::chain::{ChainTxStatus, WalletChain, WalletUtxo};
use super::error::{Result, WalletError};
use super::keystore::{self, KdfParams};
use super::mnemonic;
use super::slip10;
use crate::types::tx::{
    MasternodeExit, MasternodeRegistration, MasternodeUpdate, MAX_P2P_ADDR_LEN, MAX_TX_SIZE,
};
use crate::types::{
    Address, Amount, Encode, Hash, Network, OutPoint, PublicKey, SecretKey, Signature, Tier,
    Transaction, TxIn, TxKind, TxOut,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// Change below this many base units is not created; it is added to the fee instead.
/// Payments below it are refused.
pub const DUST_LIMIT: Amount = Amount(1_000);

/// The devnet faucet's recovery phrase. INSECURE: public knowledge, devnet only. It is the
/// BIP39 phrase of 32 zero bytes ("abandon" x 23 + "art").
pub const DEVNET_FAUCET_MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art";

/// The devnet faucet wallet's name, shown wherever the wallet is named.
pub const DEVNET_FAUCET_NAME: &str = "DEVNET FAUCET (INSECURE)";

/// The account every wallet uses.
const ACCOUNT: u32 = 0;
/// Version of the `<file>.meta.json` format.
const META_FORMAT: u32 = 1;
/// Largest state file read.
const MAX_META: u64 = 64 * 1024 * 1024;

/// The key of the devnet faucet's receive address `index` (for the genesis builder), at
/// `m/44'/6060'/0'/0'/<index>'` of [`DEVNET_FAUCET_MNEMONIC`]; `index` is taken below 2^31.
pub fn devnet_faucet_key(index: u32) -> SecretKey {
    let entropy = mnemonic::parse(DEVNET_FAUCET_MNEMONIC)
        .expect("DEVNET_FAUCET_MNEMONIC is a valid 24-word phrase");
    let seed = mnemonic::seed_from_entropy(&entropy, "");
    slip10::derive_wallet_key(seed.as_ref(), ACCOUNT, false, index & !slip10::HARDENED)
        .expect("index below 2^31 after masking")
}

/// The devnet faucet's receive address `index` (fund index 0 in the devnet genesis).
pub fn devnet_faucet_address(index: u32) -> Address {
    Address::from_pubkey(&devnet_faucet_key(index).public())
}

/// One of the wallet's own addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressEntry {
    /// The address.
    pub address: Address,
    /// User label ("" for none; change addresses are labelled "change").
    pub label: String,
    /// On the change chain.
    pub change: bool,
    /// Index on its chain.
    pub index: u32,
    /// Its public key.
    pub pubkey: PublicKey,
}

/// An address-book entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Name.
    pub label: String,
    /// Address.
    pub address: Address,
}

/// Which way value moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Paid to someone else.
    Outgoing,
    /// Received.
    Incoming,
    /// Between own addresses (collateral, masternode registration/exit).
    #[serde(rename = "self")]
    SelfTransfer,
}

/// Status of a history entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// In the mempool.
    Pending,
    /// In a final block.
    Final {
        /// Block height.
        height: u64,
    },
    /// Another transaction spent (or is spending) one of its inputs: it will never be final.
    Conflicted,
    /// Unknown to the node and its inputs are unspent: never submitted or evicted. Its coins
    /// are spendable again; it may be submitted again.
    Dropped,
}

impl fmt::Display for TxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxStatus::Pending => f.write_str("pending"),
            TxStatus::Final { height } => write!(f, "final at {height}"),
            TxStatus::Conflicted => f.write_str("conflicted"),
            TxStatus::Dropped => f.write_str("dropped"),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Outgoing => "sent",
            Direction::Incoming => "received",
            Direction::SelfTransfer => "self",
        })
    }
}

/// One line of the wallet's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Transaction id.
    pub txid: Hash,
    /// Direction.
    pub direction: Direction,
    /// Value paid out (outgoing), received (incoming) or moved (self).
    pub amount: Amount,
    /// Fee, when known (always for own transactions, never for incoming ones).
    pub fee: Option<Amount>,
    /// Status now.
    pub status: TxStatus,
    /// Unix time (seconds) when this wallet created it; `None` for incoming.
    pub time: Option<u64>,
    /// What it was ("payment", "masternode registration", ...; "" for incoming).
    pub memo: String,
}

/// Balances in base units.
///
/// - `finalized`: outputs of final blocks paying the wallet that no pending transaction is
///   spending (includes masternode collateral; see `collateral`).
/// - `pending`: outputs of mempool transactions paying the wallet (incoming payments and the
///   change of its own pending sends) not themselves being spent.
/// - `outgoing`: final outputs that pending transactions are spending (leaving the wallet;
///   not part of `finalized`).
/// - `collateral`: the part of `finalized` held as masternode collateral (not spent by sends).
///
/// After every pending transaction is final the balance is `finalized + pending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Balances {
    /// Final and not being spent.
    pub finalized: Amount,
    /// Unconfirmed incoming (including own change).
    pub pending: Amount,
    /// Final outputs being spent by pending transactions.
    pub outgoing: Amount,
    /// Masternode collateral within `finalized`.
    pub collateral: Amount,
}

impl Balances {
    /// What a send can use now: `finalized - collateral`.
    pub fn spendable(&self) -> Amount {
        self.finalized
            .checked_sub(self.collateral)
            .unwrap_or(Amount::ZERO)
    }
}

/// A send ready for the confirmation screen: everything the user must see before signing.
#[derive(Clone)]
pub struct SendPreview {
    /// Recipient.
    pub recipient: Address,
    /// Amount paid to the recipient.
    pub amount: Amount,
    /// Fee (includes change below the dust limit, if any).
    pub fee: Amount,
    /// Change amount (zero when no change output).
    pub change: Amount,
    /// The fresh change address, when there is a change output.
    pub change_address: Option<Address>,
    /// Outputs spent.
    pub inputs: Vec<WalletUtxo>,
    /// Exact size of the signed transaction in bytes.
    pub size: usize,
    /// Fee rate used, base units per byte.
    pub fee_rate: u64,
    tx: Transaction,
    chain_id: Hash,
    change_index: Option<u32>,
}

impl fmt::Debug for SendPreview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendPreview")
            .field("recipient", &self.recipient)
            .field("amount", &self.amount)
            .field("fee", &self.fee)
            .field("change", &self.change)
            .field("inputs", &self.inputs.len())
            .field("size", &self.size)
            .finish()
    }
}

/// One step of masternode registration (see [`Wallet::prepare_register_masternode`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasternodeStep {
    /// No final output of exactly the collateral existed: this signed self-transfer creates one
    /// (output `collateral`). Submit it, wait until it is final, then call
    /// `prepare_register_masternode` again.
    FundCollateral {
        /// The signed self-transfer.
        tx: Transaction,
        /// The collateral output it creates.
        collateral: OutPoint,
    },
    /// The signed registration transaction referencing `collateral`. Submit it.
    Register {
        /// The signed registration.
        tx: Transaction,
        /// The collateral output (stays unspent; spending it ends the masternode).
        collateral: OutPoint,
    },
}

impl MasternodeStep {
    /// The transaction to submit.
    pub fn tx(&self) -> &Transaction {
        match self {
            MasternodeStep::FundCollateral { tx, .. } | MasternodeStep::Register { tx, .. } => tx,
        }
    }
}

/// A transaction this wallet made.
#[derive(Clone, Debug)]
struct TxRecord {
    txid: Hash,
    inputs: Vec<OutPoint>,
    raw: Vec<u8>,
    direction: Direction,
    amount: Amount,
    fee: Amount,
    time: u64,
    memo: String,
}

/// A collateral output the wallet reserved or registered.
#[derive(Clone, Debug)]
struct CollateralRecord {
    outpoint: OutPoint,
    tier: Tier,
    registration: Option<Hash>,
}

/// The non-secret state.
#[derive(Clone, Debug, Default)]
struct State {
    name: String,
    next_receive: u32,
    next_change: u32,
    addresses: Vec<AddressEntry>,
    contacts: Vec<Contact>,
    history: Vec<TxRecord>,
    collaterals: Vec<CollateralRecord>,
}

// ---- JSON form of the state ----

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

/// Where the secret comes from.
enum Store {
    /// An encrypted wallet file.
    File(PathBuf),
    /// In memory only (the devnet faucet): the entropy is kept, so unlock needs no passphrase.
    Memory(Zeroizing<[u8; 32]>),
    /// A throwaway copy for a dry run ([`Wallet::dry_run`]): never written, cannot unlock.
    Scratch,
}

/// Secrets while unlocked.
struct Unlocked {
    seed: Zeroizing<[u8; 64]>,
    deadline: Option<Instant>,
}

/// An HD wallet. Locked wallets show addresses, contacts, balances and history; unlocked ones
/// also derive addresses and sign.
pub struct Wallet {
    network: Network,
    store: Store,
    state: State,
    unlocked: Option<Unlocked>,
    /// Highest fee a send may pay ([`Wallet::set_max_fee`]).
    max_fee: Amount,
}

/// The default of [`Wallet::set_max_fee`] and of the `[wallet] max_fee` config key: 0.1 TIME,
/// about 50,000 times the fee of a simple send at the default minimum rate, as Bitcoin Core's
/// `maxtxfee` (0.1 BTC) guards against a fee rate given in the wrong unit.
pub const DEFAULT_MAX_FEE: Amount = Amount(10_000_000);

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("name", &self.state.name)
            .field("network", &self.network)
            .field("locked", &self.is_locked())
            .field("addresses", &self.state.addresses.len())
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn meta_path(path: &Path) -> PathBuf {
    keystore::with_suffix(path, ".meta.json")
}

fn derive(seed: &[u8; 64], change: bool, index: u32) -> Result<SecretKey> {
    slip10::derive_wallet_key(seed, ACCOUNT, change, index)
}

/// Encoded sizes used to predict a transaction's size from its template.
fn input_len() -> usize {
    TxIn {
        prev: OutPoint::default(),
        pubkey: PublicKey::default(),
        signature: Signature::default(),
    }
    .to_bytes()
    .len()
}

fn output_len() -> usize {
    TxOut {
        amount: Amount::ZERO,
        address: Address::default(),
    }
    .to_bytes()
    .len()
}

/// The result of coin selection.
struct Selection {
    inputs: Vec<WalletUtxo>,
    fee: Amount,
    change: Amount,
    size: usize,
}

/// Largest-first selection of `spendable` to pay `target` plus the fee of `template` (which
/// holds the fixed outputs and kind, no inputs) at `fee_rate`, with a change output when the
/// change is at least [`DUST_LIMIT`].
fn select_coins(
    mut spendable: Vec<WalletUtxo>,
    target: Amount,
    template: &Transaction,
    fee_rate: u64,
) -> Result<Selection> {
    spendable.sort_by(|a, b| {
        b.output
            .amount
            .cmp(&a.output.amount)
            .then(a.outpoint.cmp(&b.outpoint))
    });
    let base = template.size();
    let (in_len, out_len) = (input_len(), output_len());
    let fee_for = |size: usize| -> Result<Amount> {
        fee_rate
            .checked_mul(size as u64)
            .map(Amount)
            .ok_or(WalletError::Overflow)
    };
    let available = Amount::checked_sum(spendable.iter().map(|u| u.output.amount))
        .ok_or(WalletError::Overflow)?;
    let mut total = Amount::ZERO;
    for k in 1..=spendable.len() {
        total = total
            .checked_add(spendable[k - 1].output.amount)
            .ok_or(WalletError::Overflow)?;
        let size_nc = base + k * in_len;
        let size_c = size_nc + out_len;
        if size_nc > MAX_TX_SIZE {
            return Err(WalletError::TooManyInputs { inputs: k });
        }
        let fee_nc = fee_for(size_nc)?;
        let fee_c = fee_for(size_c)?;
        let need_c = target
            .checked_add(fee_c)
            .and_then(|x| x.checked_add(DUST_LIMIT))
            .ok_or(WalletError::Overflow)?;
        if total >= need_c && size_c <= MAX_TX_SIZE {
            let change = Amount(total.0 - target.0 - fee_c.0);
            spendable.truncate(k);
            return Ok(Selection {
                inputs: spendable,
                fee: fee_c,
                change,
                size: size_c,
            });
        }
        let need_nc = target.checked_add(fee_nc).ok_or(WalletError::Overflow)?;
        if total >= need_nc {
            spendable.truncate(k);
            return Ok(Selection {
                inputs: spendable,
                fee: Amount(total.0 - target.0),
                change: Amount::ZERO,
                size: size_nc,
            });
        }
    }
    let k = spendable.len().max(1);
    let needed = target
        .checked_add(fee_for(base + k * in_len)?)
        .ok_or(WalletError::Overflow)?;
    Err(WalletError::InsufficientFunds { needed, available })
}

impl Wallet {
    fn empty_state(name: &str) -> State {
        State {
            name: name.to_string(),
            ..State::default()
        }
    }

    fn name_from_path(path: &Path) -> String {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "wallet".to_string())
    }

    fn init_file(
        path: &Path,
        entropy: &[u8; 32],
        passphrase: &str,
        network: Network,
        kdf: KdfParams,
    ) -> Result<Wallet> {
        if path.exists() {
            return Err(WalletError::AlreadyExists(path.to_path_buf()));
        }
        kdf.check()?;
        let file = keystore::seal(entropy, passphrase, network, kdf)?;
        let mut w = Wallet {
            network,
            store: Store::File(path.to_path_buf()),
            state: Self::empty_state(&Self::name_from_path(path)),
            unlocked: None,
            max_fee: DEFAULT_MAX_FEE,
        };
        let seed = mnemonic::seed_from_entropy(entropy, "");
        w.push_address(&seed, false, "default")?;
        // State first: a keystore without state is rebuilt on unlock; the reverse is unusable.
        w.save()?;
        keystore::write_new(path, &file)?;
        tracing::info!(target: "wallet", path = %path.display(), %network, "wallet created");
        Ok(w)
    }

    /// Creates a new wallet file at `path` (refusing to overwrite one) encrypted with
    /// `passphrase`, and returns it (locked) with its 24 recovery words, to show to the user
    /// once.
    pub fn create(
        path: &Path,
        passphrase: &str,
        network: Network,
        kdf: KdfParams,
    ) -> Result<(Wallet, Zeroizing<String>)> {
        let (entropy, words) = mnemonic::generate();
        let w = Self::init_file(path, &entropy, passphrase, network, kdf)?;
        Ok((w, words))
    }

    /// Restores a wallet from its 24 recovery words into a new file at `path` (refusing to
    /// overwrite one); returned locked.
    pub fn restore(
        path: &Path,
        words: &str,
        passphrase: &str,
        network: Network,
        kdf: KdfParams,
    ) -> Result<Wallet> {
        let entropy = mnemonic::parse(words)?;
        Self::init_file(path, &entropy, passphrase, network, kdf)
    }

    /// Opens a wallet file, locked. Checks the file's structure, checksum, network and KDF caps
    /// (no key derivation). Reads `<file>.meta.json` when present.
    pub fn open(path: &Path, network: Network) -> Result<Wallet> {
        let bytes = keystore::read_wallet_file(path)?;
        let header = keystore::parse(&bytes)?;
        if header.network != network {
            return Err(WalletError::WrongNetwork {
                found: header.network,
                expected: network,
            });
        }
        let mp = meta_path(path);
        let state = match keystore::read_limited(&mp, MAX_META) {
            Ok(b) => State::from_json(&b, network, &mp)?,
            Err(WalletError::NotFound(_)) => Self::empty_state(&Self::name_from_path(path)),
            Err(e) => return Err(e),
        };
        Ok(Wallet {
            network,
            store: Store::File(path.to_path_buf()),
            state,
            unlocked: None,
            max_fee: DEFAULT_MAX_FEE,
        })
    }

    /// The insecure devnet faucet wallet from [`DEVNET_FAUCET_MNEMONIC`]: in memory, unlocked
    /// without a timeout, named [`DEVNET_FAUCET_NAME`]. Refused on other networks.
    pub fn devnet_faucet(network: Network) -> Result<Wallet> {
        if network != Network::Devnet {
            return Err(WalletError::FaucetNotDevnet(network));
        }
        let entropy = mnemonic::parse(DEVNET_FAUCET_MNEMONIC)?;
        let seed = mnemonic::seed_from_entropy(&entropy, "");
        let mut w = Wallet {
            network,
            store: Store::Memory(entropy),
            state: Self::empty_state(DEVNET_FAUCET_NAME),
            unlocked: None,
            max_fee: DEFAULT_MAX_FEE,
        };
        w.push_address(&seed, false, "faucet")?;
        w.unlocked = Some(Unlocked {
            seed,
            deadline: None,
        });
        Ok(w)
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The wallet's name (file stem, or [`DEVNET_FAUCET_NAME`]).
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The wallet file, if any.
    pub fn path(&self) -> Option<&Path> {
        match &self.store {
            Store::File(p) => Some(p),
            Store::Memory(_) | Store::Scratch => None,
        }
    }

    /// Whether this is the insecure in-memory devnet faucet.
    pub fn is_insecure_faucet(&self) -> bool {
        matches!(self.store, Store::Memory(_))
    }

    fn save(&self) -> Result<()> {
        if let Store::File(p) = &self.store {
            keystore::write_atomic(&meta_path(p), &self.state.to_json(self.network))?;
        }
        Ok(())
    }

    fn decrypt_entropy(&self, passphrase: &str) -> Result<Zeroizing<[u8; 32]>> {
        match &self.store {
            Store::File(path) => {
                let bytes = keystore::read_wallet_file(path)?;
                let (header, entropy) = keystore::open(&bytes, passphrase)?;
                if header.network != self.network {
                    return Err(WalletError::WrongNetwork {
                        found: header.network,
                        expected: self.network,
                    });
                }
                Ok(entropy)
            }
            Store::Memory(e) => Ok(e.clone()),
            Store::Scratch => Err(WalletError::NoFile("a dry-run copy cannot be unlocked")),
        }
    }

    /// [`Wallet::unlock_at`] with the current time.
    pub fn unlock(&mut self, passphrase: &str, auto_lock: Duration) -> Result<()> {
        self.unlock_at(passphrase, auto_lock, Instant::now())
    }

    /// Unlocks with `passphrase`. This runs the KDF (0.13 to 0.3 s and 64 MiB with the default
    /// parameters on the development machine): call it from a blocking thread, not from an
    /// async task.
    /// The wallet locks again at `now + auto_lock` when [`Wallet::tick`] sees that time;
    /// `Duration::ZERO` means no auto-lock. A wrong passphrase changes nothing. In-memory
    /// wallets (the faucet) accept any passphrase.
    pub fn unlock_at(&mut self, passphrase: &str, auto_lock: Duration, now: Instant) -> Result<()> {
        let entropy = self.decrypt_entropy(passphrase)?;
        let seed = mnemonic::seed_from_entropy(&entropy, "");
        if !self.state.addresses.iter().any(|a| !a.change) {
            // State file lost: start the receive chain again.
            self.push_address(&seed, false, "default")?;
            self.save()?;
        }
        let deadline = if auto_lock.is_zero() {
            None
        } else {
            now.checked_add(auto_lock)
        };
        self.unlocked = Some(Unlocked { seed, deadline });
        tracing::info!(target: "wallet", name = %self.state.name, "wallet unlocked");
        Ok(())
    }

    /// Locks: forgets the seed (zeroized).
    pub fn lock(&mut self) {
        if self.unlocked.take().is_some() {
            tracing::info!(target: "wallet", name = %self.state.name, "wallet locked");
        }
    }

    /// Whether the wallet is locked.
    pub fn is_locked(&self) -> bool {
        self.unlocked.is_none()
    }

    /// Time left before the auto-lock at `now`; `None` when locked or without auto-lock.
    pub fn auto_lock_remaining(&self, now: Instant) -> Option<Duration> {
        let d = self.unlocked.as_ref()?.deadline?;
        Some(d.saturating_duration_since(now))
    }

    /// Locks the wallet if its auto-lock time has come at `now`; returns whether it locked.
    pub fn tick(&mut self, now: Instant) -> bool {
        let expired = matches!(
            self.unlocked.as_ref().and_then(|u| u.deadline),
            Some(d) if now >= d
        );
        if expired {
            self.lock();
        }
        expired
    }

    /// The seed, if unlocked and not past the auto-lock deadline (checked against the real
    /// clock as a safety net; the owner is expected to call [`Wallet::tick`]).
    fn seed(&mut self) -> Result<Zeroizing<[u8; 64]>> {
        self.tick(Instant::now());
        self.unlocked
            .as_ref()
            .map(|u| u.seed.clone())
            .ok_or(WalletError::Locked)
    }

    /// Checks `passphrase` against the wallet file without unlocking (runs the KDF): `Ok` or
    /// [`WalletError::WrongPassphrase`]. The faucet accepts any passphrase.
    pub fn check_passphrase(&self, passphrase: &str) -> Result<()> {
        self.decrypt_entropy(passphrase).map(drop)
    }

    /// The 24 recovery words, after checking `passphrase` against the file (works while
    /// locked; runs the KDF). The faucet returns its public phrase.
    pub fn reveal_mnemonic(&self, passphrase: &str) -> Result<Zeroizing<String>> {
        let entropy = self.decrypt_entropy(passphrase)?;
        mnemonic::phrase_from_entropy(entropy.as_ref())
    }

    /// Re-encrypts the wallet file under `new` with `kdf`. The backup `<file>.bak` is
    /// re-encrypted too (it gets the new file): a backup still under `old` would let the old
    /// passphrase open the wallet after the change. A wrong `old` passphrase changes nothing.
    pub fn change_passphrase(&mut self, old: &str, new: &str, kdf: KdfParams) -> Result<()> {
        kdf.check()?;
        let Store::File(path) = &self.store else {
            return Err(WalletError::NoFile("the devnet faucet has no passphrase"));
        };
        let entropy = self.decrypt_entropy(old)?;
        let file = keystore::seal(&entropy, new, self.network, kdf)?;
        keystore::write_replacing_backup(path, &file)?;
        tracing::info!(target: "wallet", "wallet passphrase changed");
        Ok(())
    }

    fn push_address(&mut self, seed: &[u8; 64], change: bool, label: &str) -> Result<AddressEntry> {
        let index = if change {
            self.state.next_change
        } else {
            self.state.next_receive
        };
        let key = derive(seed, change, index)?;
        let pubkey = key.public();
        let entry = AddressEntry {
            address: Address::from_pubkey(&pubkey),
            label: label.to_string(),
            change,
            index,
            pubkey,
        };
        self.state.addresses.push(entry.clone());
        let next = index
            .checked_add(1)
            .ok_or_else(|| WalletError::Derivation("address index exhausted".to_string()))?;
        if change {
            self.state.next_change = next;
        } else {
            self.state.next_receive = next;
        }
        Ok(entry)
    }

    /// A fresh receive address with `label` (needs the wallet unlocked).
    pub fn new_address(&mut self, label: &str) -> Result<Address> {
        let seed = self.seed()?;
        let e = self.push_address(&seed, false, label)?;
        self.save()?;
        Ok(e.address)
    }

    /// A fresh change address (needs the wallet unlocked). Sends take one automatically.
    pub fn new_change_address(&mut self) -> Result<Address> {
        let seed = self.seed()?;
        let e = self.push_address(&seed, true, "change")?;
        self.save()?;
        Ok(e.address)
    }

    /// The newest receive address (shown on the receive screen, also while locked).
    pub fn receive_address(&self) -> Option<Address> {
        self.state
            .addresses
            .iter()
            .rev()
            .find(|a| !a.change)
            .map(|a| a.address)
    }

    /// All own addresses, receive and change, in creation order.
    pub fn addresses(&self) -> Vec<AddressEntry> {
        self.state.addresses.clone()
    }

    /// Whether `a` is one of the wallet's addresses.
    pub fn is_mine(&self, a: &Address) -> bool {
        self.state.addresses.iter().any(|e| e.address == *a)
    }

    /// Sets the label of an own address.
    pub fn set_label(&mut self, address: &Address, label: &str) -> Result<()> {
        if let Some(e) = self
            .state
            .addresses
            .iter_mut()
            .find(|e| e.address == *address)
        {
            e.label = label.to_string();
            self.save()?;
        }
        Ok(())
    }

    /// Adds `address` to the address book as `label` (replacing the label of a known address).
    pub fn add_contact(&mut self, label: &str, address: Address) -> Result<()> {
        match self
            .state
            .contacts
            .iter_mut()
            .find(|c| c.address == address)
        {
            Some(c) => c.label = label.to_string(),
            None => self.state.contacts.push(Contact {
                label: label.to_string(),
                address,
            }),
        }
        self.save()
    }

    /// Removes a contact; returns whether it existed.
    pub fn remove_contact(&mut self, address: &Address) -> Result<bool> {
        let before = self.state.contacts.len();
        self.state.contacts.retain(|c| c.address != *address);
        let removed = self.state.contacts.len() != before;
        if removed {
            self.save()?;
        }
        Ok(removed)
    }

    /// The address book.
    pub fn contacts(&self) -> Vec<Contact> {
        self.state.contacts.clone()
    }

    fn own_addrs(&self) -> Vec<Address> {
        self.state.addresses.iter().map(|a| a.address).collect()
    }

    fn entry_for(&self, a: &Address) -> Option<&AddressEntry> {
        self.state.addresses.iter().find(|e| e.address == *a)
    }

    /// Outpoints held as masternode collateral (reserved or registered).
    fn collateral_set(&self) -> HashSet<OutPoint> {
        self.state.collaterals.iter().map(|c| c.outpoint).collect()
    }

    /// Outpoints spent by own transactions the node has in its mempool.
    fn own_pending_inputs(&self, chain: &dyn WalletChain) -> HashSet<OutPoint> {
        self.state
            .history
            .iter()
            .filter(|r| chain.tx_status(&r.txid) == ChainTxStatus::Pending)
            .flat_map(|r| r.inputs.iter().copied())
            .collect()
    }

    /// Final outputs that a send may spend.
    fn spendable(&self, chain: &dyn WalletChain, exclude: &HashSet<OutPoint>) -> Vec<WalletUtxo> {
        let pending = self.own_pending_inputs(chain);
        chain
            .utxos(&self.own_addrs())
            .into_iter()
            .filter(|u| {
                u.height.is_some()
                    && self.is_mine(&u.output.address)
                    && !exclude.contains(&u.outpoint)
                    && !pending.contains(&u.outpoint)
                    && !chain.spent_in_mempool(&u.outpoint)
            })
            .collect()
    }

    /// Balances as defined on [`Balances`].
    pub fn balances(&self, chain: &dyn WalletChain) -> Balances {
        let coll = self.collateral_set();
        let mut b = Balances::default();
        let add = |x: &mut Amount, v: Amount| *x = x.checked_add(v).unwrap_or(Amount(u64::MAX));
        for u in chain.utxos(&self.own_addrs()) {
            if !self.is_mine(&u.output.address) {
                continue;
            }
            let spent = chain.spent_in_mempool(&u.outpoint);
            match (u.height, spent) {
                (Some(_), false) => {
                    add(&mut b.finalized, u.output.amount);
                    if coll.contains(&u.outpoint) {
                        add(&mut b.collateral, u.output.amount);
                    }
                }
                (Some(_), true) => add(&mut b.outgoing, u.output.amount),
                (None, false) => add(&mut b.pending, u.output.amount),
                (None, true) => {}
            }
        }
        b
    }

    fn check_fee_rate(chain: &dyn WalletChain, fee_rate: u64) -> Result<()> {
        let min = chain.min_fee_rate();
        if fee_rate < min {
            return Err(WalletError::FeeTooLow { fee_rate, min });
        }
        Ok(())
    }

    /// Refuses a fee above the cap (see [`Wallet::set_max_fee`]).
    fn check_fee(&self, fee: Amount) -> Result<()> {
        if fee > self.max_fee {
            return Err(WalletError::FeeAboveMax {
                fee,
                max: self.max_fee,
            });
        }
        Ok(())
    }

    /// The highest fee a send (or masternode transaction) may pay; one that would pay more is
    /// refused with [`WalletError::FeeAboveMax`] before anything is signed. The node sets it
    /// from `[wallet] max_fee`; [`DEFAULT_MAX_FEE`] until then.
    pub fn set_max_fee(&mut self, max: Amount) {
        self.max_fee = max;
    }

    /// The change address a transaction would use now (not yet reserved).
    fn peek_change(&self, seed: &[u8; 64]) -> Result<(u32, Address)> {
        let index = self.state.next_change;
        let key = derive(seed, true, index)?;
        Ok((index, Address::from_pubkey(&key.public())))
    }

    fn reserve_change(&mut self, seed: &[u8; 64], index: u32) -> Result<()> {
        if self
            .state
            .addresses
            .iter()
            .any(|a| a.change && a.index == index)
        {
            return Ok(());
        }
        let saved = self.state.next_change;
        self.state.next_change = index;
        self.push_address(seed, true, "change")?;
        self.state.next_change = self.state.next_change.max(saved);
        Ok(())
    }

    /// Builds the inputs (unsigned) of `template` from `sel`.
    fn fill_inputs(&self, tx: &mut Transaction, sel: &Selection) -> Result<()> {
        tx.inputs = sel
            .inputs
            .iter()
            .map(|u| {
                let e = self
                    .entry_for(&u.output.address)
                    .ok_or(WalletError::UnknownInput(u.outpoint))?;
                Ok(TxIn {
                    prev: u.outpoint,
                    pubkey: e.pubkey,
                    signature: Signature::default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(())
    }

    /// Signs every input (and the masternode owner part with `owner`).
    fn sign(
        &self,
        seed: &[u8; 64],
        tx: &mut Transaction,
        chain_id: &Hash,
        owner: Option<&AddressEntry>,
    ) -> Result<()> {
        let mut keys = Vec::with_capacity(tx.inputs.len());
        for i in &tx.inputs {
            let e = self
                .state
                .addresses
                .iter()
                .find(|e| e.pubkey == i.pubkey)
                .ok_or(WalletError::UnknownInput(i.prev))?;
            keys.push(derive(seed, e.change, e.index)?);
        }
        let owner_key = match owner {
            Some(e) => Some(derive(seed, e.change, e.index)?),
            None => None,
        };
        let refs: Vec<&SecretKey> = keys.iter().collect();
        tx.sign_inputs(chain_id, &refs, owner_key.as_ref());
        Ok(())
    }

    fn record(
        &mut self,
        tx: &Transaction,
        direction: Direction,
        amount: Amount,
        fee: Amount,
        memo: &str,
    ) {
        self.state.history.push(TxRecord {
            txid: tx.txid(),
            inputs: tx.inputs.iter().map(|i| i.prev).collect(),
            raw: tx.to_bytes(),
            direction,
            amount,
            fee,
            time: unix_now(),
            memo: memo.to_string(),
        });
    }

    /// Prepares a payment of `amount` to `to` at `fee_rate` base units per byte: selects coins,
    /// computes the exact fee and the change (to a fresh change address; none below
    /// [`DUST_LIMIT`], which then goes to the fee). Nothing is signed or stored until
    /// [`Wallet::confirm_send`].
    pub fn prepare_send(
        &mut self,
        chain: &dyn WalletChain,
        to: Address,
        amount: Amount,
        fee_rate: u64,
    ) -> Result<SendPreview> {
        let seed = self.seed()?;
        Self::check_fee_rate(chain, fee_rate)?;
        if amount < DUST_LIMIT {
            return Err(WalletError::AmountTooSmall {
                amount,
                dust: DUST_LIMIT,
            });
        }
        let mut tx = Transaction {
            version: crate::types::tx::TX_VERSION,
            inputs: Vec::new(),
            outputs: vec![TxOut {
                amount,
                address: to,
            }],
            lock_time: 0,
            kind: TxKind::Transfer,
        };
        let spendable = self.spendable(chain, &self.collateral_set());
        let sel = select_coins(spendable, amount, &tx, fee_rate)?;
        self.check_fee(sel.fee)?;
        self.fill_inputs(&mut tx, &sel)?;
        let mut change_address = None;
        let mut change_index = None;
        if sel.change > Amount::ZERO {
            let (idx, addr) = self.peek_change(&seed)?;
            tx.outputs.push(TxOut {
                amount: sel.change,
                address: addr,
            });
            change_address = Some(addr);
            change_index = Some(idx);
        }
        debug_assert_eq!(tx.size(), sel.size);
        Ok(SendPreview {
            recipient: to,
            amount,
            fee: sel.fee,
            change: sel.change,
            change_address,
            inputs: sel.inputs,
            size: tx.size(),
            fee_rate,
            tx,
            chain_id: chain.chain_id(),
            change_index,
        })
    }

    /// Signs a prepared send, records it in the history as pending and returns the transaction
    /// to submit to the node.
    pub fn confirm_send(&mut self, preview: SendPreview) -> Result<Transaction> {
        let seed = self.seed()?;
        let mut tx = preview.tx;
        if let Some(idx) = preview.change_index {
            self.reserve_change(&seed, idx)?;
        }
        self.sign(&seed, &mut tx, &preview.chain_id, None)?;
        let direction = if self.is_mine(&preview.recipient) {
            Direction::SelfTransfer
        } else {
            Direction::Outgoing
        };
        self.record(&tx, direction, preview.amount, preview.fee, "payment");
        self.save()?;
        tracing::info!(target: "wallet", txid = %tx.txid().short(), amount = %preview.amount, fee = %preview.fee, "send signed");
        Ok(tx)
    }

    /// The history: own transactions (newest first) with their status now, then incoming
    /// payments whose outputs are still unspent (pending first, then by height, newest first).
    /// An incoming entry's amount is what its transaction moved for this wallet (see
    /// [`WalletChain::transaction`]), not what is left unspent of it.
    pub fn history(&self, chain: &dyn WalletChain) -> Vec<HistoryEntry> {
        let utxos = chain.utxos(&self.own_addrs());
        let unspent: HashSet<OutPoint> = utxos.iter().map(|u| u.outpoint).collect();
        let own: HashSet<Hash> = self.state.history.iter().map(|r| r.txid).collect();
        let mut out: Vec<HistoryEntry> = self
            .state
            .history
            .iter()
            .rev()
            .map(|r| {
                let status = match chain.tx_status(&r.txid) {
                    ChainTxStatus::Final { height } => TxStatus::Final { height },
                    ChainTxStatus::Pending => TxStatus::Pending,
                    ChainTxStatus::Unknown => {
                        if r.inputs
                            .iter()
                            .any(|i| !unspent.contains(i) || chain.spent_in_mempool(i))
                        {
                            TxStatus::Conflicted
                        } else {
                            TxStatus::Dropped
                        }
                    }
                };
                HistoryEntry {
                    txid: r.txid,
                    direction: r.direction,
                    amount: r.amount,
                    fee: Some(r.fee),
                    status,
                    time: Some(r.time),
                    memo: r.memo.clone(),
                }
            })
            .collect();
        let mut incoming: BTreeMap<Hash, (Amount, Option<u64>)> = BTreeMap::new();
        for u in utxos {
            if own.contains(&u.outpoint.txid) || !self.is_mine(&u.output.address) {
                continue;
            }
            let e = incoming
                .entry(u.outpoint.txid)
                .or_insert((Amount::ZERO, u.height));
            e.0 = e.0.checked_add(u.output.amount).unwrap_or(Amount(u64::MAX));
        }
        let mut inc: Vec<(Hash, Amount, Option<u64>)> =
            incoming.into_iter().map(|(t, (a, h))| (t, a, h)).collect();
        inc.sort_by_key(|(t, _, h)| (std::cmp::Reverse(h.unwrap_or(u64::MAX)), *t));
        out.extend(inc.into_iter().map(|(txid, unspent_sum, h)| {
            let (direction, amount) = self
                .net_moved(chain, &txid)
                .unwrap_or((Direction::Incoming, unspent_sum));
            HistoryEntry {
                txid,
                direction,
                amount,
                fee: None,
                status: match h {
                    Some(height) => TxStatus::Final { height },
                    None => TxStatus::Pending,
                },
                time: None,
                memo: String::new(),
            }
        }));
        out
    }

    /// What transaction `txid` moved for this wallet, from the transaction itself: its outputs
    /// to own addresses less the own outputs its inputs spend, whatever has been spent since.
    /// `None` when the chain view lacks the transaction, or the output an own input spends.
    fn net_moved(&self, chain: &dyn WalletChain, txid: &Hash) -> Option<(Direction, Amount)> {
        let tx = chain.transaction(txid)?;
        let received = Amount::checked_sum(
            tx.outputs
                .iter()
                .filter(|o| self.is_mine(&o.address))
                .map(|o| o.amount),
        )?;
        let mut spent = Amount::ZERO;
        for i in &tx.inputs {
            if !self.is_mine(&Address::from_pubkey(&i.pubkey)) {
                continue;
            }
            let prev = chain.transaction(&i.prev.txid)?;
            let out = prev.outputs.get(usize::try_from(i.prev.index).ok()?)?;
            spent = spent.checked_add(out.amount)?;
        }
        Some(match received.checked_sub(spent) {
            Some(net) => (Direction::Incoming, net),
            None => (Direction::Outgoing, spent.checked_sub(received)?),
        })
    }

    /// The signed bytes of an own transaction (to submit it again, e.g. after it was dropped).
    pub fn raw_transaction(&self, txid: &Hash) -> Option<Vec<u8>> {
        self.state
            .history
            .iter()
            .find(|r| r.txid == *txid)
            .map(|r| r.raw.clone())
    }

    /// Builds, funds (fee from spendable outputs, never from `exclude`), signs and records a
    /// transaction with `outputs` and `kind`.
    #[allow(clippy::too_many_arguments)]
    fn build_signed(
        &mut self,
        chain: &dyn WalletChain,
        seed: &[u8; 64],
        outputs: Vec<TxOut>,
        kind: TxKind,
        owner: Option<&AddressEntry>,
        exclude: &HashSet<OutPoint>,
        memo: &str,
    ) -> Result<Transaction> {
        let fee_rate = chain.min_fee_rate();
        let target =
            Amount::checked_sum(outputs.iter().map(|o| o.amount)).ok_or(WalletError::Overflow)?;
        let mut tx = Transaction {
            version: crate::types::tx::TX_VERSION,
            inputs: Vec::new(),
            outputs,
            lock_time: 0,
            kind,
        };
        let sel = select_coins(self.spendable(chain, exclude), target, &tx, fee_rate)?;
        self.check_fee(sel.fee)?;
        self.fill_inputs(&mut tx, &sel)?;
        if sel.change > Amount::ZERO {
            let (idx, addr) = self.peek_change(seed)?;
            self.reserve_change(seed, idx)?;
            tx.outputs.push(TxOut {
                amount: sel.change,
                address: addr,
            });
        }
        debug_assert_eq!(tx.size(), sel.size);
        self.sign(seed, &mut tx, &chain.chain_id(), owner)?;
        self.record(&tx, Direction::SelfTransfer, target, sel.fee, memo);
        Ok(tx)
    }

    /// Masternode registration, in up to two steps (fees at the node's minimum fee rate):
    ///
    /// 1. Without a final, unused output of exactly `tier.collateral()`, returns
    ///    [`MasternodeStep::FundCollateral`]: a signed self-transfer of the exact collateral to
    ///    a fresh receive address labelled "masternode collateral". Submit it and wait until it
    ///    is final (calling again before that gives [`WalletError::CollateralPending`]).
    /// 2. Then returns [`MasternodeStep::Register`]: a registration transaction referencing that
    ///    output, signed by the collateral address's key as owner, its fee paid from other
    ///    outputs. The payout defaults to the collateral address.
    ///
    /// The collateral output is excluded from coin selection from step 1 on, so sends never
    /// spend it by accident (spending it ends the masternode).
    ///
    /// With `chosen`, only that output may be the collateral: it must be a final, unspent
    /// output of this wallet holding exactly the tier's collateral, not registered and not
    /// being spent ([`WalletError::BadCollateral`] says which check failed); no funding
    /// transfer is made for it.
    pub fn prepare_register_masternode(
        &mut self,
        chain: &dyn WalletChain,
        tier: Tier,
        node_key: PublicKey,
        p2p_addr: &str,
        payout: Option<Address>,
        chosen: Option<OutPoint>,
    ) -> Result<MasternodeStep> {
        let seed = self.seed()?;
        if tier == Tier::Free {
            return Err(WalletError::FreeTier);
        }
        if p2p_addr.is_empty() || p2p_addr.len() > MAX_P2P_ADDR_LEN {
            return Err(WalletError::InvalidInput(format!(
                "masternode p2p address must be 1 to {MAX_P2P_ADDR_LEN} bytes (host:port)"
            )));
        }
        let amount = tier.collateral();
        let registered: HashSet<OutPoint> = self
            .state
            .collaterals
            .iter()
            .filter(|c| {
                c.registration
                    .is_some_and(|t| !matches!(chain.tx_status(&t), ChainTxStatus::Unknown))
            })
            .map(|c| c.outpoint)
            .collect();
        let pending_own = self.own_pending_inputs(chain);
        if let Some(o) = chosen {
            let bad = |reason: String| WalletError::BadCollateral {
                outpoint: o,
                reason,
            };
            let u = chain
                .utxos(&self.own_addrs())
                .into_iter()
                .find(|u| u.outpoint == o)
                .ok_or_else(|| {
                    bad("it is not an unspent output of this wallet (see listunspent)".into())
                })?;
            if u.output.amount != amount {
                return Err(bad(format!(
                    "it holds {} TIME, a {} masternode needs exactly {amount} TIME",
                    u.output.amount,
                    tier.name()
                )));
            }
            if u.height.is_none() {
                return Err(WalletError::CollateralPending(o));
            }
            if registered.contains(&o) {
                return Err(bad("it already backs a masternode registration".into()));
            }
            if pending_own.contains(&o) || chain.spent_in_mempool(&o) {
                return Err(bad("a pending transaction spends it".into()));
            }
        }
        let candidates: Vec<WalletUtxo> = chain
            .utxos(&self.own_addrs())
            .into_iter()
            .filter(|u| {
                u.output.amount == amount
                    && self.is_mine(&u.output.address)
                    && !registered.contains(&u.outpoint)
                    && !pending_own.contains(&u.outpoint)
                    && !chain.spent_in_mempool(&u.outpoint)
                    && chosen.is_none_or(|o| o == u.outpoint)
            })
            .collect();
        // Prefer an output this wallet reserved for collateral.
        let reserved = self.collateral_set();
        let pick = candidates
            .iter()
            .filter(|u| u.height.is_some())
            .min_by_key(|u| (!reserved.contains(&u.outpoint), u.outpoint));
        let Some(coll) = pick.cloned() else {
            if let Some(p) = candidates.iter().find(|u| u.height.is_none()) {
                return Err(WalletError::CollateralPending(p.outpoint));
            }
            // Step 1: fund the exact collateral.
            let target = self.push_address(
                &seed,
                false,
                &format!("masternode collateral ({})", tier.name()),
            )?;
            let mut exclude = self.collateral_set();
            exclude.extend(registered.iter().copied());
            let tx = match self.build_signed(
                chain,
                &seed,
                vec![TxOut {
                    amount,
                    address: target.address,
                }],
                TxKind::Transfer,
                None,
                &exclude,
                "masternode collateral",
            ) {
                Ok(tx) => tx,
                Err(e) => {
                    // Give the address back: nothing was created.
                    self.state.addresses.pop();
                    self.state.next_receive -= 1;
                    return Err(e);
                }
            };
            let collateral = OutPoint {
                txid: tx.txid(),
                index: 0,
            };
            self.state.collaterals.push(CollateralRecord {
                outpoint: collateral,
                tier,
                registration: None,
            });
            self.save()?;
            return Ok(MasternodeStep::FundCollateral { tx, collateral });
        };
        let owner = self
            .entry_for(&coll.output.address)
            .cloned()
            .ok_or(WalletError::UnknownCollateral(coll.outpoint))?;
        let kind = TxKind::MasternodeRegister(MasternodeRegistration {
            collateral: coll.outpoint,
            tier,
            node_key,
            p2p_addr: p2p_addr.to_string(),
            payout: payout.unwrap_or(owner.address),
            owner: owner.pubkey,
            owner_signature: Signature::default(),
        });
        let mut exclude = self.collateral_set();
        exclude.insert(coll.outpoint);
        exclude.extend(registered.iter().copied());
        let tx = self.build_signed(
            chain,
            &seed,
            Vec::new(),
            kind,
            Some(&owner),
            &exclude,
            "masternode registration",
        )?;
        let txid = tx.txid();
        match self
            .state
            .collaterals
            .iter_mut()
            .find(|c| c.outpoint == coll.outpoint)
        {
            Some(c) => {
                c.registration = Some(txid);
                c.tier = tier;
            }
            None => self.state.collaterals.push(CollateralRecord {
                outpoint: coll.outpoint,
                tier,
                registration: Some(txid),
            }),
        }
        self.save()?;
        Ok(MasternodeStep::Register {
            tx,
            collateral: coll.outpoint,
        })
    }

    /// A signed masternode exit for the masternode with `collateral` (an unspent output of this
    /// wallet), signed by its owner key, fee from other outputs at the node's minimum fee rate.
    /// The collateral is released for ordinary sends.
    pub fn prepare_exit_masternode(
        &mut self,
        chain: &dyn WalletChain,
        collateral: OutPoint,
    ) -> Result<Transaction> {
        let tx = self.sign_as_owner(chain, collateral, "masternode exit", |owner| {
            TxKind::MasternodeExit(MasternodeExit {
                collateral,
                owner,
                owner_signature: Signature::default(),
            })
        })?;
        self.state.collaterals.retain(|c| c.outpoint != collateral);
        self.save()?;
        Ok(tx)
    }

    /// Builds, funds from other outputs (never a collateral), signs and records the masternode
    /// transaction `kind(owner key)` for `collateral`, an unspent output of this wallet, with
    /// its owner's signature. The caller saves.
    fn sign_as_owner(
        &mut self,
        chain: &dyn WalletChain,
        collateral: OutPoint,
        memo: &str,
        kind: impl FnOnce(PublicKey) -> TxKind,
    ) -> Result<Transaction> {
        let seed = self.seed()?;
        let utxo = chain
            .utxos(&self.own_addrs())
            .into_iter()
            .find(|u| u.outpoint == collateral)
            .ok_or(WalletError::UnknownCollateral(collateral))?;
        let owner = self
            .entry_for(&utxo.output.address)
            .cloned()
            .ok_or(WalletError::UnknownCollateral(collateral))?;
        let mut exclude = self.collateral_set();
        exclude.insert(collateral);
        self.build_signed(
            chain,
            &seed,
            Vec::new(),
            kind(owner.pubkey),
            Some(&owner),
            &exclude,
            memo,
        )
    }

    /// A signed masternode update (new p2p address and/or payout; `None` keeps the registered
    /// one, `current` being what the chain holds now) for the masternode with `collateral`, an
    /// unspent output of this wallet, signed by its owner key, fee from other outputs at the
    /// node's minimum fee rate.
    pub fn prepare_update_masternode(
        &mut self,
        chain: &dyn WalletChain,
        collateral: OutPoint,
        current: (&str, Address),
        p2p_addr: Option<&str>,
        payout: Option<Address>,
    ) -> Result<Transaction> {
        let p2p_addr = p2p_addr.unwrap_or(current.0);
        if p2p_addr.is_empty() || p2p_addr.len() > MAX_P2P_ADDR_LEN {
            return Err(WalletError::InvalidInput(format!(
                "masternode p2p address must be 1 to {MAX_P2P_ADDR_LEN} bytes (host:port)"
            )));
        }
        let tx = self.sign_as_owner(chain, collateral, "masternode update", |owner| {
            TxKind::MasternodeUpdate(MasternodeUpdate {
                collateral,
                p2p_addr: p2p_addr.to_string(),
                payout: payout.unwrap_or(current.1),
                owner,
                owner_signature: Signature::default(),
            })
        })?;
        self.save()?;
        Ok(tx)
    }

    /// Runs `step` on a throwaway copy of this wallet (same addresses, history, collateral
    /// records and lock state) that is never written, and returns what it built: a preview of
    /// a step that signs and records, e.g. [`Wallet::prepare_register_masternode`], with no
    /// trace in this wallet. Signing is deterministic, so the same step on this wallet with
    /// the same chain data builds the same transaction (same txid): a caller can preview,
    /// ask, then insist on that txid.
    pub fn dry_run<T>(&self, step: impl FnOnce(&mut Wallet) -> Result<T>) -> Result<T> {
        let mut copy = Wallet {
            network: self.network,
            store: Store::Scratch,
            state: self.state.clone(),
            unlocked: self.unlocked.as_ref().map(|u| Unlocked {
                seed: u.seed.clone(),
                deadline: u.deadline,
            }),
            max_fee: self.max_fee,
        };
        step(&mut copy)
    }

    /// Finds used addresses beyond the known ones (after a restore): scans the receive and the
    /// change chain in windows of `gap` addresses, adopting every address up to the last one
    /// that holds unspent outputs, until a whole window is unused. Needs the wallet unlocked.
    /// Returns how many addresses were added. Only unspent outputs are visible to the wallet,
    /// so addresses whose coins were all spent are not found (their history is not needed).
    pub fn discover(&mut self, chain: &dyn WalletChain, gap: u32) -> Result<usize> {
        let mut added = 0;
        for change in [false, true] {
            loop {
                let window = self.discovery_window(change, gap)?;
                let used: HashSet<Address> = chain
                    .utxos(&window)
                    .into_iter()
                    .map(|u| u.output.address)
                    .collect();
                let n = self.adopt_used(change, &window, &used)?;
                if n == 0 {
                    break;
                }
                added += n;
            }
        }
        Ok(added)
    }

    /// The next `gap` (1 to 1,000) unknown addresses of the receive or change chain, for
    /// [`Wallet::discover`] or a caller that looks them up asynchronously. Needs the wallet
    /// unlocked.
    pub fn discovery_window(&mut self, change: bool, gap: u32) -> Result<Vec<Address>> {
        let seed = self.seed()?;
        let start = if change {
            self.state.next_change
        } else {
            self.state.next_receive
        };
        let mut window = Vec::new();
        for i in 0..gap.clamp(1, 1_000) {
            let Some(index) = start.checked_add(i) else {
                break;
            };
            window.push(Address::from_pubkey(
                &derive(&seed, change, index)?.public(),
            ));
        }
        Ok(window)
    }

    /// Adopts the addresses of `window` (from [`Wallet::discovery_window`]) up to the last one
    /// in `used`, and saves; returns how many were added (0: the window is unused).
    pub fn adopt_used(
        &mut self,
        change: bool,
        window: &[Address],
        used: &HashSet<Address>,
    ) -> Result<usize> {
        let Some(last) = window.iter().rposition(|a| used.contains(a)) else {
            return Ok(0);
        };
        let seed = self.seed()?;
        for _ in 0..=last {
            self.push_address(&seed, change, if change { "change" } else { "" })?;
        }
        self.save()?;
        tracing::info!(target: "wallet", added = last + 1, change, "addresses discovered");
        Ok(last + 1)
    }

    /// A `timecoin:` payment URI for the newest receive address (for the receive screen's QR
    /// code), with an optional amount and label.
    pub fn receive_uri(&self, amount: Option<Amount>, label: Option<&str>) -> Option<String> {
        let address = self.receive_address()?;
        Some(
            crate::types::PaymentUri {
                address,
                amount,
                label: label.map(str::to_string),
            }
            .format(self.network),
        )
    }

    /// Records as collateral every registered masternode in `registry` (collateral, tier,
    /// owner key) that one of this wallet's keys owns and that the wallet does not know as
    /// collateral yet, so that sends never spend it: a wallet rebuilt from its mnemonic (the
    /// devnet faucet at every start, a restore) has lost its records, not its masternodes.
    /// Saves when it added any; returns how many.
    pub fn adopt_collaterals(&mut self, registry: &[(OutPoint, Tier, PublicKey)]) -> Result<usize> {
        let mut added = 0;
        for (outpoint, tier, owner) in registry {
            let ours = self.state.addresses.iter().any(|a| a.pubkey == *owner);
            let known = self
                .state
                .collaterals
                .iter()
                .any(|c| c.outpoint == *outpoint);
            if ours && !known {
                self.state.collaterals.push(CollateralRecord {
                    outpoint: *outpoint,
                    tier: *tier,
                    registration: None,
                });
                added += 1;
            }
        }
        if added > 0 {
            self.save()?;
            tracing::info!(target: "wallet", added, "registered masternode collateral found on the chain");
        }
        Ok(added)
    }

    /// Collateral outputs the wallet holds: (outpoint, tier, registration txid if any).
    pub fn collaterals(&self) -> Vec<(OutPoint, Tier, Option<Hash>)> {
        self.state
            .collaterals
            .iter()
            .map(|c| (c.outpoint, c.tier, c.registration))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utxo(i: u32, amount: u64) -> WalletUtxo {
        WalletUtxo {
            outpoint: OutPoint {
                txid: Hash::ZERO,
                index: i,
            },
            output: TxOut {
                amount: Amount(amount),
                address: Address::default(),
            },
            height: Some(1),
        }
    }

    fn template(target: u64) -> Transaction {
        Transaction {
            version: crate::types::tx::TX_VERSION,
            inputs: Vec::new(),
            outputs: vec![TxOut {
                amount: Amount(target),
                address: Address::default(),
            }],
            lock_time: 0,
            kind: TxKind::Transfer,
        }
    }

    #[test]
    fn wallet_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Wallet>();
        check::<SendPreview>();
    }

    #[test]
    fn too_many_inputs_is_refused() {
        let coins: Vec<WalletUtxo> = (0..2_100).map(|i| utxo(i, 10_000)).collect();
        let r = select_coins(coins, Amount(2_050 * 10_000), &template(0), 0);
        assert!(
            matches!(r, Err(WalletError::TooManyInputs { .. })),
            "{:?}",
            r.err()
        );
    }

    proptest! {
        /// Selection pays exactly amount + fee + change, the fee covers the exact size, change
        /// is zero or at least the dust limit, fewer of the largest coins would not do, and an
        /// error means even all coins cannot pay.
        #[test]
        fn selection_invariants(
            amounts in proptest::collection::vec(1u64..5_000_000, 0..40),
            target in 1_000u64..50_000_000,
            rate in 0u64..50,
        ) {
            let coins: Vec<WalletUtxo> =
                amounts.iter().enumerate().map(|(i, a)| utxo(i as u32, *a)).collect();
            let t = template(target);
            let total: u64 = amounts.iter().sum();
            let base = t.size();
            match select_coins(coins, Amount(target), &t, rate) {
                Ok(sel) => {
                    let k = sel.inputs.len();
                    let ins: u64 = sel.inputs.iter().map(|u| u.output.amount.0).sum();
                    prop_assert_eq!(ins, target + sel.fee.0 + sel.change.0);
                    prop_assert!(sel.change.0 == 0 || sel.change >= DUST_LIMIT);
                    let size = base + k * input_len() + usize::from(sel.change.0 > 0) * output_len();
                    prop_assert_eq!(sel.size, size);
                    prop_assert!(sel.fee.0 >= rate * size as u64);
                    if sel.change.0 > 0 {
                        prop_assert_eq!(sel.fee.0, rate * size as u64);
                    } else {
                        prop_assert!(sel.fee.0 < rate * (size + output_len()) as u64 + DUST_LIMIT.0);
                    }
                    // Largest first: the k - 1 largest coins were not enough.
                    let mut sorted = amounts.clone();
                    sorted.sort_unstable_by(|a, b| b.cmp(a));
                    let prev: u64 = sorted[..k - 1].iter().sum();
                    prop_assert!(prev < target + rate * (base + (k - 1) * input_len()) as u64);
                }
                Err(WalletError::InsufficientFunds { needed, available }) => {
                    prop_assert_eq!(available.0, total);
                    prop_assert!(needed.0 > total);
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }
}
