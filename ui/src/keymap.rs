//! The one keymap: every binding with its context and description. The footer
//! hints and the `?` help popup are both generated from [`KEYMAP`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Everywhere, popups included.
    Always,
    /// Main screen, any tab.
    Global,
    /// Main screen, Wallet tab only.
    Wallet,
    /// Main screen, Masternodes tab only.
    Masternodes,
    /// A form with text fields has focus; typed characters go into the field.
    Form,
    /// A yes/no confirmation popup.
    Confirm,
    /// A list to choose from.
    Select,
    /// A popup that only shows something.
    Viewer,
    /// The help popup.
    Help,
}

impl Context {
    /// Heading of the context in the help popup.
    pub fn title(self) -> &'static str {
        match self {
            Context::Always => "Anywhere",
            Context::Global => "Main screen",
            Context::Wallet => "Wallet tab",
            Context::Masternodes => "Masternodes tab",
            Context::Form => "Forms (typed letters go into the field)",
            Context::Confirm => "Confirmation",
            Context::Select => "Choice list",
            Context::Viewer => "Viewer popup",
            Context::Help => "Help",
        }
    }
}

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Switch to tab 1-7 (the digit decides).
    SelectTab,
    /// Next tab, from the last back to the first.
    NextTab,
    /// Previous tab, from the first back to the last.
    PrevTab,
    /// Move selection (or scroll) down.
    Down,
    /// Move selection (or scroll) up.
    Up,
    /// Jump to the first row.
    Top,
    /// Jump to the last row (logs: follow new lines).
    Bottom,
    /// Toggle the help popup.
    Help,
    /// Quit (asks first when a send or form is pending).
    Quit,
    /// Open the send form.
    Send,
    /// Show the receive screen with QR code.
    Receive,
    /// Ask for the passphrase and unlock the wallet (a notice if already unlocked).
    Unlock,
    /// Lock the wallet now (a notice if already locked).
    Lock,
    /// Create a new receive address.
    NewAddress,
    /// Reveal the recovery mnemonic.
    RevealMnemonic,
    /// Add an address-book entry.
    AddContact,
    /// Cycle the focused wallet panel.
    NextPane,
    /// Register this node as a masternode.
    Register,
    /// Leave the masternode set.
    Leave,
    /// Submit the form / choose the item.
    Submit,
    /// Focus the next field.
    NextField,
    /// Focus the previous field.
    PrevField,
    /// Delete the character before the cursor.
    DeleteChar,
    /// Clear the focused field.
    ClearField,
    /// Answer yes in a confirmation popup.
    Yes,
    /// Answer no / cancel / close.
    Close,
}

/// One key (code plus the Control/Alt modifiers that must be held).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key itself: a character, Enter, Esc, an arrow, ...
    pub code: KeyCode,
    /// Required modifiers (Shift is ignored when matching).
    pub modifiers: KeyModifiers,
}

const fn ch(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        modifiers: KeyModifiers::NONE,
    }
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        modifiers: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        modifiers: KeyModifiers::CONTROL,
    }
}

impl Key {
    /// How the key is written in hints and help: "q", "Ctrl-C", "Enter", "↓".
    pub fn label(&self) -> String {
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                return format!("Ctrl-{}", c.to_ascii_uppercase());
            }
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::ALT) {
            format!("Alt-{name}")
        } else {
            name
        }
    }

    /// The digit of a plain digit key.
    fn digit(&self) -> Option<u32> {
        match self.code {
            KeyCode::Char(c) if self.modifiers.is_empty() => c.to_digit(10),
            _ => None,
        }
    }

    /// Whether a key event is this key.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let relevant = KeyModifiers::CONTROL | KeyModifiers::ALT;
        let code_matches = match (self.code, event.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => a == b,
            (a, b) => a == b,
        };
        code_matches && (event.modifiers & relevant) == (self.modifiers & relevant)
    }
}

/// One binding of the keymap.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// Keys that trigger it (their labels, joined, are how hints and help write it).
    pub keys: &'static [Key],
    /// The screen or popup where the keys trigger it.
    pub context: Context,
    /// The command the keys trigger there.
    pub command: Command,
    /// Short text for the footer; `None` keeps it out of the footer.
    pub hint: Option<&'static str>,
    /// Full description for the help popup.
    pub description: &'static str,
}

impl Binding {
    /// How the binding's keys are written: each key's label joined by "/", a run of three
    /// or more consecutive digits as "1-7". Derived from `keys`, so it cannot drift from them.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = Vec::with_capacity(self.keys.len());
        let mut i = 0;
        while i < self.keys.len() {
            let mut end = i;
            while let (Some(a), Some(b)) = (
                self.keys[end].digit(),
                self.keys.get(end + 1).and_then(Key::digit),
            ) {
                if b != a + 1 {
                    break;
                }
                end += 1;
            }
            if end >= i + 2 {
                parts.push(format!(
                    "{}-{}",
                    self.keys[i].label(),
                    self.keys[end].label()
                ));
            } else {
                parts.extend(self.keys[i..=end].iter().map(Key::label));
            }
            i = end + 1;
        }
        parts.join("/")
    }
}

/// Every key binding of the UI.
pub static KEYMAP: &[Binding] = &[
    Binding {
        keys: &[ctrl('c')],
        context: Context::Always,
        command: Command::Quit,
        hint: None,
        description: "quit (asks first if a send or form is pending)",
    },
    Binding {
        keys: &[
            ch('1'),
            ch('2'),
            ch('3'),
            ch('4'),
            ch('5'),
            ch('6'),
            ch('7'),
        ],
        context: Context::Global,
        command: Command::SelectTab,
        hint: Some("tabs"),
        description: "go to tab 1-7",
    },
    Binding {
        keys: &[code(KeyCode::Tab)],
        context: Context::Global,
        command: Command::NextTab,
        hint: None,
        description: "next tab",
    },
    Binding {
        keys: &[code(KeyCode::BackTab)],
        context: Context::Global,
        command: Command::PrevTab,
        hint: None,
        description: "previous tab",
    },
    Binding {
        keys: &[ch('j'), code(KeyCode::Down)],
        context: Context::Global,
        command: Command::Down,
        hint: None,
        description: "move selection down",
    },
    Binding {
        keys: &[ch('k'), code(KeyCode::Up)],
        context: Context::Global,
        command: Command::Up,
        hint: None,
        description: "move selection up",
    },
    Binding {
        keys: &[code(KeyCode::Home)],
        context: Context::Global,
        command: Command::Top,
        hint: None,
        description: "first row",
    },
    Binding {
        keys: &[code(KeyCode::End)],
        context: Context::Global,
        command: Command::Bottom,
        hint: None,
        description: "last row (Logs: follow new lines)",
    },
    Binding {
        keys: &[ch('?')],
        context: Context::Global,
        command: Command::Help,
        hint: Some("help"),
        description: "show this help",
    },
    Binding {
        keys: &[ch('q')],
        context: Context::Global,
        command: Command::Quit,
        hint: Some("quit"),
        description: "quit (asks first if a send or form is pending)",
    },
    Binding {
        keys: &[ch('s')],
        context: Context::Wallet,
        command: Command::Send,
        hint: Some("send"),
        description: "send coins (form, preview, confirmation)",
    },
    Binding {
        keys: &[ch('r')],
        context: Context::Wallet,
        command: Command::Receive,
        hint: Some("receive"),
        description: "receive: address as QR code and payment URI",
    },
    Binding {
        keys: &[ch('u')],
        context: Context::Wallet,
        command: Command::Unlock,
        hint: Some("unlock"),
        description: "unlock the wallet (passphrase)",
    },
    Binding {
        keys: &[ch('l')],
        context: Context::Wallet,
        command: Command::Lock,
        hint: Some("lock"),
        description: "lock the wallet now",
    },
    Binding {
        keys: &[ch('n')],
        context: Context::Wallet,
        command: Command::NewAddress,
        hint: Some("new addr"),
        description: "new receive address with a label",
    },
    Binding {
        keys: &[ch('a')],
        context: Context::Wallet,
        command: Command::AddContact,
        hint: Some("contact"),
        description: "add an address-book entry",
    },
    Binding {
        keys: &[ch('f')],
        context: Context::Wallet,
        command: Command::NextPane,
        hint: Some("panel"),
        description: "focus next panel: history, addresses, contacts",
    },
    Binding {
        keys: &[ch('m')],
        context: Context::Wallet,
        command: Command::RevealMnemonic,
        hint: None,
        description: "reveal the recovery mnemonic (confirm, then passphrase)",
    },
    Binding {
        keys: &[ch('g')],
        context: Context::Masternodes,
        command: Command::Register,
        hint: Some("register"),
        description: "register this node as a masternode (choose tier)",
    },
    Binding {
        keys: &[ch('x')],
        context: Context::Masternodes,
        command: Command::Leave,
        hint: Some("leave"),
        description: "leave the masternode set (asks first)",
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        context: Context::Form,
        command: Command::Submit,
        hint: Some("submit"),
        description: "submit the form",
    },
    Binding {
        keys: &[code(KeyCode::Tab), code(KeyCode::Down)],
        context: Context::Form,
        command: Command::NextField,
        hint: Some("next field"),
        description: "next field",
    },
    Binding {
        keys: &[code(KeyCode::BackTab), code(KeyCode::Up)],
        context: Context::Form,
        command: Command::PrevField,
        hint: None,
        description: "previous field",
    },
    Binding {
        keys: &[code(KeyCode::Backspace)],
        context: Context::Form,
        command: Command::DeleteChar,
        hint: None,
        description: "delete the last character",
    },
    Binding {
        keys: &[ctrl('u')],
        context: Context::Form,
        command: Command::ClearField,
        hint: None,
        description: "clear the field",
    },
    Binding {
        keys: &[code(KeyCode::Esc)],
        context: Context::Form,
        command: Command::Close,
        hint: Some("cancel"),
        description: "cancel and close the form",
    },
    Binding {
        keys: &[ch('y'), code(KeyCode::Enter)],
        context: Context::Confirm,
        command: Command::Yes,
        hint: Some("yes"),
        description: "confirm",
    },
    Binding {
        keys: &[ch('n'), code(KeyCode::Esc)],
        context: Context::Confirm,
        command: Command::Close,
        hint: Some("no"),
        description: "cancel",
    },
    Binding {
        keys: &[ch('q')],
        context: Context::Confirm,
        command: Command::Quit,
        hint: None,
        description: "quit (asks first if a send is pending)",
    },
    Binding {
        keys: &[ch('j'), code(KeyCode::Down)],
        context: Context::Select,
        command: Command::Down,
        hint: Some("down"),
        description: "next choice",
    },
    Binding {
        keys: &[ch('k'), code(KeyCode::Up)],
        context: Context::Select,
        command: Command::Up,
        hint: Some("up"),
        description: "previous choice",
    },
    Binding {
        keys: &[code(KeyCode::Enter)],
        context: Context::Select,
        command: Command::Submit,
        hint: Some("choose"),
        description: "choose",
    },
    Binding {
        keys: &[code(KeyCode::Esc)],
        context: Context::Select,
        command: Command::Close,
        hint: Some("cancel"),
        description: "cancel",
    },
    Binding {
        keys: &[code(KeyCode::Esc), code(KeyCode::Enter), ch('q')],
        context: Context::Viewer,
        command: Command::Close,
        hint: Some("close"),
        description: "close (a shown mnemonic is wiped from memory)",
    },
    Binding {
        keys: &[ch('j'), code(KeyCode::Down)],
        context: Context::Help,
        command: Command::Down,
        hint: Some("scroll"),
        description: "scroll down",
    },
    Binding {
        keys: &[ch('k'), code(KeyCode::Up)],
        context: Context::Help,
        command: Command::Up,
        hint: None,
        description: "scroll up",
    },
    Binding {
        keys: &[code(KeyCode::Esc), ch('?'), ch('q')],
        context: Context::Help,
        command: Command::Close,
        hint: Some("close"),
        description: "close help",
    },
];

/// The command bound to a key in the first of `contexts` that has one.
pub fn lookup(contexts: &[Context], event: &KeyEvent) -> Option<Command> {
    contexts.iter().find_map(|ctx| {
        KEYMAP
            .iter()
            .filter(|b| b.context == *ctx)
            .find(|b| b.keys.iter().any(|k| k.matches(event)))
            .map(|b| b.command)
    })
}

/// How the keys of `command` in `context` are written (e.g. "g"); empty when unbound.
pub fn label_of(context: Context, command: Command) -> String {
    KEYMAP
        .iter()
        .find(|b| b.context == context && b.command == command)
        .map_or_else(String::new, Binding::label)
}

/// Footer hints (key label, short text) for the active contexts, in order.
pub fn footer_hints(contexts: &[Context]) -> Vec<(String, &'static str)> {
    contexts
        .iter()
        .flat_map(|ctx| KEYMAP.iter().filter(move |b| b.context == *ctx))
        .filter_map(|b| b.hint.map(|h| (b.label(), h)))
        .collect()
}

/// Help popup content: (context heading, [(key label, description)]), the
/// active contexts first, then all others.
pub fn help_sections(active: &[Context]) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let all = [
        Context::Global,
        Context::Wallet,
        Context::Masternodes,
        Context::Form,
        Context::Confirm,
        Context::Select,
        Context::Viewer,
        Context::Help,
        Context::Always,
    ];
    let mut order: Vec<Context> = active.to_vec();
    order.extend(all.iter().copied().filter(|c| !active.contains(c)));
    order
        .into_iter()
        .map(|ctx| {
            let rows = KEYMAP
                .iter()
                .filter(|b| b.context == ctx)
                .map(|b| (b.label(), b.description))
                .collect();
            (ctx.title(), rows)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn context_order_decides() {
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(lookup(&[Context::Global], &q), Some(Command::Quit));
        assert_eq!(lookup(&[Context::Form, Context::Always], &q), None);
        let n = key(KeyCode::Char('n'), KeyModifiers::NONE);
        assert_eq!(
            lookup(&[Context::Wallet, Context::Global], &n),
            Some(Command::NewAddress)
        );
        assert_eq!(lookup(&[Context::Confirm], &n), Some(Command::Close));
    }

    #[test]
    fn shift_is_ignored_control_is_not() {
        let help = key(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(lookup(&[Context::Global], &help), Some(Command::Help));
        let ctrl_q = key(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&[Context::Global], &ctrl_q), None);
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            lookup(&[Context::Form, Context::Always], &ctrl_c),
            Some(Command::Quit)
        );
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for (i, a) in KEYMAP.iter().enumerate() {
            for b in KEYMAP.iter().skip(i + 1).filter(|b| b.context == a.context) {
                for k in a.keys {
                    assert!(
                        !b.keys.contains(k),
                        "{:?} bound twice in {:?}",
                        k,
                        a.context
                    );
                }
            }
        }
    }

    /// Labels are written from the keys: every key a binding has shows in its label (the
    /// viewer's and the help's `q` once went missing from hand-written labels).
    #[test]
    fn labels_are_the_keys() {
        let label = |ctx: Context, cmd: Command| label_of(ctx, cmd);
        assert_eq!(label(Context::Global, Command::SelectTab), "1-7");
        assert_eq!(label(Context::Global, Command::Down), "j/↓");
        assert_eq!(label(Context::Always, Command::Quit), "Ctrl-C");
        assert_eq!(label(Context::Form, Command::PrevField), "S-Tab/↑");
        assert_eq!(label(Context::Viewer, Command::Close), "Esc/Enter/q");
        assert_eq!(label(Context::Help, Command::Close), "Esc/?/q");
        for b in KEYMAP {
            let l = b.label();
            if b.command != Command::SelectTab {
                for k in b.keys {
                    assert!(
                        l.split('/').any(|part| part == k.label()),
                        "{l} lacks {}",
                        k.label()
                    );
                }
            }
        }
    }

    #[test]
    fn footer_and_help_come_from_the_table() {
        let hints = footer_hints(&[Context::Wallet, Context::Global]);
        assert_eq!(hints.first(), Some(&("s".to_string(), "send")));
        assert!(hints.contains(&("?".to_string(), "help")));
        let help = help_sections(&[Context::Wallet]);
        assert_eq!(help[0].0, "Wallet tab");
        let total: usize = help.iter().map(|(_, rows)| rows.len()).sum();
        assert_eq!(total, KEYMAP.len());
    }
}
