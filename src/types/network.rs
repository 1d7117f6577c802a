//! Networks: mainnet, testnet and devnet, with their address prefixes and default ports.

use std::fmt;
use std::str::FromStr;

/// A TimeCoin network.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The production network (genesis in `assets/genesis/mainnet.toml`).
    Mainnet,
    /// The public test network.
    Testnet,
    /// A local development network generated from the node count.
    #[default]
    Devnet,
}

impl Network {
    /// Bech32m human-readable part of addresses on this network.
    pub fn hrp(self) -> &'static str {
        match self {
            Network::Mainnet => "time",
            Network::Testnet => "ttime",
            Network::Devnet => "dtime",
        }
    }

    /// Lowercase name, as in config files and `--network`.
    pub fn name(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
            Network::Devnet => "devnet",
        }
    }

    /// Base port: p2p = base, rpc = base + 1, metrics = base + 2.
    pub fn base_port(self) -> u16 {
        match self {
            Network::Mainnet => 24000,
            Network::Testnet => 24100,
            Network::Devnet => 24300,
        }
    }

    /// One tag byte for encodings.
    pub fn tag(self) -> u8 {
        match self {
            Network::Mainnet => 0,
            Network::Testnet => 1,
            Network::Devnet => 2,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mainnet" | "main" => Ok(Network::Mainnet),
            "testnet" | "test" => Ok(Network::Testnet),
            "devnet" | "dev" => Ok(Network::Devnet),
            other => Err(format!(
                "unknown network {other:?} (expected mainnet, testnet or devnet)"
            )),
        }
    }
}
