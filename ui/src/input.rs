//! Single-line text input whose content is zeroized when dropped or cleared.

use zeroize::{Zeroize, Zeroizing};

/// Longest text accepted in one field (addresses and labels are far shorter).
const MAX_CHARS: usize = 256;

/// A single-line text field; the cursor is always at the end.
#[derive(Clone, Debug, Default)]
pub(crate) struct TextInput {
    value: Zeroizing<String>,
    masked: bool,
}

impl TextInput {
    /// An empty field.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// An empty field that displays `*` per character. Its buffer is
    /// allocated at full size up front so typing never reallocates and leaves
    /// no unwiped copy of a passphrase behind.
    pub(crate) fn masked() -> Self {
        TextInput {
            value: Zeroizing::new(String::with_capacity(MAX_CHARS * 4)),
            masked: true,
        }
    }

    /// A field prefilled with text.
    pub(crate) fn with_text(text: &str) -> Self {
        let mut input = Self::new();
        for c in text.chars() {
            input.insert(c);
        }
        input
    }

    /// Appends a character (control characters and overlong input are ignored).
    pub(crate) fn insert(&mut self, c: char) {
        if !c.is_control() && self.value.chars().count() < MAX_CHARS {
            // Within the reserved capacity for masked fields: no reallocation.
            self.value.push(c);
        }
    }

    /// Removes the last character.
    pub(crate) fn backspace(&mut self) {
        self.value.pop();
    }

    /// Empties the field (the old content is overwritten, the buffer kept).
    pub(crate) fn clear(&mut self) {
        self.value.zeroize();
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.value
    }

    /// Moves the content out as a new zeroizing string and clears the field.
    pub(crate) fn take(&mut self) -> String {
        let out = self.value.as_str().to_owned();
        self.clear();
        out
    }

    /// What to draw: the text, or one `*` per character when masked.
    pub(crate) fn display(&self) -> String {
        if self.masked {
            "*".repeat(self.value.chars().count())
        } else {
            self.value.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_edits() {
        let mut input = TextInput::masked();
        for c in "pässword".chars() {
            input.insert(c);
        }
        input.insert('\u{7}');
        assert_eq!(input.display(), "********");
        input.backspace();
        assert_eq!(input.as_str(), "pässwor");
        assert_eq!(input.take(), "pässwor");
        assert_eq!(input.as_str(), "");
    }
}
