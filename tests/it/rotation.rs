//! Certificates that rotate themselves (#27, docs/rotation.md): `cert
//! create`, `cert rotate` and `cert prune` against the emulator's Graph, every
//! step and failure of contract section 12, and the proof checked by PyJWT.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;
use crate::msal::python;
use serde_json::{Value, json};

const OBJECT_ID: &str = "0b1ec7a1-0000-4000-8000-00000000a0b1";

/// An emulator serving Graph, the app's first certificate registered (as an
/// upload in the portal), and a profile `p` using it, its password in the
/// kernel keyring (so a rotation makes a fresh one and stores it).
struct Rot {
    emu: Emulator,
    env: Env,
    pfx: PathBuf,
    cert: TestCert,
    name: String,
}

fn rot_with(graph_read: bool, days: i64) -> Rot {
    let emu = Emulator::start();
    let mut env = Env::new();
    env.set("ENTRATOOL_KEYRING", "keyutils");
    env.set("ENTRATOOL_ROTATION_POLL_MS", "100");
    env.set("ENTRATOOL_GRAPH_HOST", &emu.url);
    let certs = env.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let cert = make_cert(&certs, "app", -1, days, None, false);
    let pfx = certs.join("app.pfx");
    make_pfx(&cert, &pfx, PASSWORD, &[], None);
    std::fs::remove_file(&cert.key_pem).unwrap();
    let pem = std::fs::read_to_string(&cert.cert_pem).unwrap();
    emu.post(
        "/_emulator/clients",
        json!({"tenant": TENANT, "clientId": CLIENT, "certificates": [pem], "objectId": OBJECT_ID, "graphRead": graph_read}),
    );
    // The kernel keyring is per user: a profile name unique to this test.
    let name = format!("rot-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let pfx_s = pfx.display().to_string();
    let args = create_args(&name, TENANT, &["--authority-host", &emu.url, "--certificate", &pfx_s, "--password-stdin"]);
    assert_ok(&env.run_stdin(&args, PASSWORD));
    Rot { emu, env, pfx, cert, name }
}

fn rot() -> Rot {
    rot_with(false, 365)
}

impl Rot {
    fn rotate(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["cert", "rotate", "-p", self.name.as_str()];
        args.extend(extra);
        self.env.run(&args)
    }

    fn profile(&self) -> Value {
        let out = self.env.run(&["config", "show", "-p", &self.name, "--output", "json"]);
        assert_ok(&out);
        serde_json::from_str(&stdout(&out)).unwrap()
    }

    /// The profile but the application object id, which a rotation saves as soon as Graph gives it.
    fn credential(&self) -> Value {
        let mut p = self.profile();
        p.as_object_mut().unwrap().remove("applicationObjectId");
        p
    }

    /// The app's keys as Graph lists them.
    fn keys(&self) -> Vec<Value> {
        let url = format!("{}/_emulator/clients/{CLIENT}/certificates", self.emu.url);
        serde_json::from_str(&reqwest::blocking::get(url).unwrap().text().unwrap()).unwrap()
    }

    fn graph_events(&self) -> Vec<Value> {
        self.emu.seen("graph")
    }

    fn proofs(&self) -> Vec<Value> {
        self.emu.seen("graph-proof")
    }

    /// A token with the profile as it is now (no cache, nothing from the environment).
    fn works(&self) {
        let out = self.env.run(&["get-token", "-p", &self.name, "--force-refresh"]);
        assert_ok(&out);
    }
}

impl Drop for Rot {
    fn drop(&mut self) {
        // The profile's passwords leave the kernel keyring with it.
        let _ = self.env.run(&["config", "delete", "-p", &self.name]);
    }
}

fn thumbprint(c: &openssl::x509::X509) -> String {
    c.digest(openssl::hash::MessageDigest::sha1()).unwrap().iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn cert_create_writes_both_files_never_over_one() {
    let env = Env::new();
    let dir = env.path().join("made");
    let d = dir.to_str().unwrap();
    let out = env.run_stdin(
        &["cert", "create", "--dir", d, "--name", "svc", "--subject", "CN=svc, O=Contoso", "--password-stdin"],
        "pw",
    );
    assert_ok(&out);
    let (pfx, pem) = (dir.join("svc.pfx"), dir.join("svc.pem"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&pfx).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let info = env.run(&["cert", "info", pem.to_str().unwrap(), "--output", "json"]);
    let v: Value = serde_json::from_str(&stdout(&info)).unwrap();
    assert!(stdout(&out).contains(v["thumbprint"].as_str().unwrap()), "the portal's thumbprint is printed");
    assert_eq!(v["subject"], "CN=svc, O=Contoso");
    assert!((363..=365).contains(&v["daysLeft"].as_i64().unwrap()));
    assert_eq!(v["keySize"], 2048);
    // The PFX opens with its password (openssl, a reader nobody here wrote).
    let check = Command::new("openssl")
        .args(["pkcs12", "-in", pfx.to_str().unwrap(), "-noout", "-passin", "pass:pw"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let before = std::fs::read(&pfx).unwrap();
    let again = env.run(&["cert", "create", "--dir", d, "--name", "svc"]);
    assert_exit(&again, 3);
    assert_eq!(std::fs::read(&pfx).unwrap(), before, "a certificate file was overwritten");
    assert_exit(&env.run(&["cert", "create", "--dir", d, "--name", "big", "--key-size", "1024"]), 2);
}

#[test]
fn a_whole_rotation_and_graph_and_pyjwt_take_the_proof() {
    let r = rot();
    let out = r.rotate(&["--application-object-id", OBJECT_ID]);
    assert_ok(&out);
    let p = r.profile();
    let new = PathBuf::from(p["certificatePath"].as_str().unwrap());
    assert_ne!(new, r.pfx);
    assert_eq!(new.parent(), r.pfx.parent(), "made beside the current file");
    assert!(new.file_name().unwrap().to_string_lossy().starts_with("app-"), "{}", new.display());
    assert_eq!(p["previousCertificatePath"], r.pfx.display().to_string());
    assert_eq!(p["applicationObjectId"], Value::Null, "the id given on the command line is not saved");
    let key_id = p["certificateKeyId"].as_str().unwrap().to_string();
    let keys = r.keys();
    assert_eq!(keys.len(), 2, "the old key stays registered: {keys:?}");
    assert!(keys.iter().any(|k| k["keyId"] == key_id.as_str()
        && k["displayName"].as_str().unwrap().starts_with(&format!("entratool {} ", r.name))));
    // The new file: 0600, protected by a fresh password (not the old one) kept in the keyring.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&new).unwrap().permissions().mode() & 0o777, 0o600);
    let old_password = Command::new("openssl")
        .args(["pkcs12", "-in", new.to_str().unwrap(), "-noout", "-passin", &format!("pass:{PASSWORD}")])
        .output()
        .unwrap();
    assert!(!old_password.status.success(), "the new file opens with the old password");
    r.works();
    assert!(both(&out).contains("Entra ID accepts the new certificate (3 token requests in a row"), "{}", both(&out));
    // The proof, as PyJWT reads it: RS256 by the old certificate, Graph's claims.
    let proof = r.proofs()[0]["proof"].as_str().unwrap().to_string();
    let claims = &r.proofs()[0]["proofClaims"];
    assert_eq!(claims["aud"], "00000002-0000-0000-c000-000000000000");
    assert_eq!(claims["iss"], OBJECT_ID);
    let Some(py) = python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/proof_check.py");
    let checked = Command::new(py)
        .arg(script)
        .args([&proof, r.cert.cert_pem.to_str().unwrap(), OBJECT_ID, &thumbprint(&r.cert.cert)])
        .output()
        .unwrap();
    assert!(checked.status.success(), "PyJWT refused the proof: {}", String::from_utf8_lossy(&checked.stderr));
}

#[test]
fn the_object_id_is_read_where_graph_allows_and_otherwise_asked_for_before_any_change() {
    let r = rot();
    let out = r.rotate(&[]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("Authorization_RequestDenied")
            && stderr(&out).contains("hint: pass --application-object-id"),
        "{}",
        stderr(&out)
    );
    assert!(r.proofs().is_empty(), "nothing was added");
    assert_eq!(std::fs::read_dir(r.pfx.parent().unwrap()).unwrap().count(), 2, "no certificate file was made");
    let r = rot_with(true, 365);
    assert_ok(&r.rotate(&[]));
    assert_eq!(r.profile()["applicationObjectId"], OBJECT_ID, "read from Graph and saved");
}

#[test]
fn a_replication_delay_is_waited_out_and_a_wait_that_runs_out_changes_nothing() {
    let r = rot_with(true, 365);
    r.emu.settings(json!({"keyReplicationDelay": 2}));
    let out = r.rotate(&[]);
    assert_ok(&out);
    assert!(stderr(&out).contains("waiting for Entra ID to accept the new key"), "{}", stderr(&out));
    let before = r.profile();
    r.emu.settings(json!({"keyReplicationDelay": 3600}));
    let out = r.rotate(&["--wait", "2"]);
    assert_exit(&out, 6);
    let err = stderr(&out);
    let newest = r.keys().last().unwrap()["keyId"].as_str().unwrap().to_string();
    assert!(
        err.contains(&format!("the new key {newest} is registered")) && err.contains("the profile is unchanged"),
        "{err}"
    );
    assert_eq!(r.profile(), before);
    r.works();
}

#[test]
fn remove_old_with_a_known_a_recorded_a_read_and_an_unknown_key_id() {
    // Unknown: the first certificate was uploaded in the portal and Graph may not be read.
    let r = rot();
    let first_key = r.keys()[0]["keyId"].as_str().unwrap().to_string();
    let out = r.rotate(&["--application-object-id", OBJECT_ID, "--remove-old"]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("\nerror: the rotation stands, but the old key was not removed"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--old-key-id"), "{}", stderr(&out));
    assert_eq!(r.keys().len(), 2);
    r.works();
    // Known: given (here the portal's key of the first certificate, still registered).
    let out = r.rotate(&["--application-object-id", OBJECT_ID, "--remove-old", "--old-key-id", &first_key]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&format!("Removed the old key {first_key}")), "{}", stdout(&out));
    assert!(!r.keys().iter().any(|k| k["keyId"] == first_key.as_str()));
    // Recorded: the profile's certificateKeyId from the rotation before.
    let recorded = r.profile()["certificateKeyId"].as_str().unwrap().to_string();
    let out = r.rotate(&["--application-object-id", OBJECT_ID, "--remove-old"]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&format!("Removed the old key {recorded}")), "{}", stdout(&out));
    assert!(!r.keys().iter().any(|k| k["keyId"] == recorded.as_str()));
    // Read: Graph lists the keys; the old one is found by its thumbprint.
    let r = rot_with(true, 365);
    let portal_key = r.keys()[0]["keyId"].as_str().unwrap().to_string();
    let out = r.rotate(&["--remove-old"]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&format!("Removed the old key {portal_key}")), "{}", both(&out));
    assert_eq!(r.keys().len(), 1);
    r.works();
    // The removeKey proof is signed by the new certificate.
    let remove = r.proofs().into_iter().find(|p| p["action"] == "removeKey").unwrap();
    let new = std::fs::read(r.profile()["certificatePath"].as_str().unwrap()).unwrap();
    assert_ne!(remove["proofHeader"]["kid"], thumbprint(&r.cert.cert).as_str());
    assert!(!new.is_empty());
}

#[test]
fn prune_after_two_rotations_removes_the_previous_key_only() {
    let r = rot_with(true, 365);
    assert_ok(&r.rotate(&[]));
    let middle = r.profile()["certificateKeyId"].as_str().unwrap().to_string();
    assert_ok(&r.rotate(&[]));
    let p = r.profile();
    assert_eq!(p["previousCertificateKeyId"], middle.as_str());
    assert_eq!(r.keys().len(), 3);
    let out = r.env.run(&["cert", "prune", "-p", &r.name]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&format!("Removed key {middle}")), "{}", stdout(&out));
    let keys = r.keys();
    assert_eq!(keys.len(), 2);
    assert!(!keys.iter().any(|k| k["keyId"] == middle.as_str()));
    let p = r.profile();
    assert!(p.get("previousCertificateKeyId").is_none() && p.get("previousCertificatePath").is_none(), "{p}");
    r.works();
    assert_exit(&r.env.run(&["cert", "prune", "-p", &r.name]), 3);
}

#[test]
fn if_expiring_within_rotates_only_what_expires() {
    let r = rot_with(true, 365);
    let out = r.rotate(&["--if-expiring-within", "30"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("more than 30: nothing to do"), "{}", stdout(&out));
    assert!(r.graph_events().is_empty() && r.emu.token_requests() == 0, "nothing sent");
    let r = rot_with(true, 10);
    assert_ok(&r.rotate(&["--if-expiring-within", "30"]));
    assert_ne!(r.profile()["certificatePath"], r.pfx.display().to_string());
}

#[test]
fn an_expired_certificate_or_a_secret_profile_sends_nothing() {
    let r = rot_with(true, 365);
    let expired = make_cert(r.env.path(), "expired", -10, -1, None, false);
    let pfx = r.env.path().join("expired.pfx");
    make_pfx(&expired, &pfx, PASSWORD, &[], None);
    let out = r.env.run_stdin(
        &["config", "edit", "-p", &r.name, "--certificate", pfx.to_str().unwrap(), "--password-stdin"],
        PASSWORD,
    );
    assert_ok(&out);
    let sent = r.emu.token_requests();
    let out = r.rotate(&[]);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("Certificate has expired") && stderr(&out).contains("upload its .pem in the portal once"),
        "{}",
        stderr(&out)
    );
    assert!(r.graph_events().is_empty() && r.emu.token_requests() == sent, "nothing sent");
    let secret = create_args("sec", TENANT, &["--authority-host", &r.emu.url, "--auth-method", "secret"]);
    assert_ok(&r.env.run(&secret));
    let out = r.env.run(&["cert", "rotate", "-p", "sec"]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("not a certificate") && stderr(&out).contains("addPassword"), "{}", stderr(&out));
}

#[test]
fn a_lifetime_policy_refusal_changes_nothing_and_fewer_days_pass() {
    let r = rot_with(true, 365);
    r.emu.settings(json!({"maxKeyLifetimeDays": 90}));
    let before = r.credential();
    let out = r.rotate(&[]);
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains("CredentialInvalidLifetimeAsPerAppPolicy") && stderr(&out).contains("smaller --days"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("request-id "), "{}", stderr(&out));
    assert_eq!(r.credential(), before);
    r.works();
    assert_ok(&r.rotate(&["--days", "60"]));
    let info = r.env.run(&["cert", "info", "-p", &r.name, "--output", "json"]);
    let v: Value = serde_json::from_str(&stdout(&info)).unwrap();
    assert!((58..=60).contains(&v["daysLeft"].as_i64().unwrap()), "{v}");
}

#[test]
fn a_dry_run_sends_no_write_and_changes_no_file() {
    let r = rot_with(true, 365);
    let profiles = r.env.config_dir().join("profiles.json");
    let before = std::fs::read(&profiles).unwrap();
    let out = r.rotate(&["--dry-run", "--remove-old"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("addKey") && text.contains("removeKey") && text.contains("CN=app") && text.contains("(dry run"),
        "{text}"
    );
    assert_eq!(std::fs::read(&profiles).unwrap(), before);
    assert_eq!(std::fs::read_dir(r.pfx.parent().unwrap()).unwrap().count(), 2, "a file was made");
    assert!(r.graph_events().is_empty() && r.emu.token_requests() == 0);
}

#[test]
fn a_given_new_certificate_is_registered_with_its_own_password() {
    let r = rot_with(true, 365);
    let given = make_cert(r.env.path(), "given", -1, 200, None, false);
    let pfx = r.env.path().join("given.pfx");
    make_pfx(&given, &pfx, "Given-Pass1", &[], None);
    let out = r.env.run_stdin(
        &["cert", "rotate", "-p", &r.name, "--new-certificate", pfx.to_str().unwrap(), "--password-stdin"],
        "Given-Pass1",
    );
    assert_ok(&out);
    assert_eq!(r.profile()["certificatePath"], pfx.display().to_string());
    r.works();
    // The same certificate again: refused, nothing sent.
    let out = r.env.run_stdin(
        &["cert", "rotate", "-p", &r.name, "--new-certificate", pfx.to_str().unwrap(), "--password-stdin"],
        "Given-Pass1",
    );
    assert_exit(&out, 2);
}

#[test]
fn two_rotations_at_once_both_stand_one_after_the_other() {
    let r = rot_with(true, 365);
    let children: Vec<_> = (0..2)
        .map(|_| {
            r.env.cmd(&["cert", "rotate", "-p", &r.name]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_ok(&out);
    }
    let p = r.profile();
    assert_eq!(r.keys().len(), 3);
    let previous = PathBuf::from(p["previousCertificatePath"].as_str().unwrap());
    assert_ne!(previous, r.pfx, "the second rotation started from the first one's certificate");
    r.works();
}

#[test]
fn a_rotation_killed_at_any_step_leaves_a_working_profile() {
    for (step, delay) in [("made", 3600), ("added the new certificate", 3600), ("waiting for Entra ID", 3600)] {
        let r = rot_with(true, 365);
        r.emu.settings(json!({"keyReplicationDelay": delay}));
        let before = r.credential();
        let mut child =
            r.env.cmd(&["cert", "rotate", "-p", &r.name]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let err = child.stderr.take().unwrap();
        for line in BufReader::new(err).lines() {
            if line.unwrap().contains(step) {
                child.kill().unwrap();
                break;
            }
        }
        child.wait().unwrap();
        assert_eq!(r.credential(), before, "killed at '{step}'");
        r.works();
    }
}

#[test]
fn no_proof_token_or_password_is_ever_shown() {
    let mut r = rot_with(true, 365);
    let trace = r.env.path().join("trace.log");
    r.env.set("ENTRATOOL_TRACE", trace.to_str().unwrap());
    let out = r.rotate(&["--remove-old"]);
    assert_ok(&out);
    let shown = format!("{}{}", both(&out), std::fs::read_to_string(&trace).unwrap());
    assert!(shown.contains("HTTP POST") && shown.contains("addKey"), "the trace shows the requests: {shown}");
    for p in r.proofs() {
        let proof = p["proof"].as_str().unwrap();
        let signature = proof.rsplit('.').next().unwrap();
        assert!(!shown.contains(signature), "a proof was shown");
    }
    assert!(!shown.contains("eyJ0eXAi") && !shown.contains(".eyJ"), "a token was shown: {shown}");
    assert!(!shown.contains(PASSWORD), "a password was shown");
    // The new file's password is only in the keyring: never printed.
    let new = r.profile()["certificatePath"].as_str().unwrap().to_string();
    for word in shown.split(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
        if word.len() == 32 {
            let opens = Command::new("openssl")
                .args(["pkcs12", "-in", &new, "-noout", "-passin", &format!("pass:{word}")])
                .output()
                .unwrap();
            assert!(!opens.status.success(), "the new password was shown");
        }
    }
}

#[test]
fn remove_old_never_removes_a_key_another_profile_here_still_uses() {
    let r = rot_with(true, 365);
    // The same app's certificate, found by its thumbprint by another profile (a fleet's shared key).
    let q = format!("{}-q", r.name);
    let thumb = thumbprint(&r.cert.cert);
    let certs = r.env.config_dir().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&r.pfx, certs.join("shared.pfx")).unwrap();
    let args = create_args(
        &q,
        TENANT,
        &["--authority-host", &r.emu.url, "--certificate-thumbprint", &thumb, "--password-stdin"],
    );
    assert_ok(&r.env.run_stdin(&args, PASSWORD));
    let portal_key = r.keys()[0]["keyId"].as_str().unwrap().to_string();
    let out = r.rotate(&["--remove-old"]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains(&format!("profile(s) {q} of this app still use the old certificate")),
        "{}",
        stderr(&out)
    );
    assert!(r.keys().iter().any(|k| k["keyId"] == portal_key.as_str()), "the shared key was removed");
    let shown: Value =
        serde_json::from_str(&stdout(&r.env.run(&["config", "show", "-p", &q, "--output", "json"]))).unwrap();
    assert_eq!(shown["certificateThumbprint"], thumb.as_str(), "the other profile was left as it was");
    let _ = r.env.run(&["config", "delete", "-p", &q]);
}

/// The schedules docs/rotation.md shows run the command they show: daily, it changes nothing until
/// the certificate expires within 30 days, then rotates it and removes the old key.
#[test]
fn the_documented_schedules_run_as_written() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rotation.md")).unwrap();
    let exec = docs.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("the systemd unit's ExecStart");
    let cron = docs.lines().find(|l| l.starts_with("17 3 * * * ")).expect("the cron line");
    let cron = cron.trim_start_matches("17 3 * * * ").split(" >>").next().unwrap();
    assert_eq!(exec, cron, "the schedules run the same command");
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(words[0], "/usr/local/bin/entratool");
    for days in [365, 10] {
        let r = rot_with(true, days);
        let args: Vec<&str> =
            words[1..].iter().map(|w| if *w == "production-service" { r.name.as_str() } else { w }).collect();
        let out = r.env.run(&args);
        assert_ok(&out);
        if days == 365 {
            assert!(stdout(&out).contains("nothing to do"), "{}", stdout(&out));
        } else {
            assert!(stdout(&out).contains("Removed the old key"), "{}", both(&out));
            assert_eq!(r.keys().len(), 1);
        }
    }
}
