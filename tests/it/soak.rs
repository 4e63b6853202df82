//! Soak and herd tests, bounded in count and time so CI stays fast: a SIGKILL
//! loop over writing commands, 50 concurrent `config create`, 50 concurrent
//! cold `get-token` (docs/reliability.md has the figures).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

fn secret_app() -> (Emulator, Env) {
    let App { emu, mut env, .. } = App::new(&["the-secret"]);
    env.set("ENTRATOOL_CLIENT_SECRET", "the-secret");
    env.set("AZURE_AUTHORITY_HOST", &emu.url);
    (emu, env)
}

fn create(env: &Env, name: &str) -> std::process::Command {
    env.cmd(&create_args(name, TENANT, &["--auth-method", "secret", "--scope", GRAPH]))
}

#[test]
fn fifty_concurrent_config_creates_lose_none() {
    let (_emu, env) = secret_app();
    let children: Vec<_> = (0..50)
        .map(|i| create(&env, &format!("p{i}")).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for c in children {
        assert_ok(&c.wait_with_output().unwrap());
    }
    let list: Value = serde_json::from_str(&stdout(&env.run(&["config", "list", "--output", "json"]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 50, "every profile is there");
}

#[test]
fn fifty_concurrent_cold_get_tokens_make_one_request() {
    let (emu, env) = secret_app();
    assert_ok(&create(&env, "p").output().unwrap());
    let children: Vec<_> = (0..50)
        .map(|_| env.cmd(&["get-token", "-p", "p"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    let tokens: Vec<String> = children.into_iter().map(|c| stdout(&c.wait_with_output().unwrap())).collect();
    assert!(tokens.iter().all(|t| t == &tokens[0] && t.starts_with("eyJ")));
    assert_eq!(emu.token_requests(), 1);
}

/// Kills writing commands at random moments; after every kill each file
/// parses and the next command works. Bounded: 60 kills or 60 s.
#[test]
fn sigkill_loop_leaves_every_file_whole() {
    let (emu, env) = secret_app();
    emu.settings(serde_json::json!({"tokenLifetime": 3599}));
    assert_ok(&create(&env, "base").output().unwrap());
    let started = Instant::now();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut kills = 0;
    while kills < 60 && started.elapsed() < Duration::from_secs(60) {
        let n = next();
        let mut cmd = match n % 4 {
            0 => create(&env, &format!("k{kills}")),
            1 => env.cmd(&["config", "edit", "-p", "base", "--scope", GRAPH]),
            2 => env.cmd(&["get-token", "-p", "base", "--force-refresh"]),
            _ => env.cmd(&["cache", "clear"]),
        };
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(n % 15_000));
        // SIGKILL (Child::kill): no chance to clean up.
        child.kill().ok();
        child.wait().unwrap();
        kills += 1;
        // Every file parses: profiles.json through the CLI, cache entries by hand.
        let list = env.run(&["config", "list", "--output", "json"]);
        assert_ok(&list);
        serde_json::from_str::<Value>(&stdout(&list)).expect("profiles.json parses");
        for e in std::fs::read_dir(env.cache_dir()).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                let bytes = std::fs::read(e.path()).unwrap();
                serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| panic!("torn cache entry {name}"));
            }
        }
        assert_ok(&env.run(&["get-token", "-p", "base"]));
    }
    assert!(kills >= 20, "only {kills} kills in the time");
    // Leftover temporary files are gone after cache clear (older than 5 s: wait them out).
    std::thread::sleep(Duration::from_secs(6));
    assert_ok(&env.run(&["cache", "clear"]));
    let left: Vec<_> = std::fs::read_dir(env.cache_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
