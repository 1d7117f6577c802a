//! TimeCoin terminal UI: view models, keymap, app state and the terminal loop.
//!
//! The crate knows no networking and no storage. The node publishes a
//! [`ViewModel`] on a `watch` channel and answers [`UiAction`]s with
//! [`UiEvent`]s; [`run()`] drives an [`App`] from those and the keyboard.
//!
//! Wiring in the binary (the terminal is restored on every path: normal
//! return, error, and panic through the hook that [`init_terminal`] installs):
//!
//! ```no_run
//! use std::sync::Arc;
//! use timecoin_ui::{App, UiAction, UiEvent, ViewModel};
//! use tokio::sync::{mpsc, watch};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn node_side(_: watch::Sender<ViewModel>, _: mpsc::Sender<UiEvent>, _: mpsc::Receiver<UiAction>) {}
//! # async fn example() -> std::io::Result<()> {
//! let (view_tx, view_rx) = watch::channel(ViewModel::default());
//! let (event_tx, event_rx) = mpsc::channel::<UiEvent>(64);
//! let (action_tx, action_rx) = mpsc::channel::<UiAction>(64);
//! let shutdown = CancellationToken::new();
//! // The node publishes snapshots on view_tx, answers actions on event_tx.
//! tokio::spawn(node_side(view_tx, event_tx, action_rx));
//!
//! let validator: timecoin_ui::AddressValidator = Arc::new(|addr: &str| {
//!     if addr.is_empty() { Err("empty address".into()) } else { Ok(()) }
//! });
//! let terminal = timecoin_ui::init_terminal();
//! let result = timecoin_ui::run(terminal, App::new(validator), view_rx, event_rx, action_tx, shutdown).await;
//! timecoin_ui::restore_terminal();
//! result
//! # }
//! ```

pub mod action;
pub mod app;
#[cfg(any(test, feature = "test-utils"))]
pub mod fixture;
pub mod format;
pub mod keymap;
pub mod qr;
pub mod run;
pub mod view_model;

mod answers;
mod input;
mod popups;
mod render;
mod tab;
mod tabs;
mod widgets;

pub use action::{
    AddressValidator, Secret, SecretString, SecretWords, SendPreview, UiAction, UiEvent,
};
pub use app::{App, Tab, WalletPane};
pub use popups::TIERS as REGISTER_TIERS;
pub use run::{init_terminal, restore_terminal, run, run_with, try_init_terminal};
pub use view_model::*;

/// Smallest terminal width the UI draws in.
pub const MIN_WIDTH: u16 = 80;

/// Smallest terminal height the UI draws in.
pub const MIN_HEIGHT: u16 = 24;
