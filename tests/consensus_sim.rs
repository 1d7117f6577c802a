#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The real node under deterministic simulation (see `tests/sim/mod.rs`): each scenario runs
//! the node's own driver over many seeds and checks agreement, validity of decided blocks and
//! their certificates, no honest double-sign, no honest node banned by another, progress within
//! a bound of simulated time after the network heals, and bounded memory.
//!
//! Seeds: `TIMECOIN_SIM_SEEDS=N` (default [`SEEDS`] per scenario), one seed with
//! `TIMECOIN_SIM_SEED=S`. A failing seed is printed with the command that replays it. The
//! long campaign: `TIMECOIN_SIM_SEEDS=100000 cargo test --release --test consensus_sim`.
//! Scale figures: `cargo test --release --test consensus_sim scale -- --ignored --nocapture`.

mod sim;

use sim::adversary::{Behavior, Rogue};
use sim::net::{NetModel, Topology};
use sim::{checks, run_scenario, Config, Crash, Outcome, Sim};
use timecoin::node::FutureLimits;
use timecoin::types::Tier;

/// Seeds per scenario in CI. Each run is the real node, and about two thirds of a run is its
/// ed25519 signing and verifying; the test profile builds this crate at opt-level 1 and its
/// dependencies without debug assertions (Cargo.toml), which with the harness's own savings
/// makes a run 1.7-2.4 times cheaper (callgrind) than at opt-level 0. Longer campaigns:
/// `TIMECOIN_SIM_SEEDS`.
const SEEDS: u64 = 1_000;

fn lossy(mut c: Config) -> Config {
    c.net = NetModel::lossy();
    c
}

fn none(_: &Config, _: &Outcome) -> Vec<String> {
    vec![]
}

#[test]
fn s1_four_nodes_no_faults_decide_in_round_0() {
    run_scenario(
        "s1_four_nodes_no_faults_decide_in_round_0",
        SEEDS,
        |_| Config::bronze("1a four masternodes, no faults", 4),
        |_, o| {
            let late = o.decisions.iter().filter(|d| d.round > 0).count();
            if late > 0 {
                vec![format!(
                    "{late} decisions needed more than one round without faults"
                )]
            } else {
                vec![]
            }
        },
    );
}

#[test]
fn s1_mixed_tiers_over_a_lossy_network() {
    run_scenario(
        "s1_mixed_tiers_over_a_lossy_network",
        SEEDS,
        |_| {
            use Tier::*;
            lossy(Config::new(
                "1b seven masternodes Gold/Silver/Bronze, loss, duplication, reordering",
                vec![Bronze, Silver, Gold, Silver, Gold, Bronze, Gold],
            ))
        },
        none,
    );
}

#[test]
fn s2_proposer_crashes_mid_round_and_restarts() {
    run_scenario(
        "s2_proposer_crashes_mid_round_and_restarts",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze("2a proposer crashes mid-round, restarts", 4));
            c.crashes = vec![Crash::Proposer {
                at: 300 + seed % 700,
                down: 1_500,
            }];
            c
        },
        none,
    );
}

#[test]
fn s2_crashes_lose_unwritten_blocks_and_nodes_recover() {
    run_scenario(
        "s2_crashes_lose_unwritten_blocks_and_nodes_recover",
        SEEDS,
        |seed| {
            let mut c = Config::bronze("2b any node crashes twice, losing unwritten blocks", 4);
            let node = (seed % 4) as usize;
            c.crashes = vec![
                Crash::Node {
                    node,
                    at: 200 + seed % 900,
                    down: 300 + seed % 400,
                },
                Crash::Node {
                    node: (node + 1 + (seed / 4 % 3) as usize) % 4,
                    at: 1_800 + seed % 700,
                    down: 500,
                },
            ];
            c.target = 6;
            c
        },
        none,
    );
}

#[test]
fn s2_crash_after_signing_before_sending() {
    run_scenario(
        "s2_crash_after_signing_before_sending",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze(
                "2c crash after signing, before the message leaves",
                4,
            ));
            let node = (seed % 4) as usize;
            c.crashes = vec![
                Crash::AfterSign {
                    node,
                    at: 100 + seed % 800,
                    down: 200 + seed % 600,
                },
                Crash::AfterSign {
                    node,
                    at: 2_000 + seed % 800,
                    down: 300,
                },
            ];
            c
        },
        none,
    );
}

#[test]
fn s3_partition_two_two_then_heal() {
    run_scenario(
        "s3_partition_two_two_then_heal",
        SEEDS,
        |seed| {
            let mut c = Config::bronze("3a partition 2/2 for 3-5 s, then heal", 4);
            c.net.partitions = vec![(200, 3_000 + seed % 2_000, vec![0, 0, 1, 1])];
            c.progress_bound = 20_000;
            c
        },
        none,
    );
}

#[test]
fn s3_partition_three_one_minority_catches_up() {
    run_scenario(
        "s3_partition_three_one_minority_catches_up",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze("3b partition 3/1, the one catches up", 4));
            let cut = (seed % 4) as u8;
            let groups = (0..4).map(|i| u8::from(i == cut)).collect();
            c.net.partitions = vec![(100, 4_000, groups)];
            c.target = 10;
            c
        },
        none,
    );
}

#[test]
fn s4_equivocating_proposer_and_voter() {
    run_scenario(
        "s4_equivocating_proposer_and_voter",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze(
                "4a one equivocator of four (two blocks, two votes)",
                4,
            ));
            c.behaviors[(seed % 4) as usize] = Behavior::Equivocator;
            c.target = 6;
            c
        },
        none,
    );
}

#[test]
fn s4_weighted_equivocator_just_under_a_third() {
    run_scenario(
        "s4_weighted_equivocator_just_under_a_third",
        SEEDS,
        |_| {
            use Tier::*;
            let mut c = Config::new(
                "4b Gold equivocator holding 100 of 311 weight",
                vec![Gold, Gold, Gold, Silver, Bronze],
            );
            c.behaviors[2] = Behavior::Equivocator;
            c
        },
        none,
    );
}

#[test]
fn s5_silent_and_withholding_validators() {
    run_scenario(
        "s5_silent_and_withholding_validators",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze(
                "5 one silent (or withholding) validator of four",
                4,
            ));
            c.behaviors[(seed % 4) as usize] = if seed % 2 == 0 {
                Behavior::Silent
            } else {
                Behavior::Withholder
            };
            c
        },
        none,
    );
}

#[test]
fn s6_lying_pol_round_and_invalid_proposals() {
    run_scenario(
        "s6_lying_pol_round_and_invalid_proposals",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze(
                "6 a proposer lying about pol_round, or proposing invalid blocks",
                4,
            ));
            c.behaviors[(seed % 4) as usize] = if seed % 2 == 0 {
                Behavior::LyingPolRound
            } else {
                Behavior::InvalidBlocks
            };
            c
        },
        none,
    );
}

#[test]
fn s7_amnesia_after_crashes() {
    run_scenario(
        "s7_amnesia_after_crashes",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze(
                "7 an amnesiac restarts with its locks forgotten",
                4,
            ));
            let node = (seed % 4) as usize;
            c.behaviors[node] = Behavior::Amnesiac;
            c.crashes = (0..3)
                .map(|k| Crash::Node {
                    node,
                    at: 150 + k * 700 + seed % 500,
                    down: 50 + seed % 200,
                })
                .collect();
            c
        },
        none,
    );
}

#[test]
fn s8_rogue_peers_strangers_status_liars_replays() {
    run_scenario(
        "s8_rogue_peers_strangers_status_liars_replays",
        SEEDS,
        |_| {
            let mut c = lossy(Config::bronze(
                "8 four masternodes beside three rogue peers",
                4,
            ));
            c.rogues = vec![Rogue::Strangers, Rogue::StatusLiar, Rogue::Replayer];
            c
        },
        |_, o| {
            // Rogues may be banned; an honest node never.
            o.bans
                .iter()
                .filter(|(_, b)| *b < 4)
                .map(|(a, b)| format!("node {a} banned masternode {b}"))
                .collect()
        },
    );
}

#[test]
fn s10_a_masternode_exits_and_the_set_shrinks() {
    run_scenario(
        "s10_a_masternode_exits_and_the_set_shrinks",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze(
                "10 one of five masternodes exits mid-run",
                5,
            ));
            c.exits = vec![((seed % 5) as usize, 100 + seed % 400)];
            c.target = 9;
            c
        },
        |_, o| {
            o.set_sizes
                .iter()
                .enumerate()
                .filter(|(i, n)| o.honest[*i] && **n != 4)
                .map(|(i, n)| format!("node {i} ends with {n} masternodes in the set, not 4"))
                .collect()
        },
    );
}

#[test]
fn s9_wan_sparse_topology() {
    run_scenario(
        "s9_wan_sparse_topology",
        SEEDS,
        |_| {
            let mut c = Config::bronze("9 ten masternodes, WAN latencies, four peers each", 10);
            c.net = NetModel::wan(Topology::Random { degree: 4 });
            c.net.loss = 0.01;
            c
        },
        none,
    );
}

/// Eight masternodes on a ring: a node pushes the transactions it was sent to its two
/// neighbours, which announce them by id; every node further away gets them only by asking an
/// announcer (`GetTxs`): each node must have fetched some, and been served. (A node that is
/// far from a submitter may see a transaction first in a final block, so not every node admits
/// every one.) A tenth of the seeds: each run is long (24 heights, past the submissions).
#[test]
fn s9c_transactions_reach_a_ring_by_announcement() {
    run_scenario(
        "s9c_transactions_reach_a_ring_by_announcement",
        SEEDS / 10,
        |_| {
            let mut c = Config::bronze("9c eight masternodes on a ring, client transactions", 8);
            c.net.topology = Topology::Random { degree: 2 };
            // Past the 3 s over which the transactions are submitted.
            c.target = 24;
            c
        },
        |c, o| {
            let mut v = vec![];
            for (i, a) in o.admission.iter().enumerate() {
                if a.fetched == 0 {
                    v.push(format!("node {i} fetched nothing ({a:?}, {} txs)", c.txs));
                }
            }
            // Every node is two hops or more from some submitter: each was served at least once.
            let served: u64 = o.admission.iter().map(|a| a.served).sum();
            if served < o.admission.len() as u64 {
                v.push(format!("only {served} fetched transactions were served"));
            }
            v
        },
    );
}

/// Ten masternodes on a ring under WAN latencies and 5% loss: most nodes are several hops
/// from most others, heights often need later rounds, and a lost copy may be the only one.
/// Three faults of the node stalled it for good before: a re-proposal of a block held from an
/// earlier round (Alg.1 L16) was not relayed, so it reached only its proposer's two
/// neighbours; a peer at our own height hid the claim of the one peer ahead whose reply had
/// been lost, so a node a block behind never asked again; and a vote lost two hops away was
/// never offered again, because each relayer drops what it has seen (now a stuck height
/// re-sends what it holds of its round).
#[test]
fn s9b_wan_lossy_ring() {
    run_scenario(
        "s9b_wan_lossy_ring",
        SEEDS,
        |_| {
            let mut c = Config::bronze("9b ten masternodes on a ring, WAN latencies, 5% loss", 10);
            c.net = NetModel::wan(Topology::Random { degree: 2 });
            c.net.loss = 0.05;
            c
        },
        none,
    );
}

#[test]
fn s12_a_new_masternode_registers_joins_and_signs() {
    run_scenario(
        "s12_a_new_masternode_registers_joins_and_signs",
        SEEDS,
        |seed| {
            let mut c = lossy(Config::bronze(
                "12 a fifth node registers as a masternode mid-run (and may crash)",
                5,
            ));
            let at = 100 + seed % 400;
            c.joins = vec![(4, at)];
            c.target = 10;
            // In half the seeds the joiner crashes around its activation and restarts; the run
            // goes on long enough for it to catch up and sign again.
            if seed % 2 == 1 {
                c.crashes = vec![Crash::Node {
                    node: 4,
                    at: at + 300 + seed % 500,
                    down: 400,
                }];
                c.target = 20;
            }
            c
        },
        |_, o| {
            let mut v = vec![];
            // Every running node ends with the joiner in its next set (four plus one).
            for (i, size) in o.set_sizes.iter().enumerate() {
                if *size != 0 && *size != 5 {
                    v.push(format!("node {i} ends with a set of {size}, not 5"));
                }
            }
            // It signs, also after a restart: its precommits are in certificates of the stored
            // chain (a restarted joiner that lost its range request asks another peer soon).
            if o.certified[4] == 0 {
                v.push("the joiner's precommit is in no stored certificate".into());
            }
            v
        },
    );
}

/// Small next-height buffer bounds for the flood scenario and its control: a peer's share holds
/// about 25 votes, so one flooder's next-height votes (96 a height) overflow it.
const FLOOD_LIMITS: FutureLimits = FutureLimits {
    total_bytes: 24 * 1024,
    peer_bytes: 8 * 1024,
};

fn future_flood(seed: u64) -> Config {
    let mut c = lossy(Config::bronze(
        "11 a masternode floods valid next-height votes",
        4,
    ));
    c.behaviors[(seed % 4) as usize] = Behavior::FutureFlooder;
    c.future_limits = FLOOD_LIMITS;
    c
}

/// A member's flood of valid votes for the next height fills at most the buffer's bounds (the
/// general memory check holds every driver to `FLOOD_LIMITS`), and the chain goes on.
#[test]
fn s11_next_height_flood_is_held_to_the_buffer_bounds() {
    run_scenario(
        "s11_next_height_flood_is_held_to_the_buffer_bounds",
        SEEDS,
        future_flood,
        |_, o| {
            // The attack was mounted: some driver's buffer came close to a peer's share.
            if o.held_max.next_height < FLOOD_LIMITS.peer_bytes / 2 {
                vec![format!(
                    "the flood never filled half a peer's share (at most {} bytes buffered)",
                    o.held_max.next_height
                )]
            } else {
                vec![]
            }
        },
    );
}

/// The memory check's control: the same flood under the node's default bounds makes a driver
/// hold more than `FLOOD_LIMITS` allow, and the check, held to those, reports it. (So the flood
/// scenario passes because the bounds hold, not because the check cannot fail.)
#[test]
fn control_the_memory_check_reports_a_flood_beyond_the_bound() {
    let seeds = sim::seeds(50);
    let reported = seeds
        .iter()
        .filter(|&&seed| {
            let unbounded = || {
                let mut c = future_flood(seed);
                c.future_limits = FutureLimits::default();
                c.next_height_bound = Some(FLOOD_LIMITS.total_bytes);
                c
            };
            let out = Sim::new(unbounded(), seed).run();
            checks::general(&unbounded(), &out)
                .iter()
                .any(|v| v.starts_with("memory:"))
        })
        .count();
    println!(
        "memory control: {reported} of {} seeds reported",
        seeds.len()
    );
    // In a few seeds the flood arrives after its height started (so it is not buffered at all);
    // in most it must be reported.
    assert!(
        2 * reported > seeds.len(),
        "the memory check reported only {reported} of {} unbounded floods",
        seeds.len()
    );
}

/// The negative control: with more than a third of the weight equivocating, the checker must
/// see the fork. (If it never did, the agreement check could not fail.)
#[test]
fn negative_control_byzantine_weight_above_a_third_forks() {
    let seeds = sim::seeds(200);
    let forks = seeds
        .iter()
        .filter(|&&seed| {
            let mut c = Config::bronze("control: two equivocators of four", 4);
            c.behaviors[0] = Behavior::Equivocator;
            c.behaviors[1] = Behavior::Equivocator;
            c.target = 4;
            c.max_time = 10_000;
            let out = Sim::new(c, seed).run();
            !checks::agreement(&out).is_empty()
        })
        .count();
    println!("negative control: {forks} of {} seeds forked", seeds.len());
    assert!(
        forks > 0,
        "no fork seen in {} seeds with byzantine weight 1/2",
        seeds.len()
    );
}

/// One seed gives one run: replaying a failing seed reproduces it.
#[test]
fn a_seed_replays_exactly() {
    let run = || {
        let mut c = lossy(Config::bronze("replay", 4));
        c.behaviors[3] = Behavior::Equivocator;
        c.crashes = vec![Crash::Node {
            node: 1,
            at: 700,
            down: 400,
        }];
        let o = Sim::new(c, 42).run();
        (
            o.decisions
                .iter()
                .map(|d| (d.node, d.height, d.hash, d.at))
                .collect::<Vec<_>>(),
            o.deliveries,
            o.end_time,
        )
    };
    let a = run();
    assert!(!a.0.is_empty());
    assert_eq!(a, run());
}

/// Figures at scale over the WAN preset: `TIMECOIN_SIM_SCALE=16,64,200`.
#[test]
#[ignore = "long: scale figures"]
fn scale() {
    let sizes: Vec<usize> = std::env::var("TIMECOIN_SIM_SCALE")
        .unwrap_or_else(|_| "16,64,200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for n in sizes {
        let started = std::time::Instant::now();
        let mut c = Config::bronze(format!("scale {n}"), n);
        c.net = NetModel::wan(Topology::Random { degree: 8 });
        c.idle = std::time::Duration::ZERO;
        c.target = 6;
        c.txs = 0;
        c.max_time = 120_000;
        let out = Sim::new(c, 1).run();
        assert!(out.violations.is_empty(), "{:?}", out.violations);
        let times = checks::height_times(&out);
        let heights = out.final_heights.iter().copied().min().unwrap_or(0).max(1);
        let p = |q: usize| {
            times
                .get((times.len() * q / 100).min(times.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0)
        };
        println!(
            "scale {n} masternodes, WAN 20-150 ms, 8 peers each: height time p50 {} ms p99 {} ms; per height per node {} messages, {} KiB; {} heights in {} ms simulated, {:.1} s wall",
            p(50),
            p(99),
            out.deliveries / heights / n as u64,
            out.bytes / heights / n as u64 / 1024,
            heights,
            out.end_time,
            started.elapsed().as_secs_f64()
        );
    }
}
