//! The mock's wallet: balances, addresses, history, sends and lock state.

use super::*;

pub(super) fn wallet_balances(m: &MockBackend) -> Result<WalletBalances, WalletError> {
    let st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    let spent = st.spent.len() as u64;
    Ok(WalletBalances {
        finalized: Amount::from_time(100 * (st.blocks.len() as u64 - spent)),
        pending: Amount::from_time(5),
        locked: Amount::ZERO,
    })
}

pub(super) fn wallet_new_address(m: &MockBackend, label: &str) -> Result<Address, WalletError> {
    let mut st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    let n = st.addresses.len() as u8;
    let a = Address::from_pubkey(&SecretKey::from_seed(&[200u8.wrapping_add(n); 32]).public());
    st.addresses.push((a, label.to_string()));
    Ok(a)
}

pub(super) fn wallet_unspent(m: &MockBackend) -> Result<Vec<WalletUtxo>, WalletError> {
    let st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    let addr = st.addresses[0].0;
    let mut v: Vec<WalletUtxo> = st
        .blocks
        .iter()
        .map(|b| WalletUtxo {
            outpoint: OutPoint {
                txid: b.block.txs[0].txid(),
                index: 0,
            },
            address: addr,
            label: String::new(),
            amount: Amount::from_time(100),
            height: Some(b.block.header.height),
            spendable: true,
        })
        .filter(|u| !st.spent.contains(&u.outpoint))
        .collect();
    v.push(WalletUtxo {
        outpoint: OutPoint {
            txid: Hash([3; 32]),
            index: 1,
        },
        address: addr,
        label: String::new(),
        amount: Amount::from_time(5),
        height: None,
        spendable: true,
    });
    Ok(v)
}

pub(super) fn wallet_transactions(
    m: &MockBackend,
    count: usize,
    skip: usize,
) -> Result<Vec<WalletTxEntry>, WalletError> {
    let st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    let n = st.history.len();
    let end = n.saturating_sub(skip);
    let start = end.saturating_sub(count);
    Ok(st.history[start..end].to_vec())
}

pub(super) fn wallet_transaction(
    m: &MockBackend,
    txid: &Hash,
) -> Result<Option<WalletTransaction>, WalletError> {
    if !m.lock().wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    let entries: Vec<WalletTxEntry> = m
        .lock()
        .history
        .iter()
        .filter(|e| e.txid == *txid)
        .cloned()
        .collect();
    if entries.is_empty() {
        return Ok(None);
    }
    let tx = m.transaction(txid).map(|l| l.tx);
    Ok(tx.map(|tx| WalletTransaction { tx, entries }))
}

pub(super) fn wallet_send(m: &MockBackend, req: SendRequest) -> Result<Hash, WalletError> {
    let (unlocked, utxo) = {
        let st = m.lock();
        if !st.wallet_loaded {
            return Err(WalletError::NotLoaded);
        }
        let next = (1..st.blocks.len() as u64).find(|h| {
            let op = OutPoint {
                txid: st.blocks[*h as usize].block.txs[0].txid(),
                index: 0,
            };
            !st.spent.contains(&op) && !MockBackend::spent_in_mempool(&st, &op)
        });
        (st.unlocked, next)
    };
    if !unlocked {
        return Err(WalletError::Locked);
    }
    if req.amount > Amount::from_time(89) {
        return Err(insufficient());
    }
    let height = utxo.ok_or_else(insufficient)?;
    let mut tx = m.spend_tx(height, req.address);
    tx.outputs[0].amount = req.amount;
    // The mock's mempool speaks the RPC's submit errors, not the node's: its refusal
    // reaches the caller as the wallet's (-4).
    let txid = m
        .submit_tx(tx.clone())
        .map_err(|e| WalletError::Refused(e.to_string()))?;
    let mut st = m.lock();
    st.spent.push(tx.inputs[0].prev);
    st.history.push(WalletTxEntry {
        txid,
        category: WalletTxCategory::Send,
        address: Some(req.address),
        amount: req.amount,
        fee: Some(Amount(100_000)),
        vout: Some(0),
        label: req.comment.clone(),
        block: None,
        time_secs: 1_700_000_200,
        abandoned: false,
    });
    st.last_send = Some(req);
    Ok(txid)
}

pub(super) fn wallet_prepare_send(
    m: &MockBackend,
    req: SendRequest,
) -> Result<SendPreviewInfo, WalletError> {
    let mut st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    if req.amount > Amount::from_time(89) {
        return Err(insufficient());
    }
    let id = st.previews.last().map_or(1, |(i, _)| i + 1);
    let info = SendPreviewInfo {
        preview_id: id,
        address: req.address,
        amount: req.amount,
        fee: Amount(100_000),
        change: Amount(Amount::from_time(100).0 - req.amount.0 - 100_000),
        inputs: 1,
        size: 180,
    };
    st.previews.push((id, req));
    if st.previews.len() > 16 {
        st.previews.remove(0);
    }
    Ok(info)
}

pub(super) fn wallet_confirm_send(m: &MockBackend, preview_id: u64) -> Result<Hash, WalletError> {
    let req = {
        let mut st = m.lock();
        let Some(i) = st.previews.iter().position(|(id, _)| *id == preview_id) else {
            return Err(WalletError::Refused(
                "unknown or expired previewid; prepare the send again".into(),
            ));
        };
        st.previews.remove(i).1
    };
    m.wallet_send(req)
}

pub(super) fn wallet_unlock(
    m: &MockBackend,
    passphrase: &SecretString,
    timeout_secs: u64,
) -> Result<(), WalletError> {
    let mut st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    if passphrase.expose_secret() != MockBackend::PASSPHRASE {
        return Err(WalletError::WrongPassphrase);
    }
    st.unlocked = true;
    st.unlock_timeout = timeout_secs;
    Ok(())
}

pub(super) fn wallet_lock(m: &MockBackend) -> Result<(), WalletError> {
    let mut st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    st.unlocked = false;
    Ok(())
}

pub(super) fn wallet_set_label(
    m: &MockBackend,
    address: &Address,
    label: &str,
) -> Result<(), WalletError> {
    let mut st = m.lock();
    if !st.wallet_loaded {
        return Err(WalletError::NotLoaded);
    }
    match st.contacts.iter_mut().find(|(_, a)| a == address) {
        Some(entry) => entry.0 = label.to_string(),
        None => st.contacts.push((label.to_string(), *address)),
    }
    Ok(())
}

/// The mock's "not enough funds" (it keeps no amounts to report).
fn insufficient() -> WalletError {
    WalletError::InsufficientFunds {
        needed: Amount::ZERO,
        available: Amount::ZERO,
    }
}
