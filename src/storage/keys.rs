//! Key layout of the chain tree: one prefix byte per table.

use crate::types::{Address, Encode, OutPoint};

/// The tables inside the chain tree.
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub enum Table {
    /// height (BE) -> block.
    Block = b'B',
    /// height (BE) -> commit certificate.
    Cert = b'C',
    /// block hash -> height (BE).
    BlockIndex = b'H',
    /// txid -> height (BE) + position (BE).
    TxIndex = b'T',
    /// address + outpoint -> utxo: the UTXO set, indexed by address for wallets and RPC (the
    /// node looks UTXOs up by outpoint in its in-memory state, loaded from this table).
    Utxo = b'A',
    /// collateral outpoint -> masternode entry.
    Masternode = b'M',
    /// name -> value.
    Meta = b'm',
}

/// Schema version key.
pub const META_SCHEMA: &[u8] = b"schema";
/// Chain id key.
pub const META_CHAIN_ID: &[u8] = b"chain_id";
/// Tip (height, hash, time, commit hash) key.
pub const META_TIP: &[u8] = b"tip";
/// Total supply key.
pub const META_SUPPLY: &[u8] = b"supply";
/// UTXO counter key.
pub const META_UTXO_COUNT: &[u8] = b"utxo_count";

/// `table || k`.
pub fn key(t: Table, k: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + k.len());
    v.push(t as u8);
    v.extend_from_slice(k);
    v
}

/// Canonical outpoint bytes.
pub fn outpoint_key(o: &OutPoint) -> Vec<u8> {
    o.to_bytes()
}

/// UTXO key: address, then outpoint.
pub fn utxo_key(a: &Address, o: &OutPoint) -> Vec<u8> {
    let mut v = vec![Table::Utxo as u8];
    a.encode_to(&mut v);
    o.encode_to(&mut v);
    v
}
