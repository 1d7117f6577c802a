//! The simulated network: who is linked to whom, how long a message takes on each link, what
//! gets lost, duplicated or reordered, and partitions. Delivery rules (seen sets, rate limits,
//! scores, bans) are not here: the harness applies the p2p layer's own `gossip` functions.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// Virtual milliseconds.
pub type Ms = u64;

/// One-way delay of a link.
#[derive(Clone, Copy, Debug)]
pub enum Latency {
    /// Each message independently uniform in `[lo, hi]`.
    Uniform(Ms, Ms),
    /// A wide-area network: each link gets a base delay uniform in 20-150 ms once, and each
    /// message adds jitter of up to 10% of it.
    Wan,
}

/// Which nodes are linked.
#[derive(Clone, Copy, Debug)]
pub enum Topology {
    FullMesh,
    /// A ring (so the graph is connected) plus random links until every node has at least
    /// `degree` peers.
    Random {
        degree: usize,
    },
}

/// The network of one run.
#[derive(Clone, Debug)]
pub struct NetModel {
    pub latency: Latency,
    pub topology: Topology,
    pub loss: f64,
    pub dup: f64,
    /// Messages on one link may overtake each other (otherwise a link delivers in order, as
    /// a TCP connection does).
    pub reorder: bool,
    /// (from, until, group of each node): messages between groups are dropped.
    pub partitions: Vec<(Ms, Ms, Vec<u8>)>,
}

impl NetModel {
    pub fn lan() -> NetModel {
        NetModel {
            latency: Latency::Uniform(5, 40),
            topology: Topology::FullMesh,
            loss: 0.0,
            dup: 0.0,
            reorder: false,
            partitions: vec![],
        }
    }

    pub fn wan(topology: Topology) -> NetModel {
        NetModel {
            latency: Latency::Wan,
            topology,
            ..NetModel::lan()
        }
    }

    /// Light faults: jitter, 2% loss, 2% duplication, reordering.
    pub fn lossy() -> NetModel {
        NetModel {
            latency: Latency::Uniform(5, 60),
            loss: 0.02,
            dup: 0.02,
            reorder: true,
            ..NetModel::lan()
        }
    }

    /// Undirected links of `n` nodes.
    pub fn links(&self, n: usize, rng: &mut ChaCha8Rng) -> BTreeSet<(usize, usize)> {
        let mut links = BTreeSet::new();
        let pair = |a: usize, b: usize| (a.min(b), a.max(b));
        match self.topology {
            Topology::FullMesh => {
                for a in 0..n {
                    for b in a + 1..n {
                        links.insert((a, b));
                    }
                }
            }
            Topology::Random { degree } => {
                for a in 0..n {
                    if n > 1 {
                        links.insert(pair(a, (a + 1) % n));
                    }
                }
                let degree = degree.min(n.saturating_sub(1));
                for a in 0..n {
                    let mut tries = 0;
                    while links.iter().filter(|(x, y)| *x == a || *y == a).count() < degree
                        && tries < 10 * n
                    {
                        let b = rng.gen_range(0..n);
                        if b != a {
                            links.insert(pair(a, b));
                        }
                        tries += 1;
                    }
                }
            }
        }
        links.retain(|(a, b)| a != b);
        links
    }

    /// The base one-way delay of a link.
    pub fn base_delay(&self, rng: &mut ChaCha8Rng) -> Ms {
        match self.latency {
            Latency::Uniform(lo, _) => lo,
            Latency::Wan => rng.gen_range(20..=150),
        }
    }

    /// The delay of one message on a link with `base` delay.
    pub fn delay(&self, base: Ms, rng: &mut ChaCha8Rng) -> Ms {
        match self.latency {
            Latency::Uniform(lo, hi) => rng.gen_range(lo..=hi.max(lo)),
            Latency::Wan => base + rng.gen_range(0..=base / 10),
        }
    }

    /// Whether a partition separates `a` and `b` at `t`.
    pub fn cut(&self, a: usize, b: usize, t: Ms) -> bool {
        self.partitions
            .iter()
            .any(|(from, until, g)| t >= *from && t < *until && g.get(a) != g.get(b))
    }

    /// When the last partition heals.
    pub fn healed_at(&self) -> Ms {
        self.partitions
            .iter()
            .map(|(_, u, _)| *u)
            .max()
            .unwrap_or(0)
    }
}
