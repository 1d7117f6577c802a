//! TimeCoin terminal UI: view models, keymap, app state and the terminal loop.
//!
//! The crate knows no networking and no storage. The node publishes a
//! [`ViewModel`] on a `watch` channel and answers [`UiAction`]s with
//! [`UiEvent`]s; [`run`] drives an [`App`] from those and the keyboard.

#![warn(missing_docs)]

pub mod action;
pub mod app;
pub mod fixture;
pub mod format;
pub mod keymap;
pub mod qr;
pub mod run;
pub mod view_model;

mod input;
mod popup;
mod render;
mod tabs;
mod widgets;

pub use action::{
    AddressValidator, Secret, SecretString, SecretWords, SendPreview, UiAction, UiEvent,
};
pub use app::{App, Tab, WalletPane};
pub use run::{init_terminal, restore_terminal, run, run_with, try_init_terminal};
pub use view_model::*;

/// Smallest terminal width the UI draws in.
pub const MIN_WIDTH: u16 = 80;

/// Smallest terminal height the UI draws in.
pub const MIN_HEIGHT: u16 = 24;
