//! Runs the real terminal UI against a fake in-process node: the sample view
//! model with a moving chain, and plausible answers to every action. Use it to
//! try the UI without a node. Unlock passphrase: "demo".
//!
//! Run: `cargo run -p timecoin-ui --example demo`
//! (`TIMECOIN_DEMO_EXIT_AFTER_SECS=3` stops it through the shutdown token.)

use std::sync::Arc;
use std::time::Duration;

use timecoin_ui::fixture::sample_view_model;
use timecoin_ui::{
    App, LogLevel, LogLine, RoundOutcome, RoundRecord, Secret, UiAction, UiEvent, ViewModel,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Insecure, clearly labelled demo words (never a real wallet).
const DEMO_WORDS: &str = "insecure demo words only never use these for real coins abandon \
    ability able about above absent absorb abstract absurd abuse access accident account accuse";

/// Moves the fake chain forward one block.
fn advance(vm: &mut ViewModel, step: u64) {
    let height = vm.overview.height.unwrap_or(0) + 1;
    vm.overview.height = Some(height);
    vm.consensus.height = Some(height + 1);
    vm.overview.tx_per_sec_history.remove(0);
    vm.overview.tx_per_sec_history.push(20 + (step * 37) % 50);
    vm.overview.finality_ms_history.remove(0);
    vm.overview
        .finality_ms_history
        .push(300 + (step * 53) % 400);
    vm.consensus.recent_rounds.insert(
        0,
        RoundRecord {
            height,
            round: 0,
            duration_ms: Some(300 + (step * 53) % 400),
            outcome: RoundOutcome::Committed(format!("{:08x}", height.wrapping_mul(2_654_435_761))),
        },
    );
    vm.consensus.recent_rounds.truncate(30);
    vm.logs.lines.push(LogLine {
        level: LogLevel::Info,
        target: "consensus::round".into(),
        message: format!(
            "block {height} final with {} precommits",
            vm.consensus.validators.len()
        ),
        time_unix_ms: 1_795_000_000_000 + step * 500,
    });
}

/// The fake node: publishes snapshots and answers actions until Quit.
async fn fake_node(
    view: watch::Sender<ViewModel>,
    events: mpsc::Sender<UiEvent>,
    mut actions: mpsc::Receiver<UiAction>,
    shutdown: CancellationToken,
) {
    let mut vm = sample_view_model();
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let mut step = 0u64;
    let mut next_preview = 1u64;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {
                step += 1;
                advance(&mut vm, step);
                let _ = view.send(vm.clone());
            }
            action = actions.recv() => {
                let answer = match action {
                    None | Some(UiAction::Quit) => return,
                    Some(UiAction::PreviewSend { to, amount_units, fee_rate }) => {
                        let size = 226u64;
                        let fee = size * fee_rate;
                        let id = next_preview;
                        next_preview += 1;
                        match vm.wallet.balance_finalized.checked_sub(amount_units + fee) {
                            Some(change) => UiEvent::SendPreview(timecoin_ui::SendPreview {
                                preview_id: id,
                                recipient: to,
                                amount_units,
                                fee_units: fee,
                                change_units: change,
                                inputs: 1,
                                size_bytes: size as usize,
                            }),
                            None => UiEvent::Error("insufficient funds for amount plus fee".into()),
                        }
                    }
                    Some(UiAction::ConfirmSend { preview_id }) => {
                        UiEvent::SendResult(Ok(format!("{:016x}", preview_id.wrapping_mul(0x9e37_79b9))))
                    }
                    Some(UiAction::CancelSend { .. }) => UiEvent::Notice("preview discarded".into()),
                    Some(UiAction::Unlock { passphrase }) => {
                        if passphrase.expose() == "demo" {
                            vm.wallet.locked = false;
                            let _ = view.send(vm.clone());
                            UiEvent::Unlocked(Ok(()))
                        } else {
                            UiEvent::Unlocked(Err("wrong passphrase (the demo uses \"demo\")".into()))
                        }
                    }
                    Some(UiAction::Lock) => {
                        vm.wallet.locked = true;
                        let _ = view.send(vm.clone());
                        UiEvent::Notice("wallet locked".into())
                    }
                    Some(UiAction::NewAddress { label }) => UiEvent::Notice(format!("new address labelled {label:?}")),
                    Some(UiAction::RevealMnemonic { passphrase }) => {
                        if passphrase.expose() == "demo" {
                            UiEvent::Mnemonic(Secret::new(DEMO_WORDS.split_whitespace().map(String::from).collect()))
                        } else {
                            UiEvent::Error("wrong passphrase (the demo uses \"demo\")".into())
                        }
                    }
                    Some(UiAction::RegisterMasternode { tier }) => UiEvent::Notice(format!("registration as {tier} submitted")),
                    Some(UiAction::LeaveMasternode) => UiEvent::Notice("exit submitted".into()),
                    Some(UiAction::AddContact { label, .. }) => UiEvent::Notice(format!("contact {label} added")),
                };
                let _ = events.send(answer).await;
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let (view_tx, view_rx) = watch::channel(sample_view_model());
    let (event_tx, event_rx) = mpsc::channel(64);
    let (action_tx, action_rx) = mpsc::channel(64);
    let shutdown = CancellationToken::new();
    tokio::spawn(fake_node(view_tx, event_tx, action_rx, shutdown.clone()));
    if let Some(secs) = std::env::var("TIMECOIN_DEMO_EXIT_AFTER_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        let token = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            token.cancel();
        });
    }
    let validator: timecoin_ui::AddressValidator = Arc::new(|addr: &str| {
        if addr.starts_with("dtime1") && addr.len() == 45 {
            Ok(())
        } else {
            Err("not a devnet address (dtime1…, 45 characters)".into())
        }
    });
    let terminal = timecoin_ui::init_terminal();
    let result = timecoin_ui::run(
        terminal,
        App::new(validator),
        view_rx,
        event_rx,
        action_tx,
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    timecoin_ui::restore_terminal();
    result
}
