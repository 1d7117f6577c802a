//! Funding (not timed): the devnet faucet's outputs split until every bench transaction has
//! its own inputs, each round final on every node before the next.

use super::devnet::Devnet;
use super::transfer::build_transfer;
use crate::types::{Address, Amount, Hash, OutPoint, SecretKey, Transaction};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Most outputs of one funding (split) transaction.
const SPLIT_OUTPUTS: usize = 1_000;
/// Funding transactions per `submit_txs` call during setup.
const SETUP_BATCH: usize = 64;
/// How long one funding round may take to become final on every node.
const SETUP_DEADLINE: Duration = Duration::from_secs(120);

/// Splits the faucet's finalized outputs until at least `needed` outputs of at least
/// `min_coin` units exist, waiting for each round of funding transactions to be final on every
/// node. Returns the outputs.
pub(super) async fn prepare_funds(
    net: &Devnet,
    key: &SecretKey,
    needed: usize,
    min_coin: u64,
    progress: bool,
) -> Result<Vec<(OutPoint, Amount)>, String> {
    let node0 = &net.nodes[0];
    let address = Address::from_pubkey(&key.public());
    let data = node0
        .wallet_data(vec![address])
        .await
        .map_err(|e| format!("cannot read the faucet's outputs: {e}"))?;
    let mut coins: Vec<(OutPoint, Amount)> = data
        .finalized
        .iter()
        .filter(|(_, u)| u.output.amount.0 >= min_coin)
        .map(|(o, u)| (*o, u.output.amount))
        .collect();
    coins.sort();
    if coins.is_empty() {
        return Err("the devnet faucet has no spendable outputs".into());
    }
    let chain_id = node0.spec.genesis.params.chain_id;
    while coins.len() < needed {
        let fan = needed.div_ceil(coins.len()).clamp(2, SPLIT_OUTPUTS);
        let split = (needed - coins.len()).div_ceil(fan - 1).min(coins.len());
        if progress {
            eprint!(
                "\rbench: funding: splitting {split} outputs into {fan} each ({} of {needed} ready)   ",
                coins.len()
            );
        }
        let mut txs = Vec::with_capacity(split);
        for c in &coins[..split] {
            let tx = build_transfer(std::slice::from_ref(c), fan, key, &chain_id)
                .filter(|t| t.outputs.iter().all(|o| o.amount.0 >= min_coin))
                .ok_or_else(|| {
                    format!(
                        "the faucet holds too little to fund {needed} inputs of {min_coin} units"
                    )
                })?;
            txs.push(tx);
        }
        let mut next: Vec<(OutPoint, Amount)> = coins[split..].to_vec();
        for tx in &txs {
            let txid = tx.txid();
            next.extend(tx.outputs_at(txid).map(|(o, out)| (o, out.amount)));
        }
        submit_and_wait(net, txs).await?;
        coins = next;
    }
    Ok(coins)
}

/// Submits funding transactions to node 0 and waits until they are final on every node.
async fn submit_and_wait(net: &Devnet, txs: Vec<Transaction>) -> Result<(), String> {
    let node0 = &net.nodes[0];
    let mut finalized = node0.finalized.subscribe();
    let mut waiting: HashSet<Hash> = txs.iter().map(Transaction::txid).collect();
    let deadline = Instant::now() + SETUP_DEADLINE;
    for chunk in txs.chunks(SETUP_BATCH) {
        let verdicts = node0
            .submit_txs(chunk.to_vec())
            .await
            .map_err(|e| format!("funding: {e}"))?;
        if let Some(Err(e)) = verdicts.into_iter().find(|r| r.is_err()) {
            return Err(format!("funding transaction refused: {e}"));
        }
    }
    let mut last_height = 0;
    while !waiting.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::select! {
            _ = net.root.cancelled() => return Err("interrupted".into()),
            r = tokio::time::timeout(left, finalized.recv()) => r,
        };
        match ev {
            Err(_) => {
                return Err(format!(
                    "{} funding transactions not final after {} s",
                    waiting.len(),
                    SETUP_DEADLINE.as_secs()
                ))
            }
            Ok(Ok(f)) => {
                for id in f.txids.iter() {
                    waiting.remove(id);
                }
                last_height = f.height;
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                // Fall back to the transaction index for what the notifications missed.
                waiting.retain(|id| !matches!(node0.storage.tx_location(id), Ok(Some(_))));
                last_height = node0.height();
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                return Err("node0 stopped during funding".into())
            }
        }
    }
    net.wait_height(last_height, deadline).await
}
