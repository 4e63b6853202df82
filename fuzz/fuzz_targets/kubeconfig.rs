//! A kubeconfig changed in place: any text as a kubeconfig, its first user
//! pointed elsewhere. Never a panic; what is returned parses to exactly the
//! document expected (only that user changed), or it is an error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_yaml::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut doc) = serde_yaml::from_str::<Value>(text) else { return };
    let Some(users) = doc.get_mut("users").and_then(Value::as_sequence_mut) else { return };
    let Some(first) = users.iter_mut().find(|u| u.get("name").and_then(Value::as_str).is_some()) else { return };
    let name = first["name"].as_str().unwrap_or_default().to_string();
    first["user"] = serde_yaml::from_str("exec: {command: entratool, args: [get-token]}").unwrap_or(Value::Null);
    let item = first.clone();
    if let Ok(out) = entratool::toolconfig::kubeconfig::replace_users(text, &[(name, item)], &doc) {
        let reread: Value = serde_yaml::from_str(&out).expect("the result parses");
        assert_eq!(reread, doc, "the result reads as expected");
    }
});
