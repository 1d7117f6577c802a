//! The mock's network: peers, added nodes and bans.

use super::*;

pub(super) fn peers(m: &MockBackend) -> Vec<PeerInfo> {
    m.lock().peers.clone()
}

pub(super) fn node_info() -> NodeInfo {
    NodeInfo {
        version: 100,
        user_agent: "/TimeCoin:0.1.0/".into(),
        protocol_version: 1,
        local_addresses: vec!["127.0.0.1:24300".into()],
        network_active: true,
        relay_fee_rate: 1,
    }
}

pub(super) fn add_node(
    m: &MockBackend,
    addr: &str,
    command: AddNodeCommand,
) -> Result<(), NetError> {
    let mut st = m.lock();
    match command {
        AddNodeCommand::Add => {
            if st.added.iter().any(|a| a == addr) {
                return Err(NetError::NodeAlreadyAdded);
            }
            st.added.push(addr.to_string());
        }
        AddNodeCommand::Remove => {
            let before = st.added.len();
            st.added.retain(|a| a != addr);
            if st.added.len() == before {
                return Err(NetError::NodeNotAdded);
            }
        }
        AddNodeCommand::OneTry => {}
    }
    Ok(())
}

pub(super) fn set_ban(m: &MockBackend, subnet: &str, action: BanAction) -> Result<(), NetError> {
    let mut st = m.lock();
    match action {
        BanAction::Add { until_secs } => {
            if st.bans.iter().any(|b| b.target() == subnet) {
                return Err(NetError::AlreadyBanned);
            }
            let bad = |e: String| NetError::InvalidParameter(e);
            let (ip, prefix, node) =
                crate::p2p::parse_target(subnet).map_err(|e| bad(e.to_string()))?;
            let until = std::time::UNIX_EPOCH + std::time::Duration::from_secs(until_secs);
            let left = until
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            let entry = BanEntry::new(ip, prefix, node, left, "manual".into())
                .ok_or_else(|| bad(format!("{subnet}: prefix too long")))?;
            st.bans.push(entry);
        }
        BanAction::Remove => {
            let before = st.bans.len();
            st.bans.retain(|b| b.target() != subnet);
            if st.bans.len() == before {
                return Err(NetError::NotBanned);
            }
        }
    }
    Ok(())
}

pub(super) fn list_banned(m: &MockBackend) -> Vec<BanEntry> {
    m.lock().bans.clone()
}
