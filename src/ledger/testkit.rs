//! Support for tests and benchmarks: a devnet chain driven in memory, with a funded key, valid
//! transfers and blocks certified by the devnet masternode keys. Not used by the node itself.

use super::genesis::{devnet_genesis, devnet_node_key, DevnetSpec};
use super::state::{BlockEffects, LedgerState, UtxoView};
use super::validate::{validate_block, SigPolicy};
use super::{build_block, BlockError, Genesis};
use crate::types::{
    Address, Amount, Block, CommitCertificate, CommitSig, Hash, OutPoint, PublicKey, SecretKey,
    Transaction, TxOut, Vote, VoteKind,
};

/// Seed of the test chain's funded key.
pub const TEST_FAUCET_SEED: [u8; 32] = [0x5a; 32];

/// An in-memory devnet chain for tests.
pub struct TestChain {
    /// The genesis.
    pub genesis: Genesis,
    /// Current state.
    pub state: LedgerState,
    /// The funded key (owns every output the kit creates).
    pub faucet: SecretKey,
    /// Masternode node keys, index i = devnet node i.
    pub node_keys: Vec<SecretKey>,
    spendable: Vec<(OutPoint, Amount)>,
    clock_ms: u64,
    /// Certificate of the tip (the next block's `last_commit`).
    pub last_cert: CommitCertificate,
}

impl TestChain {
    /// A devnet with `nodes` masternodes whose faucet is [`TEST_FAUCET_SEED`].
    pub fn devnet(nodes: u32) -> TestChain {
        let faucet = SecretKey::from_seed(&TEST_FAUCET_SEED);
        let genesis = devnet_genesis(&DevnetSpec {
            nodes,
            base_port: 24300,
            faucet: Address::from_pubkey(&faucet.public()),
        });
        let mut chain = TestChain {
            clock_ms: genesis.block.header.time_ms,
            state: genesis.state(),
            genesis,
            faucet,
            node_keys: (0..nodes).map(devnet_node_key).collect(),
            spendable: Vec::new(),
            last_cert: CommitCertificate::default(),
        };
        chain.spendable = chain.faucet_coins();
        chain
    }

    /// Every unspent output of the faucet in the state, sorted by outpoint.
    pub fn faucet_coins(&self) -> Vec<(OutPoint, Amount)> {
        self.coins_owned(&Address::from_pubkey(&self.faucet.public()))
    }

    /// Every unspent output paying `addr` in the state, sorted by outpoint.
    pub fn coins_owned(&self, addr: &Address) -> Vec<(OutPoint, Amount)> {
        let mut v: Vec<(OutPoint, Amount)> = self
            .state
            .utxos()
            .filter(|(_, u)| u.output.address == *addr)
            .map(|(o, u)| (*o, u.output.amount))
            .collect();
        v.sort();
        v
    }

    /// A signed faucet transfer spending `coins` into `outputs` equal faucet outputs, paying
    /// `fee` (plus the remainder of the division). Does not change the chain.
    pub fn transfer_from(
        &self,
        coins: &[(OutPoint, Amount)],
        outputs: usize,
        fee: u64,
    ) -> Transaction {
        let addr = Address::from_pubkey(&self.faucet.public());
        let total: u64 = coins.iter().map(|(_, a)| a.0).sum();
        let each = total.saturating_sub(fee) / outputs.max(1) as u64;
        let out = TxOut {
            amount: Amount(each),
            address: addr,
        };
        let mut tx = Transaction::unsigned_transfer(
            coins.iter().map(|(prev, _)| *prev),
            self.faucet.public(),
            vec![out; outputs],
        );
        tx.sign_inputs(&self.genesis.params.chain_id, &[&self.faucet], None);
        tx
    }

    /// Outputs the faucet can spend right now.
    pub fn spendable(&self) -> usize {
        self.spendable.len()
    }

    /// A valid transfer spending one faucet output into `outputs` faucet outputs, paying its
    /// encoded size (1 unit/byte) plus the remainder of the division.
    /// `None` when nothing is spendable or the output is too small to split.
    pub fn transfer(&mut self, outputs: usize) -> Option<Transaction> {
        let (prev, amount) = self.spendable.pop()?;
        let addr = Address::from_pubkey(&self.faucet.public());
        let outputs = outputs.max(1);
        let fee = Transaction::transfer_size(1, outputs) as u64;
        let each = amount.0.checked_sub(fee)? / outputs as u64;
        if each == 0 {
            return None;
        }
        let out = TxOut {
            amount: Amount(each),
            address: addr,
        };
        let mut tx =
            Transaction::unsigned_transfer([prev], self.faucet.public(), vec![out; outputs]);
        tx.sign_inputs(&self.genesis.params.chain_id, &[&self.faucet], None);
        Some(tx)
    }

    /// Builds, validates and certifies the next block with `txs`, applies it to the state, and
    /// returns it with its certificate and effects. The proposer rotates over the nodes.
    pub fn next_block(
        &mut self,
        txs: Vec<Transaction>,
    ) -> Result<(Block, CommitCertificate, BlockEffects), BlockError> {
        let height = self.state.height + 1;
        let set = self.state.next_validator_set();
        // Rotation over the node keys still in the set (banned ones drop out).
        let members: Vec<&SecretKey> = self
            .node_keys
            .iter()
            .filter(|k| set.weight_of(&k.public()).is_some())
            .collect();
        let Some(proposer) = members
            .get((height as usize) % members.len().max(1))
            .copied()
        else {
            return Err(BlockError::Proposer(PublicKey::default()));
        };
        // Fees from the state plus outputs created earlier in the block (chained spends);
        // full validation happens in validate_block below.
        let mut fees = Amount::ZERO;
        let mut created: std::collections::HashMap<OutPoint, Amount> =
            std::collections::HashMap::new();
        for (i, tx) in txs.iter().enumerate() {
            let txid = tx.txid();
            let missing = |o: &OutPoint| BlockError::Tx {
                index: i + 1,
                txid,
                err: super::TxError::MissingInput(*o),
            };
            let mut total_in = 0u64;
            for input in &tx.inputs {
                let v = match created.remove(&input.prev) {
                    Some(a) => a,
                    None => self
                        .state
                        .utxo(&input.prev)
                        .map(|u| u.output.amount)
                        .ok_or_else(|| missing(&input.prev))?,
                };
                total_in += v.0;
            }
            let total_out: u64 = tx.outputs.iter().map(|o| o.amount.0).sum();
            fees = Amount(fees.0 + total_in.saturating_sub(total_out));
            for (idx, o) in tx.outputs.iter().enumerate() {
                created.insert(
                    OutPoint {
                        txid,
                        index: idx as u32,
                    },
                    o.amount,
                );
            }
        }
        self.clock_ms += 1000;
        let block = build_block(
            &self.state,
            &self.genesis.params,
            &set,
            proposer.public(),
            txs,
            fees,
            vec![],
            self.last_cert.clone(),
            self.clock_ms,
        )
        .ok_or_else(|| BlockError::Proposer(proposer.public()))?;
        let fx = validate_block(
            &block,
            &self.state,
            &self.genesis.params,
            &set,
            SigPolicy::VerifyAll,
        )?;
        let cert = self.certify(&block, 0);
        self.state.apply(&fx, block.header.time_ms);
        self.last_cert = cert.clone();
        let addr = Address::from_pubkey(&self.faucet.public());
        let spent: std::collections::HashSet<OutPoint> = fx.spent.iter().map(|(o, _)| *o).collect();
        self.spendable.retain(|(o, _)| !spent.contains(o));
        for (o, u) in &fx.created {
            if u.output.address == addr {
                self.spendable.push((*o, u.output.amount));
            }
        }
        Ok((block, cert, fx))
    }

    /// A certificate with precommits from every node of the next block's validator set (call it
    /// before applying `block`) for `block` in `round`.
    pub fn certify(&self, block: &Block, round: u32) -> CommitCertificate {
        let hash: Hash = block.hash();
        let set = self.state.next_validator_set();
        let sigs = self
            .node_keys
            .iter()
            .filter(|k| set.weight_of(&k.public()).is_some())
            .map(|k| {
                let v = Vote::new_signed(
                    self.genesis.params.chain_id,
                    block.header.height,
                    round,
                    VoteKind::Precommit,
                    Some(hash),
                    k,
                );
                CommitSig {
                    voter: v.voter,
                    signature: v.signature,
                }
            })
            .collect();
        CommitCertificate {
            height: block.header.height,
            round,
            block_hash: hash,
            sigs,
        }
    }
}

/// The outputs of `tx` as coins (outpoint, amount).
pub fn coins_of(tx: &Transaction) -> Vec<(OutPoint, Amount)> {
    tx.outputs_at(tx.txid())
        .map(|(o, out)| (o, out.amount))
        .collect()
}
