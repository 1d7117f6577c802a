//! Hash maps and sets keyed by ids on the transaction path (txids, outpoints, addresses):
//! foldhash with a random seed per map instead of the standard library's SipHash-1-3, which
//! spends more on a 32-byte key than the table does on the rest of a lookup. The keys are
//! hashes a peer can grind but not choose, and the seed it cannot see decides where they land.

use std::collections::{HashMap, HashSet};

/// The hasher of [`IdMap`] and [`IdSet`]: a fresh random seed per map.
pub type IdHasher = foldhash::quality::RandomState;

/// A `HashMap` keyed by ids; make one with `IdMap::default()`.
pub type IdMap<K, V> = HashMap<K, V, IdHasher>;

/// A `HashSet` of ids; make one with `IdSet::default()`.
pub type IdSet<K> = HashSet<K, IdHasher>;
