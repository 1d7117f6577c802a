//! `timed attach`: the terminal UI of a node running in another process, over its JSON-RPC.
//!
//! One UI, two sources: in process, the bridge in [`super::run`] builds the view model from the
//! node's watch channels; here the node builds the same view model and `getnodesnapshot` (a
//! long poll) hands it over whenever the node's snapshot changes. Wallet actions become wallet
//! RPC calls. When the node goes away the UI keeps what it holds, says "disconnected,
//! retrying" with the age of that data, and reconnects by itself (reading the cookie again: a
//! restarted node writes a new one). Leaving (`q`, Ctrl-C, SIGHUP, SIGTERM) never stops the node.

use super::args::AttachArgs;
use super::args::NodeArgs;
use super::resolve;
use super::ui_link;
use crate::rpc::client::{ClientError, RpcClient};
use crate::rpc::endpoint::Credentials;
use crate::rpc::json::parse_amount;
use crate::types::{Address, Amount};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timecoin_ui as ui;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long the node may hold a long poll before answering with an unchanged snapshot.
const POLL_TIMEOUT_MS: u64 = 5_000;
/// A call that takes longer than this (the poll's wait included) counts as a lost node.
const CALL_TIMEOUT: Duration = Duration::from_millis(POLL_TIMEOUT_MS + 5_000);
/// Wallet calls may run Argon2 on the node.
const ACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between reconnection attempts.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Shortest time between two snapshots asked for.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Log lines asked for with each snapshot.
const LOG_LINES: u64 = 300;
/// What `m` says here. The mnemonic is the wallet's master secret: one RPC call would hand
/// every coin to whoever holds the cookie or the RPC password, over a socket, so no RPC method
/// reveals it (Bitcoin Core's descriptor wallets have no dumpprivkey either); it is read
/// from the wallet file on the node's machine.
const MNEMONIC_ELSEWHERE: &str =
    "The mnemonic is the wallet's master secret and never goes over RPC.\n\
     To see it, on the node's machine, as the node's user, run:\n  \
     timed wallet mnemonic   (with the node's --config or --datadir)";

/// Where the node is and how to log in.
#[derive(Clone, Debug)]
struct Endpoint {
    url: String,
    credentials: Credentials,
}

impl Endpoint {
    /// A fresh client (credentials read again).
    fn client(&self) -> Result<RpcClient, String> {
        let auth = self.credentials.header().map_err(|e| e.to_string())?;
        RpcClient::new(&self.url, Some(auth)).map_err(|e| e.to_string())
    }
}

/// What the attach UI holds from the node.
#[derive(Clone, Debug, Default)]
struct Held {
    /// The last view model received and its seq.
    view: Option<(ui::ViewModel, u64)>,
    /// Why the node is not reachable now, while retrying.
    down: Option<String>,
}

/// Runs `timed attach`.
pub fn run(args: &AttachArgs, node: &NodeArgs) -> Result<(), String> {
    let config = resolve::load_config(node).map_err(|e| e.to_string())?;
    let url = args
        .rpc_url
        .clone()
        .unwrap_or_else(|| resolve::rpc_url(&config));
    let credentials = match (args.login.user_password(), &args.cookie) {
        (Some((user, p)), _) => Credentials::UserPassword {
            user: user.to_string(),
            password: secrecy::SecretString::from(p),
        },
        (None, Some(file)) => Credentials::Cookie(file.clone()),
        (None, None) => resolve::rpc_credentials(&config),
    };
    let endpoint = Endpoint { url, credentials };
    RpcClient::new(&endpoint.url, None).map_err(|e| format!("{e} (--rpc-url)"))?;
    let network = config.node.network;
    let auto_lock = config.wallet.auto_lock_secs;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("timed-attach")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async move {
        // Say what is wrong before taking over the terminal, rather than showing a UI that
        // never had any data.
        first_contact(&endpoint).await?;
        attach_ui(endpoint, network, auto_lock).await
    })
}

/// One call, so that a wrong URL or cookie is a one-line error instead of an empty UI.
async fn first_contact(endpoint: &Endpoint) -> Result<(), String> {
    let hint =
        "is timed running? Otherwise pass --rpc-url, --cookie FILE or --rpc-user/--rpc-password";
    let mut c = endpoint.client().map_err(|e| format!("{e}; {hint}"))?;
    match tokio::time::timeout(CALL_TIMEOUT, c.call("getnodesnapshot", json!([null, 0, 0]))).await {
        Err(_) => Err(format!(
            "{} did not answer within {CALL_TIMEOUT:?}; {hint}",
            endpoint.url
        )),
        Ok(Err(ClientError::Rpc(e))) if e.code == -32601 => Err(format!(
            "the node at {} cannot be followed (no getnodesnapshot): upgrade it",
            endpoint.url
        )),
        Ok(Err(e)) => Err(format!("{e}; {hint}")),
        Ok(Ok(_)) => Ok(()),
    }
}

async fn attach_ui(
    endpoint: Endpoint,
    network: crate::types::Network,
    auto_lock: u64,
) -> Result<(), String> {
    let root = CancellationToken::new();
    spawn_signal_handler(root.clone());
    let validator: ui::AddressValidator = Arc::new(move |s: &str| {
        Address::parse(s, network)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let app = ui::App::new(validator).mnemonic_elsewhere(MNEMONIC_ELSEWHERE);
    let (held_tx, held_rx) = watch::channel(Held::default());
    let held_tx = Arc::new(held_tx);
    let (view_tx, view_rx) = watch::channel(ui::ViewModel::default());
    let (event_tx, event_rx) = mpsc::channel(64);
    let (action_tx, action_rx) = mpsc::channel(64);
    let poller = tokio::spawn(follow(endpoint.clone(), held_tx.clone(), root.clone()));
    let bridge = tokio::spawn(bridge(
        endpoint,
        held_tx,
        held_rx,
        view_tx,
        event_tx,
        action_rx,
        auto_lock,
        root.clone(),
    ));
    let terminal = ui::try_init_terminal()
        .map_err(|e| format!("cannot start the terminal UI: {e} (attach needs a terminal)"))?;
    let r = ui::run(terminal, app, view_rx, event_rx, action_tx, root.clone()).await;
    ui::restore_terminal();
    root.cancel();
    let _ = bridge.await;
    let _ = poller.await;
    r.map_err(|e| format!("terminal UI failed: {e}"))
}

/// Ctrl-C outside raw mode, SIGTERM and SIGHUP (the SSH session went away) end the UI, never
/// the node.
fn spawn_signal_handler(root: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                let _ = tokio::signal::ctrl_c().await;
                root.cancel();
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
                _ = root.cancelled() => return,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        root.cancel();
    });
}

/// Follows the node: long polls `getnodesnapshot` with the seq held, reconnecting (and reading
/// the cookie again) after any failure.
async fn follow(endpoint: Endpoint, held: Arc<watch::Sender<Held>>, root: CancellationToken) {
    let mut client: Option<RpcClient> = None;
    loop {
        // A busy node publishes up to 20 snapshots a second; the UI draws at most 10 frames.
        let asked = Instant::now();
        let since = held.borrow().view.as_ref().map(|(_, s)| *s);
        let result = async {
            if client.is_none() {
                client = Some(endpoint.client()?);
            }
            let Some(c) = client.as_mut() else {
                return Err("no client".to_string());
            };
            let params = json!([since, POLL_TIMEOUT_MS, LOG_LINES]);
            match tokio::time::timeout(CALL_TIMEOUT, c.call("getnodesnapshot", params)).await {
                Err(_) => Err(format!("{} stopped answering", endpoint.url)),
                Ok(Err(e)) => Err(e.to_string()),
                Ok(Ok(v)) => Ok(v),
            }
        };
        let result = tokio::select! {
            _ = root.cancelled() => return,
            r = result => r,
        };
        match result.and_then(|v| decode(&v)) {
            Ok((seq, vm)) => {
                held.send_modify(|h| {
                    h.view = Some((vm, seq));
                    h.down = None;
                });
                let next = asked + MIN_POLL_INTERVAL;
                tokio::select! {
                    _ = root.cancelled() => return,
                    _ = tokio::time::sleep_until(next.into()) => {}
                }
            }
            Err(e) => {
                client = None;
                let why = e.lines().last().unwrap_or("unknown error").to_string();
                held.send_modify(|h| h.down = Some(why));
                tokio::select! {
                    _ = root.cancelled() => return,
                    _ = tokio::time::sleep(RETRY_EVERY) => {}
                }
            }
        }
    }
}

/// A `getnodesnapshot` answer: its seq and view model.
fn decode(v: &Value) -> Result<(u64, ui::ViewModel), String> {
    let seq = v
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or("getnodesnapshot answered without a seq")?;
    let snapshot = v
        .get("snapshot")
        .cloned()
        .ok_or("getnodesnapshot answered without a snapshot")?;
    let vm = serde_json::from_value(snapshot)
        .map_err(|e| format!("cannot read the node's snapshot ({e}): is it another version?"))?;
    Ok((seq, vm))
}

/// The view model shown: the one held (the UI ages it from the node's publication time),
/// marked while the node is unreachable.
fn shown(h: &Held) -> ui::ViewModel {
    match &h.view {
        Some((vm, _)) => {
            let mut vm = vm.clone();
            vm.disconnected = h.down.clone();
            vm
        }
        None => ui::ViewModel {
            disconnected: h.down.clone(),
            ..Default::default()
        },
    }
}

/// Publishes what the poller holds to the UI and carries out the UI's actions over RPC.
#[allow(clippy::too_many_arguments)]
async fn bridge(
    endpoint: Endpoint,
    held_tx: Arc<watch::Sender<Held>>,
    mut held: watch::Receiver<Held>,
    view_tx: watch::Sender<ui::ViewModel>,
    event_tx: mpsc::Sender<ui::UiEvent>,
    mut actions: mpsc::Receiver<ui::UiAction>,
    auto_lock: u64,
    root: CancellationToken,
) {
    let mut client: Option<RpcClient> = None;
    loop {
        tokio::select! {
            _ = root.cancelled() => break,
            a = actions.recv() => {
                // Quitting leaves the UI; the node keeps running.
                let Some(a) = ui_link::action_to_carry_out(a, &root) else { break };
                let events = act(&endpoint, &mut client, a, auto_lock).await;
                ui_link::show(&event_tx, events).await;
                // Show the action's effect now rather than when the long poll next answers.
                if let Some(c) = client.as_mut() {
                    if let Ok(Ok(v)) = tokio::time::timeout(
                        CALL_TIMEOUT,
                        c.call("getnodesnapshot", json!([null, 0, LOG_LINES])),
                    )
                    .await
                    {
                        if let Ok((seq, vm)) = decode(&v) {
                            held_tx.send_modify(|h| h.view = Some((vm, seq)));
                        }
                    }
                }
                continue;
            }
            r = held.changed() => if r.is_err() { break },
        }
        let vm = shown(&held.borrow_and_update());
        let _ = view_tx.send(vm);
    }
}

/// Calls `method` on the action client, making it first if needed.
async fn call(
    endpoint: &Endpoint,
    client: &mut Option<RpcClient>,
    method: &str,
    params: Value,
) -> Result<Value, String> {
    if client.is_none() {
        *client = Some(endpoint.client()?);
    }
    let Some(c) = client.as_mut() else {
        return Err("no client".into());
    };
    let r = match tokio::time::timeout(ACTION_TIMEOUT, c.call(method, params)).await {
        Err(_) => Err(format!(
            "the node did not answer {method} within {ACTION_TIMEOUT:?}"
        )),
        Ok(Err(ClientError::Rpc(e))) => return Err(e.message),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(v)) => return Ok(v),
    };
    // A transport failure: the next call connects again.
    *client = None;
    r
}

fn units(v: &Value, field: &str) -> Result<u64, String> {
    v.get(field)
        .map(parse_amount)
        .unwrap_or_else(|| Err(format!("missing {field}")))
        .map(|a| a.0)
}

/// Carries out one UI action over RPC; returns the events for the UI.
async fn act(
    endpoint: &Endpoint,
    client: &mut Option<RpcClient>,
    action: ui::UiAction,
    auto_lock: u64,
) -> Vec<ui::UiEvent> {
    use ui::{UiAction as A, UiEvent as E};
    match action {
        A::Quit => vec![],
        A::PreviewSend {
            to,
            amount_units,
            fee_rate,
        } => {
            let amount = Amount(amount_units).to_string();
            match call(
                endpoint,
                client,
                "walletpreparesend",
                json!([to, amount, fee_rate]),
            )
            .await
            {
                Ok(v) => {
                    let preview = (|| -> Result<E, String> {
                        Ok(E::SendPreview(ui::SendPreview {
                            preview_id: v
                                .get("previewid")
                                .and_then(Value::as_u64)
                                .ok_or("missing previewid")?,
                            recipient: v
                                .get("address")
                                .and_then(Value::as_str)
                                .unwrap_or(&to)
                                .to_string(),
                            amount_units: units(&v, "amount")?,
                            fee_units: units(&v, "fee")?,
                            change_units: units(&v, "change")?,
                            inputs: v.get("inputs").and_then(Value::as_u64).unwrap_or(0) as usize,
                            size_bytes: v.get("size").and_then(Value::as_u64).unwrap_or(0) as usize,
                        }))
                    })();
                    vec![preview.unwrap_or_else(|e| {
                        E::Error(format!("the node's preview cannot be read: {e}"))
                    })]
                }
                Err(e) => vec![E::Error(e)],
            }
        }
        A::ConfirmSend { preview_id } => {
            let r = call(endpoint, client, "walletconfirmsend", json!([preview_id])).await;
            vec![E::SendResult(r.map(|v| {
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            }))]
        }
        A::CancelSend { .. } => vec![E::Notice("send cancelled".into())],
        A::Unlock { passphrase } => {
            let params = json!([passphrase.expose(), auto_lock.max(1)]);
            let r = call(endpoint, client, "walletpassphrase", params).await;
            vec![E::Unlocked(r.map(|_| ()))]
        }
        A::Lock => match call(endpoint, client, "walletlock", json!([])).await {
            Ok(_) => vec![E::Notice("wallet locked".into())],
            Err(e) => vec![E::Error(e)],
        },
        A::NewAddress { label } => {
            match call(endpoint, client, "getnewaddress", json!([label])).await {
                Ok(v) => vec![E::Notice(format!(
                    "new address {}",
                    v.as_str().unwrap_or_default()
                ))],
                Err(e) => vec![E::Error(e)],
            }
        }
        // The UI does not ask (see MNEMONIC_ELSEWHERE); should it, the answer is the same.
        A::RevealMnemonic { .. } => vec![E::Error(MNEMONIC_ELSEWHERE.replace('\n', " "))],
        // The node's own wallet takes the step (registermasternode / exitmasternode), as
        // the in-process UI does.
        A::RegisterMasternode { tier } => {
            match call(endpoint, client, "registermasternode", json!([tier])).await {
                Ok(v) if v.get("step").and_then(Value::as_str) == Some("fund_collateral") => {
                    vec![E::Notice(
                        "collateral transfer sent; press g again once it is final".into(),
                    )]
                }
                Ok(_) => vec![E::Notice(
                    "registration sent; the masternode activates 2 blocks after it is final".into(),
                )],
                Err(e) => vec![E::Error(e)],
            }
        }
        A::LeaveMasternode => match call(endpoint, client, "exitmasternode", json!([])).await {
            Ok(_) => vec![E::Notice("exit sent".into())],
            Err(e) => vec![E::Error(e)],
        },
        A::AddContact { label, address } => {
            match call(endpoint, client, "setlabel", json!([address, label])).await {
                Ok(_) => vec![E::Notice(format!("contact {label} saved"))],
                Err(e) => vec![E::Error(e)],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_view_keeps_its_publication_time_and_says_when_the_node_is_away() {
        let vm = ui::ViewModel {
            published_unix_ms: Some(5),
            ..Default::default()
        };
        let mut h = Held {
            view: Some((vm, 7)),
            down: None,
        };
        let shown_vm = shown(&h);
        assert_eq!(
            shown_vm.published_unix_ms,
            Some(5),
            "the UI ages it, not the bridge"
        );
        assert_eq!(shown_vm.disconnected, None);
        h.down = Some("connection refused".into());
        assert_eq!(
            shown(&h).disconnected.as_deref(),
            Some("connection refused")
        );
        assert_eq!(
            shown(&Held {
                view: None,
                down: Some("x".into())
            })
            .published_unix_ms,
            None
        );
    }

    #[test]
    fn a_snapshot_round_trips_through_json() {
        let vm = ui::fixture::sample_between_heights();
        let v = json!({"seq": 3, "snapshot": serde_json::to_value(&vm).expect("encodes")});
        let (seq, back) = decode(&v).expect("decodes");
        assert_eq!(seq, 3);
        assert_eq!(back, vm);
        assert!(decode(&json!({"seq": 1})).is_err());
        assert!(decode(&json!({"seq": 1, "snapshot": {"node": 5}})).is_err());
    }
}
