//! kubectl's credential plugin allowlist (Kubernetes 1.35 kuberc; issue 28):
//! `setup kubectl` names entratool by its absolute path, and `doctor` reads
//! the kuberc and prints the exact entry that lets kubectl run it. Real
//! kubectl enforces the policy from 1.35 on; an older one ignores kuberc's
//! policy, which this test says (and still checks everything else).

use std::path::Path;

use serde_json::Value;

use crate::clients::{World, world};
use crate::common::servers::start_kube_api;
use crate::common::*;

/// kubectl's client minor version (1.x).
fn kubectl_minor(w: &World) -> u32 {
    let out = w.tool("kubectl", &["version", "--client", "-o", "json"], w.env.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let minor = v["clientVersion"]["minor"].as_str().unwrap_or("0");
    minor.trim_end_matches('+').parse().unwrap_or(0)
}

fn write_kuberc(path: &Path, body: &str) {
    std::fs::write(path, format!("apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n{body}")).unwrap();
}

#[test]
fn doctor_prints_the_allowlist_entry_that_lets_kubectl_run_entratool() {
    if !require_tool("kubectl") {
        return;
    }
    let mut w = world();
    let (url, _) = start_kube_api(w.validator.clone(), &w.tls);
    w.profile("k", &[]);
    let kc = w.env.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: aks\n  cluster:\n    server: {url}\n    certificate-authority: {}\n\
             contexts:\n- name: aks\n  context:\n    cluster: aks\n    user: u\ncurrent-context: aks\nusers:\n- name: u\n  user:\n    token: x\n",
            w.ca.cert_pem.display()
        ),
    )
    .unwrap();
    w.env.set("KUBECONFIG", kc.to_str().unwrap());
    assert_ok(&w.env.run(&["setup", "kubectl", "-p", "k"]));
    let exe = env!("CARGO_BIN_EXE_entratool");
    let kuberc = w.env.path().join("kuberc");
    w.env.set("KUBERC", kuberc.to_str().unwrap());
    write_kuberc(
        &kuberc,
        "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/local/bin/cloudco-login\n",
    );

    let out = w.env.run(&["doctor"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("kubectl refuses to run it (policy Allowlist)"), "{text}");
    let entry = format!("    - name: {exe}");
    assert!(text.lines().any(|l| l == entry), "the exact entry:\n{text}");

    let new_kubectl = kubectl_minor(&w) >= 35;
    let get = |w: &World| w.tool("kubectl", &["get", "--raw", "/api"], w.env.path());
    if new_kubectl {
        let out = get(&w);
        assert!(!out.status.success(), "kubectl ran a plugin its allowlist does not name");
        assert!(stderr(&out).contains("not allowed"), "{}", stderr(&out));
    } else {
        eprintln!(
            "note: kubectl 1.{} does not enforce kuberc's credential plugin policy (1.35 does)",
            kubectl_minor(&w)
        );
    }
    // The entry doctor printed, added as it says: doctor passes and kubectl runs entratool.
    write_kuberc(
        &kuberc,
        &format!(
            "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/local/bin/cloudco-login\n{}\n",
            entry.trim()
        ),
    );
    let text = stdout(&w.env.run(&["doctor"]));
    assert!(text.contains(&format!("and {exe}: allowed")) && !text.contains("refuses"), "{text}");
    assert_ok(&get(&w));

    // DenyAll: the policy line to change, too.
    write_kuberc(&kuberc, "credentialPluginPolicy: DenyAll\n");
    let text = stdout(&w.env.run(&["doctor"]));
    assert!(text.contains("replace `credentialPluginPolicy: DenyAll` with:") && text.contains(&entry), "{text}");
    // A kuberc kubectl cannot read is named, never rewritten.
    write_kuberc(&kuberc, "credentialPluginPolicy: [\n");
    let before = std::fs::read(&kuberc).unwrap();
    assert_exit(&w.env.run(&["doctor"]), 1);
    assert_eq!(std::fs::read(&kuberc).unwrap(), before);
}
