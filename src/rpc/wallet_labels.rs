//! `setlabel "address" "label"`: names an address in the wallet's address book.
//!
//! Bitcoin Core's `setlabel` sets the label of any address; for one the wallet does not own,
//! that is its address-book ("sending") entry. Here it always writes the address book (the
//! Wallet tab's contacts): `timed attach` adds contacts through it. A label names a contact,
//! so an empty one is refused; setting a label again renames the entry.

use super::backend::RpcBackend;
use super::error::{code, RpcErr};
use crate::types::Address;
use serde_json::Value;

/// Longest label kept, in characters (a name, not a note).
pub const MAX_LABEL_CHARS: usize = 100;

/// Handles `setlabel` once its address is parsed: checks the label and saves the entry.
pub fn setlabel(b: &dyn RpcBackend, address: Address, label: &str) -> Result<Value, RpcErr> {
    let label = label.trim();
    if label.is_empty() {
        return Err(RpcErr::new(
            code::INVALID_PARAMETER,
            "the label names the address-book entry: it must not be empty",
        ));
    }
    if label == "*" {
        // Bitcoin Core reserves "*" (all labels) in listtransactions and friends.
        return Err(RpcErr::new(code::WALLET_ERROR, "Invalid label name"));
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(RpcErr::new(
            code::INVALID_PARAMETER,
            format!("the label is longer than {MAX_LABEL_CHARS} characters"),
        ));
    }
    b.wallet_set_label(&address, label)?;
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::mock::MockBackend;

    #[test]
    fn a_label_is_saved_and_an_empty_or_reserved_one_refused() {
        let b = MockBackend::new();
        let a = b.lock().addresses[0].0;
        assert_eq!(setlabel(&b, a, " Alice "), Ok(Value::Null));
        assert_eq!(b.lock().contacts, vec![("Alice".to_string(), a)]);
        assert_eq!(setlabel(&b, a, "Alice B."), Ok(Value::Null));
        assert_eq!(
            b.lock().contacts,
            vec![("Alice B.".to_string(), a)],
            "renamed"
        );
        for bad in ["", "  ", "*"] {
            assert!(setlabel(&b, a, bad).is_err(), "{bad:?}");
        }
        assert!(setlabel(&b, a, &"x".repeat(MAX_LABEL_CHARS + 1)).is_err());
    }
}
