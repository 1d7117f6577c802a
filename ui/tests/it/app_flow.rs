//! Key sequences and node events drive the App to the expected state.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{ch, draw, key, press, sample_app, type_text, validator};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use timecoin_ui::fixture::{sample_view_model, SAMPLE_NOW_UNIX, SAMPLE_OTHER_ADDRESS};
use timecoin_ui::{App, Secret, Tab, UiAction, UiEvent};

fn screen(app: &App) -> String {
    draw(app, 120, 40).backend().to_string()
}

fn preview_event(preview_id: u64) -> UiEvent {
    UiEvent::SendPreview(timecoin_ui::SendPreview {
        preview_id,
        recipient: SAMPLE_OTHER_ADDRESS.into(),
        amount_units: 150_000_000,
        fee_units: 226,
        change_units: 123_299_999_774,
        inputs: 1,
        size_bytes: 226,
    })
}

/// Wallet tab, send form, recipient and amount typed.
fn fill_send_form(app: &mut App, to: &str, amount: &str) {
    press(app, &[ch('6'), ch('s')]);
    type_text(app, to);
    press(app, &[key(KeyCode::Tab)]);
    type_text(app, amount);
}

/// The send form is open and not waiting for a preview: a preview arriving now (a late answer to
/// a request the app no longer waits for) shows no confirmation and is cancelled. Consumes it.
fn assert_no_preview_awaited(app: &mut App) {
    assert!(app.send_pending(), "the form stays open");
    assert!(!screen(app).contains("waiting for the node's fee preview"));
    app.handle_event(preview_event(77));
    assert_eq!(app.pending_preview(), None, "no preview was awaited");
    assert_eq!(
        app.take_action(),
        Some(UiAction::CancelSend { preview_id: 77 })
    );
    assert!(screen(app).contains("Send TIME"), "the form is still shown");
}

#[test]
fn full_send_flow() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1.5");
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::PreviewSend {
            to: SAMPLE_OTHER_ADDRESS.into(),
            amount_units: 150_000_000,
            fee_rate: 1,
        })
    );
    // A second Enter while waiting sends nothing more.
    assert_eq!(app.handle_key(key(KeyCode::Enter)), None);
    assert!(app.send_pending());
    assert!(screen(&app).contains("waiting for the node's fee preview"));

    app.handle_event(preview_event(9));
    assert_eq!(app.pending_preview(), Some(9));
    let text = screen(&app);
    for needle in [
        SAMPLE_OTHER_ADDRESS,
        "1.50 TIME",
        "0.00000226 TIME",
        "1.50000226 TIME",
        "1,232.99999774 TIME",
    ] {
        assert!(text.contains(needle), "confirmation lacks {needle}");
    }

    assert_eq!(
        app.handle_key(ch('y')),
        Some(UiAction::ConfirmSend { preview_id: 9 })
    );
    assert_eq!(app.pending_preview(), None);
    assert!(app.send_pending(), "result still awaited");

    app.handle_event(UiEvent::SendResult(Ok("ab12cd34ef".into())));
    assert!(!app.send_pending());
    assert_eq!(app.notice(), Some(("sent: ab12cd34ef", false)));
    assert!(screen(&app).contains("Transaction ab12cd34ef was signed and broadcast"));
    press(&mut app, &[key(KeyCode::Esc)]);
    assert!(!app.popup_open());
}

#[test]
fn cancel_returns_to_the_form_and_enter_confirms() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1.5");
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    app.handle_event(preview_event(3));
    assert_eq!(
        app.handle_key(ch('n')),
        Some(UiAction::CancelSend { preview_id: 3 })
    );
    assert!(
        screen(&app).contains("Send TIME"),
        "form is back for editing"
    );
    // Edit and preview again; Enter confirms this time.
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    app.handle_event(preview_event(4));
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::ConfirmSend { preview_id: 4 })
    );
    app.handle_event(UiEvent::SendResult(Err("input already spent".into())));
    assert_eq!(
        app.notice(),
        Some(("send failed: input already spent", true))
    );
    assert!(screen(&app).contains("Nothing was sent."));
}

#[test]
fn wrong_address_is_rejected_inline() {
    let mut app = sample_app();
    let bad = SAMPLE_OTHER_ADDRESS.replace('k', "q");
    fill_send_form(&mut app, &bad, "1");
    assert_eq!(app.handle_key(key(KeyCode::Enter)), None);
    assert_no_preview_awaited(&mut app);
    assert!(screen(&app).contains("✗ invalid checksum"));
    // The focus jumped to the bad field; typing into it clears the error.
    type_text(&mut app, "x");
    assert!(!screen(&app).contains("invalid checksum"));
}

#[test]
fn bad_amounts_are_rejected_inline() {
    for (amount, message) in [
        ("2000", "insufficient funds: 1,234.50 TIME final balance"),
        ("1.123456789", "at most 8 decimals"),
        ("1,5", "use digits and one '.'"),
        ("0", "amount must be greater than zero"),
        ("99999999999999999999", "amount too large"),
        ("", "enter an amount"),
    ] {
        let mut app = sample_app();
        fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, amount);
        assert_eq!(
            app.handle_key(key(KeyCode::Enter)),
            None,
            "amount {amount:?}"
        );
        assert!(
            screen(&app).contains(message),
            "amount {amount:?} lacks {message:?}"
        );
    }
}

#[test]
fn bad_fee_rate_is_rejected_inline() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1");
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Backspace)]);
    type_text(&mut app, "0");
    assert_eq!(app.handle_key(key(KeyCode::Enter)), None);
    assert!(screen(&app).contains("at least 1 unit/byte"));
}

#[test]
fn locked_wallet_asks_to_unlock_before_sending() {
    let mut app = App::new(validator());
    let mut vm = sample_view_model();
    vm.wallet.locked = true;
    app.set_view(vm);
    press(&mut app, &[ch('6'), ch('s')]);
    assert!(screen(&app).contains("The wallet is locked. Unlock it to send."));
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        None,
        "empty passphrase is not sent"
    );
    assert!(screen(&app).contains("enter the wallet passphrase"));
    type_text(&mut app, "wrong");
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::Unlock {
            passphrase: Secret::new("wrong".to_string())
        })
    );
    app.handle_event(UiEvent::Unlocked(Err("wrong passphrase".into())));
    assert!(screen(&app).contains("✗ wrong passphrase"));
    type_text(&mut app, "right");
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    app.handle_event(UiEvent::Unlocked(Ok(())));
    // The send form is back on top and usable before the next snapshot.
    type_text(&mut app, SAMPLE_OTHER_ADDRESS);
    press(&mut app, &[key(KeyCode::Tab)]);
    type_text(&mut app, "2");
    assert!(matches!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::PreviewSend {
            amount_units: 200_000_000,
            ..
        })
    ));
}

#[test]
fn wallet_that_locks_while_the_form_is_open_asks_again() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1");
    let mut vm = sample_view_model();
    vm.wallet.locked = true;
    app.set_view(vm);
    assert_eq!(app.handle_key(key(KeyCode::Enter)), None);
    assert!(screen(&app).contains("Unlock wallet"));
}

#[test]
fn node_error_on_preview_is_shown_in_the_form() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1");
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    app.handle_event(UiEvent::Error(
        "fee rate below the mempool minimum of 2".into(),
    ));
    assert!(screen(&app).contains("✗ fee rate below the mempool minimum of 2"));
    assert_no_preview_awaited(&mut app);
    // The form accepts a new submission.
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
}

#[test]
fn tab_switching() {
    let mut app = sample_app();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let digit = char::from_digit(i as u32 + 1, 10).expect("1-7 are digits");
        press(&mut app, &[ch(digit)]);
        assert_eq!(app.tab(), *tab);
    }
    press(&mut app, &[ch('8'), ch('0')]);
    assert_eq!(app.tab(), Tab::Logs, "8 and 0 are not tabs");
    press(&mut app, &[key(KeyCode::Tab)]);
    assert_eq!(app.tab(), Tab::Overview, "Tab wraps around");
    press(
        &mut app,
        &[KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)],
    );
    assert_eq!(app.tab(), Tab::Logs, "BackTab wraps around");
    press(&mut app, &[key(KeyCode::BackTab)]);
    assert_eq!(app.tab(), Tab::Wallet);
}

#[test]
fn quit_without_anything_pending_is_immediate() {
    let mut app = sample_app();
    assert_eq!(app.handle_key(ch('q')), Some(UiAction::Quit));
    assert!(app.should_quit());
}

#[test]
fn quit_with_pending_send_asks_first() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1");
    // In a form 'q' is text, not a command.
    type_text(&mut app, "q");
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.handle_key(ctrl_c), None);
    assert!(screen(&app).contains("Quit TimeCoin?"));
    assert_eq!(app.handle_key(ch('n')), None);
    assert!(!app.should_quit());
    assert!(screen(&app).contains("Send TIME"), "back in the form");

    press(&mut app, &[key(KeyCode::Backspace)]);
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    app.handle_event(preview_event(5));
    assert_eq!(app.handle_key(ch('q')), None, "asks instead of quitting");
    assert!(screen(&app).contains("Quit TimeCoin?"));
    assert_eq!(app.handle_key(ch('y')), Some(UiAction::Quit));
    assert!(app.should_quit());
}

#[test]
fn quit_while_send_result_is_awaited_asks_first() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1");
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    app.handle_event(preview_event(6));
    assert!(app.handle_key(ch('y')).is_some());
    assert!(!app.popup_open());
    assert_eq!(app.handle_key(ch('q')), None);
    assert!(screen(&app).contains("Quit TimeCoin?"));
    assert_eq!(app.handle_key(key(KeyCode::Esc)), None);
    assert!(!app.should_quit());
    // Asking twice is an answer.
    assert_eq!(app.handle_key(ch('q')), None);
    assert_eq!(app.handle_key(ch('q')), Some(UiAction::Quit));
}

#[test]
fn late_preview_after_closing_the_form_is_cancelled() {
    let mut app = sample_app();
    fill_send_form(&mut app, SAMPLE_OTHER_ADDRESS, "1");
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    press(&mut app, &[key(KeyCode::Esc)]);
    app.handle_event(preview_event(11));
    assert!(!app.popup_open());
    assert_eq!(
        app.take_action(),
        Some(UiAction::CancelSend { preview_id: 11 })
    );
    assert_eq!(app.take_action(), None);
}

#[test]
fn reveal_mnemonic_needs_confirmation_then_passphrase() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('m')]);
    assert!(screen(&app).contains("Anyone who sees these 24 words"));
    assert_eq!(app.handle_key(key(KeyCode::Esc)), None);
    assert!(!app.popup_open(), "declining closes it");

    press(&mut app, &[ch('m'), ch('y')]);
    type_text(&mut app, "bad");
    assert!(matches!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::RevealMnemonic { .. })
    ));
    app.handle_event(UiEvent::Error("wrong passphrase".into()));
    assert!(screen(&app).contains("✗ wrong passphrase"));

    type_text(&mut app, "good");
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::RevealMnemonic {
            passphrase: Secret::new("good".to_string())
        })
    );
    let words: Vec<String> = (1..=24).map(|i| format!("w{i}")).collect();
    app.handle_event(UiEvent::Mnemonic(Secret::new(words)));
    assert!(screen(&app).contains("24. w24"));
    press(&mut app, &[key(KeyCode::Enter)]);
    assert!(!app.popup_open());
    assert!(!screen(&app).contains("w24"));
}

/// Attached over RPC, `m` says what to run on the node's machine instead of asking for a
/// passphrase it could not use.
#[test]
fn a_ui_without_the_mnemonic_says_where_to_see_it() {
    let mut app = sample_app().mnemonic_elsewhere("run `timed wallet mnemonic` on the node");
    assert_eq!(press(&mut app, &[ch('6'), ch('m')]), vec![]);
    let text = screen(&app);
    assert!(
        text.contains("run `timed wallet mnemonic` on the node"),
        "{text}"
    );
    assert!(!text.contains("Passphrase"), "{text}");
    press(&mut app, &[key(KeyCode::Esc)]);
    assert!(!app.popup_open());
}

#[test]
fn mnemonic_arriving_after_the_prompt_closed_is_dropped() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('m'), ch('y')]);
    type_text(&mut app, "pw");
    assert!(app.handle_key(key(KeyCode::Enter)).is_some());
    press(&mut app, &[key(KeyCode::Esc)]);
    app.handle_event(UiEvent::Mnemonic(Secret::new(vec!["secretword".into()])));
    assert!(!app.popup_open());
    assert!(!screen(&app).contains("secretword"));
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let action = UiAction::Unlock {
        passphrase: Secret::new("hunter2".to_string()),
    };
    assert!(!format!("{action:?}").contains("hunter2"));
    let event = UiEvent::Mnemonic(Secret::new(vec!["abandon".to_string()]));
    assert!(!format!("{event:?}").contains("abandon"));
}

#[test]
fn masternode_register_and_leave() {
    let mut app = sample_app();
    press(&mut app, &[ch('5'), ch('g'), ch('j'), key(KeyCode::Enter)]);
    assert!(screen(&app).contains("Tier silver: 10,000 TIME collateral"));
    assert_eq!(
        app.handle_key(ch('y')),
        Some(UiAction::RegisterMasternode {
            tier: "silver".into()
        })
    );
    press(&mut app, &[ch('g'), ch('j'), ch('j'), ch('j')]);
    assert_eq!(
        press(&mut app, &[key(KeyCode::Enter), ch('y')]),
        vec![UiAction::RegisterMasternode {
            tier: "gold".into()
        }]
    );
    press(&mut app, &[ch('x')]);
    assert_eq!(app.handle_key(ch('n')), None);
    assert_eq!(
        press(&mut app, &[ch('x'), ch('y')]),
        vec![UiAction::LeaveMasternode]
    );
}

#[test]
fn new_address_and_contacts() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('n')]);
    type_text(&mut app, "savings");
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::NewAddress {
            label: "savings".into()
        })
    );

    press(&mut app, &[ch('a')]);
    type_text(&mut app, "carol");
    press(&mut app, &[key(KeyCode::Tab)]);
    type_text(&mut app, "dtime1short");
    assert_eq!(app.handle_key(key(KeyCode::Enter)), None);
    assert!(screen(&app).contains("✗ invalid checksum"));
    press(
        &mut app,
        &[KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)],
    );
    type_text(&mut app, SAMPLE_OTHER_ADDRESS);
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::AddContact {
            label: "carol".into(),
            address: SAMPLE_OTHER_ADDRESS.into()
        })
    );
}

#[test]
fn send_to_selected_contact_prefills_the_recipient() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('f'), ch('f'), ch('s')]);
    type_text(&mut app, "3");
    assert!(matches!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::PreviewSend { ref to, amount_units: 300_000_000, .. }) if to == SAMPLE_OTHER_ADDRESS
    ));
}

#[test]
fn wallet_keys_without_wallet_say_so() {
    let mut app = App::new(validator());
    let mut vm = sample_view_model();
    vm.wallet = Default::default();
    app.set_view(vm);
    assert_eq!(
        press(&mut app, &[ch('6'), ch('s'), ch('l'), ch('u')]),
        vec![]
    );
    assert_eq!(app.notice(), Some(("no wallet loaded", true)));
    assert!(!app.popup_open());
    assert!(screen(&app).contains("No wallet loaded."));
}

#[test]
fn lock_key_sends_lock() {
    let mut app = sample_app();
    assert_eq!(press(&mut app, &[ch('6'), ch('l')]), vec![UiAction::Lock]);
}

#[test]
fn help_toggles_and_is_generated_from_the_keymap() {
    let mut app = sample_app();
    press(&mut app, &[ch('?')]);
    let text = screen(&app);
    for b in timecoin_ui::keymap::KEYMAP
        .iter()
        .filter(|b| b.context == timecoin_ui::keymap::Context::Global)
    {
        assert!(text.contains(b.description), "help lacks {}", b.description);
    }
    press(&mut app, &[ch('?')]);
    assert!(!app.popup_open());
}

#[test]
fn selection_moves_and_is_clamped() {
    let mut app = sample_app();
    press(&mut app, &[ch('3')]);
    for _ in 0..20 {
        press(&mut app, &[ch('j')]);
    }
    // 9 peers: the selection stops at the last; a smaller view clamps it.
    assert_eq!(selected_rows(&app), ["127.0.0.1:24108"]);
    let mut vm = sample_view_model();
    vm.peers.rows.truncate(2);
    app.set_view(vm);
    assert_eq!(selected_rows(&app), ["127.0.0.1:24101"]);
    press(&mut app, &[key(KeyCode::Up)]);
    assert_eq!(selected_rows(&app), ["127.0.0.1:24100"]);
    press(&mut app, &[key(KeyCode::Up), key(KeyCode::Up)]);
    assert_eq!(
        selected_rows(&app),
        ["127.0.0.1:24100"],
        "stops at the first"
    );
}

/// Peer addresses on the rows drawn with the selection style.
fn selected_rows(app: &App) -> Vec<String> {
    let terminal = draw(app, 120, 40);
    let buf = terminal.backend().buffer();
    let area = *buf.area();
    (area.top()..area.bottom())
        .filter(|&y| {
            (area.left()..area.right()).any(|x| buf[(x, y)].bg == ratatui::style::Color::DarkGray)
        })
        .filter_map(|y| {
            let line: String = (area.left()..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect();
            line.split_whitespace()
                .find(|w| w.starts_with("127.0.0.1:"))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn release_events_are_ignored() {
    let mut app = sample_app();
    let mut release = ch('q');
    release.kind = KeyEventKind::Release;
    assert_eq!(app.handle_key(release), None);
    assert!(!app.should_quit());
}

/// The UI's clock `ms` after the sample snapshot was published.
fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(SAMPLE_NOW_UNIX * 1000 + ms)
}

#[test]
fn data_age_grows_without_new_snapshots() {
    let mut app = sample_app();
    assert!(!app.tick(at(0)), "published just now: nothing to redraw");
    assert!(screen(&app).contains("updated 0s ago"));
    assert!(app.tick(at(7_000)));
    assert!(screen(&app).contains("updated 7s ago"));
    assert!(app.tick(at(65_000)));
    assert!(
        screen(&app).contains("updated 1m05s ago"),
        "{}",
        screen(&app)
    );
    // The wallet's auto-lock countdown (250 s after publication in the snapshot) moves with
    // the clock too.
    assert!(app.tick(at(7_000)));
    press(&mut app, &[ch('6')]);
    assert_eq!(app.tab(), Tab::Wallet);
    assert!(
        screen(&app).contains("auto-lock in 4m03s"),
        "{}",
        screen(&app)
    );
    assert!(!app.tick(at(7_900)), "same second: no redraw needed");
}

/// The wallet view carries the time the wallet locks itself, not the seconds left when it was
/// published: the countdown falls with the UI's clock while no new wallet view arrives, a
/// republished view does not set it back, and the screen is redrawn when the countdown's
/// second turns even if the data age's does not.
#[test]
fn auto_lock_counts_down_to_the_deadline_the_view_carries() {
    let sample_ms = |ms: u64| Some(SAMPLE_NOW_UNIX * 1000 + ms);
    let mut vm = sample_view_model();
    vm.wallet.auto_lock_at_unix_ms = sample_ms(250_500);
    let mut app = sample_app();
    assert!(app.set_view(vm.clone()), "a new deadline is new data");
    press(&mut app, &[ch('6')]);
    assert_eq!(app.tab(), Tab::Wallet);
    app.tick(at(0));
    assert!(
        screen(&app).contains("auto-lock in 4m11s"),
        "{}",
        screen(&app)
    );
    assert!(
        app.tick(at(600)),
        "250.5 s left became 249.9 s: the countdown's text turns within the data age's second"
    );
    assert!(
        screen(&app).contains("auto-lock in 4m10s"),
        "{}",
        screen(&app)
    );
    assert!(!app.tick(at(900)), "same second of both: no redraw needed");
    assert!(app.tick(at(60_600)));
    assert!(
        screen(&app).contains("auto-lock in 3m10s"),
        "{}",
        screen(&app)
    );

    // The wallet service republishes the same deadline in a later snapshot.
    let mut republished = vm;
    republished.published_unix_ms = sample_ms(60_000);
    app.set_view(republished);
    assert!(screen(&app).contains("updated 0s ago"), "{}", screen(&app));
    assert!(
        screen(&app).contains("auto-lock in 3m10s"),
        "{}",
        screen(&app)
    );

    assert!(app.tick(at(249_600)));
    assert!(screen(&app).contains("auto-lock in 1s"), "{}", screen(&app));
    assert!(
        app.tick(at(250_500)),
        "the deadline: the last second is over"
    );
    assert!(screen(&app).contains("auto-lock in 0s"), "{}", screen(&app));
    app.tick(at(300_000));
    assert!(screen(&app).contains("auto-lock in 0s"), "{}", screen(&app));
}

/// The node publishes its snapshot again every second even when nothing changed: the UI
/// redraws only when the data, or the text of its age, changes.
#[test]
fn an_unchanged_snapshot_is_not_redrawn() {
    let mut app = sample_app();
    app.tick(at(0));
    assert!(!app.set_view(sample_view_model()), "same data, same age");
    let heartbeat = |ms: u64| {
        let mut vm = sample_view_model();
        vm.published_unix_ms = Some(SAMPLE_NOW_UNIX * 1000 + ms);
        vm
    };
    assert!(
        !app.set_view(heartbeat(400)),
        "a heartbeat within the second"
    );
    assert!(app.tick(at(2_500)), "2 s later the age text moves");
    assert!(screen(&app).contains("updated 2s ago"));
    assert!(
        app.set_view(heartbeat(2_400)),
        "a heartbeat sets the age back to 0 s"
    );
    assert!(screen(&app).contains("updated 0s ago"));
    let mut changed = heartbeat(2_400);
    changed.overview.height = Some(4_242);
    assert!(app.set_view(changed), "new data");
}

#[test]
fn no_data_shows_waiting_and_unknown() {
    let app = App::new(validator());
    let text = screen(&app);
    assert!(text.contains("waiting for node"));
    assert!(text.contains("height unknown"));
    assert!(text.contains("peers unknown"));
}

#[test]
fn logs_follow_until_scrolled_up() {
    let mut app = sample_app();
    press(&mut app, &[ch('7')]);
    assert!(screen(&app).contains("following"));
    assert!(screen(&app).contains("event 59:"), "newest line visible");
    press(&mut app, &[key(KeyCode::Home)]);
    let text = screen(&app);
    assert!(text.contains("paused: End to follow"));
    assert!(text.contains("event 0:"), "oldest line visible");
    // New lines do not move a paused view.
    let mut vm = sample_view_model();
    vm.logs.lines.truncate(59);
    app.set_view(vm);
    assert!(screen(&app).contains("event 0:"));
    press(&mut app, &[key(KeyCode::End)]);
    assert!(screen(&app).contains("following"));
    assert!(screen(&app).contains("event 58:"));
}

#[test]
fn help_scrolls_within_bounds() {
    let mut app = sample_app();
    press(&mut app, &[ch('?')]);
    for _ in 0..500 {
        press(&mut app, &[ch('j')]);
    }
    let bottom = draw(&app, 80, 24).backend().to_string();
    assert!(
        bottom.contains("close help"),
        "the last help line is reachable"
    );
    for _ in 0..500 {
        press(&mut app, &[ch('k')]);
    }
    assert!(draw(&app, 80, 24)
        .backend()
        .to_string()
        .contains("Main screen"));
    press(&mut app, &[key(KeyCode::Esc)]);
    assert!(!app.popup_open());
}

#[test]
fn pasted_address_goes_into_the_field_without_submitting() {
    let mut app = sample_app();
    press(&mut app, &[ch('6'), ch('s')]);
    app.handle_paste(&format!("{SAMPLE_OTHER_ADDRESS}\n"));
    press(&mut app, &[key(KeyCode::Tab)]);
    app.handle_paste("0.5");
    assert!(matches!(
        app.handle_key(key(KeyCode::Enter)),
        Some(UiAction::PreviewSend { ref to, amount_units: 50_000_000, .. }) if to == SAMPLE_OTHER_ADDRESS
    ));
    // Without a focused field a paste does nothing.
    let mut idle = sample_app();
    idle.handle_paste("q");
    assert!(!idle.should_quit());
}
