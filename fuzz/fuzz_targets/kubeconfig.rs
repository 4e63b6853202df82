//! A kubeconfig changed in place: any text as a kubeconfig, its first user
//! pointed elsewhere with arguments taken from the input (YAML 1.1 look-alikes
//! such as `on`, `1_000` or `0x1f` among them). Never a panic; what is
//! returned parses to exactly the document expected (only that user changed),
//! and every argument written reads back as a string to kubectl's YAML 1.1:
//! quoted, or a plain scalar YAML 1.1 takes for a string.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_yaml::Value;

/// Arguments that YAML 1.1 would misread if written plain, and some the input gives.
const LOOKALIKES: [&str; 10] = ["on", "off", "y", "N", "yes", "1_000", "0x1f", "1:30", ".inf", "~"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut doc) = serde_yaml::from_str::<Value>(text) else { return };
    let Some(users) = doc.get_mut("users").and_then(Value::as_sequence_mut) else { return };
    let Some(first) = users.iter_mut().find(|u| u.get("name").and_then(Value::as_str).is_some()) else { return };
    let name = first["name"].as_str().unwrap_or_default().to_string();
    let mut args: Vec<String> = LOOKALIKES.iter().map(|s| s.to_string()).collect();
    args.extend(text.split_whitespace().take(8).map(String::from));
    let exec: serde_yaml::Mapping = [
        (Value::from("command"), Value::from("/usr/bin/entratool")),
        (Value::from("args"), Value::Sequence(args.iter().map(|a| Value::from(a.as_str())).collect())),
    ]
    .into_iter()
    .collect();
    let mut user = serde_yaml::Mapping::new();
    user.insert(Value::from("exec"), Value::Mapping(exec));
    first["user"] = Value::Mapping(user);
    let item = first.clone();
    if let Ok(out) = entratool::toolconfig::kubeconfig::replace_users(text, &[(name, item)], &doc) {
        let reread: Value = serde_yaml::from_str(&out).expect("the result parses");
        assert_eq!(reread, doc, "the result reads as expected");
        for a in &args {
            let quoted = serde_json::to_string(a).expect("a string");
            let plain_ok = entratool::toolconfig::kubeconfig::yaml11_is_string(a);
            assert!(
                plain_ok || out.contains(&format!("- {quoted}")) || out.contains(&quoted),
                "argument {a:?} written so that YAML 1.1 reads no string:\n{out}"
            );
        }
    }
});
