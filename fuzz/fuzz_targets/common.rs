// Profiles with every kind of match entry, for the routing targets.
pub fn profiles() -> Vec<entratool::profile::Profile> {
    let text = r#"[
      {"name": "org", "match": ["https://dev.azure.com/contoso", {"pattern": "https://dev.azure.com/fabrikam/p", "scope": "s/.default"}]},
      {"name": "acr", "match": ["contoso.azurecr.io", "*.azurecr.io", "127.0.0.1:5000", "[::1]:8443"]},
      {"name": "http", "match": ["http://127.0.0.1:8080/org", "http://intranet.example.com/git"]}
    ]"#;
    entratool::profile::parse(text, std::path::Path::new("p.json")).map(|d| d.profiles).unwrap_or_default()
}
