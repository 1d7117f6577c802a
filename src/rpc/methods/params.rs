//! A call's parameters, checked against its method's table entry, and the parsers the
//! handlers share.

use super::{method_help, MethodSpec};
use crate::rpc::backend::RpcBackend;
use crate::rpc::error::{code, RpcErr};
use crate::types::{Address, Decode, Hash, Transaction};
use serde_json::Value;

/// Positional parameters after named ones were mapped (absent = `Null`).
pub struct Params {
    pub(super) spec: &'static MethodSpec,
    pub(super) v: Vec<Value>,
}

impl Params {
    /// Checks the request's `params` member against the method's table entry.
    pub fn new(spec: &'static MethodSpec, raw: Option<&Value>) -> Result<Params, RpcErr> {
        let usage_err =
            |why: String| RpcErr::new(code::MISC_ERROR, format!("{why}\n\n{}", method_help(spec)));
        let mut v = vec![Value::Null; spec.params.len()];
        match raw {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                if a.len() > spec.params.len() {
                    return Err(usage_err(format!(
                        "too many parameters: {} takes at most {}",
                        spec.name,
                        spec.params.len()
                    )));
                }
                for (i, x) in a.iter().enumerate() {
                    v[i] = x.clone();
                }
            }
            Some(Value::Object(o)) => {
                for (k, x) in o {
                    let i = spec
                        .params
                        .iter()
                        .position(|p| p.name == k)
                        .ok_or_else(|| RpcErr::param(format!("Unknown named parameter {k}")))?;
                    v[i] = x.clone();
                }
            }
            Some(_) => {
                return Err(RpcErr::new(
                    code::INVALID_REQUEST,
                    "Params must be an array or object",
                ))
            }
        }
        for (i, p) in spec.params.iter().enumerate() {
            if p.required && v[i].is_null() {
                return Err(usage_err(format!(
                    "missing required parameter \"{}\"",
                    p.name
                )));
            }
        }
        Ok(Params { spec, v })
    }

    /// The method called.
    pub(super) fn method(&self) -> &'static str {
        self.spec.name
    }

    pub(super) fn name(&self, i: usize) -> &'static str {
        self.spec.params.get(i).map(|p| p.name).unwrap_or("?")
    }

    pub(super) fn get(&self, i: usize) -> Option<&Value> {
        self.v.get(i).filter(|x| !x.is_null())
    }

    pub(super) fn str(&self, i: usize) -> Result<&str, RpcErr> {
        self.opt_str(i)?
            .ok_or_else(|| RpcErr::param(format!("missing {}", self.name(i))))
    }

    /// Parameter `i` read by `take`, which answers `None` when the JSON type is not `ty`
    /// (a type error naming the parameter) and may refuse the value itself; absent: `None`.
    fn typed<'a, T>(
        &'a self,
        i: usize,
        ty: &str,
        take: impl FnOnce(&'a Value) -> Option<Result<T, RpcErr>>,
    ) -> Result<Option<T>, RpcErr> {
        let Some(v) = self.get(i) else {
            return Ok(None);
        };
        take(v)
            .unwrap_or_else(|| {
                Err(RpcErr::type_err(format!(
                    "Expected type {ty} for {}",
                    self.name(i)
                )))
            })
            .map(Some)
    }

    pub(super) fn opt_str(&self, i: usize) -> Result<Option<&str>, RpcErr> {
        self.typed(i, "string", |v| v.as_str().map(Ok))
    }

    pub(super) fn opt_u64(&self, i: usize) -> Result<Option<u64>, RpcErr> {
        self.typed(i, "number", |v| {
            let n = v.as_number()?;
            Some(n.as_u64().ok_or_else(|| {
                RpcErr::param(format!("{} must be a non-negative integer", self.name(i)))
            }))
        })
    }

    pub(super) fn opt_i64(&self, i: usize) -> Result<Option<i64>, RpcErr> {
        self.typed(i, "number", |v| {
            let n = v.as_number()?;
            Some(
                n.as_i64()
                    .ok_or_else(|| RpcErr::param(format!("{} must be an integer", self.name(i)))),
            )
        })
    }

    pub(super) fn opt_bool(&self, i: usize) -> Result<Option<bool>, RpcErr> {
        self.typed(i, "bool", |v| v.as_bool().map(Ok))
    }

    /// A bool or an integer (0 = false, other = true), as Bitcoin Core accepts for `verbose`.
    pub(super) fn opt_level(&self, i: usize) -> Result<Option<u64>, RpcErr> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(u64::from(*b))),
            Some(_) => self.opt_u64(i),
        }
    }

    pub(super) fn hash(&self, i: usize) -> Result<Hash, RpcErr> {
        let s = self.str(i)?;
        parse_hash(self.name(i), s)
    }

    pub(super) fn hex(&self, i: usize) -> Result<Vec<u8>, RpcErr> {
        hex::decode(self.str(i)?).map_err(|_| {
            RpcErr::new(
                code::DESERIALIZATION_ERROR,
                "TX decode failed: not hexadecimal",
            )
        })
    }
}

pub(super) fn parse_hash(name: &str, s: &str) -> Result<Hash, RpcErr> {
    if s.len() != 64 {
        return Err(RpcErr::param(format!(
            "{name} must be of length 64 (not {}, for '{s}')",
            s.len()
        )));
    }
    Hash::from_hex(s)
        .ok_or_else(|| RpcErr::param(format!("{name} must be hexadecimal string (not '{s}')")))
}

pub(super) fn parse_address(b: &dyn RpcBackend, s: &str) -> Result<Address, RpcErr> {
    Address::parse(s, b.network()).map_err(|e| {
        RpcErr::new(
            code::INVALID_ADDRESS_OR_KEY,
            format!("Invalid TimeCoin address: {e}"),
        )
    })
}

pub(super) fn decode_tx(bytes: &[u8]) -> Result<Transaction, RpcErr> {
    Transaction::from_bytes(bytes).map_err(|e| {
        RpcErr::new(
            code::DESERIALIZATION_ERROR,
            format!("TX decode failed: {e}"),
        )
    })
}
