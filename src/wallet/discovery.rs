//! Address discovery: finding the used addresses a wallet does not list (after a restore, or the
//! devnet faucet rebuilt from its phrase at every start).
//!
//! [`discover_with`] is the one discovery loop: it scans the receive and then the change chain
//! in windows of `gap` addresses, asks a lookup which addresses of each window hold unspent
//! outputs, adopts every address up to the last used one, and stops at the first unused
//! window. The lookup is async so that a caller whose chain data sits behind a channel (the
//! node's wallet service) runs the same loop as [`Wallet::discover`], whose lookup is a
//! [`WalletChain`] at hand. Only unspent outputs are visible to the wallet, so addresses whose
//! coins were all spent are not found (their history is not needed).

use super::addresses::derive;
use super::chain::WalletChain;
use super::error::{Result, WalletError};
use super::wallet::Wallet;
use crate::types::Address;
use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;

/// Why [`discover_with`] stopped before both chains were scanned. The addresses adopted before
/// the stop stay adopted (and saved).
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError<E> {
    /// The wallet refused: it is locked (discovery derives keys), or saving failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The lookup of a window's used addresses failed.
    #[error("looking up used addresses failed: {0}")]
    Lookup(E),
}

/// Adopts the used addresses `wallet` does not list yet and returns how many it added.
///
/// For each chain (receive, then change) and each window of the next `gap` (1 to 1,000)
/// addresses, `used_among(window)` answers which of the window's addresses hold unspent
/// outputs (final or pending); every address up to the last used one is adopted, and the chain
/// is done at the first window with none used. Needs the wallet unlocked.
pub async fn discover_with<E, F, Fut>(
    wallet: &mut Wallet,
    gap: u32,
    mut used_among: F,
) -> std::result::Result<usize, DiscoveryError<E>>
where
    F: FnMut(Vec<Address>) -> Fut,
    Fut: Future<Output = std::result::Result<HashSet<Address>, E>>,
{
    let mut added = 0;
    for change in [false, true] {
        loop {
            let window = wallet.discovery_window(change, gap)?;
            let used = used_among(window.clone())
                .await
                .map_err(DiscoveryError::Lookup)?;
            let n = wallet.adopt_used(change, &window, &used)?;
            if n == 0 {
                break;
            }
            added += n;
        }
    }
    Ok(added)
}

impl Wallet {
    /// Finds used addresses beyond the known ones (after a restore): [`discover_with`] with
    /// `chain` as the lookup. Needs the wallet unlocked. Returns how many addresses were added.
    pub fn discover(&mut self, chain: &dyn WalletChain, gap: u32) -> Result<usize> {
        let lookup = |window: Vec<Address>| {
            let used = chain.utxos(&window).into_iter().map(|u| u.output.address);
            std::future::ready(Ok::<_, Infallible>(used.collect()))
        };
        // Every lookup is a ready future, so this never waits.
        match futures::executor::block_on(discover_with(self, gap, lookup)) {
            Ok(added) => Ok(added),
            Err(DiscoveryError::Wallet(e)) => Err(e),
            Err(DiscoveryError::Lookup(never)) => match never {},
        }
    }

    /// The next `gap` (1 to 1,000) unknown addresses of the receive or change chain, for
    /// [`discover_with`]. Needs the wallet unlocked.
    pub fn discovery_window(&mut self, change: bool, gap: u32) -> Result<Vec<Address>> {
        let seed = self.seed()?;
        let start = if change {
            self.state.next_change
        } else {
            self.state.next_receive
        };
        let mut window = Vec::new();
        for i in 0..gap.clamp(1, 1_000) {
            let Some(index) = start.checked_add(i) else {
                break;
            };
            window.push(Address::from_pubkey(
                &derive(&seed, change, index)?.public(),
            ));
        }
        Ok(window)
    }

    /// Adopts the addresses of `window` (from [`Wallet::discovery_window`]) up to the last one
    /// in `used`, and saves; returns how many were added (0: the window is unused).
    pub fn adopt_used(
        &mut self,
        change: bool,
        window: &[Address],
        used: &HashSet<Address>,
    ) -> Result<usize> {
        let Some(last) = window.iter().rposition(|a| used.contains(a)) else {
            return Ok(0);
        };
        let seed = self.seed()?;
        for _ in 0..=last {
            self.push_address(&seed, change, if change { "change" } else { "" })?;
        }
        self.save()?;
        tracing::info!(target: "wallet", added = last + 1, change, "addresses discovered");
        Ok(last + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Network;
    use crate::wallet::devnet_faucet_address;
    use futures::executor::block_on;

    /// A lookup that reports `used` as the used addresses of every window and counts its calls.
    fn lookup_of(
        used: HashSet<Address>,
        calls: &mut usize,
    ) -> impl FnMut(Vec<Address>) -> std::future::Ready<std::result::Result<HashSet<Address>, ()>> + '_
    {
        move |window| {
            *calls += 1;
            let hit = window.into_iter().filter(|a| used.contains(a)).collect();
            std::future::ready(Ok(hit))
        }
    }

    #[test]
    fn adopts_up_to_the_last_used_address_then_stops() {
        let mut w = Wallet::devnet_faucet(Network::Devnet).unwrap();
        // The faucet lists receive address 0; addresses 4 and 7 are used, so 1 to 7 are adopted.
        let used = HashSet::from([devnet_faucet_address(4), devnet_faucet_address(7)]);
        let mut calls = 0;
        let added = block_on(discover_with(&mut w, 4, lookup_of(used, &mut calls))).unwrap();
        assert_eq!(added, 7);
        assert!(w.is_mine(&devnet_faucet_address(7)));
        assert!(!w.is_mine(&devnet_faucet_address(8)));
        // Receive windows 1-4 (hit at 4), 5-8 (hit at 7), 9-12 (unused); change window 0-3.
        assert_eq!(calls, 4);
    }

    #[test]
    fn a_failed_lookup_stops_and_keeps_what_was_adopted() {
        let mut w = Wallet::devnet_faucet(Network::Devnet).unwrap();
        let first = devnet_faucet_address(2);
        let mut calls = 0;
        let lookup = |window: Vec<Address>| {
            calls += 1;
            let answer = if calls == 1 {
                Ok(window.into_iter().filter(|a| *a == first).collect())
            } else {
                Err("node stopped")
            };
            std::future::ready(answer)
        };
        let r = block_on(discover_with(&mut w, 5, lookup));
        assert!(
            matches!(r, Err(DiscoveryError::Lookup("node stopped"))),
            "{r:?}"
        );
        assert!(w.is_mine(&first));
    }

    #[test]
    fn a_locked_wallet_is_refused_before_any_lookup() {
        let mut w = Wallet::devnet_faucet(Network::Devnet).unwrap();
        w.lock();
        let mut calls = 0;
        let r = block_on(discover_with(
            &mut w,
            5,
            lookup_of(HashSet::new(), &mut calls),
        ));
        assert!(
            matches!(r, Err(DiscoveryError::Wallet(WalletError::Locked))),
            "{r:?}"
        );
        assert_eq!(calls, 0);
    }

    #[test]
    fn discovery_is_send_with_a_send_lookup() {
        fn check<T: Send>(_: &T) {}
        let mut w = Wallet::devnet_faucet(Network::Devnet).unwrap();
        let lookup = |_: Vec<Address>| async { Ok::<HashSet<Address>, ()>(HashSet::new()) };
        check(&discover_with(&mut w, 5, lookup));
    }
}
