//! Wire messages: one tag byte followed by the fields in the canonical encoding of
//! [`crate::types::encoding`]. Every variant has its own size limit, checked before decoding.

use crate::types::encoding::{put, Decode, DecodeError, Encode, Reader};
use crate::types::{
    Block, CommitCertificate, Domain, Evidence, Hash, Proposal, PublicKey, SecretKey, Signature,
    Transaction, Vote,
};

/// Protocol version carried in the Hello; peers with another version are refused. Version 2
/// relays proposals by announcement ([`Message::Have`], [`Message::GetProposal`]).
pub const PROTOCOL_VERSION: u32 = 2;
/// Longest listen address string in a Hello or a Peers reply.
pub const MAX_ADDR_LEN: usize = 64;
/// Most addresses in one Peers reply.
pub const MAX_PEERS_REPLY: usize = 100;
/// Most blocks one GetBlocks may ask for and one Blocks reply may carry.
pub const MAX_BLOCKS_PER_MSG: usize = 128;
/// Most transaction ids in one TxAnnounce / GetTxs.
pub const MAX_TX_IDS: usize = 1_000;
/// Most transactions in one `Txs` batch.
pub const MAX_TX_BATCH: usize = 4_096;
/// Bytes of transactions the writer combines into one `Txs` batch at most.
pub const TX_BATCH_BYTES: usize = 1024 * 1024;
/// Tag byte of [`Message::Tx`] (the writer recognises queued transactions by it).
pub const TX_TAG: u8 = tag::TX;
/// Tag byte of [`Message::Txs`].
pub const TXS_TAG: u8 = tag::TXS;
/// Tag byte of [`Message::TxAnnounce`] (the writer batches one-id announcements by it).
pub const TX_ANNOUNCE_TAG: u8 = tag::TX_ANNOUNCE;
/// Label of the TLS exporter whose value the Hello signs.
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-timecoin-p2p-v1";

/// Role byte for the handshake binding: the side that opened the TCP connection.
pub const ROLE_DIALER: u8 = 0;
/// Role byte for the handshake binding: the side that accepted the TCP connection.
pub const ROLE_LISTENER: u8 = 1;

/// The first message on every connection: who we are, proven by a signature over the TLS
/// session's exporter value (channel binding), so a Hello cannot be relayed by a MITM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Chain id of the sender; must equal ours.
    pub chain_id: Hash,
    /// Protocol version; must equal [`PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The sender's node key (its peer id).
    pub node_key: PublicKey,
    /// Where the sender accepts connections (host:port), possibly empty.
    pub listen_addr: String,
    /// The sender's finalized height.
    pub height: u64,
    /// Signature over [`Hello::binding`] with the sender's role.
    pub signature: Signature,
}

impl Hello {
    /// The hash a Hello signs: exporter value, chain id and the signer's role byte.
    pub fn binding(exporter: &[u8; 32], chain_id: &Hash, role: u8) -> Hash {
        let mut buf = Vec::with_capacity(65);
        buf.extend_from_slice(exporter);
        chain_id.encode_to(&mut buf);
        buf.push(role);
        Hash::of(Domain::Handshake, &buf)
    }

    /// Builds and signs a Hello for this TLS session.
    pub fn new_signed(
        key: &SecretKey,
        chain_id: Hash,
        exporter: &[u8; 32],
        role: u8,
        listen_addr: String,
        height: u64,
    ) -> Hello {
        let signature = key.sign(&Hello::binding(exporter, &chain_id, role).0);
        Hello {
            chain_id,
            protocol_version: PROTOCOL_VERSION,
            node_key: key.public(),
            listen_addr,
            height,
            signature,
        }
    }

    /// Checks the signature, made by a peer in `role`, against our view of the session.
    pub fn verify(&self, exporter: &[u8; 32], role: u8) -> bool {
        let msg = Hello::binding(exporter, &self.chain_id, role);
        self.node_key.verify(&msg.0, &self.signature).is_ok()
    }
}

impl Encode for Hello {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.chain_id.encode_to(out);
        put::u32(out, self.protocol_version);
        self.node_key.encode_to(out);
        put::bytes(out, self.listen_addr.as_bytes());
        put::u64(out, self.height);
        self.signature.encode_to(out);
    }
}

impl Decode for Hello {
    const MIN_LEN: usize = 32 + 4 + 32 + 4 + 8 + 64;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Hello {
            chain_id: Hash::decode_from(r)?,
            protocol_version: r.u32()?,
            node_key: PublicKey::decode_from(r)?,
            listen_addr: r.string("hello listen address", MAX_ADDR_LEN)?,
            height: r.u64()?,
            signature: Signature::decode_from(r)?,
        })
    }
}

/// Everything peers say to each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Handshake (first message only).
    Hello(Hello),
    /// Liveness probe with a nonce.
    Ping(u64),
    /// Answer to a ping with its nonce.
    Pong(u64),
    /// Asks for known peer addresses.
    GetPeers,
    /// Known peer addresses (host:port), at most [`MAX_PEERS_REPLY`].
    Peers(Vec<String>),
    /// A transaction (push gossip).
    Tx(Transaction),
    /// Ids of transactions the sender has.
    TxAnnounce(Vec<Hash>),
    /// Asks for transactions by id.
    GetTxs(Vec<Hash>),
    /// A block proposal and the proposed block.
    Proposal {
        /// The signed proposal; the receiver checks signature and proposer.
        proposal: Proposal,
        /// The block it proposes.
        block: Block,
    },
    /// A prevote or precommit.
    Vote(Vote),
    /// The sender's finalized tip.
    Status {
        /// Height of the tip.
        height: u64,
        /// Hash of the tip block.
        tip: Hash,
    },
    /// Asks for `count` (at most [`MAX_BLOCKS_PER_MSG`]) finalized blocks from height `from`.
    GetBlocks {
        /// Height of the first block asked for.
        from: u64,
        /// Number of consecutive blocks asked for from `from` on.
        count: u32,
    },
    /// Finalized blocks with their certificates, at most [`MAX_BLOCKS_PER_MSG`].
    Blocks(Vec<(Block, CommitCertificate)>),
    /// Equivocation evidence, relayed so a proposer includes it and the offender is banned.
    Evidence(Evidence),
    /// Several transactions in one frame, at most [`MAX_TX_BATCH`]. The p2p layer forms
    /// batches from queued `Tx` messages and unpacks received ones: the node sees only `Tx`.
    Txs(Vec<Transaction>),
    /// The sender relays the proposal whose gossip key is this: it accepted it and sends it to
    /// a peer that asks. Handled inside the p2p layer, as is [`Message::GetProposal`].
    Have(Hash),
    /// Asks for the proposal with this gossip key, announced by the receiver.
    GetProposal(Hash),
}

mod tag {
    pub const HELLO: u8 = 0;
    pub const PING: u8 = 1;
    pub const PONG: u8 = 2;
    pub const GET_PEERS: u8 = 3;
    pub const PEERS: u8 = 4;
    pub const TX: u8 = 5;
    pub const TX_ANNOUNCE: u8 = 6;
    pub const GET_TXS: u8 = 7;
    pub const PROPOSAL: u8 = 8;
    pub const VOTE: u8 = 9;
    pub const STATUS: u8 = 10;
    pub const GET_BLOCKS: u8 = 11;
    pub const BLOCKS: u8 = 12;
    pub const EVIDENCE: u8 = 13;
    pub const TXS: u8 = 14;
    pub const HAVE: u8 = 15;
    pub const GET_PROPOSAL: u8 = 16;
}

/// Largest encoded message of each kind, tag byte included; `None` for an unknown tag.
pub fn max_len_for_tag(t: u8) -> Option<usize> {
    const MIB: usize = 1024 * 1024;
    Some(match t {
        tag::HELLO => 1 + Hello::MIN_LEN + MAX_ADDR_LEN,
        tag::PING | tag::PONG => 9,
        tag::GET_PEERS => 1,
        tag::PEERS => 1 + 4 + MAX_PEERS_REPLY * (4 + MAX_ADDR_LEN),
        tag::TX => 1 + crate::types::tx::MAX_TX_SIZE,
        tag::TX_ANNOUNCE | tag::GET_TXS => 1 + 4 + MAX_TX_IDS * 32,
        tag::PROPOSAL => 4 * MIB,
        tag::VOTE => 512,
        tag::STATUS => 1 + 8 + 32,
        tag::GET_BLOCKS => 1 + 8 + 4,
        tag::BLOCKS => 4 * MIB,
        tag::EVIDENCE => 1024,
        tag::TXS => 4 * MIB,
        tag::HAVE | tag::GET_PROPOSAL => 1 + 32,
        _ => return None,
    })
}

impl Message {
    /// Short name of the kind, for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Ping(_) => "ping",
            Message::Pong(_) => "pong",
            Message::GetPeers => "getpeers",
            Message::Peers(_) => "peers",
            Message::Tx(_) => "tx",
            Message::TxAnnounce(_) => "txannounce",
            Message::GetTxs(_) => "gettxs",
            Message::Proposal { .. } => "proposal",
            Message::Vote(_) => "vote",
            Message::Status { .. } => "status",
            Message::GetBlocks { .. } => "getblocks",
            Message::Blocks(_) => "blocks",
            Message::Evidence(_) => "evidence",
            Message::Txs(_) => "txs",
            Message::Have(_) => "have",
            Message::GetProposal(_) => "getproposal",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Message::Hello(_) => tag::HELLO,
            Message::Ping(_) => tag::PING,
            Message::Pong(_) => tag::PONG,
            Message::GetPeers => tag::GET_PEERS,
            Message::Peers(_) => tag::PEERS,
            Message::Tx(_) => tag::TX,
            Message::TxAnnounce(_) => tag::TX_ANNOUNCE,
            Message::GetTxs(_) => tag::GET_TXS,
            Message::Proposal { .. } => tag::PROPOSAL,
            Message::Vote(_) => tag::VOTE,
            Message::Status { .. } => tag::STATUS,
            Message::GetBlocks { .. } => tag::GET_BLOCKS,
            Message::Blocks(_) => tag::BLOCKS,
            Message::Evidence(_) => tag::EVIDENCE,
            Message::Txs(_) => tag::TXS,
            Message::Have(_) => tag::HAVE,
            Message::GetProposal(_) => tag::GET_PROPOSAL,
        }
    }

    /// Decodes one message, first checking the per-kind size limit.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let Some(&t) = bytes.first() else {
            return Err(DecodeError::UnexpectedEnd {
                offset: 0,
                needed: 1,
            });
        };
        let limit = max_len_for_tag(t).ok_or(DecodeError::InvalidTag {
            what: "message",
            tag: t,
        })?;
        if bytes.len() > limit {
            return Err(DecodeError::LengthTooLarge {
                what: "message",
                declared: bytes.len() as u64,
                limit: limit as u64,
            });
        }
        Message::from_bytes(bytes)
    }

    /// Whether this kind is handled inside the p2p layer (never delivered to the node).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Message::Hello(_)
                | Message::Ping(_)
                | Message::Pong(_)
                | Message::GetPeers
                | Message::Peers(_)
                | Message::Have(_)
                | Message::GetProposal(_)
        )
    }
}

impl Encode for Message {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match self {
            Message::Hello(h) => h.encode_to(out),
            Message::Ping(n) | Message::Pong(n) => put::u64(out, *n),
            Message::GetPeers => {}
            Message::Peers(addrs) => {
                put::len(out, addrs.len());
                for a in addrs {
                    put::bytes(out, a.as_bytes());
                }
            }
            Message::Tx(tx) => tx.encode_to(out),
            Message::TxAnnounce(ids) | Message::GetTxs(ids) => put::vec(out, ids),
            Message::Proposal { proposal, block } => {
                proposal.encode_to(out);
                block.encode_to(out);
            }
            Message::Vote(v) => v.encode_to(out),
            Message::Status { height, tip } => {
                put::u64(out, *height);
                tip.encode_to(out);
            }
            Message::GetBlocks { from, count } => {
                put::u64(out, *from);
                put::u32(out, *count);
            }
            Message::Blocks(items) => {
                put::len(out, items.len());
                for (b, c) in items {
                    b.encode_to(out);
                    c.encode_to(out);
                }
            }
            Message::Evidence(e) => e.encode_to(out),
            Message::Txs(txs) => put::vec(out, txs),
            Message::Have(key) | Message::GetProposal(key) => key.encode_to(out),
        }
    }
}

impl Decode for Message {
    const MIN_LEN: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let t = r.u8()?;
        Ok(match t {
            tag::HELLO => Message::Hello(Hello::decode_from(r)?),
            tag::PING => Message::Ping(r.u64()?),
            tag::PONG => Message::Pong(r.u64()?),
            tag::GET_PEERS => Message::GetPeers,
            tag::PEERS => {
                let n = r.len_prefix("peer addresses", MAX_PEERS_REPLY, 4)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(r.string("peer address", MAX_ADDR_LEN)?);
                }
                Message::Peers(v)
            }
            tag::TX => Message::Tx(Transaction::decode_from(r)?),
            tag::TX_ANNOUNCE => Message::TxAnnounce(r.vec("announced txids", MAX_TX_IDS)?),
            tag::GET_TXS => Message::GetTxs(r.vec("requested txids", MAX_TX_IDS)?),
            tag::PROPOSAL => Message::Proposal {
                proposal: Proposal::decode_from(r)?,
                block: Block::decode_from(r)?,
            },
            tag::VOTE => Message::Vote(Vote::decode_from(r)?),
            tag::STATUS => Message::Status {
                height: r.u64()?,
                tip: Hash::decode_from(r)?,
            },
            tag::GET_BLOCKS => {
                let from = r.u64()?;
                let count = r.u32()?;
                if count as usize > MAX_BLOCKS_PER_MSG {
                    return Err(DecodeError::LengthTooLarge {
                        what: "getblocks count",
                        declared: count as u64,
                        limit: MAX_BLOCKS_PER_MSG as u64,
                    });
                }
                Message::GetBlocks { from, count }
            }
            tag::BLOCKS => {
                let n = r.len_prefix(
                    "blocks",
                    MAX_BLOCKS_PER_MSG,
                    Block::MIN_LEN + CommitCertificate::MIN_LEN,
                )?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let b = Block::decode_from(r)?;
                    let c = CommitCertificate::decode_from(r)?;
                    v.push((b, c));
                }
                Message::Blocks(v)
            }
            tag::EVIDENCE => Message::Evidence(Evidence::decode_from(r)?),
            tag::TXS => Message::Txs(r.vec("batched transactions", MAX_TX_BATCH)?),
            tag::HAVE => Message::Have(Hash::decode_from(r)?),
            tag::GET_PROPOSAL => Message::GetProposal(Hash::decode_from(r)?),
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "message",
                    tag,
                })
            }
        })
    }
}

/// The key under which a gossip message is deduplicated (per peer and node-wide), or `None`
/// for request/response and control messages, which are never deduplicated. An announcement
/// of one transaction has the transaction's key, so that it goes only to peers not known to
/// have that transaction (the p2p layer batches such announcements on the way out and
/// filters batches id by id on the way in).
pub fn gossip_key(msg: &Message, encoded: &[u8]) -> Option<Hash> {
    match msg {
        Message::Tx(tx) => Some(tx.txid()),
        Message::TxAnnounce(ids) if ids.len() == 1 => ids.first().copied(),
        Message::Vote(_) | Message::Proposal { .. } | Message::Evidence(_) => {
            Some(encoded_key(encoded))
        }
        _ => None,
    }
}

/// The gossip key of an encoded vote, proposal or evidence message, from its bytes alone (the
/// hash of the whole message), so that a copy of one can be recognised before it is decoded;
/// `None` for every other tag.
pub fn consensus_key_of_encoded(encoded: &[u8]) -> Option<Hash> {
    match encoded.first() {
        Some(&(tag::VOTE | tag::PROPOSAL | tag::EVIDENCE)) => Some(encoded_key(encoded)),
        _ => None,
    }
}

/// Whether an encoded message is a proposal (by its tag byte).
pub fn is_proposal(encoded: &[u8]) -> bool {
    encoded.first() == Some(&tag::PROPOSAL)
}

fn encoded_key(encoded: &[u8]) -> Hash {
    Hash(*blake3::hash(encoded).as_bytes())
}
