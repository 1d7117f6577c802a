//! Tendermint BFT consensus among masternodes.
