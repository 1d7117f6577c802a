//! The bench's transactions: transfers that pay exactly one unit per byte of their encoding.

use crate::types::{Address, Amount, Hash, OutPoint, SecretKey, Transaction, TxOut};

/// A signed transfer of `coins` to `outputs` equal outputs of `key`'s address, paying exactly
/// 1 unit per byte; `None` when the coins cannot pay the fee and one unit per output.
pub(super) fn build_transfer(
    coins: &[(OutPoint, Amount)],
    outputs: usize,
    key: &SecretKey,
    chain_id: &Hash,
) -> Option<Transaction> {
    let pubkey = key.public();
    let address = Address::from_pubkey(&pubkey);
    let total = coins
        .iter()
        .try_fold(0u64, |a, (_, v)| a.checked_add(v.0))?;
    let out = TxOut {
        amount: Amount::ZERO,
        address,
    };
    let mut tx =
        Transaction::unsigned_transfer(coins.iter().map(|(p, _)| *p), pubkey, vec![out; outputs]);
    let fee = tx.size() as u64;
    let rest = total.checked_sub(fee)?;
    let each = rest / outputs as u64;
    if each == 0 {
        return None;
    }
    for o in &mut tx.outputs {
        o.amount = Amount(each);
    }
    tx.outputs[0].amount = Amount(each + rest % outputs as u64);
    tx.sign_inputs(chain_id, &[key], None);
    Some(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    /// The size the fee is computed from is the size of the signed transaction.
    fn tx_size_matches_encoding() {
        let key = SecretKey::from_seed(&[1; 32]);
        let coins = [(OutPoint::default(), Amount(1_000_000)); 3];
        for (i, o) in [(1, 1), (1, 2), (3, 7)] {
            let tx = build_transfer(&coins[..i], o, &key, &Hash::ZERO);
            assert_eq!(tx.map(|t| t.size()), Some(Transaction::transfer_size(i, o)));
        }
    }

    #[test]
    fn transfer_pays_exactly_its_size() {
        let key = SecretKey::from_seed(&[1; 32]);
        let coins = [(OutPoint::default(), Amount(10_001))];
        let tx = build_transfer(&coins, 3, &key, &Hash::ZERO);
        let Some(tx) = tx else { panic!("no tx") };
        let out: u64 = tx.outputs.iter().map(|o| o.amount.0).sum();
        assert_eq!(10_001 - out, tx.size() as u64);
        assert!(
            build_transfer(&[(OutPoint::default(), Amount(100))], 2, &key, &Hash::ZERO).is_none()
        );
    }
}
