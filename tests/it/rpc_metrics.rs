//! `/metrics` parsed line by line with a strict OpenMetrics text parser, and `/health`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::rpc_common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use timecoin::metrics::{start, HealthSnapshot, HealthSource, Metrics, MetricsRegistry};
use tokio_util::sync::CancellationToken;

/// One parsed sample.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

fn valid_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|_| format!("bad value {s:?}")),
    }
}

/// Parses `{a="x",b="y"}` at the start of `s`; returns labels and the rest.
type Labels = Vec<(String, String)>;

fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    if let Some(r) = rest.strip_prefix('}') {
        return Ok((labels, r));
    }
    loop {
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    _ => return Err("bad escape".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((name.to_string(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        } else {
            return Err("expected , or }".into());
        }
    }
}

/// Strict OpenMetrics text parser: every line must be a known form, every sample must belong
/// to a family declared by `# TYPE` with a suffix allowed for its type, and the text ends with
/// `# EOF`. Returns family types and samples.
fn parse_openmetrics(text: &str) -> Result<(HashMap<String, String>, Vec<Sample>), String> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut samples = Vec::new();
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .ok_or("no final newline")?
        .split('\n')
        .collect();
    if lines.last() != Some(&"# EOF") {
        return Err("missing # EOF".into());
    }
    for (n, line) in lines[..lines.len() - 1].iter().enumerate() {
        let err = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap_or("");
            let name = parts.next().ok_or_else(|| err("no metric name".into()))?;
            if !valid_name(name) {
                return Err(err("bad family name".into()));
            }
            let arg = parts.next().ok_or_else(|| err("no argument".into()))?;
            match kind {
                "TYPE" => {
                    if ![
                        "counter",
                        "gauge",
                        "histogram",
                        "summary",
                        "info",
                        "stateset",
                        "unknown",
                        "gaugehistogram",
                    ]
                    .contains(&arg)
                    {
                        return Err(err(format!("unknown type {arg}")));
                    }
                    if types.insert(name.to_string(), arg.to_string()).is_some() {
                        return Err(err("family declared twice".into()));
                    }
                }
                "HELP" => {
                    helps.insert(name.to_string());
                }
                "UNIT" => {}
                _ => return Err(err("unknown comment kind".into())),
            }
            continue;
        }
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(err("bad sample name".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(err)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before value".into()))?;
        let mut fields = rest.split(' ');
        let value = parse_value(fields.next().unwrap_or("")).map_err(err)?;
        if let Some(ts) = fields.next() {
            ts.parse::<f64>().map_err(|_| err("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        // Find the family this sample belongs to.
        let family = types
            .iter()
            .filter(|(f, _)| name.starts_with(f.as_str()))
            .max_by_key(|(f, _)| f.len())
            .ok_or_else(|| err("sample without # TYPE".into()))?;
        let suffix = &name[family.0.len()..];
        let allowed: &[&str] = match family.1.as_str() {
            "counter" => &["_total", "_created"],
            "gauge" | "unknown" => &[""],
            "histogram" => &["_bucket", "_sum", "_count", "_created"],
            "info" => &["_info"],
            _ => &["", "_bucket", "_sum", "_count", "_total"],
        };
        if !allowed.contains(&suffix) {
            return Err(err(format!(
                "suffix {suffix:?} not allowed for a {}",
                family.1
            )));
        }
        if suffix == "_bucket" && !labels.iter().any(|(k, _)| k == "le") {
            return Err(err("bucket without le".into()));
        }
        if !helps.contains(family.0) {
            return Err(err("family without # HELP".into()));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok((types, samples))
}

struct FakeHealth(Mutex<HealthSnapshot>);

impl HealthSource for FakeHealth {
    fn health(&self) -> HealthSnapshot {
        self.0.lock().unwrap().clone()
    }
}

#[test]
fn parser_rejects_garbage() {
    assert!(parse_openmetrics("x 1\n# EOF\n").is_err(), "no TYPE");
    assert!(
        parse_openmetrics("# TYPE x gauge\n# HELP x h\nx 1\n").is_err(),
        "no EOF"
    );
    assert!(parse_openmetrics("# TYPE x gauge\n# HELP x h\nx one\n# EOF\n").is_err());
    assert!(parse_openmetrics("# TYPE x counter\n# HELP x h\nx 1\n# EOF\n").is_err());
    assert!(parse_openmetrics("# TYPE x gauge\n# HELP x h\nx{a=\"1} 1\n# EOF\n").is_err());
    assert!(parse_openmetrics("# TYPE x gauge\n# HELP x h\nx{a=\"1\"} 1\n# EOF\n").is_ok());
}

/// The registry the node serves (`src/app/servers.rs` builds it with [`Metrics::new`]) with a
/// sample in every family, including the labelled ones that are empty until first used.
fn populated() -> (Metrics, MetricsRegistry) {
    let (m, registry) = Metrics::new();
    m.height.set(42);
    m.blocks_finalized.inc_by(42);
    m.txs_finalized.inc_by(1000);
    m.round.set(1);
    m.step.set(2);
    m.rounds_per_height.observe(1.0);
    m.rounds_per_height.observe(2.0);
    m.finality_latency.observe(0.35);
    m.set_peers(2, 3);
    m.bytes_in.inc_by(12345);
    m.bytes_out.inc_by(54321);
    m.bans.inc();
    m.banned.set(1);
    m.mempool_txs.set(7);
    m.mempool_bytes.set(7000);
    m.reject("fee_too_low", 1);
    m.reject("fee_too_low", 1);
    m.reject("Double \"spend\"\n", 1);
    m.synced.set(1);
    m.sync_target_height.set(42);
    m.storage_flush.observe(0.002);
    (m, registry)
}

#[tokio::test]
async fn metrics_scrape_parses() {
    let (_m, registry) = populated();
    let health = Arc::new(FakeHealth(Mutex::new(HealthSnapshot {
        height: 42,
        peers: 5,
        last_block_age_secs: Some(1),
        synced: true,
    })));
    let token = CancellationToken::new();
    let (addr, handle) = start(
        "127.0.0.1:0".parse().unwrap(),
        registry,
        health.clone(),
        token.clone(),
    )
    .await
    .unwrap();

    let (st, body) = rpc_common::http_request(
        addr,
        "GET",
        "/metrics",
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n",
    )
    .await;
    assert_eq!(st, 200);
    let (types, samples) = parse_openmetrics(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    let get = |name: &str, label: Option<(&str, &str)>| -> f64 {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && label.is_none_or(|(k, v)| s.labels.iter().any(|(a, b)| a == k && b == v))
            })
            .unwrap_or_else(|| panic!("no sample {name} {label:?}\n{body}"))
            .value
    };
    assert_eq!(types["timecoin_chain_height"], "gauge");
    assert_eq!(types["timecoin_blocks_finalized"], "counter");
    assert_eq!(
        types["timecoin_consensus_finality_latency_seconds"],
        "histogram"
    );
    assert_eq!(get("timecoin_chain_height", None), 42.0);
    assert_eq!(get("timecoin_blocks_finalized_total", None), 42.0);
    assert_eq!(get("timecoin_txs_finalized_total", None), 1000.0);
    assert_eq!(get("timecoin_consensus_round", None), 1.0);
    assert_eq!(get("timecoin_consensus_step", None), 2.0);
    assert_eq!(get("timecoin_consensus_rounds_per_height_count", None), 2.0);
    assert_eq!(get("timecoin_consensus_rounds_per_height_sum", None), 3.0);
    assert_eq!(
        get(
            "timecoin_consensus_rounds_per_height_bucket",
            Some(("le", "+Inf"))
        ),
        2.0
    );
    assert_eq!(
        get("timecoin_consensus_finality_latency_seconds_count", None),
        1.0
    );
    assert_eq!(
        get("timecoin_p2p_peers", Some(("direction", "inbound"))),
        2.0
    );
    assert_eq!(
        get("timecoin_p2p_peers", Some(("direction", "outbound"))),
        3.0
    );
    assert_eq!(get("timecoin_p2p_bytes_received_total", None), 12345.0);
    assert_eq!(get("timecoin_p2p_bytes_sent_total", None), 54321.0);
    assert_eq!(get("timecoin_p2p_bans_total", None), 1.0);
    assert_eq!(get("timecoin_p2p_banned", None), 1.0);
    assert_eq!(get("timecoin_mempool_txs", None), 7.0);
    assert_eq!(get("timecoin_mempool_bytes", None), 7000.0);
    assert_eq!(
        get(
            "timecoin_mempool_rejected_total",
            Some(("reason", "fee_too_low"))
        ),
        2.0
    );
    assert_eq!(
        get(
            "timecoin_mempool_rejected_total",
            Some(("reason", "double__spend__"))
        ),
        1.0
    );
    assert_eq!(get("timecoin_sync_synced", None), 1.0);
    assert_eq!(get("timecoin_sync_target_height", None), 42.0);
    assert_eq!(get("timecoin_storage_flush_seconds_count", None), 1.0);

    // /health: 200 when synced with peers.
    let (st, body) = rpc_common::http_request(addr, "GET", "/health", "").await;
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"status": "ok", "height": 42, "peers": 5, "last_block_age_secs": 1, "synced": true})
    );
    // 503 while syncing, and with no peers.
    health.0.lock().unwrap().synced = false;
    let (st, body) = rpc_common::http_request(addr, "GET", "/health", "").await;
    assert_eq!(st, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "syncing");
    assert_eq!(v["synced"], false);
    {
        let mut h = health.0.lock().unwrap();
        h.synced = true;
        h.peers = 0;
        h.last_block_age_secs = None;
    }
    let (st, body) = rpc_common::http_request(addr, "GET", "/health", "").await;
    assert_eq!(st, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "no_peers");
    assert!(v["last_block_age_secs"].is_null());

    let (st, _) = rpc_common::http_request(addr, "GET", "/nope", "").await;
    assert_eq!(st, 404);
    let (st, _) = rpc_common::http_request(addr, "POST", "/metrics", "").await;
    assert_eq!(st, 405);

    token.cancel();
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .unwrap()
        .unwrap();
}

/// Runs `promtool check metrics` (Debian package prometheus) on `text`; fails when promtool is
/// missing rather than skipping (`.ci/run` installs it).
fn promtool_check(text: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): install Debian's prometheus package (.ci/run does)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && report.trim().is_empty(),
        "promtool check metrics:\n{report}\n{text}"
    );
    report
}

/// `promtool check metrics` reports nothing on what `/metrics` serves without an Accept header
/// (`curl -s http://127.0.0.1:24002/metrics | promtool check metrics`, as the README says).
#[tokio::test]
async fn promtool_check_metrics_is_clean() {
    let (_m, registry) = populated();
    let token = CancellationToken::new();
    let health = Arc::new(|| HealthSnapshot {
        height: 0,
        peers: 0,
        last_block_age_secs: None,
        synced: false,
    });
    let (addr, handle) = start(
        "127.0.0.1:0".parse().unwrap(),
        registry,
        health,
        token.clone(),
    )
    .await
    .unwrap();
    let (st, body) = rpc_common::http_request(addr, "GET", "/metrics", "").await;
    assert_eq!(st, 200);
    assert!(
        body.contains("# TYPE timecoin_blocks_finalized_total counter"),
        "{body}"
    );
    promtool_check(&body);
    token.cancel();
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .unwrap()
        .unwrap();
}

const DASHBOARD: &str = include_str!("../../assets/grafana-dashboard.json");

/// Every PromQL expression of the Grafana dashboard: panel targets (also inside rows) and the
/// template variables' queries.
fn dashboard_queries() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let d: serde_json::Value = serde_json::from_str(DASHBOARD).expect("dashboard is valid JSON");
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    for var in d["templating"]["list"].as_array().unwrap() {
        if var["type"] == "query" {
            let q = var["query"]["query"]
                .as_str()
                .or(var["query"].as_str())
                .unwrap();
            out.push(q.to_string());
        }
    }
    out
}

/// The identifiers of a PromQL expression outside strings, ranges and Grafana variables, each
/// with whether a `(` follows it (a function or an aggregation's argument list).
fn promql_identifiers(expr: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '[' {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
        } else if c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let rest = chars[i..].iter().find(|c| !c.is_whitespace());
            out.push((chars[start..i].iter().collect(), rest == Some(&'(')));
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers, including 1e3 and 0.5.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn promql_identifiers_skip_strings_ranges_and_variables() {
    let ids = promql_identifiers(
        r#"histogram_quantile(0.5, sum by (le) (rate(x_bucket{instance=~"$instance",a="b c"}[$__rate_interval])))"#,
    );
    let names: Vec<&str> = ids.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "histogram_quantile",
            "sum",
            "by",
            "le",
            "rate",
            "x_bucket",
            "instance",
            "a"
        ]
    );
    assert!(ids[0].1 && !ids[5].1);
}

/// The dashboard cannot drift from the node: every metric its queries read is one that
/// `/metrics` exports (the registry the node serves, with a sample in every family), every
/// other word is PromQL or a label the node or Prometheus attaches, every panel has a query,
/// and `promtool check rules` parses every expression.
#[test]
fn grafana_dashboard_reads_only_exported_metrics() {
    let (_m, registry) = populated();
    let body = registry.encode_text();
    let exported: HashSet<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    // Keywords, and aggregations (which may be followed by `by (...)` before their `(`).
    const PROMQL: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
    ];
    // Labels: the node's (le of histograms, direction, reason) and Prometheus' target labels.
    const LABELS: &[&str] = &["le", "direction", "reason", "instance", "job"];
    let queries = dashboard_queries();
    assert!(queries.len() >= 15, "{queries:?}");
    let mut used = HashSet::new();
    for q in &queries {
        let ids = promql_identifiers(q);
        assert!(
            ids.iter().any(|(n, _)| n.starts_with("timecoin_")),
            "query reads no node metric: {q}"
        );
        for (name, call) in ids {
            if name.starts_with("timecoin_") {
                assert!(
                    exported.contains(name.as_str()),
                    "the dashboard reads {name}, which /metrics does not export: {q}\n{body}"
                );
                used.insert(name);
            } else {
                assert!(
                    call || PROMQL.contains(&name.as_str()) || LABELS.contains(&name.as_str()),
                    "unknown word {name} in dashboard query {q}"
                );
            }
        }
    }
    // The families an operator needs on the dashboard.
    for want in [
        "timecoin_chain_height",
        "timecoin_txs_finalized_total",
        "timecoin_consensus_finality_latency_seconds_bucket",
        "timecoin_consensus_rounds_per_height_count",
        "timecoin_p2p_peers",
        "timecoin_mempool_txs",
        "timecoin_sync_synced",
    ] {
        assert!(used.contains(want), "the dashboard does not show {want}");
    }
    let d: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    for p in d["panels"].as_array().unwrap() {
        if p["type"] != "row" {
            let targets = p["targets"].as_array().map_or(0, Vec::len);
            assert!(targets > 0, "panel {} has no query", p["title"]);
        }
    }

    // PromQL syntax: promtool parses every expression as a recording rule, with Grafana's
    // variables replaced by what Grafana would substitute.
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in queries.iter().enumerate() {
        let expr = q
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*");
        let expr = if expr.starts_with("label_values(") {
            // A Grafana function, not PromQL: check its metric as a selector.
            expr.trim_start_matches("label_values(")
                .split(',')
                .next()
                .unwrap()
                .to_string()
        } else {
            expr
        };
        rules.push_str(&format!(
            "      - record: dashboard:q{i}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ));
    }
    let file = dir.path().join("dashboard.rules.yml");
    std::fs::write(&file, &rules).unwrap();
    let o = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool ({e}): install Debian's prometheus package (.ci/run does)")
        });
    assert!(
        o.status.success(),
        "promtool check rules on the dashboard's queries:\n{}{}\n{rules}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
