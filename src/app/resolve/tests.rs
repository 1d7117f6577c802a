use super::*;
use crate::config::ConfigError;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A config file in a fresh dir; the dir is also the working directory of the load.
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("given.toml");
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

fn no_default(_: Network) -> PathBuf {
    PathBuf::from("/nonexistent/timecoin-default-dir")
}

fn load(args: &NodeArgs, cwd: &Path, e: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load_config_from(args, cwd, &env(e), no_default)
}

fn specs(plan: Plan) -> Vec<NodeSpec> {
    match plan {
        Plan::Devnet { specs, .. } => specs,
        Plan::Single(s) => panic!("not the in-process devnet: {s:?}"),
    }
}

/// The in-process devnet with the shipped config (network devnet, in_process), here in a
/// temp dir of its own.
fn devnet_args(dir: &Path, cfg: &Path) -> NodeArgs {
    NodeArgs {
        config: Some(cfg.to_path_buf()),
        datadir: Some(dir.to_path_buf()),
        ..NodeArgs::default()
    }
}

/// A listen address given to the in-process devnet (which places every node itself) is
/// refused, naming the flag or key and what to do, in one line; before, it was ignored.
#[test]
fn in_process_devnet_refuses_what_it_cannot_honour() {
    let (dir, cfg) = file("");
    type SetFlag = fn(&mut NodeArgs);
    let flags: [(&str, SetFlag); 3] = [
        ("--p2p-bind", |a| a.p2p_bind = Some("127.0.0.1:1".into())),
        ("--rpc-bind", |a| a.rpc_bind = Some("127.0.0.1:1".into())),
        ("--metrics-bind", |a| {
            a.metrics_bind = Some("127.0.0.1:1".into())
        }),
    ];
    for (flag, set) in flags {
        let mut args = devnet_args(dir.path(), &cfg);
        set(&mut args);
        let c = load(&args, dir.path(), &[]).unwrap();
        let e = plan(&c, &args).unwrap_err().to_string();
        assert!(
            e.contains(flag) && e.contains("--base-port") && e.contains("devnet init"),
            "{flag}: {e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    for (section, key, value) in [
        ("p2p", "bind", "\"127.0.0.1:1\""),
        ("p2p", "advertise", "\"127.0.0.1:1\""),
        ("rpc", "bind", "\"127.0.0.1:1\""),
        ("metrics", "bind", "\"127.0.0.1:1\""),
        ("masternode", "key_file", "\"/tmp/k\""),
        ("wallet", "file", "\"/tmp/w\""),
    ] {
        let (dir, cfg) = file(&format!("[{section}]\n{key} = {value}\n"));
        let args = devnet_args(dir.path(), &cfg);
        let c = load(&args, dir.path(), &[]).unwrap();
        let e = plan(&c, &args).unwrap_err().to_string();
        assert!(e.contains(&format!("{section}.{key}")), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        // The same key from the environment.
        let (dir, cfg) = file("");
        let args = devnet_args(dir.path(), &cfg);
        let var = format!("TIMECOIN_{}_{}", section.to_uppercase(), key.to_uppercase());
        let c = load(&args, dir.path(), &[(&var, value)]).unwrap();
        let e = plan(&c, &args).unwrap_err().to_string();
        assert!(e.contains(&format!("{section}.{key}")), "{var}: {e}");
    }
}

/// What applies to every node of the in-process devnet reaches every node: the config
/// header's own TIMECOIN_P2P_MAX_INBOUND=8, `[p2p]` connect, seeds and max_outbound,
/// `--connect`, `[rpc]` user and password.
#[test]
fn in_process_devnet_honours_p2p_and_rpc_keys() {
    let (dir, cfg) = file(
        "[p2p]\nseeds = [\"127.0.0.1:7\"]\nconnect = [\"127.0.0.1:8\"]\nmax_outbound = 3\n\
         [rpc]\nuser = \"u\"\npassword = \"p\"\n[devnet]\nnodes = 3\nbase_port = 20000\n",
    );
    let mut args = devnet_args(dir.path(), &cfg);
    args.connect = vec!["127.0.0.1:9".into()];
    let c = load(&args, dir.path(), &[("TIMECOIN_P2P_MAX_INBOUND", "8")]).unwrap();
    let specs = specs(plan(&c, &args).unwrap());
    assert_eq!(specs.len(), 4, "3 masternodes and the full node");
    for (i, s) in specs.iter().enumerate() {
        assert_eq!(s.max_inbound, 8, "node{i}");
        assert_eq!(s.max_outbound, 3, "node{i}");
        assert_eq!(s.seeds, vec!["127.0.0.1:7".to_string()], "node{i}");
        for extra in ["127.0.0.1:8", "127.0.0.1:9"] {
            assert!(s.connect.iter().any(|p| p == extra), "node{i}: {extra}");
        }
        // Still connected to the other devnet masternodes (the full node, node3, to all 3).
        let masternodes = if i < 3 { 2 } else { 3 };
        assert_eq!(s.connect.len(), masternodes + 2, "node{i}: {:?}", s.connect);
        assert_eq!(s.rpc_user, Some(("u".into(), "p".into())), "node{i}");
        assert_eq!(s.p2p_bind.port(), 20000 + 10 * i as u16);
    }
    // Without them, the layout's defaults.
    let (dir, cfg) = file("");
    let args = devnet_args(dir.path(), &cfg);
    let c = load(&args, dir.path(), &[]).unwrap();
    for s in specs_of(&c, &args) {
        assert_eq!((s.max_inbound, s.max_outbound), (64, 16));
        assert!(s.rpc_user.is_none());
    }
}

fn specs_of(c: &Config, args: &NodeArgs) -> Vec<NodeSpec> {
    specs(plan(c, args).unwrap())
}

/// Without --config and ./config.toml, the data dir's config.toml is read: --datadir's,
/// else TIMECOIN_NODE_DATADIR's, else the default data dir of the network (--network, else
/// TIMECOIN_NODE_NETWORK, else devnet). Before, only --datadir's was.
#[test]
fn config_is_found_in_the_data_dir_also_by_default() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let default_dir = |n: Network| home.path().join(n.name());
    for n in ["devnet", "testnet", "elsewhere"] {
        std::fs::create_dir_all(home.path().join(n)).unwrap();
        std::fs::write(home.path().join(n).join("config.toml"), "").unwrap();
    }
    let found = |args: &NodeArgs, e: &[(&str, &str)]| {
        config_path(args, cwd.path(), &env(e), default_dir).unwrap()
    };
    let none = NodeArgs::default();
    assert_eq!(
        found(&none, &[]),
        Some(home.path().join("devnet").join("config.toml"))
    );
    let testnet = NodeArgs {
        network: Some("testnet".into()),
        ..NodeArgs::default()
    };
    assert_eq!(
        found(&testnet, &[]),
        Some(home.path().join("testnet").join("config.toml"))
    );
    assert_eq!(
        found(&none, &[("TIMECOIN_NODE_NETWORK", "testnet")]),
        Some(home.path().join("testnet").join("config.toml"))
    );
    assert_eq!(found(&none, &[("TIMECOIN_NODE_NETWORK", "mainnet")]), None);
    let elsewhere = home.path().join("elsewhere");
    assert_eq!(
        found(
            &none,
            &[("TIMECOIN_NODE_DATADIR", elsewhere.to_str().unwrap())]
        ),
        Some(elsewhere.join("config.toml"))
    );
    // ./config.toml comes first, --config before everything.
    std::fs::write(cwd.path().join("config.toml"), "").unwrap();
    assert_eq!(found(&none, &[]), Some(cwd.path().join("config.toml")));
    let given = NodeArgs {
        config: Some("/x.toml".into()),
        ..NodeArgs::default()
    };
    assert_eq!(found(&given, &[]), Some(PathBuf::from("/x.toml")));
    // A bad network value names where it came from.
    std::fs::remove_file(cwd.path().join("config.toml")).unwrap();
    let e = config_path(
        &none,
        cwd.path(),
        &env(&[("TIMECOIN_NODE_NETWORK", "moon")]),
        default_dir,
    )
    .unwrap_err();
    assert!(e.to_string().contains("TIMECOIN_NODE_NETWORK"), "{e}");
}

/// Flag > environment > file, each pair, on keys of three sections (a mainnet node, so
/// every one is used).
#[test]
fn flags_override_environment_which_overrides_the_file() {
    let (dir, cfg) = file(
        "[node]\nnetwork = \"mainnet\"\ndatadir = \"/file\"\n\
         [p2p]\nbind = \"10.0.0.1:1\"\n[rpc]\nbind = \"127.0.0.1:1\"\n",
    );
    let base = NodeArgs {
        config: Some(cfg.clone()),
        ..NodeArgs::default()
    };
    let flags = NodeArgs {
        config: Some(cfg),
        datadir: Some("/flag".into()),
        network: Some("testnet".into()),
        p2p_bind: Some("10.0.0.3:3".into()),
        rpc_bind: Some("127.0.0.1:3".into()),
        ..NodeArgs::default()
    };
    let envs = [
        ("TIMECOIN_NODE_DATADIR", "/env"),
        ("TIMECOIN_NODE_NETWORK", "devnet"),
        ("TIMECOIN_P2P_BIND", "10.0.0.2:2"),
        ("TIMECOIN_RPC_BIND", "127.0.0.1:2"),
    ];
    let seen = |c: &Config| {
        (
            c.node.datadir.clone().unwrap(),
            c.node.network,
            c.p2p.bind.clone().unwrap(),
            c.rpc.bind.clone().unwrap(),
        )
    };
    // The file alone.
    let c = load(&base, dir.path(), &[]).unwrap();
    assert_eq!(
        seen(&c),
        (
            "/file".into(),
            Network::Mainnet,
            "10.0.0.1:1".into(),
            "127.0.0.1:1".into()
        )
    );
    // Environment over file.
    let c = load(&base, dir.path(), &envs).unwrap();
    assert_eq!(
        seen(&c),
        (
            "/env".into(),
            Network::Devnet,
            "10.0.0.2:2".into(),
            "127.0.0.1:2".into()
        )
    );
    // Flags over file, and flags over environment.
    for e in [&[][..], &envs[..]] {
        let c = load(&flags, dir.path(), e).unwrap();
        assert_eq!(
            seen(&c),
            (
                "/flag".into(),
                Network::Testnet,
                "10.0.0.3:3".into(),
                "127.0.0.1:3".into()
            ),
            "env {e:?}"
        );
    }
    // And what the node runs with follows (mainnet: the binds are used).
    let (dir, cfg) = file(&format!(
        "[node]\nnetwork = \"mainnet\"\ndatadir = \"{}\"\n[p2p]\nbind = \"127.0.0.1:1\"\n",
        dir.path().display()
    ));
    let args = NodeArgs {
        config: Some(cfg),
        rpc_bind: Some("127.0.0.1:3".into()),
        ..NodeArgs::default()
    };
    let c = load(&args, dir.path(), &[("TIMECOIN_P2P_BIND", "127.0.0.1:2")]).unwrap();
    let Plan::Single(s) = plan(&c, &args).unwrap() else {
        panic!("mainnet is one node")
    };
    assert_eq!(s.p2p_bind.port(), 2);
    assert_eq!(s.rpc_bind.map(|a| a.port()), Some(3));
}

/// A client of an in-process devnet (`timed attach`, `timed masternode`, `timed wallet`
/// over RPC) finds its wallet node where the running devnet wrote it, whatever
/// `--base-port` that devnet was started with; without the file, the configured ports.
#[test]
fn clients_find_the_running_devnet_wallet_node() {
    use crate::rpc::endpoint::Credentials;
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.node.datadir = Some(dir.path().to_path_buf());
    assert_eq!(rpc_url(&c), "http://127.0.0.1:24341");
    std::fs::write(
        dir.path().join(crate::rpc::WALLET_NODE_FILE),
        "node4 127.0.0.1:28771\n",
    )
    .unwrap();
    assert_eq!(rpc_url(&c), "http://127.0.0.1:28771");
    let Credentials::Cookie(cookie) = rpc_credentials(&c) else {
        panic!("cookie auth by default")
    };
    assert_eq!(cookie, dir.path().join("node4").join(".cookie"));
    // An explicit [rpc] bind still wins.
    c.rpc.bind = Some("127.0.0.1:5".into());
    assert_eq!(rpc_url(&c), "http://127.0.0.1:5");
}

/// Default ports per network: mainnet 24000/1/2 and testnet 24100/1/2 (p2p on every
/// interface, rpc and metrics on loopback); devnet node i base 24300 + 10 i.
/// Asserts that `s` binds p2p to `p2p_host:port`, and RPC and metrics to localhost at the next
/// two ports.
fn assert_binds(s: &NodeSpec, p2p_host: &str, port: u16) {
    assert_eq!(s.p2p_bind.to_string(), format!("{p2p_host}:{port}"));
    assert_eq!(
        s.rpc_bind.map(|a| a.to_string()),
        Some(format!("127.0.0.1:{}", port + 1))
    );
    assert_eq!(
        s.metrics_bind.map(|a| a.to_string()),
        Some(format!("127.0.0.1:{}", port + 2))
    );
}

#[test]
fn default_ports_per_network() {
    for (network, base) in [(Network::Mainnet, 24000), (Network::Testnet, 24100)] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::default();
        c.node.network = network;
        c.node.datadir = Some(dir.path().to_path_buf());
        let Plan::Single(s) = plan(&c, &NodeArgs::default()).unwrap() else {
            panic!("{network} is one node")
        };
        assert_binds(&s, "0.0.0.0", base);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.node.datadir = Some(dir.path().to_path_buf());
    let specs = specs_of(&c, &NodeArgs::default());
    assert_eq!(specs.len(), 5, "4 masternodes and the full node");
    for (i, s) in specs.iter().enumerate() {
        assert_binds(s, "127.0.0.1", 24300 + 10 * i as u16);
    }
    // A devnet node of its own process: its index's ports.
    c.devnet.in_process = false;
    c.devnet.index = 2;
    let Plan::Single(s) = plan(&c, &NodeArgs::default()).unwrap() else {
        panic!("one node")
    };
    assert_eq!(s.p2p_bind.to_string(), "127.0.0.1:24320");
    assert_eq!(s.rpc_bind.map(|a| a.port()), Some(24321));
}
