//! The terminal loop, driven through a channel of terminal events and a
//! backend writing into memory.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::common::{ch, key, sample_app};
use crossterm::event::{Event, KeyCode};
use futures::channel::mpsc::{unbounded, UnboundedSender};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use timecoin_ui::fixture::{sample_view_model, SAMPLE_OTHER_ADDRESS};
use timecoin_ui::{run_with, App, UiAction, UiEvent, ViewModel};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Terminal output kept in memory; clones share the bytes.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("no test thread panicked")
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Output {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().expect("no test thread panicked").clone()
    }
}

type MemTerminal = Terminal<CrosstermBackend<Output>>;

fn terminal(out: Output) -> MemTerminal {
    Terminal::with_options(
        CrosstermBackend::new(out),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 100, 30)),
        },
    )
    .expect("a fixed viewport needs no tty")
}

struct Harness {
    input: UnboundedSender<io::Result<Event>>,
    view: watch::Sender<ViewModel>,
    events: mpsc::Sender<UiEvent>,
    actions: mpsc::Receiver<UiAction>,
    shutdown: CancellationToken,
    output: Output,
    task: tokio::task::JoinHandle<io::Result<App>>,
}

fn start() -> Harness {
    let (input, input_rx) = unbounded();
    let (view, view_rx) = watch::channel(sample_view_model());
    let (events, events_rx) = mpsc::channel(16);
    let (actions_tx, actions) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let output = Output::default();
    let out = output.clone();
    let task = tokio::spawn(async move {
        let mut term = terminal(out);
        run_with(
            &mut term,
            input_rx,
            sample_app(),
            view_rx,
            events_rx,
            actions_tx,
            token,
        )
        .await
    });
    Harness {
        input,
        view,
        events,
        actions,
        shutdown,
        output,
        task,
    }
}

impl Harness {
    fn keys(&self, keys: &[crossterm::event::KeyEvent]) {
        for k in keys {
            self.input
                .unbounded_send(Ok(Event::Key(*k)))
                .expect("loop is running");
        }
    }

    fn text(&self, text: &str) {
        for c in text.chars() {
            self.keys(&[ch(c)]);
        }
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

#[tokio::test]
async fn quit_key_sends_quit_and_returns() {
    let mut h = start();
    h.keys(&[ch('q')]);
    assert_eq!(h.actions.recv().await, Some(UiAction::Quit));
    let result = h.task.await.expect("loop does not panic");
    assert!(result.expect("no io error").should_quit());
    let out = h.output.bytes();
    assert!(count(&out, BEGIN_SYNC) >= 1);
    assert_eq!(
        count(&out, BEGIN_SYNC),
        count(&out, END_SYNC),
        "every frame is wrapped"
    );
}

#[tokio::test]
async fn shutdown_ends_the_loop() {
    let h = start();
    h.shutdown.cancel();
    let result = h.task.await.expect("loop does not panic");
    assert!(!result.expect("no io error").should_quit());
}

#[tokio::test]
async fn send_flow_through_the_loop() {
    let mut h = start();
    h.keys(&[ch('6'), ch('s')]);
    h.text(SAMPLE_OTHER_ADDRESS);
    h.keys(&[key(KeyCode::Tab)]);
    h.text("0.25");
    h.keys(&[key(KeyCode::Enter)]);
    assert_eq!(
        h.actions.recv().await,
        Some(UiAction::PreviewSend {
            to: SAMPLE_OTHER_ADDRESS.into(),
            amount_units: 25_000_000,
            fee_rate: 1
        })
    );
    h.events
        .send(UiEvent::SendPreview(timecoin_ui::SendPreview {
            preview_id: 1,
            recipient: SAMPLE_OTHER_ADDRESS.into(),
            amount_units: 25_000_000,
            fee_units: 226,
            change_units: 1,
            inputs: 1,
            size_bytes: 226,
        }))
        .await
        .expect("loop is running");
    // Node answers are handled before later keys (biased select).
    h.keys(&[ch('y')]);
    assert_eq!(
        h.actions.recv().await,
        Some(UiAction::ConfirmSend { preview_id: 1 })
    );
    h.shutdown.cancel();
    let result = h.task.await.expect("loop does not panic");
    assert!(
        result.expect("no io error").send_pending(),
        "result still awaited"
    );
}

#[tokio::test]
async fn late_preview_is_cancelled_by_the_loop() {
    let mut h = start();
    h.keys(&[ch('6'), ch('s')]);
    h.text(SAMPLE_OTHER_ADDRESS);
    h.keys(&[key(KeyCode::Tab)]);
    h.text("1");
    h.keys(&[key(KeyCode::Enter)]);
    assert!(matches!(
        h.actions.recv().await,
        Some(UiAction::PreviewSend { .. })
    ));
    h.keys(&[key(KeyCode::Esc)]);
    // Keys are handled in order: once Lock arrives, Esc (closing the form)
    // was handled, so the answer below comes after the form is gone.
    h.keys(&[ch('l')]);
    assert_eq!(h.actions.recv().await, Some(UiAction::Lock));
    h.events
        .send(UiEvent::SendPreview(timecoin_ui::SendPreview {
            preview_id: 2,
            recipient: SAMPLE_OTHER_ADDRESS.into(),
            amount_units: 1,
            fee_units: 1,
            change_units: 1,
            inputs: 1,
            size_bytes: 1,
        }))
        .await
        .expect("loop is running");
    assert_eq!(
        h.actions.recv().await,
        Some(UiAction::CancelSend { preview_id: 2 })
    );
    h.shutdown.cancel();
    let _ = h.task.await;
}

#[tokio::test]
async fn frames_are_rate_limited() {
    let mut h = start();
    let started = Instant::now();
    // 200 key presses and 200 view updates as fast as possible.
    for i in 0..200u64 {
        h.keys(&[ch('j')]);
        let mut vm = sample_view_model();
        vm.overview.height = Some(5000 + i);
        h.view.send(vm).expect("loop is running");
        tokio::task::yield_now().await;
    }
    h.keys(&[ch('q')]);
    assert_eq!(h.actions.recv().await, Some(UiAction::Quit));
    let result = h.task.await.expect("loop does not panic");
    result.expect("no io error");
    let elapsed_ms = started.elapsed().as_millis() as usize;
    let frames = count(&h.output.bytes(), BEGIN_SYNC);
    // At most one frame per 100 ms, plus the first one.
    assert!(
        frames <= elapsed_ms / 100 + 2,
        "{frames} frames in {elapsed_ms} ms"
    );
}
