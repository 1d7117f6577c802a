//! The wallet's masternode transactions: register (with the collateral transfer it may need
//! first), update and exit, for the RPC methods and the UI's Masternodes tab alike.

use super::{NodeChainView, WalletService};
use crate::rpc::backend as rb;
use crate::types::{Address, Amount, OutPoint, Transaction};
use crate::wallet::{WalletChain, WalletError};

impl WalletService {
    /// `registermasternode`, `updatemasternode`, `exitmasternode`: the wallet's own
    /// masternode steps (the same the UI's Masternodes tab takes), first on a dry-run
    /// copy. The guards run on that copy's transaction: every output pays this wallet
    /// (so nothing but the fee leaves it), the fee is at most `max_fee`, the txid is
    /// `expect_txid`. Only then is the step taken on the wallet itself, which builds the
    /// same transaction (signing is deterministic), and the result submitted.
    pub(super) async fn masternode_tx(
        &mut self,
        req: rb::MasternodeTxRequest,
    ) -> Result<rb::MasternodeTxReport, WalletError> {
        self.adopt_collaterals();
        let chain = self.chain().await?;
        let me = self.node.spec.node_key.public();
        let registry = self.node.snapshot.borrow().masternodes.clone();
        let own_p2p = self
            .node
            .spec
            .advertise
            .clone()
            .unwrap_or_else(|| self.node.p2p_addr.to_string());
        let w = self.wallet.as_mut().ok_or(WalletError::NotLoaded)?;
        let other = |m: String| WalletError::Refused(m);
        // The registered entry an update or exit is about.
        let entry = |collateral: Option<OutPoint>| match collateral {
            Some(c) => registry
                .iter()
                .find(|m| m.collateral == c)
                .cloned()
                .ok_or_else(|| {
                    other(format!(
                        "no masternode is registered with collateral {}:{} (see listmasternodes)",
                        c.txid, c.index
                    ))
                }),
            None => registry
                .iter()
                .find(|m| m.node_key == me)
                .cloned()
                .ok_or_else(|| {
                    other(
                        "this node's key is not a registered masternode: register it first, \
                     or name the masternode by its collateral"
                            .into(),
                    )
                }),
        };
        let step = |w: &mut crate::wallet::Wallet| -> Result<Built, WalletError> {
            match &req.action {
                rb::MasternodeAction::Register {
                    tier,
                    collateral,
                    payout,
                    p2p_addr,
                } => {
                    if let Some(m) = registry.iter().find(|m| m.node_key == me) {
                        return Err(other(format!(
                            "this node's key is already registered as a {} masternode \
                             (collateral {}:{}): see `timed masternode status`",
                            m.tier.name(),
                            m.collateral.txid,
                            m.collateral.index
                        )));
                    }
                    if let Some(c) = collateral {
                        if registry.iter().any(|m| m.collateral == *c) {
                            return Err(other(format!(
                                "collateral {}:{} already backs a masternode",
                                c.txid, c.index
                            )));
                        }
                    }
                    let addr = p2p_addr.as_deref().unwrap_or(&own_p2p);
                    let s = w.prepare_register_masternode(
                        &chain,
                        *tier,
                        me,
                        addr,
                        *payout,
                        *collateral,
                    )?;
                    let (kind, tx, collateral) = match s {
                        crate::wallet::MasternodeStep::FundCollateral { tx, collateral } => {
                            (rb::MasternodeTxKind::FundCollateral, tx, collateral)
                        }
                        crate::wallet::MasternodeStep::Register { tx, collateral } => {
                            (rb::MasternodeTxKind::Register, tx, collateral)
                        }
                    };
                    let payout = match &tx.kind {
                        crate::types::TxKind::MasternodeRegister(r) => r.payout,
                        // The registration's default payout: the collateral's address
                        // (the funding transfer's output `collateral.index`).
                        _ => payout
                            .or_else(|| {
                                let i = usize::try_from(collateral.index).ok()?;
                                tx.outputs.get(i).map(|o| o.address)
                            })
                            .ok_or_else(|| {
                                other("the collateral transfer has no collateral output".into())
                            })?,
                    };
                    Ok(Built {
                        kind,
                        tx,
                        collateral,
                        tier: *tier,
                        node_key: me,
                        p2p_addr: addr.to_string(),
                        payout,
                    })
                }
                rb::MasternodeAction::Update {
                    collateral,
                    p2p_addr,
                    payout,
                } => {
                    let m = entry(*collateral)?;
                    let tx = w.prepare_update_masternode(
                        &chain,
                        m.collateral,
                        (&m.p2p_addr, m.payout),
                        p2p_addr.as_deref(),
                        *payout,
                    )?;
                    Ok(Built {
                        kind: rb::MasternodeTxKind::Update,
                        tx,
                        collateral: m.collateral,
                        tier: m.tier,
                        node_key: m.node_key,
                        p2p_addr: p2p_addr.clone().unwrap_or(m.p2p_addr),
                        payout: payout.unwrap_or(m.payout),
                    })
                }
                rb::MasternodeAction::Exit { collateral } => {
                    let m = entry(*collateral)?;
                    let tx = w.prepare_exit_masternode(&chain, m.collateral)?;
                    Ok(Built {
                        kind: rb::MasternodeTxKind::Exit,
                        tx,
                        collateral: m.collateral,
                        tier: m.tier,
                        node_key: m.node_key,
                        p2p_addr: m.p2p_addr,
                        payout: m.payout,
                    })
                }
            }
        };
        // The copy knows the addresses the step adds (a funding transfer's collateral
        // address), so the outputs are checked against it.
        let checked = w.dry_run(|copy| {
            Ok(step(copy).and_then(|b| {
                let fee = self_transfer_fee(copy, &chain, &b.tx)?;
                Ok((b, fee))
            }))
        })?;
        let (preview, fee) = checked?;
        if preview.kind == rb::MasternodeTxKind::Register
            && registry.iter().any(|m| m.collateral == preview.collateral)
        {
            return Err(other(format!(
                "collateral {}:{} already backs a masternode; name another with collateral",
                preview.collateral.txid, preview.collateral.index
            )));
        }
        if let Some(max) = req.max_fee {
            if fee > max {
                return Err(other(format!(
                    "the fee would be {fee} TIME, above the {max} TIME allowed (maxfee); \
                     nothing was sent"
                )));
            }
        }
        if let Some(want) = req.expect_txid {
            if preview.tx.txid() != want {
                return Err(other(
                    "the wallet or the chain changed since the preview, so the transaction \
                     would differ from the one confirmed; nothing was sent: preview again"
                        .into(),
                ));
            }
        }
        let mut report = rb::MasternodeTxReport {
            kind: preview.kind,
            txid: preview.tx.txid(),
            sent: false,
            collateral: preview.collateral,
            tier: preview.tier,
            node_key: preview.node_key,
            p2p_addr: preview.p2p_addr.clone(),
            payout: preview.payout,
            fee,
            spent: fee,
            size: preview.tx.size(),
            inputs: preview.tx.inputs.len(),
        };
        if req.dry_run {
            return Ok(report);
        }
        let built = step(w)?;
        if built.tx.txid() != report.txid {
            // Not expected (same wallet state, same chain view, deterministic signing).
            return Err(other(
                "the transaction built differs from the checked one; nothing was sent: try again"
                    .into(),
            ));
        }
        self.submit(built.tx).await?;
        report.sent = true;
        tracing::info!(target: "wallet", step = report.kind.name(), txid = %report.txid.short(), fee = %report.fee, "masternode transaction sent");
        Ok(report)
    }
}

/// A masternode transaction as built, before the guards.
struct Built {
    kind: rb::MasternodeTxKind,
    tx: Transaction,
    collateral: OutPoint,
    tier: crate::types::Tier,
    node_key: crate::types::PublicKey,
    p2p_addr: String,
    payout: Address,
}

/// The fee of `tx`, which is all it takes out of `w`: refused unless every input is an
/// unspent output of `w` and every output pays `w` (a masternode transaction pays nobody
/// else).
fn self_transfer_fee(
    w: &crate::wallet::Wallet,
    chain: &NodeChainView,
    tx: &Transaction,
) -> Result<Amount, WalletError> {
    let addrs: Vec<Address> = w.addresses().iter().map(|a| a.address).collect();
    let utxos = chain.utxos(&addrs);
    let mut inputs = Amount::ZERO;
    for i in &tx.inputs {
        let u = utxos.iter().find(|u| u.outpoint == i.prev).ok_or_else(|| {
            WalletError::Refused(format!(
                "input {}:{} is not an unspent output of this wallet; nothing was sent",
                i.prev.txid, i.prev.index
            ))
        })?;
        inputs = inputs
            .checked_add(u.output.amount)
            .ok_or_else(|| WalletError::Refused("amount overflow".into()))?;
    }
    let mut outputs = Amount::ZERO;
    for o in &tx.outputs {
        if !w.is_mine(&o.address) {
            return Err(WalletError::Refused(
                "a masternode transaction would pay an address outside this wallet; \
                 nothing was sent"
                    .into(),
            ));
        }
        outputs = outputs
            .checked_add(o.amount)
            .ok_or_else(|| WalletError::Refused("amount overflow".into()))?;
    }
    inputs
        .checked_sub(outputs)
        .ok_or_else(|| WalletError::Refused("outputs exceed inputs".into()))
}
