//! Genesis blocks: from a spec file for mainnet/testnet, generated deterministically for devnet.

use super::params::ChainParams;
use super::state::{BlockEffects, LedgerState, MasternodeEntry, Utxo};
use crate::types::block::{merkle_root, BLOCK_VERSION};
use crate::types::tx::TX_VERSION;
use crate::types::{
    Address, Amount, Block, BlockHeader, Domain, Encode, Hash, Network, OutPoint, PublicKey,
    SecretKey, Tier, Transaction, TxKind, TxOut, Validator, ValidatorSet,
};
use serde::Deserialize;
use thiserror::Error;

/// Default consensus fee floor, units per byte.
pub const DEFAULT_MIN_FEE_RATE: u64 = 1;
/// Genesis time of the devnet (fixed so every devnet node computes the same genesis).
pub const DEVNET_GENESIS_TIME_MS: u64 = 1_767_225_600_000;
/// Faucet outputs in the devnet genesis.
pub const DEVNET_FAUCET_OUTPUTS: u32 = 100;
/// Value of each faucet output.
pub const DEVNET_FAUCET_OUTPUT_TIME: u64 = 10_000;

/// One masternode registered at genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisMasternode {
    /// Tier (its collateral is created at genesis for the owner).
    pub tier: Tier,
    /// Consensus/p2p key; a non-free masternode votes with it from height 1.
    pub node_key: PublicKey,
    /// Key owning the collateral (genesis pays a non-free tier's to its address).
    pub owner: PublicKey,
    /// Where the node listens (host:port).
    pub p2p_addr: String,
    /// Address the masternode's block rewards are paid to.
    pub payout: Address,
}

/// Everything that defines a chain's first block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisSpec {
    /// Network; with the genesis block hash it makes the chain id.
    pub network: Network,
    /// Header time of the genesis block, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Receives the treasury share (10%) of every block's reward and fees.
    pub treasury: Address,
    /// Outputs of the genesis coinbase, ahead of the masternode collaterals.
    pub allocations: Vec<TxOut>,
    /// Masternodes registered at genesis; each non-free one gets its collateral output.
    pub masternodes: Vec<GenesisMasternode>,
}

/// A built genesis: its block, the chain parameters and the initial state.
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The genesis block (height 0).
    pub block: Block,
    /// Parameters of this chain.
    pub params: ChainParams,
    /// Effects of the genesis block.
    pub effects: BlockEffects,
}

/// Why a genesis file is unusable.
#[derive(Debug, Error)]
pub enum GenesisError {
    /// TOML syntax or field error.
    #[error("genesis file: {0}")]
    Toml(#[from] toml::de::Error),
    /// A field value is wrong.
    #[error("genesis file: {0}")]
    Field(String),
}

impl Genesis {
    /// Builds the genesis block and state from a spec.
    pub fn build(spec: &GenesisSpec) -> Genesis {
        let mut outputs = spec.allocations.clone();
        for m in &spec.masternodes {
            if m.tier != Tier::Free {
                outputs.push(TxOut {
                    amount: m.tier.collateral(),
                    address: Address::from_pubkey(&m.owner),
                });
            }
        }
        let tx = Transaction {
            version: TX_VERSION,
            inputs: vec![],
            outputs,
            lock_time: 0,
            kind: TxKind::Coinbase { height: 0 },
        };
        let txid = tx.txid();
        let validators = ValidatorSet::new(
            spec.masternodes
                .iter()
                .map(|m| Validator {
                    key: m.node_key,
                    weight: m.tier.weight(),
                })
                .collect(),
        );
        let header = BlockHeader {
            version: BLOCK_VERSION,
            height: 0,
            prev_hash: Hash::ZERO,
            time_ms: spec.time_ms,
            merkle_root: merkle_root(&[txid]),
            proposer: PublicKey::default(),
            validator_set_hash: validators.hash(),
            last_commit_hash: crate::types::CommitCertificate::default().hash(),
        };
        let block = Block {
            header,
            txs: vec![tx],
            evidence: vec![],
            last_commit: Default::default(),
        };
        let block_hash = block.hash();
        let mut id = vec![spec.network.tag()];
        block_hash.encode_to(&mut id);
        let chain_id = Hash::of(Domain::ChainId, &id);

        let created: Vec<(OutPoint, Utxo)> = block.txs[0]
            .outputs_at(txid)
            .map(|(o, out)| {
                let utxo = Utxo {
                    output: *out,
                    height: 0,
                    coinbase: true,
                };
                (o, utxo)
            })
            .collect();
        let mut collateral_index = spec.allocations.len() as u32;
        let masternodes_upserted = spec
            .masternodes
            .iter()
            .map(|m| {
                let collateral = OutPoint {
                    txid,
                    index: collateral_index,
                };
                if m.tier != Tier::Free {
                    collateral_index += 1;
                }
                MasternodeEntry {
                    collateral,
                    tier: m.tier,
                    node_key: m.node_key,
                    p2p_addr: m.p2p_addr.clone(),
                    payout: m.payout,
                    owner: m.owner,
                    registered_height: 0,
                    active_from: 0,
                    banned: false,
                }
            })
            .collect();
        let minted = Amount::checked_sum(created.iter().map(|(_, u)| u.output.amount))
            .unwrap_or(Amount(u64::MAX));
        let effects = BlockEffects {
            height: 0,
            block_hash,
            txids: vec![txid],
            spent: vec![],
            created,
            masternodes_upserted,
            masternodes_removed: vec![],
            minted,
            validators,
        };
        let params = ChainParams {
            network: spec.network,
            chain_id,
            block_reward: Amount::from_time(100),
            treasury: spec.treasury,
            min_fee_rate: DEFAULT_MIN_FEE_RATE,
            activation_delay: 2,
        };
        Genesis {
            block,
            params,
            effects,
        }
    }

    /// The state after the genesis block.
    pub fn state(&self) -> LedgerState {
        let mut s = LedgerState::default();
        s.apply(&self.effects, self.block.header.time_ms);
        s
    }

    /// Parses a genesis spec file (see `assets/genesis/*.toml`).
    pub fn parse_spec(text: &str) -> Result<GenesisSpec, GenesisError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            network: Network,
            time_ms: u64,
            treasury: String,
            #[serde(default)]
            allocations: Vec<Alloc>,
            #[serde(default)]
            masternodes: Vec<Mn>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Alloc {
            address: String,
            amount_time: u64,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Mn {
            tier: String,
            node_key: String,
            owner: String,
            p2p_addr: String,
            payout: String,
        }
        let f: File = toml::from_str(text)?;
        let net = f.network;
        let addr =
            |s: &str| Address::parse(s, net).map_err(|e| GenesisError::Field(format!("{s}: {e}")));
        let key = |s: &str| {
            PublicKey::from_hex(s)
                .filter(PublicKey::is_valid)
                .ok_or_else(|| GenesisError::Field(format!("bad public key {s}")))
        };
        let allocations = f
            .allocations
            .iter()
            .map(|a| {
                Ok(TxOut {
                    amount: Amount::from_time(a.amount_time),
                    address: addr(&a.address)?,
                })
            })
            .collect::<Result<_, GenesisError>>()?;
        let masternodes = f
            .masternodes
            .iter()
            .map(|m| {
                let tier = Tier::from_name(&m.tier)
                    .ok_or_else(|| GenesisError::Field(format!("bad tier {}", m.tier)))?;
                // A free node has no collateral output to be known by: it needs no registration.
                if tier == Tier::Free {
                    return Err(GenesisError::Field(format!(
                        "masternode {}: tier free has no collateral and cannot be registered at \
                         genesis; list only bronze, silver or gold masternodes",
                        m.node_key
                    )));
                }
                Ok(GenesisMasternode {
                    tier,
                    node_key: key(&m.node_key)?,
                    owner: key(&m.owner)?,
                    p2p_addr: m.p2p_addr.clone(),
                    payout: addr(&m.payout)?,
                })
            })
            .collect::<Result<_, GenesisError>>()?;
        Ok(GenesisSpec {
            network: net,
            time_ms: f.time_ms,
            treasury: addr(&f.treasury)?,
            allocations,
            masternodes,
        })
    }

    /// The genesis of mainnet or testnet from the files shipped in `assets/genesis/`.
    pub fn for_network(network: Network) -> Option<Result<Genesis, GenesisError>> {
        let text = match network {
            Network::Mainnet => include_str!("../../assets/genesis/mainnet.toml"),
            Network::Testnet => include_str!("../../assets/genesis/testnet.toml"),
            Network::Devnet => return None,
        };
        Some(Genesis::parse_spec(text).map(|s| Genesis::build(&s)))
    }
}

/// Parameters of a generated devnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetSpec {
    /// Number of masternodes, all Bronze (weight 1) from deterministic keys.
    pub nodes: u32,
    /// Base port: node i listens for p2p on base + 10 i.
    pub base_port: u16,
    /// The faucet address (from the wallet's fixed insecure devnet mnemonic).
    pub faucet: Address,
}

fn devnet_seed(what: &str, i: u32) -> [u8; 32] {
    let mut h = Hash::hasher(Domain::ChainId);
    h.update(b"TimeCoin devnet INSECURE deterministic key: ")
        .update(what.as_bytes())
        .update(&i.to_le_bytes());
    h.finalize().0
}

/// The node key of devnet masternode `i` (deterministic and public: devnet only).
pub fn devnet_node_key(i: u32) -> SecretKey {
    SecretKey::from_seed(&devnet_seed("node", i))
}

/// The collateral owner key of devnet masternode `i` (deterministic and public: devnet only).
pub fn devnet_owner_key(i: u32) -> SecretKey {
    SecretKey::from_seed(&devnet_seed("owner", i))
}

/// The devnet treasury key.
pub fn devnet_treasury_key() -> SecretKey {
    SecretKey::from_seed(&devnet_seed("treasury", 0))
}

/// The devnet genesis: the faucet funded with [`DEVNET_FAUCET_OUTPUTS`] outputs and `nodes`
/// Bronze masternodes of equal weight from deterministic keys on 127.0.0.1.
pub fn devnet_genesis(spec: &DevnetSpec) -> Genesis {
    let allocations = (0..DEVNET_FAUCET_OUTPUTS)
        .map(|_| TxOut {
            amount: Amount::from_time(DEVNET_FAUCET_OUTPUT_TIME),
            address: spec.faucet,
        })
        .collect();
    let masternodes = (0..spec.nodes)
        .map(|i| {
            let owner = devnet_owner_key(i).public();
            GenesisMasternode {
                tier: Tier::Bronze,
                node_key: devnet_node_key(i).public(),
                owner,
                p2p_addr: format!("127.0.0.1:{}", u32::from(spec.base_port) + 10 * i),
                payout: Address::from_pubkey(&owner),
            }
        })
        .collect();
    Genesis::build(&GenesisSpec {
        network: Network::Devnet,
        time_ms: DEVNET_GENESIS_TIME_MS,
        treasury: Address::from_pubkey(&devnet_treasury_key().public()),
        allocations,
        masternodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_specs_parse_and_a_free_genesis_masternode_is_refused() {
        for net in [Network::Mainnet, Network::Testnet] {
            assert!(matches!(Genesis::for_network(net), Some(Ok(_))), "{net:?}");
        }
        let text = include_str!("../../assets/genesis/testnet.toml");
        let tier = with_first_tier_free(text);
        let err = Genesis::parse_spec(&tier).unwrap_err();
        assert!(err.to_string().contains("tier free"), "{err}");
    }

    /// The testnet spec with its first masternode's tier set to free.
    fn with_first_tier_free(text: &str) -> String {
        let at = text
            .find("tier = \"")
            .expect("the testnet spec lists a masternode tier");
        let end = at + text[at..].find('\n').unwrap_or(text.len() - at);
        format!("{}tier = \"free\"{}", &text[..at], &text[end..])
    }
}
