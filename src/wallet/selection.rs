//! Coin selection, a pure function of the candidate outputs, the amount, the transaction's
//! fixed part and the fee rate: largest first (ties by outpoint, so the result does not depend
//! on the order the outputs come in), the fee computed from the exact signed size (signatures
//! are a fixed 64 bytes, so the size is known before signing), and a change output only when
//! the change is at least [`DUST_LIMIT`] (smaller change goes to the fee).
//!
//! Which outputs are candidates (final, unspent, not collateral) is decided by the caller
//! ([`super::coins`]); building and signing the transaction by [`super::send`].

use super::chain::WalletUtxo;
use super::error::{Result, WalletError};
use crate::types::tx::MAX_TX_SIZE;
use crate::types::{Amount, Transaction, TxIn, TxOut};

/// Change below this many base units is not created; it is added to the fee instead.
/// Payments below it are refused.
pub const DUST_LIMIT: Amount = Amount(1_000);

/// The result of coin selection.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Selection {
    /// The outputs to spend, largest first.
    pub(super) inputs: Vec<WalletUtxo>,
    /// Fee in base units, including change below [`DUST_LIMIT`].
    pub(super) fee: Amount,
    /// Change in base units: zero (no change output) or at least [`DUST_LIMIT`].
    pub(super) change: Amount,
    /// Exact size in bytes of the signed transaction, change output included.
    pub(super) size: usize,
}

/// Largest-first selection of `spendable` to pay `target` plus the fee of `template` (which
/// holds the fixed outputs and kind, no inputs) at `fee_rate`, with a change output when the
/// change is at least [`DUST_LIMIT`].
pub(super) fn select_coins(
    mut spendable: Vec<WalletUtxo>,
    target: Amount,
    template: &Transaction,
    fee_rate: u64,
) -> Result<Selection> {
    spendable.sort_by(|a, b| {
        b.output
            .amount
            .cmp(&a.output.amount)
            .then(a.outpoint.cmp(&b.outpoint))
    });
    let base = template.size();
    let (in_len, out_len) = (TxIn::encoded_len(), TxOut::encoded_len());
    let fee_for = |size: usize| -> Result<Amount> {
        fee_rate
            .checked_mul(size as u64)
            .map(Amount)
            .ok_or(WalletError::Overflow)
    };
    let available = Amount::checked_sum(spendable.iter().map(|u| u.output.amount))
        .ok_or(WalletError::Overflow)?;
    let mut total = Amount::ZERO;
    for k in 1..=spendable.len() {
        total = total
            .checked_add(spendable[k - 1].output.amount)
            .ok_or(WalletError::Overflow)?;
        let size_nc = base + k * in_len;
        let size_c = size_nc + out_len;
        if size_nc > MAX_TX_SIZE {
            return Err(WalletError::TooManyInputs { inputs: k });
        }
        let fee_nc = fee_for(size_nc)?;
        let fee_c = fee_for(size_c)?;
        let need_c = target
            .checked_add(fee_c)
            .and_then(|x| x.checked_add(DUST_LIMIT))
            .ok_or(WalletError::Overflow)?;
        if total >= need_c && size_c <= MAX_TX_SIZE {
            let change = Amount(total.0 - target.0 - fee_c.0);
            spendable.truncate(k);
            return Ok(Selection {
                inputs: spendable,
                fee: fee_c,
                change,
                size: size_c,
            });
        }
        let need_nc = target.checked_add(fee_nc).ok_or(WalletError::Overflow)?;
        if total >= need_nc {
            spendable.truncate(k);
            return Ok(Selection {
                inputs: spendable,
                fee: Amount(total.0 - target.0),
                change: Amount::ZERO,
                size: size_nc,
            });
        }
    }
    let k = spendable.len().max(1);
    let needed = target
        .checked_add(fee_for(base + k * in_len)?)
        .ok_or(WalletError::Overflow)?;
    Err(WalletError::InsufficientFunds { needed, available })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Address, Hash, OutPoint, TxKind};
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn utxo(i: u32, amount: u64) -> WalletUtxo {
        WalletUtxo {
            outpoint: OutPoint {
                txid: Hash::ZERO,
                index: i,
            },
            output: TxOut {
                amount: Amount(amount),
                address: Address::default(),
            },
            height: Some(1),
        }
    }

    fn template(target: u64) -> Transaction {
        Transaction {
            version: crate::types::tx::TX_VERSION,
            inputs: Vec::new(),
            outputs: vec![TxOut {
                amount: Amount(target),
                address: Address::default(),
            }],
            lock_time: 0,
            kind: TxKind::Transfer,
        }
    }

    #[test]
    fn too_many_inputs_is_refused() {
        let coins: Vec<WalletUtxo> = (0..2_100).map(|i| utxo(i, 10_000)).collect();
        let r = select_coins(coins, Amount(2_050 * 10_000), &template(0), 0);
        assert!(
            matches!(r, Err(WalletError::TooManyInputs { .. })),
            "{:?}",
            r.err()
        );
    }

    /// Coin amounts, a target and a fee rate of everyday sizes: up to 40 coins of up to 0.05
    /// TIME, a target of up to 0.5 TIME, up to 50 base units per byte.
    fn offer() -> impl Strategy<Value = (Vec<u64>, u64, u64)> {
        (
            proptest::collection::vec(1u64..5_000_000, 0..40),
            1_000u64..50_000_000,
            0u64..50,
        )
    }

    proptest! {
        /// Selection pays exactly amount + fee + change, the fee covers the exact size, change
        /// is zero or at least the dust limit, fewer of the largest coins would not do, and an
        /// error means even all coins cannot pay.
        #[test]
        fn selection_invariants((amounts, target, rate) in offer()) {
            let coins: Vec<WalletUtxo> =
                amounts.iter().enumerate().map(|(i, a)| utxo(i as u32, *a)).collect();
            let t = template(target);
            let total: u64 = amounts.iter().sum();
            let base = t.size();
            match select_coins(coins, Amount(target), &t, rate) {
                Ok(sel) => {
                    let k = sel.inputs.len();
                    let ins: u64 = sel.inputs.iter().map(|u| u.output.amount.0).sum();
                    prop_assert_eq!(ins, target + sel.fee.0 + sel.change.0);
                    prop_assert!(sel.change.0 == 0 || sel.change >= DUST_LIMIT);
                    let size = base + k * TxIn::encoded_len() + usize::from(sel.change.0 > 0) * TxOut::encoded_len();
                    prop_assert_eq!(sel.size, size);
                    prop_assert!(sel.fee.0 >= rate * size as u64);
                    if sel.change.0 > 0 {
                        prop_assert_eq!(sel.fee.0, rate * size as u64);
                    } else {
                        prop_assert!(sel.fee.0 < rate * (size + TxOut::encoded_len()) as u64 + DUST_LIMIT.0);
                    }
                    // Largest first: the k - 1 largest coins were not enough.
                    let mut sorted = amounts.clone();
                    sorted.sort_unstable_by(|a, b| b.cmp(a));
                    let prev: u64 = sorted[..k - 1].iter().sum();
                    prop_assert!(prev < target + rate * (base + (k - 1) * TxIn::encoded_len()) as u64);
                }
                Err(WalletError::InsufficientFunds { needed, available }) => {
                    prop_assert_eq!(available.0, total);
                    prop_assert!(needed.0 > total);
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }

    /// A coin of `amount` at a txid that depends on `i`, so outpoints differ in their txid too.
    fn coin(i: u32, amount: u64) -> WalletUtxo {
        let mut txid = [0u8; 32];
        txid[..4].copy_from_slice(&i.to_be_bytes());
        WalletUtxo {
            outpoint: OutPoint {
                txid: Hash(txid),
                index: i % 3,
            },
            ..utxo(i, amount)
        }
    }

    proptest! {
        /// Every selected input is one of the coins offered, and none is chosen twice.
        #[test]
        fn inputs_are_offered_coins_chosen_once((amounts, target, rate) in offer()) {
            let coins: Vec<WalletUtxo> =
                amounts.iter().enumerate().map(|(i, a)| coin(i as u32, *a)).collect();
            if let Ok(sel) = select_coins(coins.clone(), Amount(target), &template(target), rate) {
                let chosen: HashSet<OutPoint> = sel.inputs.iter().map(|u| u.outpoint).collect();
                prop_assert_eq!(chosen.len(), sel.inputs.len());
                for u in &sel.inputs {
                    prop_assert!(coins.contains(u), "{:?} was not offered", u.outpoint);
                }
            }
        }

        /// The same coins in any order give the same selection (same inputs in the same order,
        /// fee, change and size); amounts from a small range make ties common.
        #[test]
        fn selection_does_not_depend_on_order(
            (coins, shuffled) in proptest::collection::vec(1u64..8, 0..30).prop_flat_map(|a| {
                let coins: Vec<WalletUtxo> =
                    a.iter().enumerate().map(|(i, a)| coin(i as u32, a * 10_000)).collect();
                (Just(coins.clone()), Just(coins).prop_shuffle())
            }),
            target in 1_000u64..200_000,
            rate in 0u64..50,
        ) {
            let t = template(target);
            let a = select_coins(coins, Amount(target), &t, rate);
            let b = select_coins(shuffled, Amount(target), &t, rate);
            prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }

        /// With amounts anywhere in u64 (sums overflow), selection never panics, and a success
        /// still pays exactly target + fee + change with change zero or at least the dust limit.
        #[test]
        fn extreme_amounts_never_underflow(
            amounts in proptest::collection::vec(any::<u64>(), 0..8),
            target in any::<u64>(),
            rate in prop_oneof![0u64..50, any::<u64>()],
        ) {
            let coins: Vec<WalletUtxo> =
                amounts.iter().enumerate().map(|(i, a)| coin(i as u32, *a)).collect();
            match select_coins(coins, Amount(target), &template(target), rate) {
                Ok(sel) => {
                    let ins: u128 = sel.inputs.iter().map(|u| u128::from(u.output.amount.0)).sum();
                    prop_assert_eq!(
                        ins,
                        u128::from(target) + u128::from(sel.fee.0) + u128::from(sel.change.0)
                    );
                    prop_assert!(sel.change.0 == 0 || sel.change >= DUST_LIMIT);
                }
                Err(
                    WalletError::InsufficientFunds { .. }
                    | WalletError::Overflow
                    | WalletError::TooManyInputs { .. },
                ) => {}
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }
}
