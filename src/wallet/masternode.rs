//! Masternode steps: registration (funding the exact collateral first when needed), update
//! and exit, each signed by the collateral address's key as owner with its fee paid from other
//! outputs; and the collateral records that keep sends from spending a collateral.

use super::chain::{ChainTxStatus, WalletChain, WalletUtxo};
use super::error::{Result, WalletError};
use super::meta::CollateralRecord;
use super::types::MasternodeStep;
use super::wallet::Wallet;
use crate::types::tx::{
    MasternodeExit, MasternodeRegistration, MasternodeUpdate, MAX_P2P_ADDR_LEN,
};
use crate::types::{
    Address, Hash, OutPoint, PublicKey, Signature, Tier, Transaction, TxKind, TxOut,
};
use std::collections::HashSet;

impl Wallet {
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
        check_p2p_addr(p2p_addr)?;
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
            let spent_by_own = pending_own.contains(&o);
            self.check_chosen_collateral(chain, o, tier, &registered, spent_by_own)?;
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
            return self.fund_collateral(chain, &seed, tier, &registered);
        };
        let owner = self
            .entry_for(&coll.output.address)
            .cloned()
            .ok_or(WalletError::UnknownCollateral(coll.outpoint))?;
        let kind = TxKind::MasternodeRegister(Box::new(MasternodeRegistration {
            collateral: coll.outpoint,
            tier,
            node_key,
            p2p_addr: p2p_addr.to_string(),
            payout: payout.unwrap_or(owner.address),
            owner: owner.pubkey,
            owner_signature: Signature::default(),
        }));
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

    /// Refuses `chosen` as the collateral of a `tier` masternode unless it is a final,
    /// unspent output of this wallet holding exactly the tier's collateral, not in `registered`
    /// and not being spent (`spent_by_own`: one of the wallet's pending transactions spends it).
    fn check_chosen_collateral(
        &self,
        chain: &dyn WalletChain,
        chosen: OutPoint,
        tier: Tier,
        registered: &HashSet<OutPoint>,
        spent_by_own: bool,
    ) -> Result<()> {
        let amount = tier.collateral();
        let bad = |reason: String| WalletError::BadCollateral {
            outpoint: chosen,
            reason,
        };
        let u = self.own_utxo(chain, chosen).ok_or_else(|| {
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
            return Err(WalletError::CollateralPending(chosen));
        }
        if registered.contains(&chosen) {
            return Err(bad("it already backs a masternode registration".into()));
        }
        if spent_by_own || chain.spent_in_mempool(&chosen) {
            return Err(bad("a pending transaction spends it".into()));
        }
        Ok(())
    }

    /// Registration step 1: a signed self-transfer of exactly `tier.collateral()` to a fresh
    /// receive address, funded from outputs that are neither collateral nor in `registered`;
    /// its output 0 is recorded as reserved collateral. On failure the address is given back.
    fn fund_collateral(
        &mut self,
        chain: &dyn WalletChain,
        seed: &[u8; 64],
        tier: Tier,
        registered: &HashSet<OutPoint>,
    ) -> Result<MasternodeStep> {
        let target = self.push_address(
            seed,
            false,
            &format!("masternode collateral ({})", tier.name()),
        )?;
        let mut exclude = self.collateral_set();
        exclude.extend(registered.iter().copied());
        let tx = match self.build_signed(
            chain,
            seed,
            vec![TxOut {
                amount: tier.collateral(),
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
        Ok(MasternodeStep::FundCollateral { tx, collateral })
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
            TxKind::MasternodeExit(Box::new(MasternodeExit {
                collateral,
                owner,
                owner_signature: Signature::default(),
            }))
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
        let utxo = self
            .own_utxo(chain, collateral)
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
        check_p2p_addr(p2p_addr)?;
        let tx = self.sign_as_owner(chain, collateral, "masternode update", |owner| {
            TxKind::MasternodeUpdate(Box::new(MasternodeUpdate {
                collateral,
                p2p_addr: p2p_addr.to_string(),
                payout: payout.unwrap_or(current.1),
                owner,
                owner_signature: Signature::default(),
            }))
        })?;
        self.save()?;
        Ok(tx)
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

/// Refuses a masternode p2p address that is empty or longer than the chain allows.
fn check_p2p_addr(p2p_addr: &str) -> Result<()> {
    if p2p_addr.is_empty() || p2p_addr.len() > MAX_P2P_ADDR_LEN {
        return Err(WalletError::InvalidInput(format!(
            "masternode p2p address must be 1 to {MAX_P2P_ADDR_LEN} bytes (host:port)"
        )));
    }
    Ok(())
}
