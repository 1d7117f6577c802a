//! Shared helpers for the UI tests.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use timecoin_ui::fixture::sample_view_model;
use timecoin_ui::{AddressValidator, App, UiAction};

/// Stands in for the node's bech32m validator: accepts the addresses of the
/// sample data; anything else fails with the message the node would give.
pub fn validator() -> AddressValidator {
    let vm = sample_view_model();
    let known: Vec<String> = vm
        .wallet
        .contacts
        .iter()
        .map(|c| c.address.clone())
        .chain(vm.wallet.addresses.iter().map(|a| a.address.clone()))
        .collect();
    Arc::new(move |addr: &str| {
        if !addr.starts_with("dtime1") {
            Err("wrong network: devnet addresses start with dtime1".to_string())
        } else if known.iter().any(|k| k == addr) {
            Ok(())
        } else {
            Err("invalid checksum".to_string())
        }
    })
}

/// An app showing the sample view model.
pub fn sample_app() -> App {
    let mut app = App::new(validator());
    app.set_view(sample_view_model());
    app
}

pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

pub fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

/// Presses each key; returns every action produced.
pub fn press(app: &mut App, keys: &[KeyEvent]) -> Vec<UiAction> {
    keys.iter().filter_map(|k| app.handle_key(*k)).collect()
}

/// Types text character by character; asserts it produced no action.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert_eq!(
            app.handle_key(ch(c)),
            None,
            "typing {c:?} produced an action"
        );
    }
}

/// Renders the app into a test terminal of the given size.
pub fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal =
        Terminal::new(TestBackend::new(width, height)).expect("test backend never fails");
    terminal
        .draw(|f| app.render(f))
        .expect("test backend never fails");
    terminal
}
