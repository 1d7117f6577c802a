//! Key layout of the chain tree: one prefix byte per table.

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
    /// txid -> height (BE) + position (BE): the index as older versions wrote it, and as genesis
    /// and a reindex write it.
    TxIndex = b'T',
    /// run id (BE) + first txid -> a chunk of a sorted run of the index (see `tx_runs`).
    TxRun = b'R',
    /// chunk number (BE) -> a chunk of the state snapshot's UTXO set (see `state_snapshot`).
    Snapshot = b'S',
    /// name -> value.
    Meta = b'm',
}

/// Prefixes of tables older schemas had (2: UTXOs by address, masternodes); reindex drops them.
pub const LEGACY_PREFIXES: &[u8] = b"AM";

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
/// State snapshot header key.
pub const META_SNAPSHOT: &[u8] = b"snapshot";
/// Height up to which the transaction index is complete (see `tx_index`).
pub const META_TXINDEX_HEIGHT: &[u8] = b"txindex_height";
/// The transaction index's runs (see `tx_runs`).
pub const META_TXINDEX_RUNS: &[u8] = b"txindex_runs";

/// `table || k`.
pub fn key(t: Table, k: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + k.len());
    v.push(t as u8);
    v.extend_from_slice(k);
    v
}
