//! One module per tab; each draws from `&App` into the body area.

pub(crate) mod consensus;
pub(crate) mod logs;
pub(crate) mod masternodes;
pub(crate) mod mempool;
pub(crate) mod overview;
pub(crate) mod peers;
pub(crate) mod wallet;

use ratatui::layout::Rect;
use ratatui::Frame;

use crate::app::{App, Tab};

/// Draws the selected tab.
pub(crate) fn render(app: &App, frame: &mut Frame, area: Rect) {
    match app.tab {
        Tab::Overview => overview::render(app, frame, area),
        Tab::Consensus => consensus::render(app, frame, area),
        Tab::Peers => peers::render(app, frame, area),
        Tab::Mempool => mempool::render(app, frame, area),
        Tab::Masternodes => masternodes::render(app, frame, area),
        Tab::Wallet => wallet::render(app, frame, area),
        Tab::Logs => logs::render(app, frame, area),
    }
}
