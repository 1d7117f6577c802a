//! The mock's masternodes: the list, this node's status and the owner's transactions.

use super::*;

pub(super) fn masternodes(m: &MockBackend) -> Vec<MasternodeInfo> {
    m.lock().masternodes.clone()
}

pub(super) fn masternode_status(m: &MockBackend) -> OwnMasternodeStatus {
    m.lock()
        .own
        .clone()
        .unwrap_or(OwnMasternodeStatus::Disabled)
}

pub(super) fn wallet_masternode(
    m: &MockBackend,
    req: MasternodeTxRequest,
) -> Result<MasternodeTxReport, WalletError> {
    let st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    if !st.unlocked {
        return Err(WalletError::Locked);
    }
    // A fixed report: the mock checks the wallet state only, it builds nothing.
    let (kind, tier) = match &req.action {
        MasternodeAction::Register { tier, .. } => (MasternodeTxKind::Register, *tier),
        MasternodeAction::Update { .. } => (MasternodeTxKind::Update, Tier::Bronze),
        MasternodeAction::Exit { .. } => (MasternodeTxKind::Exit, Tier::Bronze),
    };
    Ok(MasternodeTxReport {
        kind,
        txid: Hash([9; 32]),
        sent: !req.dry_run,
        collateral: OutPoint::default(),
        tier,
        node_key: validator_key(9).public(),
        p2p_addr: "127.0.0.1:24300".into(),
        payout: Address::from_pubkey(&wallet_key().public()),
        fee: Amount(300),
        spent: Amount(300),
        size: 300,
        inputs: 1,
    })
}
