//! Transaction and block validation. Validation produces [`BlockEffects`]; nothing changes until
//! the caller applies them.

use super::error::{BlockError, TxError};
use super::params::ChainParams;
use super::state::{BlockEffects, LedgerState, MasternodeEntry, Utxo, UtxoView};
use crate::types::block::MAX_BLOCK_SIZE;
use crate::types::id_map::{IdMap, IdSet};
use crate::types::keys::verify_batch;
use crate::types::sig_cache::SigCache;
use crate::types::tx::{MAX_TX_SIZE, TX_VERSION};
use crate::types::{
    Address, Amount, Block, CommitCertificate, Encode, Hash, OutPoint, PublicKey, Signature, Tier,
    Transaction, TxKind, ValidatorSet,
};

/// What a valid non-coinbase transaction pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxCheck {
    /// Fee (inputs - outputs).
    pub fee: Amount,
    /// Encoded size in bytes (the fee floor is per byte).
    pub size: usize,
}

/// How block validation treats signatures.
#[derive(Clone, Copy)]
pub enum SigPolicy<'a> {
    /// Verify every input and masternode-owner signature.
    VerifyAll,
    /// Skip transactions whose id the predicate reports as already verified (the txid commits
    /// to the signatures, so a verified txid has valid signatures forever on this chain).
    SkipVerified(&'a (dyn Fn(&Hash) -> bool + Sync)),
}

/// One signature to check: message, signature, key, and the index of the owning tx.
type SigItem = (Hash, Signature, PublicKey);

/// The signatures a transaction carries, with the messages they sign.
pub fn signature_items(tx: &Transaction, chain_id: &Hash) -> Vec<SigItem> {
    let msg = tx.signing_hash(chain_id);
    let mut items: Vec<SigItem> = tx
        .inputs
        .iter()
        .map(|i| (msg, i.signature, i.pubkey))
        .collect();
    match &tx.kind {
        TxKind::MasternodeRegister(r) => items.push((msg, r.owner_signature, r.owner)),
        TxKind::MasternodeUpdate(u) => items.push((msg, u.owner_signature, u.owner)),
        TxKind::MasternodeExit(x) => items.push((msg, x.owner_signature, x.owner)),
        TxKind::Transfer | TxKind::Coinbase { .. } => {}
    }
    items
}

/// The signatures of `tx` that need checking: [`signature_items`] with repeats removed. Every
/// item of a transaction signs the same message, and Ed25519 signing is deterministic, so the
/// inputs of one key (a wallet spending several outputs of one address) carry identical items:
/// verified once, not once per input, so a sender cannot make a node verify one signature
/// thousands of times. Order of first appearance is kept.
pub fn distinct_signature_items(tx: &Transaction, chain_id: &Hash) -> Vec<SigItem> {
    let mut items = signature_items(tx, chain_id);
    if items.len() > 1 {
        let mut seen = IdSet::with_capacity_and_hasher(items.len(), Default::default());
        items.retain(|item| seen.insert(*item));
    }
    items
}

/// Verifies every signature of `tx` (each distinct item once).
pub fn verify_tx_signatures(tx: &Transaction, chain_id: &Hash) -> Result<(), TxError> {
    let items = distinct_signature_items(tx, chain_id);
    let refs: Vec<(&[u8], &Signature, &PublicKey)> =
        items.iter().map(|(m, s, k)| (&m.0[..], s, k)).collect();
    let verdicts = if refs.len() == 1 {
        vec![refs[0].2.verify(refs[0].0, refs[0].1).is_ok()]
    } else {
        verify_batch(&refs)
    };
    let Some(bad) = verdicts.iter().position(|ok| !ok).map(|i| &items[i]) else {
        return Ok(());
    };
    // The first input carrying the bad item, else the owner signature.
    match tx
        .inputs
        .iter()
        .position(|i| (i.signature, i.pubkey) == (bad.1, bad.2))
    {
        Some(i) => Err(TxError::BadSignature(i)),
        None => Err(TxError::BadOwnerSignature),
    }
}

/// Checks everything about a non-coinbase transaction except signatures, against `utxos` (the
/// spendable outputs) and `state` (the masternode registry), for inclusion at `height`.
pub fn check_tx_stateful(
    tx: &Transaction,
    utxos: &dyn UtxoView,
    state: &LedgerState,
    params: &ChainParams,
    height: u64,
) -> Result<TxCheck, TxError> {
    if tx.version != TX_VERSION {
        return Err(TxError::Version);
    }
    if tx.is_coinbase() {
        return Err(TxError::UnexpectedCoinbase);
    }
    let size = tx.size();
    if size > MAX_TX_SIZE {
        return Err(TxError::TooLarge(size));
    }
    if tx.lock_time > height {
        return Err(TxError::Locked(tx.lock_time));
    }
    if tx.inputs.is_empty() {
        return Err(TxError::NoInputs);
    }
    if tx.outputs.is_empty() && matches!(tx.kind, TxKind::Transfer) {
        return Err(TxError::NoOutputs);
    }
    if let Some(i) = tx.outputs.iter().position(|o| o.amount.0 == 0) {
        return Err(TxError::ZeroOutput(i));
    }
    let mut seen = IdSet::with_capacity_and_hasher(tx.inputs.len(), Default::default());
    let mut total_in = Amount::ZERO;
    for (i, input) in tx.inputs.iter().enumerate() {
        if !seen.insert(input.prev) {
            return Err(TxError::DuplicateInput(input.prev));
        }
        let u = utxos
            .utxo(&input.prev)
            .ok_or(TxError::MissingInput(input.prev))?;
        if Address::from_pubkey(&input.pubkey) != u.output.address {
            return Err(TxError::WrongOwner(i));
        }
        total_in = total_in
            .checked_add(u.output.amount)
            .ok_or(TxError::Overflow)?;
    }
    let total_out = tx.output_total().ok_or(TxError::Overflow)?;
    let fee = total_in
        .checked_sub(total_out)
        .ok_or(TxError::OutputsExceedInputs)?;
    let min = params.min_fee_rate.saturating_mul(size as u64);
    if fee.0 < min {
        return Err(TxError::FeeTooLow {
            fee: fee.0,
            min,
            size,
        });
    }
    check_masternode_kind(tx, utxos, state, &seen)?;
    Ok(TxCheck { fee, size })
}

fn check_owner(
    collateral: &OutPoint,
    owner: &PublicKey,
    utxos: &dyn UtxoView,
) -> Result<Utxo, TxError> {
    let u = utxos.utxo(collateral).ok_or_else(|| {
        TxError::Masternode(format!("collateral {collateral:?} is missing or spent"))
    })?;
    if u.output.address != Address::from_pubkey(owner) {
        return Err(TxError::Masternode(
            "owner key does not own the collateral".into(),
        ));
    }
    Ok(u)
}

fn check_masternode_kind(
    tx: &Transaction,
    utxos: &dyn UtxoView,
    state: &LedgerState,
    spent_by_tx: &IdSet<OutPoint>,
) -> Result<(), TxError> {
    match &tx.kind {
        TxKind::Transfer | TxKind::Coinbase { .. } => Ok(()),
        TxKind::MasternodeRegister(r) => {
            let u = check_owner(&r.collateral, &r.owner, utxos)?;
            if spent_by_tx.contains(&r.collateral) {
                return Err(TxError::Masternode(
                    "registration spends its own collateral".into(),
                ));
            }
            if r.tier != Tier::Free && u.output.amount != r.tier.collateral() {
                return Err(TxError::Masternode(format!(
                    "collateral holds {} TIME, tier {} needs exactly {} TIME",
                    u.output.amount,
                    r.tier.name(),
                    r.tier.collateral()
                )));
            }
            if !r.node_key.is_valid() {
                return Err(TxError::Masternode("invalid node key".into()));
            }
            if r.p2p_addr.is_empty() {
                return Err(TxError::Masternode("empty p2p address".into()));
            }
            let by_collateral = state.masternode(&r.collateral);
            let by_key = state.masternode_by_key(&r.node_key);
            if let Some(m) = by_collateral.into_iter().chain(by_key).find(|m| m.banned) {
                return Err(TxError::BannedMasternode {
                    node_key: m.node_key,
                });
            }
            if by_collateral.is_some() {
                return Err(TxError::Masternode("collateral already registered".into()));
            }
            if by_key.is_some() {
                return Err(TxError::Masternode("node key already registered".into()));
            }
            Ok(())
        }
        TxKind::MasternodeUpdate(u) => {
            owned_masternode(state, &u.collateral, &u.owner)?;
            if u.p2p_addr.is_empty() {
                return Err(TxError::Masternode("empty p2p address".into()));
            }
            Ok(())
        }
        TxKind::MasternodeExit(x) => owned_masternode(state, &x.collateral, &x.owner).map(|_| ()),
    }
}

/// The masternode registered with `collateral`, if `owner` owns it and it is not banned.
fn owned_masternode<'s>(
    state: &'s LedgerState,
    collateral: &OutPoint,
    owner: &PublicKey,
) -> Result<&'s MasternodeEntry, TxError> {
    let m = state
        .masternode(collateral)
        .ok_or_else(|| TxError::Masternode("no masternode with this collateral".into()))?;
    if m.owner != *owner {
        return Err(TxError::Masternode("not the masternode owner".into()));
    }
    if m.banned {
        return Err(TxError::BannedMasternode {
            node_key: m.node_key,
        });
    }
    Ok(m)
}

/// Full validation of a loose transaction for inclusion at `height`.
pub fn validate_tx(
    tx: &Transaction,
    utxos: &dyn UtxoView,
    state: &LedgerState,
    params: &ChainParams,
    height: u64,
) -> Result<TxCheck, TxError> {
    let check = check_tx_stateful(tx, utxos, state, params, height)?;
    verify_tx_signatures(tx, &params.chain_id)?;
    Ok(check)
}

/// UTXO view of the state plus the outputs created and minus those spent earlier in a block.
struct BlockOverlay<'a> {
    base: &'a LedgerState,
    created: IdMap<OutPoint, Utxo>,
    spent: IdSet<OutPoint>,
}

impl UtxoView for BlockOverlay<'_> {
    fn utxo(&self, o: &OutPoint) -> Option<Utxo> {
        if self.spent.contains(o) {
            return None;
        }
        self.created.get(o).copied().or_else(|| self.base.utxo(o))
    }
}

/// Verifies all signatures of the given transactions in parallel batches; returns the index of
/// the first transaction with a bad signature.
fn verify_block_signatures(
    txs: &[(usize, &Transaction)],
    chain_id: &Hash,
) -> Result<(), (usize, TxError)> {
    let mut items: Vec<(usize, SigItem)> = Vec::new();
    for (i, tx) in txs {
        for it in distinct_signature_items(tx, chain_id) {
            items.push((*i, it));
        }
    }
    if items.is_empty() {
        return Ok(());
    }
    let threads = super::parallel::cores().min(8);
    let bad: Option<usize> = super::parallel::parallel_chunks(&items, threads, 64, |c| {
        let refs: Vec<(&[u8], &Signature, &PublicKey)> = c
            .iter()
            .map(|(_, (m, sig, k))| (&m.0[..], sig, k))
            .collect();
        let v = verify_batch(&refs);
        v.iter().position(|ok| !ok).map(|p| c[p].0)
    })
    .into_iter()
    .flatten()
    .min();
    match bad {
        None => Ok(()),
        Some(i) => {
            let tx = txs.iter().find(|(j, _)| *j == i).map(|(_, t)| *t);
            let err = tx
                .map(|t| {
                    verify_tx_signatures(t, chain_id)
                        .err()
                        .unwrap_or(TxError::BadSignature(0))
                })
                .unwrap_or(TxError::BadSignature(0));
            Err((i, err))
        }
    }
}

/// Validates `block` as the next block after `state`, with `validators` the set for its height.
/// Returns the effects to apply and persist.
pub fn validate_block(
    block: &Block,
    state: &LedgerState,
    params: &ChainParams,
    validators: &ValidatorSet,
    sigs: SigPolicy<'_>,
) -> Result<BlockEffects, BlockError> {
    validate(block, state, params, validators, sigs, None)
}

/// [`validate_block`], except that the signatures of the block's `last_commit` that `known`
/// holds (verified by this node already, as votes or in the certificate it synced the previous
/// block with) are not verified again.
pub fn validate_block_known(
    block: &Block,
    state: &LedgerState,
    params: &ChainParams,
    validators: &ValidatorSet,
    sigs: SigPolicy<'_>,
    known: &SigCache,
) -> Result<BlockEffects, BlockError> {
    validate(block, state, params, validators, sigs, Some(known))
}

/// [`validate_block`] with the certificate signatures `known` holds taken as verified.
fn validate(
    block: &Block,
    state: &LedgerState,
    params: &ChainParams,
    validators: &ValidatorSet,
    sigs: SigPolicy<'_>,
    known: Option<&SigCache>,
) -> Result<BlockEffects, BlockError> {
    let h = &block.header;
    let height = state.height + 1;
    if h.height != height {
        return Err(BlockError::Height {
            expected: height,
            got: h.height,
        });
    }
    if h.prev_hash != state.tip_hash {
        return Err(BlockError::PrevHash(state.tip_hash));
    }
    if h.time_ms < state.tip_time_ms {
        return Err(BlockError::Time);
    }
    if h.validator_set_hash != validators.hash() {
        return Err(BlockError::ValidatorSet);
    }
    if h.last_commit_hash != block.last_commit.hash() {
        return Err(BlockError::LastCommit);
    }
    if height == 1 {
        if block.last_commit != CommitCertificate::default() {
            return Err(BlockError::LastCommit);
        }
    } else {
        let (cert, chain_id, set) = (&block.last_commit, &params.chain_id, &state.tip_validators);
        match known {
            Some(k) => cert.verify_known(chain_id, height - 1, &state.tip_hash, set, k),
            None => cert.verify(chain_id, height - 1, &state.tip_hash, set),
        }
        .map_err(|e| BlockError::LastCommitInvalid(e.to_string()))?;
    }
    if validators.weight_of(&h.proposer).is_none() {
        return Err(BlockError::Proposer(h.proposer));
    }
    let size = block.to_bytes().len();
    if size > MAX_BLOCK_SIZE {
        return Err(BlockError::TooLarge(size));
    }
    let txids: Vec<Hash> = block.txs.iter().map(Transaction::txid).collect();
    if block.merkle_root_with(&txids) != h.merkle_root {
        return Err(BlockError::MerkleRoot);
    }
    let (coinbase, rest) = block
        .txs
        .split_first()
        .ok_or_else(|| BlockError::Coinbase("block has no coinbase".into()))?;
    match coinbase.kind {
        TxKind::Coinbase { height: ch } if ch == height => {}
        _ => {
            return Err(BlockError::Coinbase(
                "first transaction is not the coinbase of this height".into(),
            ))
        }
    }
    if !coinbase.inputs.is_empty() || coinbase.lock_time != 0 {
        return Err(BlockError::Coinbase(
            "coinbase must have no inputs and lock time 0".into(),
        ));
    }

    let mut overlay = BlockOverlay {
        base: state,
        created: IdMap::default(),
        spent: IdSet::default(),
    };
    let mut fx = BlockEffects {
        height,
        block_hash: block.hash(),
        validators: validators.clone(),
        ..Default::default()
    };
    let mut registry_changes: IdMap<OutPoint, Option<MasternodeEntry>> = IdMap::default();
    let mut fees = Amount::ZERO;
    let mut to_verify: Vec<(usize, &Transaction)> = Vec::new();
    // Outputs created and spent within the block: in neither `fx.created` nor `fx.spent`,
    // taken out of `fx.created` once after the loop (one pass, not one per spend: a block
    // chaining its transactions would otherwise cost the square of its length).
    let mut spent_in_block: IdSet<OutPoint> = IdSet::default();

    for (idx, tx) in rest.iter().enumerate() {
        let index = idx + 1;
        let txid = txids[index];
        let tx_err = |err| BlockError::Tx { index, txid, err };
        let check = check_tx_stateful(tx, &overlay, state, params, height).map_err(tx_err)?;
        if let TxKind::MasternodeRegister(r) = &tx.kind {
            let dup = registry_changes
                .values()
                .flatten()
                .any(|m| m.collateral == r.collateral || m.node_key == r.node_key);
            if dup {
                return Err(tx_err(TxError::Masternode(
                    "registered twice in one block".into(),
                )));
            }
        }
        match sigs {
            SigPolicy::VerifyAll => to_verify.push((index, tx)),
            SigPolicy::SkipVerified(f) => {
                if !f(&txid) {
                    to_verify.push((index, tx))
                }
            }
        }
        fees = fees
            .checked_add(check.fee)
            .ok_or(tx_err(TxError::Overflow))?;
        for input in &tx.inputs {
            let u = overlay
                .utxo(&input.prev)
                .ok_or(BlockError::DoubleSpend(input.prev))?;
            overlay.spent.insert(input.prev);
            if overlay.created.remove(&input.prev).is_none() {
                fx.spent.push((input.prev, u));
            } else {
                spent_in_block.insert(input.prev);
            }
            // Spending a collateral removes its masternode; a banned one stays, banned, so that
            // its node key can never register again.
            if state.masternode(&input.prev).is_some_and(|m| !m.banned)
                || matches!(registry_changes.get(&input.prev), Some(Some(_)))
            {
                registry_changes.insert(input.prev, None);
            }
        }
        for (o, out) in tx.outputs_at(txid) {
            let u = Utxo {
                output: *out,
                height,
                coinbase: false,
            };
            overlay.created.insert(o, u);
            fx.created.push((o, u));
        }
        apply_masternode_kind(tx, state, params, height, &mut registry_changes);
    }

    if !spent_in_block.is_empty() {
        fx.created.retain(|(o, _)| !spent_in_block.contains(o));
    }

    if !to_verify.is_empty() {
        verify_block_signatures(&to_verify, &params.chain_id).map_err(|(index, err)| {
            BlockError::Tx {
                index,
                txid: txids[index],
                err,
            }
        })?;
    }

    // Coinbase: reward + fees, 90% to the proposer's payout, 10% to the treasury.
    let total = params
        .block_reward
        .checked_add(fees)
        .ok_or_else(|| BlockError::Coinbase("overflow".into()))?;
    let (proposer_share, treasury_share) = params.split_reward(total);
    let payout = state
        .masternode_by_key(&h.proposer)
        .map(|m| m.payout)
        .ok_or(BlockError::Proposer(h.proposer))?;
    let expected: Vec<(Amount, Address)> =
        vec![(proposer_share, payout), (treasury_share, params.treasury)]
            .into_iter()
            .filter(|(a, _)| a.0 > 0)
            .collect();
    let got: Vec<(Amount, Address)> = coinbase
        .outputs
        .iter()
        .map(|o| (o.amount, o.address))
        .collect();
    if got != expected {
        return Err(BlockError::Coinbase(format!(
            "expected {proposer_share} TIME to the proposer and {treasury_share} TIME to the treasury"
        )));
    }
    let cb_txid = txids[0];
    for (o, out) in coinbase.outputs_at(cb_txid) {
        fx.created.push((
            o,
            Utxo {
                output: *out,
                height,
                coinbase: true,
            },
        ));
    }
    fx.minted = params.block_reward;

    // Evidence bans the offender.
    let mut offenders = IdSet::default();
    for ev in &block.evidence {
        ev.verify(&params.chain_id)
            .map_err(|e| BlockError::Evidence(e.to_string()))?;
        let off = ev.offender();
        if !offenders.insert(off) {
            return Err(BlockError::Evidence(
                "duplicate evidence for one masternode".into(),
            ));
        }
        let entry = state
            .masternodes()
            .find(|m| m.node_key == off && !m.banned)
            .ok_or_else(|| BlockError::Evidence("offender is not an unbanned masternode".into()))?;
        // Exiting or spending the collateral in the same block does not escape the ban: the
        // entry stays, banned.
        let current = match registry_changes.get(&entry.collateral) {
            Some(Some(m)) => m.clone(),
            Some(None) | None => entry.clone(),
        };
        registry_changes.insert(
            entry.collateral,
            Some(MasternodeEntry {
                banned: true,
                ..current
            }),
        );
    }

    for (collateral, change) in registry_changes {
        match change {
            Some(m) => fx.masternodes_upserted.push(m),
            None => {
                if state.masternode(&collateral).is_some() {
                    fx.masternodes_removed.push(collateral)
                }
            }
        }
    }
    fx.masternodes_upserted.sort_by_key(|m| m.collateral);
    fx.masternodes_removed.sort();
    fx.txids = txids;
    Ok(fx)
}

fn apply_masternode_kind(
    tx: &Transaction,
    state: &LedgerState,
    params: &ChainParams,
    height: u64,
    changes: &mut IdMap<OutPoint, Option<MasternodeEntry>>,
) {
    let current =
        |c: &OutPoint, changes: &IdMap<OutPoint, Option<MasternodeEntry>>| match changes.get(c) {
            Some(x) => x.clone(),
            None => state.masternode(c).cloned(),
        };
    match &tx.kind {
        TxKind::MasternodeRegister(r) => {
            changes.insert(
                r.collateral,
                Some(MasternodeEntry {
                    collateral: r.collateral,
                    tier: r.tier,
                    node_key: r.node_key,
                    p2p_addr: r.p2p_addr.clone(),
                    payout: r.payout,
                    owner: r.owner,
                    registered_height: height,
                    active_from: height + params.activation_delay,
                    banned: false,
                }),
            );
        }
        TxKind::MasternodeUpdate(u) => {
            if let Some(m) = current(&u.collateral, changes) {
                changes.insert(
                    u.collateral,
                    Some(MasternodeEntry {
                        p2p_addr: u.p2p_addr.clone(),
                        payout: u.payout,
                        ..m
                    }),
                );
            }
        }
        TxKind::MasternodeExit(x) => {
            changes.insert(x.collateral, None);
        }
        TxKind::Transfer | TxKind::Coinbase { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testkit::TestChain;
    use crate::types::tx::TX_VERSION;
    use crate::types::{TxIn, TxOut};

    #[test]
    fn repeated_signature_items_are_checked_once_and_reported_at_the_right_input() {
        let chain = TestChain::devnet(4);
        let addr = Address::from_pubkey(&chain.faucet.public());
        let other = crate::types::SecretKey::from_seed(&[9; 32]);
        let input = |pubkey, n: u32| TxIn {
            prev: OutPoint {
                txid: Hash([n as u8; 32]),
                index: n,
            },
            pubkey,
            signature: Default::default(),
        };
        let mut tx = Transaction {
            version: TX_VERSION,
            inputs: vec![
                input(chain.faucet.public(), 0),
                input(chain.faucet.public(), 1),
                input(other.public(), 2),
                input(chain.faucet.public(), 3),
            ],
            outputs: vec![TxOut {
                amount: Amount(1),
                address: addr,
            }],
            lock_time: 0,
            kind: TxKind::Transfer,
        };
        let chain_id = chain.genesis.params.chain_id;
        tx.sign_inputs(&chain_id, &[&chain.faucet, &other], None);
        assert_eq!(distinct_signature_items(&tx, &chain_id).len(), 2);
        assert_eq!(verify_tx_signatures(&tx, &chain_id), Ok(()));
        // A different (bad) signature at input 3 is its own item, reported at its input.
        tx.inputs[3].signature.0[5] ^= 1;
        assert_eq!(distinct_signature_items(&tx, &chain_id).len(), 3);
        assert_eq!(
            verify_tx_signatures(&tx, &chain_id),
            Err(TxError::BadSignature(3))
        );
    }
}
