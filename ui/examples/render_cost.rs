//! Measures the cost of one frame per tab: render into a crossterm backend
//! that writes escape sequences to a sink, with the view model changing every
//! frame (so the diff really writes). Prints microseconds per frame.
//!
//! Run: `cargo run -p timecoin-ui --example render_cost [--release]`

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use timecoin_ui::fixture::sample_view_model;
use timecoin_ui::{App, LogLevel, LogLine, ValidatorVoteRow, VoteState};

const FRAMES: u32 = 300;

fn busy_view(frame: u64) -> timecoin_ui::ViewModel {
    let mut vm = sample_view_model();
    vm.overview.height = Some(4241 + frame);
    // A large active set and a full log ring buffer.
    vm.consensus.validators = (0..100u64)
        .map(|i| ValidatorVoteRow {
            name: format!("mn-{i:03}"),
            weight: [1, 10, 100][(i % 3) as usize],
            is_proposer: i == frame % 100,
            is_self: i == 7,
            prevote: if (i + frame) % 5 == 0 {
                VoteState::NotVoted
            } else {
                VoteState::Value("b33f03bf".into())
            },
            precommit: if (i + frame) % 3 == 0 {
                VoteState::Nil
            } else {
                VoteState::Value("b33f03bf".into())
            },
            ..Default::default()
        })
        .collect();
    vm.logs.lines = (0..5_000u64)
        .map(|i| LogLine {
            level: if i % 7 == 0 {
                LogLevel::Warn
            } else {
                LogLevel::Info
            },
            target: "consensus::round".into(),
            message: format!(
                "frame {frame} line {i}: prevote height={} round=0",
                4000 + i
            ),
            time_unix_ms: 1_795_000_000_000 + i * 10,
        })
        .collect();
    vm
}

fn main() -> io::Result<()> {
    let sizes = [(80u16, 24u16), (120, 40), (200, 60)];
    println!(
        "{:<12} {:>8} {:>8} {:>8}   (µs per frame: draw only, best of 3 runs of {FRAMES} frames)",
        "tab", "80x24", "120x40", "200x60"
    );
    let views: Vec<_> = (0..8).map(busy_view).collect();
    let mut worst = 0f64;
    let mut clone_us = 0f64;
    for (tab_key, name) in ['1', '2', '3', '4', '5', '6', '7'].iter().zip([
        "overview",
        "consensus",
        "peers",
        "mempool",
        "masternodes",
        "wallet",
        "logs",
    ]) {
        let mut row = format!("{name:<12}");
        for (w, h) in sizes {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let mut terminal = Terminal::with_options(
                    CrosstermBackend::new(io::sink()),
                    TerminalOptions {
                        viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
                    },
                )?;
                let mut app = App::new(Arc::new(|_: &str| Ok(())));
                app.handle_key(KeyEvent::new(KeyCode::Char(*tab_key), KeyModifiers::NONE));
                let mut draw = Duration::ZERO;
                let mut clone = Duration::ZERO;
                for i in 0..FRAMES {
                    // The clone is what the run loop does for each new snapshot.
                    let t = Instant::now();
                    app.set_view(views[i as usize % views.len()].clone());
                    clone += t.elapsed();
                    let t = Instant::now();
                    terminal.draw(|f| app.render(f))?;
                    draw += t.elapsed();
                }
                best = best.min(draw.as_secs_f64() * 1e6 / f64::from(FRAMES));
                clone_us = clone_us.max(clone.as_secs_f64() * 1e6 / f64::from(FRAMES));
            }
            worst = worst.max(best);
            row.push_str(&format!(" {best:>8.0}"));
        }
        println!("{row}");
    }
    println!("worst draw: {worst:.0} µs per frame (budget at 10 fps: 100000 µs)");
    println!("set_view (clone of a 5,000-line, 100-masternode view model): up to {clone_us:.0} µs");
    Ok(())
}
