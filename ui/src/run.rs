//! The terminal loop: one `select!` over shutdown, keyboard, view updates,
//! node events and a tick; redraws only when something changed, at most
//! [`MAX_FPS`] times a second, each frame inside synchronized output.

use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::ExecutableCommand;
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::{DefaultTerminal, Terminal};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::action::{UiAction, UiEvent};
use crate::app::App;
use crate::view_model::ViewModel;

/// Most frames drawn per second.
pub const MAX_FPS: u32 = 10;

/// How long `run` waits for the node to take the final Quit action.
const QUIT_SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Enters raw mode and the alternate screen, and installs a panic hook that
/// restores the terminal before the panic message is printed.
/// Panics if the terminal cannot be initialised (use [`ratatui::try_init`] to
/// handle that case yourself).
pub fn init_terminal() -> DefaultTerminal {
    ratatui::init()
}

/// Like [`init_terminal`], but returns the error instead of panicking when
/// stdout is not a terminal or raw mode cannot be entered.
pub fn try_init_terminal() -> io::Result<DefaultTerminal> {
    ratatui::try_init()
}

/// Leaves raw mode and the alternate screen. Safe to call more than once and
/// on every exit path (errors, SIGTERM, after a panic).
pub fn restore_terminal() {
    ratatui::restore();
}

/// Draws one frame wrapped in synchronized output, so terminals over SSH
/// show it at once instead of line by line.
fn draw<B>(terminal: &mut Terminal<B>, app: &App) -> io::Result<()>
where
    B: Backend<Error = io::Error> + Write,
{
    terminal.backend_mut().execute(BeginSynchronizedUpdate)?;
    let drawn = terminal.draw(|frame| app.render(frame)).map(|_| ());
    let ended = terminal
        .backend_mut()
        .execute(EndSynchronizedUpdate)
        .map(|_| ());
    drawn.and(ended)
}

/// Forwards an action without blocking the UI; tells the user when the node
/// cannot take it.
fn forward(app: &mut App, actions: &mpsc::Sender<UiAction>, action: UiAction) {
    match actions.try_send(action) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            app.handle_event(UiEvent::Error(
                "the node is busy; the last command was dropped, try again".into(),
            ));
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            app.handle_event(UiEvent::Error("the node no longer accepts commands".into()));
        }
    }
}

/// Runs the UI until the user quits (after sending [`UiAction::Quit`]) or
/// `shutdown` is cancelled. The caller restores the terminal afterwards
/// (see [`restore_terminal`]).
pub async fn run(
    mut terminal: DefaultTerminal,
    app: App,
    view: watch::Receiver<ViewModel>,
    events: mpsc::Receiver<UiEvent>,
    actions: mpsc::Sender<UiAction>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    run_with(
        &mut terminal,
        EventStream::new(),
        app,
        view,
        events,
        actions,
        shutdown,
    )
    .await
    .map(|_| ())
}

/// [`run()`] with any crossterm-style backend and any source of terminal
/// events (tests feed a channel and write into a `Vec<u8>`). Returns the
/// final app state.
///
/// Node answers and view updates are handled before pending key presses
/// (`biased` select), so a key typed after an answer arrived sees it.
pub async fn run_with<B, S>(
    terminal: &mut Terminal<B>,
    mut input: S,
    mut app: App,
    mut view: watch::Receiver<ViewModel>,
    mut events: mpsc::Receiver<UiEvent>,
    actions: mpsc::Sender<UiAction>,
    shutdown: CancellationToken,
) -> io::Result<App>
where
    B: Backend<Error = io::Error> + Write,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    let min_frame = Duration::from_secs(1) / MAX_FPS;
    let mut tick = tokio::time::interval(min_frame);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    app.tick(SystemTime::now());
    app.set_view(view.borrow_and_update().clone());
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut view_open = true;
    let mut events_open = true;

    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= min_frame) {
            draw(terminal, &app)?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ok(app),
            ev = events.recv(), if events_open => match ev {
                Some(ev) => {
                    app.handle_event(ev);
                    dirty = true;
                }
                None => events_open = false,
            },
            changed = view.changed(), if view_open => match changed {
                Ok(()) => {
                    let vm = view.borrow_and_update().clone();
                    // Read the clock first: the new data's age is measured against it.
                    dirty |= app.tick(SystemTime::now());
                    dirty |= app.set_view(vm);
                }
                Err(_) => {
                    view_open = false;
                    app.handle_event(UiEvent::Error("the node stopped publishing data".into()));
                    dirty = true;
                }
            },
            maybe = input.next() => match maybe {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    if let Some(action) = app.handle_key(key) {
                        if matches!(action, UiAction::Quit) {
                            // Best effort: the node may already be gone.
                            let _ = tokio::time::timeout(QUIT_SEND_TIMEOUT, actions.send(UiAction::Quit)).await;
                            return Ok(app);
                        }
                        forward(&mut app, &actions, action);
                    }
                    dirty = true;
                }
                Some(Ok(Event::Paste(text))) => {
                    app.handle_paste(&text);
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => {
                    terminal.autoresize()?;
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(app),
            },
            _ = tick.tick() => {
                if app.tick(SystemTime::now()) {
                    dirty = true;
                }
            }
        }
        while let Some(action) = app.take_action() {
            forward(&mut app, &actions, action);
            dirty = true;
        }
        if app.should_quit() {
            return Ok(app);
        }
    }
}
