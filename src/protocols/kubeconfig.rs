//! Changing users of a kubeconfig in place: the text of every other user,
//! cluster, context, comment, quoting and anchor stays byte for byte
//! (docs/kubectl.md). kubectl's own rewrite, and a parse-and-serialise
//! round trip, would lose comments and anchors and add fields.
//!
//! The file is parsed with positions (saphyr-parser); a changed user's list
//! item is replaced by the new item's text, from its first key to the end of
//! its last line, indented as it was (block style) or as JSON (flow style,
//! which YAML reads). The result must parse to exactly the expected document,
//! or nothing is written.

use std::path::Path;

use saphyr_parser::{Event, Parser};
use serde_yaml::Value;

use crate::error::{Error, Result};

/// A kubeconfig larger than this is not one.
pub const MAX_KUBECONFIG: u64 = 10 * 1024 * 1024;

/// The kubeconfig's bytes; a missing one is an error that names it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    crate::fsutil::read_their_file(path, MAX_KUBECONFIG, "the kubeconfig")?.ok_or_else(|| {
        Error::config(format!("the kubeconfig {} does not exist", path.display()))
            .with_remedy("pass --kubeconfig FILE, or set KUBECONFIG (az aks get-credentials writes one)")
    })
}

/// The kubeconfig's text and what it says; one that is not UTF-8 YAML is an error.
pub fn parse(path: &Path) -> Result<(String, Value)> {
    let text = String::from_utf8(read(path)?).map_err(|_| {
        Error::config(format!("{} is not UTF-8", path.display()))
            .with_remedy("fix the file by hand; it is never written")
    })?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| {
        Error::config(format!("{} is not a kubeconfig entratool can read", path.display()))
            .with_source(e)
            .with_remedy("fix the file by hand; entratool never writes a file it cannot read")
    })?;
    Ok((text, doc))
}

/// A kubeconfig the user made read-only is never replaced.
fn check_writable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?.permissions().mode();
        if mode & 0o200 == 0 {
            return Err(Error::config(format!("{} is read-only (mode {:o})", path.display(), mode & 0o777))
                .with_remedy(format!("it is kept as it is; `chmod u+w {}` if it is to change", path.display())));
        }
    }
    #[cfg(not(unix))]
    if std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?.permissions().readonly() {
        return Err(Error::config(format!("{} is read-only", path.display()))
            .with_remedy(format!("it is kept as it is; `attrib -r {}` if it is to change", path.display())));
    }
    Ok(())
}

/// Writes the edited text over the kubeconfig: a read-only one is kept as it
/// is; the exact bytes it had (`current`) are backed up first. Returns the backup.
pub fn write(path: &Path, current: &str, edited: &str) -> Result<std::path::PathBuf> {
    check_writable(path)?;
    let backup = crate::fsutil::backup(path, current.as_bytes())?;
    crate::fsutil::replace_keeping_link(path, edited.as_bytes())?;
    Ok(backup)
}

/// Where a user's list item is, in bytes of the text.
#[derive(Debug)]
struct Item {
    name: String,
    start: usize,
    end: usize,
    /// The item defines an anchor: other entries may refer to it.
    anchored: bool,
    flow: bool,
}

/// `text` with the list item of each user in `changed` (its name, and the
/// whole new item: `{name, user}`) replaced. `expected` is the whole
/// document as it must read afterwards; anything else is an error.
pub fn replace_users(text: &str, changed: &[(String, Value)], expected: &Value) -> Result<String> {
    let items = user_items(text)?;
    let mut spans: Vec<(&Item, &Value)> = Vec::new();
    for (name, new) in changed {
        let item = items.iter().find(|i| &i.name == name).ok_or_else(|| cannot(format!("no user '{name}'")))?;
        if item.anchored {
            return Err(cannot(format!("user '{name}' defines a YAML anchor that other entries may use"))
                .with_remedy("change that user by hand, or remove the anchor first"));
        }
        spans.push((item, new));
    }
    spans.sort_by_key(|(i, _)| std::cmp::Reverse(i.start));
    let mut out = text.to_string();
    for (item, new) in spans {
        let replacement = if item.flow { flow_text(new)? } else { block_text(new, column(text, item.start))? };
        out.replace_range(item.start..item.end, &replacement);
    }
    let reread: Value =
        serde_yaml::from_str(&out).map_err(|e| cannot("the edited text does not parse").with_source(e))?;
    if &reread != expected {
        return Err(cannot("the edited text does not read as intended"));
    }
    Ok(out)
}

fn cannot(why: impl Into<String>) -> Error {
    Error::config(format!("cannot change the kubeconfig in place: {}", why.into()))
        .with_remedy("nothing was written; change the file by hand, or report the kubeconfig's shape (without secrets)")
}

/// The new item as block YAML, its first line where the old one began and
/// the others indented to that column.
fn block_text(item: &Value, column: usize) -> Result<String> {
    let text = serde_yaml::to_string(item).map_err(|e| cannot("cannot write the user").with_source(e))?;
    let pad = " ".repeat(column);
    let lines: Vec<String> = text
        .trim_end_matches('\n')
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 || l.is_empty() { l.to_string() } else { format!("{pad}{l}") })
        .collect();
    Ok(lines.join("\n"))
}

/// The new item as a JSON object, which a flow sequence takes as it is.
fn flow_text(item: &Value) -> Result<String> {
    serde_json::to_string(item).map_err(|e| cannot("cannot write the user").with_source(e))
}

/// The column (in characters) of byte offset `at`.
fn column(text: &str, at: usize) -> usize {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].chars().count()
}

/// Byte offset of character index `chars`.
fn byte_at(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(b, _)| b)
}

/// The list items of the top-level `users` sequence, with their extents.
fn user_items(text: &str) -> Result<Vec<Item>> {
    let events = events(text)?;
    let Some(top) = events.iter().position(|(ev, _, _)| matches!(ev, Event::MappingStart(..))) else {
        return Ok(Vec::new());
    };
    // The top-level mapping: a key node, then its value node, until its end.
    let mut i = top + 1;
    while i < events.len() {
        match &events[i].0 {
            Event::MappingEnd => break,
            Event::Scalar(key, ..) if key == "users" => return items_of_sequence(text, &events, i + 1),
            _ => i = skip(&events, skip(&events, i)),
        }
    }
    Ok(Vec::new())
}

type Spanned<'a> = (Event<'a>, usize, usize);

fn events(text: &str) -> Result<Vec<Spanned<'_>>> {
    let mut parser = Parser::new_from_str(text);
    let mut out = Vec::new();
    while let Some(next) = parser.next_event() {
        let (ev, span) = next.map_err(|e| cannot("the kubeconfig does not parse").with_source(e))?;
        out.push((ev, byte_at(text, span.start.index()), byte_at(text, span.end.index())));
    }
    Ok(out)
}

/// The items of the sequence whose start event is at `at`.
fn items_of_sequence(text: &str, events: &[Spanned], at: usize) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    if !matches!(events.get(at), Some((Event::SequenceStart(..), _, _))) {
        return Ok(items);
    }
    let mut i = at + 1;
    while i < events.len() {
        match &events[i].0 {
            Event::SequenceEnd => break,
            Event::MappingStart(..) => {
                let (item, next) = item_at(text, events, i)?;
                items.push(item);
                i = next;
            }
            _ => {
                // Not a mapping (a scalar, an alias): skip it and what it holds.
                i = skip(events, i);
            }
        }
    }
    Ok(items)
}

/// One mapping item starting at event `at`: its name and extent, and the index after it.
fn item_at(text: &str, events: &[Spanned], at: usize) -> Result<(Item, usize)> {
    let start = events[at].1;
    let flow = text[start..].starts_with('{');
    let mut depth = 0usize;
    let mut name = String::new();
    let mut anchored = false;
    let mut last_end = start;
    let mut expect_name = false;
    let mut i = at;
    loop {
        let (ev, s, e) = events.get(i).ok_or_else(|| cannot("the users list ends early"))?;
        match ev {
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                anchored |= *anchor != 0;
                depth += 1;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                depth -= 1;
                // A block collection's end sits at the next token; a flow one's at its bracket.
                if text[*s..*e].contains(['}', ']']) {
                    last_end = *e;
                }
                if depth == 0 {
                    i += 1;
                    break;
                }
            }
            Event::Scalar(value, _, anchor, _) => {
                anchored |= *anchor != 0;
                if depth == 1 && expect_name {
                    name = value.to_string();
                    expect_name = false;
                } else if depth == 1 && value == "name" {
                    expect_name = true;
                }
                last_end = last_end.max(*e);
            }
            Event::Alias(_) => last_end = last_end.max(*e),
            _ => {}
        }
        i += 1;
    }
    // A quoted scalar's span ends at its closing quote; the item ends with that line's content.
    let end = if flow { last_end } else { end_of_content(text, last_end) };
    Ok((Item { name, start, end, anchored, flow }, i))
}

/// Through the closing quote of a scalar ending at `at`, and any spaces; a
/// trailing comment on that line belongs to the item.
fn end_of_content(text: &str, at: usize) -> usize {
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    let rest = &text[at..line_end];
    let trimmed = rest.trim_end();
    at + trimmed.len()
}

/// The index after the node starting at `at`.
fn skip(events: &[Spanned], at: usize) -> usize {
    let mut depth = 0usize;
    let mut i = at;
    while i < events.len() {
        match events[i].0 {
            Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
        if depth == 0 {
            break;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# the team's kubeconfig
apiVersion: v1
clusters:
- name: aks   # production
  cluster: {server: 'https://aks.example:443'}
users:
- name: a   # user a
  user:
    token: "abc"
# between users
- name: b
  user: &common
    exec:
      command: kubelogin
      args: ["get-token", '--x']
- name: c
  user: *common
contexts: []   # none yet
"#;

    fn changed(doc: &mut Value, name: &str) -> Value {
        let users = doc["users"].as_sequence_mut().unwrap();
        let item = users.iter_mut().find(|u| u["name"] == name).unwrap();
        item["user"] = serde_yaml::from_str("exec: {command: entratool, args: [get-token]}").unwrap();
        item.clone()
    }

    #[test]
    fn a_user_is_replaced_and_every_other_byte_stays() {
        let mut doc: Value = serde_yaml::from_str(FILE).unwrap();
        let new = changed(&mut doc, "a");
        let out = replace_users(FILE, &[("a".into(), new)], &doc).unwrap();
        let (before, after) = FILE.split_once("- name: a").unwrap();
        assert!(out.starts_with(before), "{out}");
        let tail = &after[after.find("\n# between users").unwrap()..];
        assert!(out.ends_with(tail), "{out}");
        assert!(out.contains("  user:\n    exec:\n      command: entratool"), "{out}");
    }

    #[test]
    fn a_user_defining_an_anchor_is_refused_and_an_alias_user_is_fine() {
        let mut doc: Value = serde_yaml::from_str(FILE).unwrap();
        let new = changed(&mut doc, "b");
        assert!(replace_users(FILE, &[("b".into(), new)], &doc).is_err());
        let mut doc: Value = serde_yaml::from_str(FILE).unwrap();
        let new = changed(&mut doc, "c");
        let out = replace_users(FILE, &[("c".into(), new)], &doc).unwrap();
        assert!(out.contains("&common") && out.ends_with("contexts: []   # none yet\n"), "{out}");
    }

    #[test]
    fn flow_style_users_get_json() {
        let text = "users: [{name: a, user: {token: x}}, {name: b, user: {}}]\n";
        let mut doc: Value = serde_yaml::from_str(text).unwrap();
        let new = changed(&mut doc, "b");
        let out = replace_users(text, &[("b".into(), new)], &doc).unwrap();
        assert!(out.starts_with("users: [{name: a, user: {token: x}}, {\"name\":\"b\""), "{out}");
    }
}
