//! Transactions: transfers, coinbase and masternode registration/update/exit.

use super::address::Address;
use super::amount::Amount;
use super::encoding::{put, Decode, DecodeError, Encode, Reader};
use super::hash::{Domain, Hash};
use super::keys::{PublicKey, SecretKey, Signature};

/// Version every non-coinbase transaction must carry; validation refuses any other.
pub const TX_VERSION: u16 = 1;
/// Most inputs a transaction may have.
pub const MAX_TX_INPUTS: usize = 2_000;
/// Most outputs a transaction may have.
pub const MAX_TX_OUTPUTS: usize = 2_000;
/// Longest masternode p2p address string.
pub const MAX_P2P_ADDR_LEN: usize = 64;
/// Largest encoded transaction, in bytes (256 KiB), signatures included.
pub const MAX_TX_SIZE: usize = 256 * 1024;

/// A reference to one output of an earlier transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct OutPoint {
    /// Id of the transaction that created the output ([`Transaction::txid`]).
    pub txid: Hash,
    /// Position of the output in that transaction's `outputs`, from 0.
    pub index: u32,
}

impl OutPoint {
    /// Parses `txid:vout` (64 hex digits, a colon, a decimal index).
    pub fn parse(s: &str) -> Option<OutPoint> {
        let (txid, index) = s.split_once(':')?;
        if txid.len() != 64 || index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(OutPoint {
            txid: Hash::from_hex(txid)?,
            index: index.parse().ok()?,
        })
    }
}

/// A spent output with the key that owns it and its signature over the signing hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxIn {
    /// The output being spent.
    pub prev: OutPoint,
    /// The key whose address owns the output.
    pub pubkey: PublicKey,
    /// Signature over [`Transaction::signing_hash`].
    pub signature: Signature,
}

/// A new output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOut {
    /// Value in base units; validation refuses zero.
    pub amount: Amount,
    /// Owner: an input spending this output must carry a key hashing to this address.
    pub address: Address,
}

/// Masternode tiers by exact collateral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// No collateral: relays, no vote.
    Free,
    /// 1,000 TIME, weight 1.
    Bronze,
    /// 10,000 TIME, weight 10.
    Silver,
    /// 100,000 TIME, weight 100.
    Gold,
}

impl Tier {
    /// Exact collateral this tier requires.
    pub fn collateral(self) -> Amount {
        match self {
            Tier::Free => Amount::ZERO,
            Tier::Bronze => Amount::from_time(1_000),
            Tier::Silver => Amount::from_time(10_000),
            Tier::Gold => Amount::from_time(100_000),
        }
    }

    /// Voting weight of an active masternode of this tier (0 for free: it never votes).
    pub fn weight(self) -> u64 {
        match self {
            Tier::Free => 0,
            Tier::Bronze => 1,
            Tier::Silver => 10,
            Tier::Gold => 100,
        }
    }

    /// Lowercase name, as RPC shows it and [`Tier::from_name`] parses it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Bronze => "bronze",
            Tier::Silver => "silver",
            Tier::Gold => "gold",
        }
    }

    /// Parses a lowercase name.
    pub fn from_name(s: &str) -> Option<Tier> {
        match s.to_ascii_lowercase().as_str() {
            "free" => Some(Tier::Free),
            "bronze" => Some(Tier::Bronze),
            "silver" => Some(Tier::Silver),
            "gold" => Some(Tier::Gold),
            _ => None,
        }
    }

    fn tag(self) -> u8 {
        self as u8
    }
}

/// Registration of a masternode, signed by the owner of the collateral output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeRegistration {
    /// The collateral output; must hold exactly the tier's collateral and stay unspent.
    pub collateral: OutPoint,
    /// Tier claimed; the collateral must hold exactly its amount (any amount for free).
    pub tier: Tier,
    /// The node's consensus/p2p key.
    pub node_key: PublicKey,
    /// Where the node listens (host:port).
    pub p2p_addr: String,
    /// Address the masternode's block rewards are paid to when it proposes.
    pub payout: Address,
    /// The key owning the collateral output.
    pub owner: PublicKey,
    /// Owner's signature over the transaction's signing hash.
    pub owner_signature: Signature,
}

/// Update of a registered masternode's address or payout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeUpdate {
    /// The collateral identifying the masternode.
    pub collateral: OutPoint,
    /// New listen address (host:port); must not be empty.
    pub p2p_addr: String,
    /// New payout address for the masternode's block rewards.
    pub payout: Address,
    /// The key owning the collateral output.
    pub owner: PublicKey,
    /// Owner's signature over the transaction's signing hash.
    pub owner_signature: Signature,
}

/// Voluntary exit of a masternode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasternodeExit {
    /// The collateral identifying the masternode.
    pub collateral: OutPoint,
    /// The key owning the collateral output.
    pub owner: PublicKey,
    /// Owner's signature over the transaction's signing hash.
    pub owner_signature: Signature,
}

/// What a transaction does besides moving value.
///
/// The masternode payloads (up to 224 bytes each) are boxed: inline they made every
/// `Transaction` 296 bytes, plain transfers included, which the mempool, every block held in
/// memory and every clone of one paid for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxKind {
    /// Plain value transfer; needs at least one input and one output.
    Transfer,
    /// Block reward; no inputs; the height makes every coinbase unique.
    Coinbase {
        /// Height of the block that holds it.
        height: u64,
    },
    /// Registers a masternode; a non-free one votes from its height plus the activation delay.
    MasternodeRegister(Box<MasternodeRegistration>),
    /// Changes a registered masternode's listen address and payout; tier and key stay.
    MasternodeUpdate(Box<MasternodeUpdate>),
    /// Deregisters a masternode, leaving its collateral unspent; refused once it is banned.
    MasternodeExit(Box<MasternodeExit>),
}

/// A transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Format version; [`TX_VERSION`] (checked on every transaction but the coinbase).
    pub version: u16,
    /// Spent outputs; empty only in a coinbase.
    pub inputs: Vec<TxIn>,
    /// New outputs, indexed from 0 by [`OutPoint::index`].
    pub outputs: Vec<TxOut>,
    /// Earliest block height that may include this transaction.
    pub lock_time: u64,
    /// What the transaction does besides moving value.
    pub kind: TxKind,
}

impl Encode for OutPoint {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.txid.encode_to(out);
        put::u32(out, self.index);
    }
}
impl Decode for OutPoint {
    const MIN_LEN: usize = 36;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint {
            txid: Hash::decode_from(r)?,
            index: r.u32()?,
        })
    }
}

impl Encode for TxIn {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.prev.encode_to(out);
        self.pubkey.encode_to(out);
        self.signature.encode_to(out);
    }
}
impl Decode for TxIn {
    const MIN_LEN: usize = 36 + 32 + 64;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxIn {
            prev: OutPoint::decode_from(r)?,
            pubkey: PublicKey::decode_from(r)?,
            signature: Signature::decode_from(r)?,
        })
    }
}

impl Encode for TxOut {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.amount.encode_to(out);
        self.address.encode_to(out);
    }
}
impl Decode for TxOut {
    const MIN_LEN: usize = 8 + 21;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxOut {
            amount: Amount::decode_from(r)?,
            address: Address::decode_from(r)?,
        })
    }
}

impl Encode for Tier {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
    }
}
impl Decode for Tier {
    const MIN_LEN: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(Tier::Free),
            1 => Ok(Tier::Bronze),
            2 => Ok(Tier::Silver),
            3 => Ok(Tier::Gold),
            tag => Err(DecodeError::InvalidTag { what: "tier", tag }),
        }
    }
}

/// Whether an encoding includes signatures (txid, wire) or leaves them out (signing hash).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sigs {
    Include,
    Omit,
}

impl TxIn {
    /// Encoded size in bytes of one signed input (outpoint, public key, signature): what each
    /// input adds to a transaction's size.
    pub fn encoded_len() -> usize {
        TxIn {
            prev: OutPoint::default(),
            pubkey: PublicKey::default(),
            signature: Signature::default(),
        }
        .to_bytes()
        .len()
    }
}

impl TxOut {
    /// Encoded size in bytes of one output (amount, address): what each output adds to a
    /// transaction's size.
    pub fn encoded_len() -> usize {
        TxOut {
            amount: Amount::ZERO,
            address: Address::default(),
        }
        .to_bytes()
        .len()
    }
}

impl Transaction {
    fn encode_with(&self, out: &mut Vec<u8>, sigs: Sigs) {
        put::u16(out, self.version);
        put::len(out, self.inputs.len());
        for i in &self.inputs {
            i.prev.encode_to(out);
            i.pubkey.encode_to(out);
            if sigs == Sigs::Include {
                i.signature.encode_to(out);
            }
        }
        put::vec(out, &self.outputs);
        put::u64(out, self.lock_time);
        match &self.kind {
            TxKind::Transfer => out.push(0),
            TxKind::Coinbase { height } => {
                out.push(1);
                put::u64(out, *height);
            }
            TxKind::MasternodeRegister(r) => {
                out.push(2);
                r.collateral.encode_to(out);
                r.tier.encode_to(out);
                r.node_key.encode_to(out);
                put::bytes(out, r.p2p_addr.as_bytes());
                r.payout.encode_to(out);
                r.owner.encode_to(out);
                if sigs == Sigs::Include {
                    r.owner_signature.encode_to(out);
                }
            }
            TxKind::MasternodeUpdate(u) => {
                out.push(3);
                u.collateral.encode_to(out);
                put::bytes(out, u.p2p_addr.as_bytes());
                u.payout.encode_to(out);
                u.owner.encode_to(out);
                if sigs == Sigs::Include {
                    u.owner_signature.encode_to(out);
                }
            }
            TxKind::MasternodeExit(x) => {
                out.push(4);
                x.collateral.encode_to(out);
                x.owner.encode_to(out);
                if sigs == Sigs::Include {
                    x.owner_signature.encode_to(out);
                }
            }
        }
    }

    /// The transaction id: hash of the full encoding.
    pub fn txid(&self) -> Hash {
        Hash::of(Domain::Tx, &self.to_bytes())
    }

    /// The message every input (and a masternode owner) signs: the chain id plus every field
    /// except the signatures.
    pub fn signing_hash(&self, chain_id: &Hash) -> Hash {
        let mut buf = Vec::with_capacity(256);
        chain_id.encode_to(&mut buf);
        self.encode_with(&mut buf, Sigs::Omit);
        Hash::of(Domain::SigHash, &buf)
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        self.to_bytes().len()
    }

    /// An unsigned transfer spending `prevs`, every one owned by `pubkey`, into `outputs`. Its
    /// inputs carry placeholder signatures, which encode at the length of real ones, so
    /// [`Transaction::size`] is already the signed size (the fee to pay for it); sign it with
    /// [`Transaction::sign_inputs`].
    pub fn unsigned_transfer(
        prevs: impl IntoIterator<Item = OutPoint>,
        pubkey: PublicKey,
        outputs: Vec<TxOut>,
    ) -> Transaction {
        Transaction {
            version: TX_VERSION,
            inputs: prevs
                .into_iter()
                .map(|prev| TxIn {
                    prev,
                    pubkey,
                    signature: Signature::default(),
                })
                .collect(),
            outputs,
            lock_time: 0,
            kind: TxKind::Transfer,
        }
    }

    /// Encoded size in bytes of a signed transfer with `inputs` inputs and `outputs` outputs,
    /// taken from the encoding (every input and output encodes at a fixed length).
    pub fn transfer_size(inputs: usize, outputs: usize) -> usize {
        let out = TxOut {
            amount: Amount::ZERO,
            address: Address::default(),
        };
        Transaction::unsigned_transfer(
            std::iter::repeat_n(OutPoint::default(), inputs),
            PublicKey::default(),
            vec![out; outputs],
        )
        .size()
    }

    /// The outputs with the outpoints that name them, `txid` being this transaction's id
    /// (callers usually hold it already).
    pub fn outputs_at(&self, txid: Hash) -> impl Iterator<Item = (OutPoint, &TxOut)> + '_ {
        self.outputs.iter().enumerate().map(move |(i, o)| {
            let index = i as u32;
            (OutPoint { txid, index }, o)
        })
    }

    /// Whether this is a coinbase.
    pub fn is_coinbase(&self) -> bool {
        matches!(self.kind, TxKind::Coinbase { .. })
    }

    /// Sum of outputs, `None` on overflow.
    pub fn output_total(&self) -> Option<Amount> {
        Amount::checked_sum(self.outputs.iter().map(|o| o.amount))
    }

    /// Fills every input signature (and a masternode owner signature) with `keys`, which maps
    /// each input's public key to its secret key; `owner` signs the masternode part.
    pub fn sign_inputs(&mut self, chain_id: &Hash, keys: &[&SecretKey], owner: Option<&SecretKey>) {
        let msg = self.signing_hash(chain_id);
        for input in &mut self.inputs {
            if let Some(k) = keys.iter().find(|k| k.public() == input.pubkey) {
                input.signature = k.sign(&msg.0);
            }
        }
        if let Some(o) = owner {
            let sig = o.sign(&msg.0);
            match &mut self.kind {
                TxKind::MasternodeRegister(r) => r.owner_signature = sig,
                TxKind::MasternodeUpdate(u) => u.owner_signature = sig,
                TxKind::MasternodeExit(x) => x.owner_signature = sig,
                TxKind::Transfer | TxKind::Coinbase { .. } => {}
            }
        }
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.encode_with(out, Sigs::Include)
    }
}

fn decode_p2p_addr(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    r.string("masternode p2p address", MAX_P2P_ADDR_LEN)
}

impl Decode for Transaction {
    const MIN_LEN: usize = 2 + 4 + 4 + 8 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u16()?;
        if version != TX_VERSION {
            return Err(DecodeError::InvalidValue("transaction version"));
        }
        let inputs = r.vec("tx inputs", MAX_TX_INPUTS)?;
        let outputs = r.vec("tx outputs", MAX_TX_OUTPUTS)?;
        let lock_time = r.u64()?;
        let kind = match r.u8()? {
            0 => TxKind::Transfer,
            1 => TxKind::Coinbase { height: r.u64()? },
            2 => TxKind::MasternodeRegister(Box::new(MasternodeRegistration {
                collateral: OutPoint::decode_from(r)?,
                tier: Tier::decode_from(r)?,
                node_key: PublicKey::decode_from(r)?,
                p2p_addr: decode_p2p_addr(r)?,
                payout: Address::decode_from(r)?,
                owner: PublicKey::decode_from(r)?,
                owner_signature: Signature::decode_from(r)?,
            })),
            3 => TxKind::MasternodeUpdate(Box::new(MasternodeUpdate {
                collateral: OutPoint::decode_from(r)?,
                p2p_addr: decode_p2p_addr(r)?,
                payout: Address::decode_from(r)?,
                owner: PublicKey::decode_from(r)?,
                owner_signature: Signature::decode_from(r)?,
            })),
            4 => TxKind::MasternodeExit(Box::new(MasternodeExit {
                collateral: OutPoint::decode_from(r)?,
                owner: PublicKey::decode_from(r)?,
                owner_signature: Signature::decode_from(r)?,
            })),
            tag => {
                return Err(DecodeError::InvalidTag {
                    what: "tx kind",
                    tag,
                })
            }
        };
        Ok(Transaction {
            version,
            inputs,
            outputs,
            lock_time,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_keeps_masternode_payloads_out_of_line() {
        // Inline, the registration payload made every transaction 296 bytes.
        let size = std::mem::size_of::<Transaction>();
        assert!(size <= 80, "Transaction is {size} bytes in memory");
    }
}
