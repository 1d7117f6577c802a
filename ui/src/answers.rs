//! The node's answers and notifications: they close or update the popups that waited for
//! them (a preview opens the confirmation, a refused passphrase shows in its prompt, ...).

use crate::action::{SendPreview, UiAction, UiEvent};
use crate::app::{App, Awaiting};
use crate::popups::{Message, MnemonicShow, Popup, Purpose, SendConfirm, SendForm};

impl App {
    /// Handles one answer or notification from the node.
    pub fn handle_event(&mut self, ev: UiEvent) {
        match ev {
            UiEvent::SendPreview(preview) => self.on_preview(preview),
            UiEvent::SendResult(Ok(txid)) => {
                self.awaiting_done(Awaiting::SendResult);
                self.set_notice(format!("sent: {txid}"), false);
                self.popups.push(Message::popup(
                    "Sent",
                    format!(
                        "Transaction {txid} was signed and broadcast.\nIt is final once its block carries a commit certificate; watch its status in the history."
                    ),
                    false,
                ));
            }
            UiEvent::SendResult(Err(e)) => {
                self.awaiting_done(Awaiting::SendResult);
                self.set_notice(format!("send failed: {e}"), true);
                self.popups.push(Message::popup(
                    "Send failed",
                    format!("{e}\nNothing was sent."),
                    true,
                ));
            }
            UiEvent::Unlocked(Ok(())) => {
                self.awaiting_done(Awaiting::Unlock);
                if let Some(pos) = self.prompt_position(Purpose::Unlock) {
                    self.popups.remove(pos);
                }
                // The node confirmed; the next snapshot will say so too.
                self.view.wallet.locked = false;
                self.set_notice("wallet unlocked", false);
            }
            UiEvent::Unlocked(Err(e)) => {
                self.awaiting_done(Awaiting::Unlock);
                self.prompt_failed(Purpose::Unlock, e.clone());
                self.set_notice(format!("unlock failed: {e}"), true);
            }
            UiEvent::Mnemonic(words) => {
                let waiting = self.awaiting == Some(Awaiting::Mnemonic);
                self.awaiting_done(Awaiting::Mnemonic);
                match self.prompt_position(Purpose::RevealMnemonic) {
                    Some(pos) if waiting => {
                        self.popups[pos] = Popup::MnemonicShow(MnemonicShow { words });
                    }
                    _ => {
                        // Nobody is waiting for it any more: dropping wipes it.
                        drop(words);
                        self.set_notice("mnemonic discarded (the prompt was closed)", false);
                    }
                }
            }
            UiEvent::Notice(text) => self.set_notice(text, false),
            UiEvent::Error(text) => self.on_error(text),
        }
    }

    fn awaiting_done(&mut self, what: Awaiting) {
        if self.awaiting == Some(what) {
            self.awaiting = None;
        }
    }

    /// Where the newest passphrase prompt for `purpose` is in the stack.
    fn prompt_position(&self, purpose: Purpose) -> Option<usize> {
        self.popups
            .iter()
            .rposition(|p| matches!(p, Popup::Passphrase(q) if q.purpose == purpose))
    }

    /// The node refused the passphrase of the prompt for `purpose`.
    fn prompt_failed(&mut self, purpose: Purpose, error: String) {
        if let Some(Popup::Passphrase(prompt)) = self
            .prompt_position(purpose)
            .and_then(|pos| self.popups.get_mut(pos))
        {
            prompt.failed(error);
        }
    }

    /// The newest send form, if one is open.
    fn send_form(&mut self) -> Option<&mut SendForm> {
        self.popups.iter_mut().rev().find_map(|p| match p {
            Popup::SendForm(f) => Some(f),
            _ => None,
        })
    }

    fn on_preview(&mut self, preview: SendPreview) {
        let awaited = self.awaiting == Some(Awaiting::Preview);
        match self.send_form() {
            Some(form) if awaited && form.waiting => {
                form.answered(None);
                self.awaiting = None;
                self.popups
                    .push(Popup::SendConfirm(SendConfirm { preview }));
            }
            _ => {
                self.outbox.push_back(UiAction::CancelSend {
                    preview_id: preview.preview_id,
                });
                self.set_notice(
                    "a send preview arrived after the form was closed; cancelled it",
                    false,
                );
            }
        }
    }

    fn on_error(&mut self, text: String) {
        match self.awaiting.take() {
            Some(Awaiting::Preview) => {
                if let Some(form) = self.send_form() {
                    form.answered(Some(text.clone()));
                }
            }
            Some(Awaiting::Unlock) => self.prompt_failed(Purpose::Unlock, text.clone()),
            Some(Awaiting::Mnemonic) => self.prompt_failed(Purpose::RevealMnemonic, text.clone()),
            Some(Awaiting::SendResult) => {
                self.popups
                    .push(Message::popup("Send failed", text.clone(), true));
            }
            None => {}
        }
        self.set_notice(text, true);
    }
}
