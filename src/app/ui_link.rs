//! What the two bridges between the terminal UI and a node share (the in-process one in
//! [`super::run`], and `timed attach`'s over RPC in [`super::attach`]): the UI's actions come
//! in, the events they produce go back.

use timecoin_ui as ui;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The action to carry out, from what the UI's action channel gave; `None` when the bridge
/// ends: the channel closed, or the user quit (then `root` is cancelled, which ends the UI).
pub(super) fn action_to_carry_out(
    received: Option<ui::UiAction>,
    root: &CancellationToken,
) -> Option<ui::UiAction> {
    match received? {
        ui::UiAction::Quit => {
            root.cancel();
            None
        }
        action => Some(action),
    }
}

/// Hands `events` to the UI in order (they are dropped once the UI has gone).
pub(super) async fn show(event_tx: &mpsc::Sender<ui::UiEvent>, events: Vec<ui::UiEvent>) {
    for ev in events {
        let _ = event_tx.send(ev).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quit_ends_the_bridge_and_cancels_the_root() {
        let root = CancellationToken::new();
        assert_eq!(
            action_to_carry_out(Some(ui::UiAction::Lock), &root),
            Some(ui::UiAction::Lock)
        );
        assert_eq!(action_to_carry_out(None, &root), None);
        assert!(!root.is_cancelled(), "a closed channel cancels nothing");
        assert_eq!(action_to_carry_out(Some(ui::UiAction::Quit), &root), None);
        assert!(root.is_cancelled());
    }
}
