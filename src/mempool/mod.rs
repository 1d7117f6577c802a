//! The mempool: validated transactions waiting for a block.
//!
//! Admission runs full validation against the UTXO set plus the outputs of pooled transactions; a
//! second spend of an outpoint already spent in the pool is rejected (first seen wins). The pool
//! is bounded by count and bytes; when full, the lowest fee rate leaves and the entry fee rate
//! rises above it. Rejected transactions are remembered for a while so they are not validated
//! again, and so are transactions whose input was missing (until that input appears). After
//! each finalized block, included and conflicting transactions leave and the rest are
//! revalidated.
//!
//! Every check but signatures is cheap and runs first ([`Mempool::precheck`]); signatures are
//! verified only for transactions that pass them (by the caller in parallel batches, or by
//! [`Mempool::insert`]).

mod error;
mod reject_cache;

use crate::ledger::validate::{check_tx_stateful, verify_tx_signatures};
use crate::ledger::{ChainParams, LedgerState, TxError, Utxo, UtxoView};
use crate::types::id_map::{IdMap, IdSet};
use crate::types::{Amount, Block, Hash, OutPoint, Transaction};
use error::context_free;
pub use error::MempoolError;
pub use reject_cache::{RecentCache, RejectCache};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How many recent admissions the snapshot can show.
const RECENT: usize = 64;

/// Most inputs of a transaction the pool admits and relays: a standardness (relay policy) rule,
/// not a consensus rule, so blocks may still hold transactions of up to
/// [`MAX_TX_INPUTS`](crate::types::tx::MAX_TX_INPUTS) inputs. Each input of a distinct key is one
/// signature verification for every node the transaction reaches; 500 inputs (66 kB) cover
/// consolidations while bounding what one transaction costs its receivers.
pub const MAX_STANDARD_TX_INPUTS: usize = 500;

/// Table slots below which the pool's tables are never shrunk (a few hundred kilobytes at most).
const SHRINK_FLOOR: usize = 1_024;

/// Transactions whose input was missing, remembered so a flood of them costs one lookup each.
const MISSING_CACHE: usize = 10_000;
/// How long a missing-input verdict holds (unless the input appears earlier).
const MISSING_TTL: Duration = Duration::from_secs(600);

/// Pool limits. Besides these, relay policy refuses transactions of more than
/// [`MAX_STANDARD_TX_INPUTS`] inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions pooled; past it the lowest fee rate leaves.
    pub max_txs: usize,
    /// Most bytes pooled (sum of encoded sizes); past it the lowest fee rate leaves.
    pub max_bytes: usize,
    /// Local fee floor (units per byte), at least the chain's.
    pub min_fee_rate: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_txs: 10_000,
            max_bytes: 300 * 1024 * 1024,
            min_fee_rate: 1,
        }
    }
}

/// A pooled transaction.
#[derive(Clone, Debug)]
pub struct PoolEntry {
    /// The transaction, validated in full (signatures included) when it entered.
    pub tx: Transaction,
    /// Its id ([`Transaction::txid`]), the pool's key.
    pub txid: Hash,
    /// Fee paid (inputs minus outputs), in base units.
    pub fee: Amount,
    /// Encoded size in bytes.
    pub size: usize,
    /// Fee per byte in base units, rounded down.
    pub fee_rate: u64,
    /// When it entered the pool (the caller's clock), for its age.
    pub added: Instant,
    seq: u64,
}

/// Summary for RPC and the UI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MempoolSnapshot {
    /// Transactions in the pool.
    pub count: usize,
    /// Sum of their encoded sizes, in bytes.
    pub bytes: usize,
    /// Lowest fee rate in the pool, base units per byte; `None` when empty.
    pub min_fee_rate: Option<u64>,
    /// Median fee rate, base units per byte; `None` when empty.
    pub median_fee_rate: Option<u64>,
    /// Highest fee rate, base units per byte; `None` when empty.
    pub max_fee_rate: Option<u64>,
    /// Current admission floor (rises when full).
    pub entry_fee_rate: u64,
    /// Sum of the pooled transactions' fees.
    pub total_fee: Amount,
    /// Newest transactions: id, size, fee rate, age.
    pub newest: Vec<(Hash, usize, u64, Duration)>,
    /// Transactions turned away since start, by [`MempoolError::label`] (cumulative, in label
    /// order; a duplicate of a pooled transaction is not counted).
    pub rejected: Vec<(&'static str, u64)>,
}

/// Validated transactions waiting for a block, bounded by [`MempoolLimits`] (module docs).
pub struct Mempool {
    limits: MempoolLimits,
    /// Boxed: a transaction is about 300 bytes inline (the masternode kinds), and a table keeps
    /// up to twice as many slots as entries, so unboxed the empty slots cost more than the
    /// transactions themselves.
    entries: IdMap<Hash, Box<PoolEntry>>,
    spends: IdMap<OutPoint, Hash>,
    created: IdMap<OutPoint, Utxo>,
    by_rate: BTreeSet<(u64, std::cmp::Reverse<u64>, Hash)>,
    bytes: usize,
    /// Sum of pooled fees in base units.
    fees: u64,
    seq: u64,
    rejected: RejectCache,
    /// Transactions whose input was missing, with that input: the verdict holds while the
    /// input is neither in the chain state nor created by a pooled transaction.
    missing: RecentCache<OutPoint>,
    evicted_floor: u64,
    /// Most recently admitted ids (bounded), for the snapshot.
    recent: std::collections::VecDeque<Hash>,
    /// Verdicts against transactions since start, by label (a handful of fixed labels).
    rejections: std::collections::BTreeMap<&'static str, u64>,
}

/// Transactions of one admission batch that passed [`Mempool::precheck`] and wait for their
/// signature verdict: later transactions of the batch may spend their outputs, and may not
/// spend what they spend.
#[derive(Default)]
pub struct Provisional {
    spends: IdMap<OutPoint, Hash>,
    created: IdMap<OutPoint, Utxo>,
    ids: IdSet<Hash>,
}

impl Provisional {
    /// Counts `tx` (id `txid`) as pooled for the rest of the batch.
    pub fn add(&mut self, tx: &Transaction, txid: Hash) {
        for i in &tx.inputs {
            self.spends.insert(i.prev, txid);
        }
        for (o, u) in outputs_of(tx, txid) {
            self.created.insert(o, u);
        }
        self.ids.insert(txid);
    }

    /// Whether `txid` is one of the batch's provisional transactions.
    pub fn contains(&self, txid: &Hash) -> bool {
        self.ids.contains(txid)
    }
}

/// The outputs `tx` (id `txid`) creates, as pending (unconfirmed) UTXOs.
fn outputs_of(tx: &Transaction, txid: Hash) -> impl Iterator<Item = (OutPoint, Utxo)> + '_ {
    tx.outputs.iter().enumerate().map(move |(idx, out)| {
        (
            OutPoint {
                txid,
                index: idx as u32,
            },
            Utxo {
                output: *out,
                height: u64::MAX,
                coinbase: false,
            },
        )
    })
}

/// UTXO view = chain state + pooled (and provisional) outputs not yet spent in the pool.
struct PoolView<'a> {
    state: &'a LedgerState,
    pool: &'a Mempool,
    provisional: &'a Provisional,
}

impl UtxoView for PoolView<'_> {
    fn utxo(&self, o: &OutPoint) -> Option<Utxo> {
        self.state
            .utxo(o)
            .or_else(|| self.pool.created.get(o).copied())
            .or_else(|| self.provisional.created.get(o).copied())
    }
}

impl Mempool {
    /// An empty pool; rejection verdicts are kept for an hour, 1,000 at most.
    pub fn new(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            entries: IdMap::default(),
            spends: IdMap::default(),
            created: IdMap::default(),
            by_rate: BTreeSet::new(),
            bytes: 0,
            fees: 0,
            seq: 0,
            rejected: RejectCache::new(1_000, Duration::from_secs(3600)),
            missing: RecentCache::new(MISSING_CACHE, MISSING_TTL),
            evicted_floor: 0,
            recent: std::collections::VecDeque::with_capacity(RECENT),
            rejections: std::collections::BTreeMap::new(),
        }
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of the pooled transactions' encoded sizes, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `txid` is pooled (its signatures were verified at admission).
    pub fn contains(&self, txid: &Hash) -> bool {
        self.entries.contains_key(txid)
    }

    /// Whether `txid` is pooled or was rejected recently: fetching it again would gain nothing.
    pub fn knows(&self, txid: &Hash, now: Instant) -> bool {
        self.entries.contains_key(txid) || self.rejected.contains(txid, now)
    }

    /// A pooled transaction.
    pub fn get(&self, txid: &Hash) -> Option<&PoolEntry> {
        self.entries.get(txid).map(Box::as_ref)
    }

    /// The pooled transaction spending `o`, if any.
    pub fn spender_of(&self, o: &OutPoint) -> Option<Hash> {
        self.spends.get(o).copied()
    }

    /// Outputs created by pooled transactions (pending outputs).
    pub fn pending_outputs(&self) -> impl Iterator<Item = (&OutPoint, &Utxo)> {
        self.created.iter()
    }

    /// Ids of the pooled transactions, in no particular order.
    pub fn txids(&self) -> Vec<Hash> {
        self.entries.keys().copied().collect()
    }

    /// Current admission fee floor: the configured minimum, raised after evictions.
    pub fn entry_fee_rate(&self) -> u64 {
        self.limits.min_fee_rate.max(self.evicted_floor)
    }

    /// Validates and admits `tx` for inclusion at `state.height + 1`.
    pub fn insert(
        &mut self,
        tx: Transaction,
        state: &LedgerState,
        params: &ChainParams,
        now: Instant,
    ) -> Result<Hash, MempoolError> {
        let txid = tx.txid();
        let check = self.precheck(&tx, txid, state, params, now, &Provisional::default())?;
        verify_tx_signatures(&tx, &params.chain_id).map_err(|e| self.reject(txid, e, now))?;
        self.admit(tx, txid, check.fee, check.size, now);
        Ok(txid)
    }

    /// Remembers that `txid` is invalid for `e` (its signatures failed: the caller verified
    /// them), and returns the verdict.
    pub fn reject(&mut self, txid: Hash, e: TxError, now: Instant) -> MempoolError {
        self.rejected.insert(txid, e.to_string(), now);
        let e = MempoolError::Invalid(e);
        self.count_rejection(&e);
        e
    }

    /// Counts a verdict against a transaction for the rejection metrics.
    fn count_rejection(&mut self, e: &MempoolError) {
        if !matches!(e, MempoolError::AlreadyKnown) {
            *self.rejections.entry(e.label()).or_default() += 1;
        }
    }

    /// Like [`Mempool::insert`] for a transaction whose signatures the caller already verified
    /// (e.g. in a parallel batch off the node's main task), with its id `txid`.
    pub fn insert_verified(
        &mut self,
        tx: Transaction,
        txid: Hash,
        state: &LedgerState,
        params: &ChainParams,
        now: Instant,
    ) -> Result<Hash, MempoolError> {
        let check = self.precheck(&tx, txid, state, params, now, &Provisional::default())?;
        self.admit(tx, txid, check.fee, check.size, now);
        Ok(txid)
    }

    /// Every admission check but signatures, all cheap: known and recently rejected ids, relay
    /// policy, recently missing inputs, conflicts with the pool (and with `provisional`, the
    /// batch's earlier survivors), then [`check_tx_stateful`] against the chain state plus the
    /// pooled and provisional outputs, and the pool's fee floor. Returns what `tx` (id `txid`)
    /// pays; does not admit it. A verdict against it is counted for the metrics.
    pub fn precheck(
        &mut self,
        tx: &Transaction,
        txid: Hash,
        state: &LedgerState,
        params: &ChainParams,
        now: Instant,
        provisional: &Provisional,
    ) -> Result<crate::ledger::TxCheck, MempoolError> {
        let verdict = 'verdict: {
            if self.entries.contains_key(&txid) || provisional.contains(&txid) {
                break 'verdict Err(MempoolError::AlreadyKnown);
            }
            if let Some(reason) = self.rejected.get(&txid, now) {
                break 'verdict Err(MempoolError::RecentlyRejected(reason));
            }
            if tx.inputs.len() > MAX_STANDARD_TX_INPUTS {
                let e = MempoolError::TooManyInputs {
                    inputs: tx.inputs.len(),
                    max: MAX_STANDARD_TX_INPUTS,
                };
                self.rejected.insert(txid, e.to_string(), now);
                break 'verdict Err(e);
            }
            let view = PoolView {
                state,
                pool: self,
                provisional,
            };
            // Still missing what it missed last time: the same verdict without another look.
            if let Some(o) = self.missing.get(&txid, now) {
                if view.utxo(&o).is_none() {
                    break 'verdict Err(TxError::MissingInput(o).into());
                }
            }
            for i in &tx.inputs {
                if let Some(other) = self.spends.get(&i.prev).or(provisional.spends.get(&i.prev)) {
                    break 'verdict Err(MempoolError::Conflict(*other));
                }
            }
            let check = match check_tx_stateful(tx, &view, state, params, state.height + 1) {
                Ok(c) => c,
                // A missing input may only mean "not yet seen": remembered until it appears.
                Err(TxError::MissingInput(o)) => {
                    self.missing.insert(txid, o, now);
                    break 'verdict Err(TxError::MissingInput(o).into());
                }
                // Invalid for good: not looked at again for a while. Lock time and masternode
                // state change with the tip: checked again next time (cheaply, signatures last).
                Err(e) => {
                    if context_free(&e) {
                        self.rejected.insert(txid, e.to_string(), now);
                    }
                    break 'verdict Err(e.into());
                }
            };
            let rate = check.fee.0 / check.size.max(1) as u64;
            let min = self.entry_fee_rate();
            if rate < min {
                break 'verdict Err(MempoolError::FeeRateTooLow { rate, min });
            }
            if self.entries.len() >= self.limits.max_txs
                || self.bytes + check.size > self.limits.max_bytes
            {
                let lowest = self.by_rate.iter().next().map(|(r, _, _)| *r).unwrap_or(0);
                if rate <= lowest {
                    break 'verdict Err(MempoolError::FeeRateTooLow {
                        rate,
                        min: lowest + 1,
                    });
                }
            }
            Ok(check)
        };
        if let Err(e) = &verdict {
            self.count_rejection(e);
        }
        verdict
    }

    fn admit(&mut self, tx: Transaction, txid: Hash, fee: Amount, size: usize, now: Instant) {
        let fee_rate = fee.0 / size.max(1) as u64;
        for i in &tx.inputs {
            self.spends.insert(i.prev, txid);
        }
        for (o, u) in outputs_of(&tx, txid) {
            self.created.insert(o, u);
        }
        self.seq += 1;
        self.by_rate
            .insert((fee_rate, std::cmp::Reverse(self.seq), txid));
        self.bytes += size;
        self.fees = self.fees.saturating_add(fee.0);
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(txid);
        self.entries.insert(
            txid,
            Box::new(PoolEntry {
                tx,
                txid,
                fee,
                size,
                fee_rate,
                added: now,
                seq: self.seq,
            }),
        );
        self.evict_to_limits();
    }

    fn evict_to_limits(&mut self) {
        while self.entries.len() > self.limits.max_txs || self.bytes > self.limits.max_bytes {
            let Some(&(rate, _, txid)) = self.by_rate.iter().next() else {
                break;
            };
            self.evicted_floor = self.evicted_floor.max(rate + 1);
            self.remove_with_descendants(&txid);
        }
    }

    fn remove_entry(&mut self, txid: &Hash) -> Option<Box<PoolEntry>> {
        let e = self.entries.remove(txid)?;
        self.by_rate
            .remove(&(e.fee_rate, std::cmp::Reverse(e.seq), *txid));
        self.bytes -= e.size;
        self.fees = self.fees.saturating_sub(e.fee.0);
        for i in &e.tx.inputs {
            if self.spends.get(&i.prev) == Some(txid) {
                self.spends.remove(&i.prev);
            }
        }
        for idx in 0..e.tx.outputs.len() {
            self.created.remove(&OutPoint {
                txid: *txid,
                index: idx as u32,
            });
        }
        Some(e)
    }

    /// Removes `txid` and every pooled transaction spending its outputs.
    fn remove_with_descendants(&mut self, txid: &Hash) {
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            if let Some(e) = self.remove_entry(&t) {
                for idx in 0..e.tx.outputs.len() {
                    if let Some(child) = self.spends.get(&OutPoint {
                        txid: t,
                        index: idx as u32,
                    }) {
                        stack.push(*child);
                    }
                }
            }
        }
    }

    /// Transactions for the next block: highest fee rate first, a transaction only after the
    /// pooled transactions it spends from, within `max_bytes`. Returns them with their fees.
    pub fn select(&self, max_bytes: usize, max_txs: usize) -> (Vec<Transaction>, Amount) {
        let mut chosen: Vec<Transaction> = Vec::new();
        let mut chosen_ids: IdSet<Hash> = IdSet::default();
        let mut fees = Amount::ZERO;
        let mut bytes = 0usize;
        let mut deferred: Vec<&PoolEntry> = Vec::new();
        let ready = |e: &PoolEntry, ids: &IdSet<Hash>| {
            e.tx.inputs
                .iter()
                .all(|i| !self.entries.contains_key(&i.prev.txid) || ids.contains(&i.prev.txid))
        };
        for (_, _, txid) in self.by_rate.iter().rev() {
            if chosen.len() >= max_txs {
                break;
            }
            let Some(e) = self.get(txid) else {
                continue;
            };
            if bytes + e.size > max_bytes {
                continue;
            }
            if ready(e, &chosen_ids) {
                bytes += e.size;
                fees = Amount(fees.0.saturating_add(e.fee.0));
                chosen_ids.insert(*txid);
                chosen.push(e.tx.clone());
            } else {
                deferred.push(e);
            }
        }
        // Children whose parents were chosen after them get a second chance, in order.
        let mut progress = true;
        while progress && !deferred.is_empty() && chosen.len() < max_txs {
            progress = false;
            deferred.retain(|e| {
                if chosen.len() < max_txs && bytes + e.size <= max_bytes && ready(e, &chosen_ids) {
                    bytes += e.size;
                    fees = Amount(fees.0.saturating_add(e.fee.0));
                    chosen_ids.insert(e.txid);
                    chosen.push(e.tx.clone());
                    progress = true;
                    false
                } else {
                    true
                }
            });
        }
        (chosen, fees)
    }

    /// After `block` (whose transaction ids are `txids`, in order) was finalized and applied to
    /// `state`: drops included and conflicting transactions and revalidates the rest against
    /// the new state. Returns the ids that left because they conflicted or became invalid.
    pub fn on_block(
        &mut self,
        block: &Block,
        txids: &[Hash],
        state: &LedgerState,
        params: &ChainParams,
    ) -> Vec<Hash> {
        let mut dropped = Vec::new();
        let mut spent_by_block = IdSet::default();
        for (tx, id) in block.txs.iter().zip(txids) {
            if self.entries.contains_key(id) {
                self.remove_entry(id);
            }
            for i in &tx.inputs {
                spent_by_block.insert(i.prev);
            }
        }
        let conflicting: Vec<Hash> = spent_by_block
            .iter()
            .filter_map(|o| self.spends.get(o).copied())
            .collect();
        for id in conflicting {
            if self.entries.contains_key(&id) {
                self.remove_with_descendants(&id);
                dropped.push(id);
            }
        }
        // Revalidate what a block can invalidate besides spending an input (handled above):
        // masternode transactions depend on the registry. Transfers stay valid: their inputs
        // are still in the pool or the UTXO set, and fees and signatures do not change.
        let mut order: Vec<(u64, Hash)> = self
            .entries
            .values()
            .filter(|e| !matches!(e.tx.kind, crate::types::TxKind::Transfer))
            .map(|e| (e.seq, e.txid))
            .collect();
        order.sort();
        let mut invalid = Vec::new();
        for (_, id) in &order {
            let Some(e) = self.entries.get(id) else {
                continue;
            };
            let view = PoolViewExcluding {
                state,
                pool: self,
                exclude: *id,
            };
            if check_tx_stateful(&e.tx, &view, state, params, state.height + 1).is_err() {
                invalid.push(*id);
            }
        }
        for id in invalid {
            if self.entries.contains_key(&id) {
                self.remove_with_descendants(&id);
                dropped.push(id);
            }
        }
        self.shrink_if_sparse();
        dropped
    }

    /// Gives back the table space a burst left behind (a hash table keeps its capacity when
    /// entries leave) once less than a quarter of it is in use: rehashing what is left costs
    /// about as much as the removals that emptied it.
    fn shrink_if_sparse(&mut self) {
        fn shrink<K: Eq + std::hash::Hash, V>(m: &mut IdMap<K, V>) {
            if m.capacity() > 4 * m.len().max(SHRINK_FLOOR) {
                m.shrink_to(2 * m.len());
            }
        }
        shrink(&mut self.entries);
        shrink(&mut self.spends);
        shrink(&mut self.created);
    }

    /// Summary for RPC and UI.
    pub fn snapshot(&self, now: Instant, newest: usize) -> MempoolSnapshot {
        // `by_rate` is already ordered by fee rate; `recent` by arrival.
        let n = self.by_rate.len();
        let rate_at = |k: usize| self.by_rate.iter().nth(k).map(|(r, _, _)| *r);
        MempoolSnapshot {
            count: self.entries.len(),
            bytes: self.bytes,
            min_fee_rate: self.by_rate.iter().next().map(|(r, _, _)| *r),
            median_fee_rate: if n == 0 { None } else { rate_at(n / 2) },
            max_fee_rate: self.by_rate.iter().next_back().map(|(r, _, _)| *r),
            entry_fee_rate: self.entry_fee_rate(),
            total_fee: Amount(self.fees),
            newest: self
                .recent
                .iter()
                .rev()
                .filter_map(|id| self.entries.get(id))
                .take(newest)
                .map(|e| {
                    (
                        e.txid,
                        e.size,
                        e.fee_rate,
                        now.saturating_duration_since(e.added),
                    )
                })
                .collect(),
            rejected: self.rejections.iter().map(|(l, n)| (*l, *n)).collect(),
        }
    }

    /// The limits the pool was built with.
    pub fn limits(&self) -> &MempoolLimits {
        &self.limits
    }
}

/// Pool view for revalidating one pooled tx: its own outputs do not count.
struct PoolViewExcluding<'a> {
    state: &'a LedgerState,
    pool: &'a Mempool,
    exclude: Hash,
}

impl UtxoView for PoolViewExcluding<'_> {
    fn utxo(&self, o: &OutPoint) -> Option<Utxo> {
        if o.txid == self.exclude {
            return None;
        }
        self.state
            .utxo(o)
            .or_else(|| self.pool.created.get(o).copied())
    }
}

#[cfg(test)]
mod tests;
