//! Checks of `timed bench`'s flags before anything starts, with messages that name the flag.

use super::{BenchArgs, BATCH};
use crate::mempool::MempoolLimits;
use crate::types::tx::{MAX_TX_INPUTS, MAX_TX_OUTPUTS, MAX_TX_SIZE};
use crate::types::Transaction;

/// Largest `--latency-ms` and `--jitter-ms`.
const MAX_LINK_DELAY_MS: u64 = 10_000;
/// Largest `--rate`.
const MAX_RATE: u64 = 1_000_000;

/// Refuses flags the bench cannot run with, naming the flag and its range.
pub(super) fn check_args(a: &BenchArgs) -> Result<(), String> {
    if a.nodes == 0 || a.nodes > 100 {
        return Err("--nodes must be between 1 and 100".into());
    }
    if a.txs == 0 {
        return Err("--txs must be at least 1".into());
    }
    // The relay policy's cap: nodes refuse more inputs per transaction from the network.
    let most = MAX_TX_INPUTS.min(crate::mempool::MAX_STANDARD_TX_INPUTS);
    if a.inputs == 0 || a.inputs as usize > most {
        return Err(format!("--inputs must be between 1 and {most}"));
    }
    if a.outputs == 0 || a.outputs as usize > MAX_TX_OUTPUTS {
        return Err(format!("--outputs must be between 1 and {MAX_TX_OUTPUTS}"));
    }
    let size = Transaction::transfer_size(a.inputs as usize, a.outputs as usize);
    if size > MAX_TX_SIZE {
        return Err(format!(
            "a transaction with {} inputs and {} outputs is {size} bytes, above the {MAX_TX_SIZE}-byte limit",
            a.inputs, a.outputs
        ));
    }
    if let Some(n) = a.in_flight {
        let max = MempoolLimits::default().max_txs;
        if !(BATCH..=max).contains(&n) {
            return Err(format!(
                "--in-flight must be between {BATCH} (one submission batch) and {max} (a mempool)"
            ));
        }
    }
    if a.rate.is_some_and(|r| !(1..=MAX_RATE).contains(&r)) {
        return Err(format!(
            "--rate must be between 1 and {MAX_RATE} transactions per second"
        ));
    }
    if a.latency_ms > MAX_LINK_DELAY_MS || a.jitter_ms > MAX_LINK_DELAY_MS {
        return Err(format!(
            "--latency-ms and --jitter-ms must be at most {MAX_LINK_DELAY_MS} (10 s)"
        ));
    }
    // The --sync node takes the port after the last bench node's.
    if a.base_port as u32 + 10 * a.nodes + 3 > u16::MAX as u32 {
        return Err("--base-port too high for this many nodes".into());
    }
    Ok(())
}
