#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Deterministic multi-node simulation of the consensus core (see `tests/sim/mod.rs`).
//!
//! Every scenario runs over many seeds (`TIMECOIN_SIM_SEEDS=N`, default 200; one seed with
//! `TIMECOIN_SIM_SEED=S`) and asserts agreement (no two honest nodes decide different blocks at
//! one height), validity (decided blocks are valid proposals with valid certificates) and
//! progress. Run with `--nocapture` to see the median rounds per height and the median virtual
//! time to finality of each scenario.

mod sim;

use sim::{progress, run_scenario, Behavior, Config, Crash, Outcome};

/// Light faults every scenario can afford: jitter, 2% loss, 2% duplication.
fn lossy(mut c: Config) -> Config {
    c.delay = (5, 60);
    c.loss = 0.02;
    c.dup = 0.02;
    c
}

fn ok(_: &Config, _: &Outcome) -> Vec<String> {
    vec![]
}

#[test]
fn s1_four_nodes_no_faults() {
    run_scenario(
        |_| Config::new("1a four nodes, no faults", vec![1, 1, 1, 1]),
        |c, o| {
            let mut v = progress(c, o);
            // Without faults every height is decided in round 0.
            if o.stats.iter().any(|s| s.rounds > 1) {
                v.push("a height needed more than one round without faults".into());
            }
            v
        },
    );
}

#[test]
fn s1_seven_nodes_mixed_tiers() {
    run_scenario(
        |_| {
            lossy(Config::new(
                "1b seven nodes, mixed tiers 1/10/100",
                vec![1, 10, 100, 10, 100, 1, 100],
            ))
        },
        progress,
    );
}

#[test]
fn s2_crash_restart_proposer_mid_round() {
    run_scenario(
        |seed| {
            let mut c = lossy(Config::new(
                "2a proposer crashes mid-round and restarts",
                vec![1, 1, 1, 1],
            ));
            c.crashes = vec![Crash::Proposer {
                at: 300 + seed % 700,
                down: 1_500,
            }];
            c
        },
        progress,
    );
}

#[test]
fn s2_crash_after_signing_before_sending() {
    run_scenario(
        |seed| {
            let mut c = lossy(Config::new(
                "2b crash after signing, before sending",
                vec![1, 1, 1, 1],
            ));
            c.crashes = vec![
                Crash::AfterSign {
                    node: (seed % 4) as usize,
                    at: 200 + seed % 500,
                    down: 1_000,
                },
                Crash::AfterSign {
                    node: ((seed + 1) % 4) as usize,
                    at: 1_500 + seed % 500,
                    down: 300,
                },
            ];
            c
        },
        progress,
    );
}

#[test]
fn s3_partition_two_two_then_heal() {
    run_scenario(
        |_| {
            let mut c = lossy(Config::new("3a partition 2|2, heal", vec![1, 1, 1, 1]));
            c.partitions = vec![(0, 4_000, vec![0, 0, 1, 1])];
            c
        },
        |c, o| {
            let mut v = progress(c, o);
            if let Some(t) = o.first_decision {
                if t < 4_000 {
                    v.push(format!("decision at {t} ms during the 2|2 partition"));
                }
            }
            v
        },
    );
}

#[test]
fn s3_partition_three_one() {
    run_scenario(
        |_| {
            let mut c = lossy(Config::new(
                "3b partition 3|1: the 3 progress",
                vec![1, 1, 1, 1],
            ));
            c.partitions = vec![(0, 6_000, vec![0, 0, 0, 1])];
            c
        },
        |c, o| {
            let mut v = progress(c, o);
            for i in 0..3 {
                let during = o.decisions_by[i].iter().filter(|(_, t)| *t < 6_000).count();
                if during < 3 {
                    v.push(format!(
                        "node {i} committed only {during} heights in the majority partition"
                    ));
                }
            }
            if o.decisions_by[3].iter().any(|(_, t)| *t < 6_000) {
                v.push("the isolated node decided alone".into());
            }
            v
        },
    );
}

#[test]
fn s4_equivocating_masternode() {
    run_scenario(
        |_| {
            let mut c = lossy(Config::new(
                "4 one equivocating masternode",
                vec![1, 1, 1, 1],
            ));
            c.behaviors[1] = Behavior::Equivocator;
            c.relay_votes = true;
            c.target = 6;
            c
        },
        |c, o| {
            let mut v = progress(c, o);
            if o.evidence_seen == 0 {
                v.push("no evidence produced".into());
            }
            if o.banned_offenders != 1 {
                v.push(format!(
                    "{} offenders banned by included evidence",
                    o.banned_offenders
                ));
            }
            v
        },
    );
}

#[test]
fn s5_silent_proposer() {
    run_scenario(
        |_| {
            let mut c = lossy(Config::new("5 silent proposer", vec![1, 1, 1, 1]));
            c.behaviors[2] = Behavior::SilentProposer;
            c
        },
        progress,
    );
}

#[test]
fn s6_withholding_more_than_a_third() {
    run_scenario(
        |seed| {
            let mut c = lossy(Config::new(
                "6 >1/3 of the weight withholds, then returns",
                vec![1, 10, 100, 10, 100, 1, 100],
            ));
            // Two golds: 200 of 322 > 1/3.
            let (a, b) = if seed % 2 == 0 { (2, 4) } else { (4, 6) };
            c.silent = vec![(a, 0, 3_000), (b, 0, 3_000)];
            c
        },
        |c, o| {
            let mut v = progress(c, o);
            if let Some(t) = o.first_decision {
                if t < 3_000 {
                    v.push(format!("decision at {t} ms while >1/3 withheld"));
                }
            }
            v
        },
    );
}

#[test]
fn s7_validator_set_changes() {
    run_scenario(
        |_| {
            let mut c = lossy(Config::new(
                "7 validator set changes (one joins, one leaves)",
                vec![1, 1, 1, 1, 1],
            ));
            // Node 4 joins at height 3; node 0 leaves at height 5.
            c.members = Box::new(|h| {
                let mut m: Vec<usize> = vec![1, 2, 3];
                if h < 5 {
                    m.push(0);
                }
                if h >= 3 {
                    m.push(4);
                }
                m
            });
            c.target = 7;
            c
        },
        progress,
    );
}

#[test]
fn s8_replays_foreign_chain_and_floods() {
    run_scenario(
        |_| {
            let mut c = lossy(Config::new(
                "8 replayed, foreign-chain and 1,000x duplicated votes",
                vec![1, 1, 1, 1],
            ));
            c.replay_attack = true;
            c.target = 6;
            c
        },
        |c, o| {
            let mut v = progress(c, o);
            if o.evidence_seen != 0 {
                v.push("duplicates or replays were reported as equivocation".into());
            }
            v
        },
    );
}

#[allow(dead_code)]
fn unused() -> fn(&Config, &Outcome) -> Vec<String> {
    ok
}
