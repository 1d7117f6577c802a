//! A JSON-RPC request body (single or batch) answered by the server's own dispatch against the
//! in-memory mock backend. A reply is absent exactly for HTTP 204, and every reply is
//! well-formed for its dialect and serializes to JSON that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};
use timecoin::rpc::json::write_json;
use timecoin::rpc::mock::MockBackend;
use timecoin::rpc::server::answer_body;
use timecoin::rpc::{RpcBackend, RpcLimits};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// One response object: 2.0 carries `"jsonrpc": "2.0"` and one of `result`/`error`; 1.0 and
/// version-less carry `result`, `error` and `id`.
fn check_response(v: &Value) {
    let o: &Map<String, Value> = v.as_object().expect("a response is an object");
    assert!(o.contains_key("id"), "{v}");
    let error = match o.get("jsonrpc") {
        Some(j) => {
            assert_eq!(j, "2.0", "{v}");
            assert!(o.contains_key("result") != o.contains_key("error"), "{v}");
            o.get("error")
        }
        None => {
            assert!(o.contains_key("result") && o.len() == 3, "{v}");
            o.get("error").filter(|e| !e.is_null())
        }
    };
    if let Some(e) = error {
        assert!(e["code"].is_i64() && e["message"].is_string(), "{v}");
    }
}

fuzz_target!(|data: &[u8]| {
    // A fresh mock per input: methods like `stop` or `walletlock` change its state.
    let backend: Arc<dyn RpcBackend> = Arc::new(MockBackend::new());
    let max_batch = RpcLimits::default().max_batch;
    let (status, reply) = runtime().block_on(answer_body(&backend, max_batch, data));
    let Some(reply) = reply else {
        assert_eq!(status.as_u16(), 204);
        return;
    };
    match &reply {
        Value::Array(items) => items.iter().for_each(check_response),
        one => check_response(one),
    }
    let out = write_json(&reply, false);
    let back: Value = serde_json::from_slice(&out).expect("a reply is valid JSON");
    assert_eq!(back.is_array(), reply.is_array());
});
