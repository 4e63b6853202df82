//! Changing users of a kubeconfig in place: the text of every other user,
//! cluster, context, comment, quoting and anchor stays byte for byte
//! (docs/kubectl.md). kubectl's own rewrite, and a parse-and-serialise
//! round trip, would lose comments and anchors and add fields.
//!
//! The file is parsed with positions (saphyr-parser, in one pass: linear in
//! the file's size); a changed user's list item is replaced by the new item's
//! text, from its first key to the end of its last line, indented as it was
//! (block style) or as JSON (flow style, which YAML reads). Every string
//! written is double-quoted, since kubectl reads YAML 1.1, where a plain
//! `on`, `no` or `1_000` is no string. The result must read as intended, both
//! as YAML 1.2 (the whole document) and as kubectl's YAML 1.1 (the written
//! items keep every string a string), or nothing is written.

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_yaml::Value;

use super::yaml_text::{block_text, yaml11_is_string};
use crate::error::{Error, Result};
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
    let mut written = Vec::new();
    for (item, new) in spans {
        let replacement = if item.flow { flow_text(new)? } else { block_text(new, column(text, item.start))? };
        out.replace_range(item.start..item.end, &replacement);
        // Earlier items (replaced later) shift this one: keep spans relative to the end.
        written.push((item.start, out.len() - (item.start + replacement.len())));
    }
    let reread: Value =
        serde_yaml::from_str(&out).map_err(|e| cannot("the edited text does not parse").with_source(e))?;
    if &reread != expected {
        return Err(cannot("the edited text does not read as intended"));
    }
    let spans: Vec<(usize, usize)> = written.iter().map(|&(start, tail)| (start, out.len() - tail)).collect();
    if let Some(plain) = yaml11_non_strings(&out, &spans)?.first() {
        return Err(cannot(format!("kubectl (YAML 1.1) would not read '{plain}' as a string")));
    }
    Ok(out)
}

fn cannot(why: impl Into<String>) -> Error {
    Error::config(format!("cannot change the kubeconfig in place: {}", why.into()))
        .with_remedy("nothing was written; change the file by hand, or report the kubeconfig's shape (without secrets)")
}

/// The plain scalars inside `spans` that YAML 1.2 read as strings and YAML
/// 1.1 would not: what kubectl would refuse or misread.
fn yaml11_non_strings(text: &str, spans: &[(usize, usize)]) -> Result<Vec<String>> {
    let inside = |at: usize| spans.iter().any(|&(s, e)| at >= s && at < e);
    let mut found = Vec::new();
    for (event, start, _) in events(text)? {
        if let Event::Scalar(value, ScalarStyle::Plain, _, _) = &event
            && inside(start)
            && !yaml11_is_string(value)
            && serde_yaml::from_str::<Value>(value).is_ok_and(|v| v.is_string())
        {
            found.push(value.to_string());
        }
    }
    Ok(found)
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

/// Byte offsets of character indices, for positions that mostly move
/// forward: each lookup walks from the last one, so a whole file's events
/// cost one pass over it (a walk from the start for each was quadratic).
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Offsets { text, ascii: text.is_ascii(), chars: 0, bytes: 0 }
    }

    fn byte_at(&mut self, chars: usize) -> usize {
        if self.ascii {
            return chars.min(self.text.len());
        }
        if chars < self.chars {
            (self.chars, self.bytes) = (0, 0);
        }
        for c in self.text[self.bytes..].chars() {
            if self.chars == chars {
                break;
            }
            self.chars += 1;
            self.bytes += c.len_utf8();
        }
        self.bytes
    }
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
    let mut starts = Offsets::new(text);
    let mut ends = Offsets::new(text);
    let mut out = Vec::new();
    while let Some(next) = parser.next_event() {
        let (ev, span) = next.map_err(|e| cannot("the kubeconfig does not parse").with_source(e))?;
        out.push((ev, starts.byte_at(span.start.index()), ends.byte_at(span.end.index())));
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
    // A block scalar (`|`, `>`) ends after its last line's newline, at the next token.
    let mut last_was_block = false;
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
                    last_was_block = false;
                }
                if depth == 0 {
                    i += 1;
                    break;
                }
            }
            Event::Scalar(value, style, anchor, _) => {
                anchored |= *anchor != 0;
                if depth == 1 && expect_name {
                    name = value.to_string();
                    expect_name = false;
                } else if depth == 1 && value == "name" {
                    expect_name = true;
                }
                if *e >= last_end {
                    last_end = *e;
                    last_was_block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                }
            }
            Event::Alias(_) if *e >= last_end => {
                last_end = *e;
                last_was_block = false;
            }
            _ => {}
        }
        i += 1;
    }
    // A quoted scalar's span ends at its closing quote; the item ends with that line's content. A
    // block scalar's ends at the next token: the item ends with its last line, newline excluded.
    let end = if flow {
        last_end
    } else if last_was_block {
        text[..last_end].trim_end_matches(['\n', '\r']).len()
    } else {
        end_of_content(text, last_end)
    };
    // A block scalar (`|`) ends where the next token starts: comment lines before it are not the item's.
    let end = if flow { end } else { without_trailing_comments(text, start, end, column(text, start)) };
    Ok((Item { name, start, end, anchored, flow }, i))
}

/// `end`, moved back over whole lines at the end of the item that are blank
/// or comments indented no deeper than the item (a block scalar's content is
/// indented deeper, so a `#` line there is content and stays).
fn without_trailing_comments(text: &str, start: usize, mut end: usize, item_column: usize) -> usize {
    while let Some(line_start) = text[start..end].rfind('\n').map(|n| start + n + 1) {
        let line = &text[line_start..end];
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if !(trimmed.is_empty() || (trimmed.starts_with('#') && indent <= item_column)) {
            break;
        }
        end = line_start - 1;
        // Drop a `\r` of a CRLF line end too.
        if text[..end].ends_with('\r') {
            end -= 1;
        }
    }
    end
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
        assert!(
            out.contains("- name: a\n  user:\n    exec:\n      command: entratool\n      args:\n      - get-token"),
            "{out}"
        );
    }

    #[test]
    fn strings_yaml_1_1_reads_otherwise_are_quoted_and_checked() {
        let text = "users:\n- name: a\n  user: {}\n";
        let mut doc: Value = serde_yaml::from_str(text).unwrap();
        let users = doc["users"].as_sequence_mut().unwrap();
        users[0]["user"] =
            serde_yaml::from_str("exec: {args: ['on', 'y', 'no', '1_000', 'off', '0x1F', '1:30']}").unwrap();
        let new = users[0].clone();
        let out = replace_users(text, &[("a".into(), new)], &doc).unwrap();
        for v in ["on", "y", "no", "1_000", "off", "0x1F", "1:30"] {
            assert!(out.contains(&format!("- \"{v}\"")), "{v} quoted: {out}");
        }
        // What a plain scalar in a written item would be, kubectl would misread: the check catches it.
        let bad = "users:\n- name: a\n  user:\n    exec:\n      args:\n      - on\n";
        assert_eq!(yaml11_non_strings(bad, &[(0, bad.len())]).unwrap(), vec!["on".to_string()]);
    }

    /// `text` with user `name` changed as `changed` changes it.
    fn replaced(text: &str, name: &str) -> String {
        let mut doc: Value = serde_yaml::from_str(text).unwrap();
        let new = changed(&mut doc, name);
        replace_users(text, &[(name.into(), new)], &doc).unwrap()
    }

    #[test]
    fn a_comment_after_a_block_scalar_that_ends_the_user_stays() {
        let text = "users:\n- name: a\n  user:\n    client-key-data: |\n      abc\n      # content\n# comment after\n\n- name: b\n  user: {}\n";
        let out = replaced(text, "a");
        assert!(out.contains("\n# comment after\n\n- name: b\n"), "{out}");
        assert!(!out.contains("# content"), "the scalar's own line went with it: {out}");
    }

    #[test]
    fn positions_in_non_ascii_text_are_found_in_one_pass() {
        let text = "# ünïcödé ✓\nusers:\n- name: ä\n  user:\n    token: \"✓✓\"\n- name: b\n  user: {}\n";
        let out = replaced(text, "ä");
        assert!(
            out.starts_with("# ünïcödé ✓\nusers:\n- name: \"ä\"") && out.ends_with("- name: b\n  user: {}\n"),
            "{out}"
        );
    }

    #[test]
    fn a_user_defining_an_anchor_is_refused_and_an_alias_user_is_fine() {
        let mut doc: Value = serde_yaml::from_str(FILE).unwrap();
        let new = changed(&mut doc, "b");
        assert!(replace_users(FILE, &[("b".into(), new)], &doc).is_err());
        let out = replaced(FILE, "c");
        assert!(out.contains("&common") && out.ends_with("contexts: []   # none yet\n"), "{out}");
    }

    #[test]
    fn flow_style_users_get_json() {
        let text = "users: [{name: a, user: {token: x}}, {name: b, user: {}}]\n";
        let out = replaced(text, "b");
        assert!(out.starts_with("users: [{name: a, user: {token: x}}, {\"name\":\"b\""), "{out}");
    }
}
