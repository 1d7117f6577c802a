//! Running nodes: headless or with the terminal UI, until Ctrl-C, SIGTERM, `stop` or `q`.

use super::node_reader::NodeReader;
use super::ui_link;
use super::view::{devnet_names, view_model};
use super::wallet_service::{task, WalletHandle, WalletRequest, WalletService};
use crate::node::logging::LogRing;
use crate::node::{self, NodeHandle, NodeSpec};
use crate::types::Address;
use crate::wallet::Wallet;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;
use timecoin_ui as ui;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How to present the running node(s).
pub struct RunOptions {
    /// No UI even on a terminal.
    pub headless: bool,
    /// The wallet shown in the UI (attached to the first node).
    pub wallet: Option<Wallet>,
    /// Wallet auto-lock.
    pub auto_lock: Duration,
    /// UI snapshot refresh interval.
    pub refresh: Duration,
    /// Number of devnet nodes (masternodes and full nodes), for display names.
    pub devnet_nodes: u32,
    /// Index in `specs` of the node that holds the wallet and that the UI shows.
    pub wallet_node: usize,
    /// Colours of the UI (`[tui] theme`, resolved).
    pub theme: crate::config::Theme,
}

/// Whether the UI will be used: a terminal on stdout and not headless.
pub fn wants_ui(headless: bool) -> bool {
    !headless && std::io::stdout().is_terminal()
}

/// Starts every node (plus its RPC and metrics servers), then runs the UI or waits for a
/// signal; shuts everything down gracefully. Returns an error message for the user.
pub async fn run_nodes(
    specs: Vec<NodeSpec>,
    opts: RunOptions,
    logs: LogRing,
) -> Result<(), String> {
    let root = CancellationToken::new();
    spawn_signal_handler(root.clone());
    let mut handles: Vec<NodeHandle> = Vec::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let mut wallet = opts.wallet;
    let mut service: Option<WalletHandle> = None;
    let mut shown: Option<NodeHandle> = None;
    for (index, spec) in specs.into_iter().enumerate() {
        let name = spec.name.clone();
        match node::start(spec, root.child_token()).await {
            Ok((h, t)) => {
                // One node holds the wallet: its RPC wallet methods and the UI share it.
                let w = if index == opts.wallet_node {
                    shown = Some(h.clone());
                    let mut ws = WalletService::new(wallet.take(), h.clone(), opts.auto_lock);
                    ws.discover_addresses().await;
                    let (handle, owner) = task::spawn(ws, opts.refresh, root.clone());
                    tasks.push(owner);
                    service = Some(handle.clone());
                    Some(handle)
                } else {
                    None
                };
                // Every node can be followed by `timed attach` (`getnodesnapshot`).
                let feed = Some((logs.clone(), opts.devnet_nodes));
                let servers = super::servers::start(&h, w, feed, root.clone()).await;
                match servers {
                    Ok(mut ts) => tasks.append(&mut ts),
                    Err(e) => {
                        root.cancel();
                        return Err(format!("{name}: {e}"));
                    }
                }
                handles.push(h);
                tasks.push(t);
            }
            Err(e) => {
                root.cancel();
                for t in tasks {
                    let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
                }
                return Err(format!("{name}: {e}"));
            }
        }
    }
    let Some(first) = shown.or_else(|| handles.first().cloned()) else {
        return Err("no node to run".into());
    };
    tracing::info!(target: "node", nodes = handles.len(), "running");
    let result = if let (true, Some(service)) = (wants_ui(opts.headless), service) {
        run_ui(
            first,
            service,
            opts.refresh,
            opts.devnet_nodes,
            opts.theme,
            logs,
            root.clone(),
        )
        .await
    } else {
        root.cancelled().await;
        Ok(())
    };
    root.cancel();
    for t in tasks {
        if tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .is_err()
        {
            tracing::warn!(target: "node", "a task did not stop within 10 s");
        }
    }
    let mut flushed = true;
    for h in &handles {
        if let Err(e) = h.storage.flush() {
            flushed = false;
            tracing::error!(target: "storage", "final flush failed: {e}");
        }
    }
    if flushed {
        // The last line of a graceful stop, for `journalctl -u timed`.
        tracing::info!(target: "node", "stopped, storage flushed");
    }
    result
}

fn spawn_signal_handler(root: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(target: "node", "cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    root.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                _ = root.cancelled() => return,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!(target: "node", "shutdown requested");
        root.cancel();
    });
}

async fn run_ui(
    node: NodeHandle,
    service: WalletHandle,
    refresh: Duration,
    devnet_nodes: u32,
    theme: crate::config::Theme,
    logs: LogRing,
    root: CancellationToken,
) -> Result<(), String> {
    let network = node.spec.network;
    let validator: ui::AddressValidator = Arc::new(move |s: &str| {
        Address::parse(s, network)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let app = ui::App::new(validator);
    let (view_tx, view_rx) = watch::channel(ui::ViewModel::default());
    let (event_tx, event_rx) = mpsc::channel(64);
    let (action_tx, action_rx) = mpsc::channel(64);
    let bridge = tokio::spawn(bridge(
        node,
        service,
        logs,
        view_tx,
        event_tx,
        action_rx,
        refresh,
        devnet_nodes,
        root.clone(),
    ));
    let mut terminal = super::theme::init_terminal(theme)
        .map_err(|e| format!("cannot start the terminal UI: {e}; use --headless"))?;
    let events = crossterm::event::EventStream::new();
    let r = ui::run_with(
        &mut terminal,
        events,
        app,
        view_rx,
        event_rx,
        action_tx,
        root.clone(),
    )
    .await
    .map(|_| ());
    ui::restore_terminal();
    root.cancel();
    let _ = bridge.await;
    r.map_err(|e| format!("terminal UI failed: {e}"))
}

/// Feeds the UI: rebuilds the view model on node changes and ticks, and carries out actions.
#[allow(clippy::too_many_arguments)]
async fn bridge(
    node: NodeHandle,
    service: WalletHandle,
    logs: LogRing,
    view_tx: watch::Sender<ui::ViewModel>,
    event_tx: mpsc::Sender<ui::UiEvent>,
    mut actions: mpsc::Receiver<ui::UiAction>,
    refresh: Duration,
    devnet_nodes: u32,
    root: CancellationToken,
) {
    let names = devnet_names(node.spec.network, devnet_nodes);
    let mut snap_rx = node.snapshot.clone();
    let mut tick = tokio::time::interval(refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut wallet = service.view();
    loop {
        tokio::select! {
            _ = root.cancelled() => break,
            a = actions.recv() => {
                // Quitting the UI stops the node too (`root` is the node's).
                let Some(a) = ui_link::action_to_carry_out(a, &root) else { break };
                let events = service
                    .ask(|reply| WalletRequest::Ui { action: a, reply })
                    .await
                    .unwrap_or_default();
                ui_link::show(&event_tx, events).await;
            }
            r = snap_rx.changed() => { if r.is_err() { break } }
            r = wallet.changed() => { if r.is_err() { break } }
            _ = tick.tick() => {}
        }
        let logs = logs.tail(500);
        let vm = {
            let wallet = wallet.borrow_and_update();
            node.with_snapshot_and_peers(|snap, peers| {
                view_model(snap, peers, &wallet.summary, &logs, &names)
            })
        };
        let _ = view_tx.send(vm);
    }
}
