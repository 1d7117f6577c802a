//! The in-memory chain state: UTXO set, masternode registry, tip and supply.

use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::id_map::{IdMap, IdSet};
use crate::types::tx::MAX_P2P_ADDR_LEN;
use crate::types::{
    Address, Amount, Domain, Hash, OutPoint, PublicKey, Tier, TxOut, Validator, ValidatorSet,
};
use std::collections::BTreeMap;

/// An unspent output and where it was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utxo {
    /// The output itself: value and owner address.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u64,
    /// Whether it was created by a coinbase.
    pub coinbase: bool,
}

/// A registered masternode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeEntry {
    /// Collateral outpoint (the masternode's identity on chain).
    pub collateral: OutPoint,
    /// Tier, fixed at registration; it gives the voting weight.
    pub tier: Tier,
    /// Consensus/p2p key; a registration reusing a registered key is refused.
    pub node_key: PublicKey,
    /// Where the node listens (host:port); an update changes it.
    pub p2p_addr: String,
    /// Address its block rewards are paid to; an update changes it.
    pub payout: Address,
    /// Key owning the collateral; it signs the masternode's update and exit.
    pub owner: PublicKey,
    /// Height of the registering block.
    pub registered_height: u64,
    /// First height at which it votes.
    pub active_from: u64,
    /// Banned for equivocation, for good: the entry outlives an exit or a spend of its
    /// collateral in the banning block and any later spend, so that its node key and
    /// collateral can never register again.
    pub banned: bool,
}

/// Registry state of a masternode at some height (the one rule the node's own status, the UI's
/// Masternodes tab and the RPC's `listmasternodes` read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasternodeState {
    /// Registered, activates 2 blocks after inclusion.
    Pending,
    /// In the active set (Free tier: relays without a vote).
    Active,
    /// Removed for equivocation.
    Banned,
}

impl MasternodeState {
    /// Upper-case name as Dash shows it.
    pub fn name(self) -> &'static str {
        match self {
            MasternodeState::Pending => "PENDING",
            MasternodeState::Active => "ENABLED",
            MasternodeState::Banned => "POSE_BANNED",
        }
    }
}

impl MasternodeEntry {
    /// Its state once the chain is final at `height` (it votes from `active_from` on, so it
    /// counts as active when the next height, `height + 1`, is one it votes in).
    pub fn state_at(&self, height: u64) -> MasternodeState {
        if self.banned {
            MasternodeState::Banned
        } else if self.active_from > height.saturating_add(1) {
            MasternodeState::Pending
        } else {
            MasternodeState::Active
        }
    }
}

/// Read access to unspent outputs.
pub trait UtxoView {
    /// The unspent output at `o`, if any.
    fn utxo(&self, o: &OutPoint) -> Option<Utxo>;
}

/// Everything a block changes. Storage persists the block (whose replay gives these effects)
/// atomically with its indexes and tip; the node applies them to its in-memory state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEffects {
    /// Height of the block.
    pub height: u64,
    /// Id of the block (its header hash).
    pub block_hash: Hash,
    /// Ids of its transactions in block order (coinbase first), computed once by validation so
    /// the mempool, storage and subscribers do not hash every transaction again.
    pub txids: Vec<Hash>,
    /// Outputs spent (with their former value, for indexes).
    pub spent: Vec<(OutPoint, Utxo)>,
    /// Outputs created, coinbase outputs included.
    pub created: Vec<(OutPoint, Utxo)>,
    /// Masternodes added or changed (full new entry).
    pub masternodes_upserted: Vec<MasternodeEntry>,
    /// Masternodes removed (by collateral).
    pub masternodes_removed: Vec<OutPoint>,
    /// Value created by this block (subsidy).
    pub minted: Amount,
    /// The validator set that finalizes this block (it checks the next block's `last_commit`).
    pub validators: ValidatorSet,
}

/// The chain state after some block.
#[derive(Clone, Debug, Default)]
pub struct LedgerState {
    utxos: IdMap<OutPoint, Utxo>,
    /// The UTXO set's outpoints by address, for wallets and RPC.
    by_address: IdMap<Address, IdSet<OutPoint>>,
    masternodes: BTreeMap<OutPoint, MasternodeEntry>,
    /// Height of the tip (genesis = 0).
    pub height: u64,
    /// Hash of the tip.
    pub tip_hash: Hash,
    /// Header time of the tip block, milliseconds since the Unix epoch.
    pub tip_time_ms: u64,
    /// Total coins in existence, in base units: genesis outputs plus every block's reward.
    pub supply: Amount,
    /// The validator set that finalized the tip; the next block's `last_commit` must verify
    /// against it.
    pub tip_validators: ValidatorSet,
}

impl UtxoView for LedgerState {
    fn utxo(&self, o: &OutPoint) -> Option<Utxo> {
        self.utxos.get(o).copied()
    }
}

impl LedgerState {
    /// Rebuilds a state from stored parts.
    pub fn from_parts(
        utxos: IdMap<OutPoint, Utxo>,
        masternodes: Vec<MasternodeEntry>,
        height: u64,
        tip_hash: Hash,
        tip_time_ms: u64,
        supply: Amount,
        tip_validators: ValidatorSet,
    ) -> LedgerState {
        let mut by_address: IdMap<Address, IdSet<OutPoint>> = IdMap::default();
        for (o, u) in &utxos {
            by_address.entry(u.output.address).or_default().insert(*o);
        }
        LedgerState {
            utxos,
            by_address,
            masternodes: masternodes.into_iter().map(|m| (m.collateral, m)).collect(),
            height,
            tip_hash,
            tip_time_ms,
            supply,
            tip_validators,
        }
    }

    /// Number of unspent outputs.
    pub fn utxo_count(&self) -> usize {
        self.utxos.len()
    }

    /// All unspent outputs (unordered).
    pub fn utxos(&self) -> impl Iterator<Item = (&OutPoint, &Utxo)> {
        self.utxos.iter()
    }

    /// Unspent outputs paying `address` (unordered).
    pub fn utxos_of(&self, address: &Address) -> Vec<(OutPoint, Utxo)> {
        self.by_address
            .get(address)
            .into_iter()
            .flatten()
            .filter_map(|o| self.utxos.get(o).map(|u| (*o, *u)))
            .collect()
    }

    /// All registered masternodes by collateral.
    pub fn masternodes(&self) -> impl Iterator<Item = &MasternodeEntry> {
        self.masternodes.values()
    }

    /// The masternode registered with this collateral.
    pub fn masternode(&self, collateral: &OutPoint) -> Option<&MasternodeEntry> {
        self.masternodes.get(collateral)
    }

    /// The masternode with this node key.
    pub fn masternode_by_key(&self, key: &PublicKey) -> Option<&MasternodeEntry> {
        self.masternodes.values().find(|m| m.node_key == *key)
    }

    /// The validator set for block `height` (derived from this state, which must be the state
    /// after block `height - 1`): active, unbanned masternodes with non-zero weight.
    pub fn validator_set_for(&self, height: u64) -> ValidatorSet {
        ValidatorSet::new(
            self.masternodes
                .values()
                .filter(|m| !m.banned && m.active_from <= height && m.tier.weight() > 0)
                .map(|m| Validator {
                    key: m.node_key,
                    weight: m.tier.weight(),
                })
                .collect(),
        )
    }

    /// The validator set for the next block.
    pub fn next_validator_set(&self) -> ValidatorSet {
        self.validator_set_for(self.height + 1)
    }

    /// Applies effects produced by validating the next block.
    pub fn apply(&mut self, fx: &BlockEffects, time_ms: u64) {
        for (o, _) in &fx.spent {
            if let Some(u) = self.utxos.remove(o) {
                self.unindex(&u.output.address, o);
            }
        }
        for (o, u) in &fx.created {
            self.utxos.insert(*o, *u);
            self.by_address
                .entry(u.output.address)
                .or_default()
                .insert(*o);
        }
        for c in &fx.masternodes_removed {
            self.masternodes.remove(c);
        }
        for m in &fx.masternodes_upserted {
            self.masternodes.insert(m.collateral, m.clone());
        }
        self.height = fx.height;
        self.tip_hash = fx.block_hash;
        self.tip_time_ms = time_ms;
        self.supply = Amount(self.supply.0.saturating_add(fx.minted.0));
        self.tip_validators = fx.validators.clone();
    }

    fn unindex(&mut self, address: &Address, o: &OutPoint) {
        if let Some(set) = self.by_address.get_mut(address) {
            set.remove(o);
            if set.is_empty() {
                self.by_address.remove(address);
            }
        }
    }

    /// Order-independent digest of the UTXO set (sorted by outpoint), for replay checks.
    pub fn utxo_set_hash(&self) -> Hash {
        let mut keys: Vec<&OutPoint> = self.utxos.keys().collect();
        keys.sort();
        let mut h = Hash::hasher(Domain::UtxoSet);
        let mut buf = Vec::with_capacity(96);
        for k in keys {
            buf.clear();
            k.encode_to(&mut buf);
            if let Some(u) = self.utxos.get(k) {
                u.encode_to(&mut buf);
            }
            h.update(&buf);
        }
        h.finalize()
    }
}

impl Encode for Utxo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.output.encode_to(out);
        put::u64(out, self.height);
        put::u8(out, self.coinbase as u8);
    }
}

impl Decode for Utxo {
    const MIN_LEN: usize = 29 + 8 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Utxo {
            output: TxOut::decode_from(r)?,
            height: r.u64()?,
            coinbase: r.bool("coinbase flag")?,
        })
    }
}

impl Encode for MasternodeEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.collateral.encode_to(out);
        self.tier.encode_to(out);
        self.node_key.encode_to(out);
        put::bytes(out, self.p2p_addr.as_bytes());
        self.payout.encode_to(out);
        self.owner.encode_to(out);
        put::u64(out, self.registered_height);
        put::u64(out, self.active_from);
        put::u8(out, self.banned as u8);
    }
}

impl Decode for MasternodeEntry {
    const MIN_LEN: usize = 36 + 1 + 32 + 4 + 21 + 32 + 8 + 8 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MasternodeEntry {
            collateral: OutPoint::decode_from(r)?,
            tier: Tier::decode_from(r)?,
            node_key: PublicKey::decode_from(r)?,
            p2p_addr: r.string("masternode address", MAX_P2P_ADDR_LEN)?,
            payout: Address::decode_from(r)?,
            owner: PublicKey::decode_from(r)?,
            registered_height: r.u64()?,
            active_from: r.u64()?,
            banned: r.bool("banned flag")?,
        })
    }
}
