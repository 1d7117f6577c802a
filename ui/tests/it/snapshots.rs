//! Snapshot tests of every screen at 80x24 and 120x40 with deterministic data.

use crate::common::{ch, draw, key, press, sample_app, type_text, validator};
use crossterm::event::KeyCode;
use timecoin_ui::fixture::{sample_view_model, SAMPLE_OTHER_ADDRESS};
use timecoin_ui::{App, Secret, UiEvent};

const TAB_KEYS: [(char, &str); 7] = [
    ('1', "overview"),
    ('2', "consensus"),
    ('3', "peers"),
    ('4', "mempool"),
    ('5', "masternodes"),
    ('6', "wallet"),
    ('7', "logs"),
];

#[test]
fn every_tab_at_80x24_and_120x40() {
    for (k, name) in TAB_KEYS {
        let mut app = sample_app();
        press(&mut app, &[ch(k)]);
        for (w, h) in [(80, 24), (120, 40)] {
            let terminal = draw(&app, w, h);
            insta::assert_snapshot!(format!("tab_{name}_{w}x{h}"), terminal.backend());
        }
    }
}

/// The devnet faucet's genesis payment (1,000,000 TIME) and the largest fee the wallet allows
/// print whole in the history, at both sizes (a fixed 17-column amount read ",000,000.00000000").
#[test]
fn faucet_sized_history_amounts_are_not_cut() {
    let mut app = App::new(validator());
    let mut vm = sample_view_model();
    vm.wallet.history[0].amount_units = 1_000_000 * 100_000_000;
    vm.wallet.history[1].amount_units = 990_000 * 100_000_000;
    vm.wallet.history[1].fee_units = Some(10_000_000);
    app.set_view(vm);
    press(&mut app, &[ch('6')]);
    for (w, h) in [(80, 24), (120, 40)] {
        let text = draw(&app, w, h).backend().to_string();
        assert!(text.contains(" +1,000,000.00000000 "), "{w}x{h}:\n{text}");
        assert!(
            text.contains(" -990,000.00000000 0.10000000 "),
            "{w}x{h}:\n{text}"
        );
    }
    insta::assert_snapshot!(
        "wallet_faucet_amounts_120x40",
        draw(&app, 120, 40).backend()
    );
    insta::assert_snapshot!("wallet_faucet_amounts_80x24", draw(&app, 80, 24).backend());
}

/// A node catching up shows height / best known height, blocks per second and time left in the
/// header (when it fits) and on the Overview, and says how to register.
#[test]
fn sync_progress_in_the_header_and_overview() {
    let mut app = App::new(validator());
    app.set_view(timecoin_ui::fixture::sample_syncing());
    for (w, h) in [(80, 24), (120, 40)] {
        let terminal = draw(&app, w, h);
        let text = terminal.backend().to_string();
        assert!(text.contains("syncing 1,200/5,000"), "{w}x{h}:\n{text}");
        assert!(text.contains("85.3 blk/s, 45s left"), "{w}x{h}:\n{text}");
        assert!(
            text.contains("press g in tab 5 to register"),
            "{w}x{h}:\n{text}"
        );
        insta::assert_snapshot!(format!("overview_syncing_{w}x{h}"), terminal.backend());
    }
}

#[test]
fn unknown_data_shows_unknown_not_zero() {
    let app = App::new(validator());
    let terminal = draw(&app, 80, 24);
    let text = terminal.backend().to_string();
    assert!(text.contains("unknown"));
    assert!(!text.contains("peers 0"));
    insta::assert_snapshot!("overview_no_data_80x24", terminal.backend());
}

#[test]
fn node_error_is_prominent() {
    let mut app = App::new(validator());
    let mut vm = sample_view_model();
    vm.node_error = Some("storage: database corrupt, restart with --reindex".into());
    app.set_view(vm);
    insta::assert_snapshot!("node_error_80x24", draw(&app, 80, 24).backend());
}

#[test]
fn too_small_notice() {
    let app = sample_app();
    let terminal = draw(&app, 79, 24);
    assert!(terminal
        .backend()
        .to_string()
        .contains("need 80x24, have 79x24"));
    insta::assert_snapshot!("too_small_79x24", terminal.backend());
    insta::assert_snapshot!("too_small_100x20", draw(&app, 100, 20).backend());
}

#[test]
fn help_popup() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('?')]);
    insta::assert_snapshot!("help_wallet_80x24", draw(&app, 80, 24).backend());
    insta::assert_snapshot!("help_wallet_120x40", draw(&app, 120, 40).backend());
}

fn send_form_filled() -> App {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('s')]);
    type_text(&mut app, SAMPLE_OTHER_ADDRESS);
    press(&mut app, &[key(KeyCode::Tab)]);
    type_text(&mut app, "12.5");
    app
}

#[test]
fn send_form_and_inline_errors() {
    let mut app = send_form_filled();
    insta::assert_snapshot!("send_form_80x24", draw(&app, 80, 24).backend());
    // Break the address and the amount: errors inline, nothing sent.
    press(
        &mut app,
        &[
            key(KeyCode::BackTab),
            key(KeyCode::Backspace),
            key(KeyCode::Tab),
        ],
    );
    type_text(&mut app, "x");
    assert_eq!(app.handle_key(key(KeyCode::Enter)), None);
    insta::assert_snapshot!("send_form_errors_80x24", draw(&app, 80, 24).backend());
}

#[test]
fn send_confirmation_popup() {
    let mut app = send_form_filled();
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    app.handle_event(UiEvent::SendPreview(timecoin_ui::SendPreview {
        preview_id: 7,
        recipient: SAMPLE_OTHER_ADDRESS.into(),
        amount_units: 1_250_000_000,
        fee_units: 260,
        change_units: 111_249_999_740,
        inputs: 2,
        size_bytes: 260,
    }));
    insta::assert_snapshot!("send_confirm_80x24", draw(&app, 80, 24).backend());
    insta::assert_snapshot!("send_confirm_120x40", draw(&app, 120, 40).backend());
}

#[test]
fn receive_screen_with_qr() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('r')]);
    insta::assert_snapshot!("receive_80x24", draw(&app, 80, 24).backend());
    insta::assert_snapshot!("receive_120x40", draw(&app, 120, 40).backend());
}

#[test]
fn unlock_prompt_is_masked() {
    let mut app = App::new(validator());
    let mut vm = sample_view_model();
    vm.wallet.locked = true;
    app.set_view(vm);
    press(&mut app, &[ch('6'), ch('s')]);
    type_text(&mut app, "hunter2");
    let terminal = draw(&app, 80, 24);
    let text = terminal.backend().to_string();
    assert!(!text.contains("hunter2"));
    assert!(text.contains("*******"));
    insta::assert_snapshot!("unlock_for_send_80x24", terminal.backend());
}

#[test]
fn mnemonic_popup() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('m'), ch('y')]);
    type_text(&mut app, "pw");
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    let words: Vec<String> = (1..=24).map(|i| format!("word{i:02}")).collect();
    app.handle_event(UiEvent::Mnemonic(Secret::new(words)));
    insta::assert_snapshot!("mnemonic_80x24", draw(&app, 80, 24).backend());
    press(&mut app, &[key(KeyCode::Esc)]);
    assert!(!draw(&app, 80, 24).backend().to_string().contains("word01"));
}

#[test]
fn register_masternode_tier_choice() {
    let mut app = sample_app();
    press(&mut app, &[ch('5'), ch('g'), ch('j')]);
    insta::assert_snapshot!("register_tier_80x24", draw(&app, 80, 24).backend());
    // The confirmation's text fits its box: no word wraps onto a line of its own.
    press(&mut app, &[key(KeyCode::Enter)]);
    let terminal = draw(&app, 80, 24);
    let text = terminal.backend().to_string();
    assert!(text.contains("this node joins"), "{text}");
    assert!(
        !text.lines().any(|l| l.contains("│node ")),
        "a wrapped word:\n{text}"
    );
    insta::assert_snapshot!("register_confirm_80x24", terminal.backend());
}

/// Between heights the Consensus tab shows the last decided height's votes with their arrival
/// times, when the next height starts, and the recent rounds newest first.
#[test]
fn consensus_between_heights() {
    let mut app = App::new(validator());
    app.set_view(timecoin_ui::fixture::sample_between_heights());
    press(&mut app, &[ch('2')]);
    for (w, h) in [(80, 24), (120, 40)] {
        let text = draw(&app, w, h).backend().to_string();
        assert!(text.contains("next block in 0.7 s"), "{w}x{h}:\n{text}");
        assert!(
            text.contains("Votes of height 4,242, round 0"),
            "{w}x{h}:\n{text}"
        );
        assert!(!text.contains("no validator set"), "{w}x{h}:\n{text}");
        insta::assert_snapshot!(
            format!("consensus_between_heights_{w}x{h}"),
            draw(&app, w, h).backend()
        );
    }
}
