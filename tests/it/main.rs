//! The integration tests, linked once into one binary: `cargo test --test it`, one area with a
//! module filter (`cargo test --test it rpc_node::`), one test with its path
//! (`cargo test --test it -- --exact cluster::<name>`).
//!
//! Every test shares this process with the others and runs on a thread of its own, so a test
//! leaves process-wide state alone (environment, working directory, signal handlers, the global
//! tracing subscriber) and takes its ports from [`support::ports`], its directories from
//! `tempfile` and its tmux session names from its own counter. A test that needs a process of
//! its own (a network namespace, a process killed on purpose, a panic that must reach the
//! terminal, a measure of the process's memory) re-runs this binary on itself alone: see
//! [`support::rerun`].
//!
//! The deterministic simulation is a binary of its own, `tests/consensus_sim.rs`
//! (`cargo test --test consensus_sim`).

// Shared helpers.
mod adversary;
mod common;
mod p2p_common;
mod rpc_common;
mod support;
mod wallet_support;

// One module per area.
mod admission_slots;
mod bench_small;
mod certificate_props;
mod cli_errors;
mod cluster;
mod devnet_restart;
mod double_spend;
mod fuzz_seeds;
mod hostile_cluster;
mod hostile_peers;
mod masternode_lifecycle;
mod ops_service;
mod p2p_addrs;
mod p2p_bad_input;
mod p2p_bans;
mod p2p_cluster;
mod p2p_proposal_relay;
mod ports;
mod rpc_block_on;
mod rpc_cli;
mod rpc_load;
mod rpc_methods;
mod rpc_metrics;
mod rpc_node;
mod rpc_protocol;
mod storage_crash;
mod ui_tmux;
mod wallet_file;
mod wallet_send;
mod wallet_unlock_time;
