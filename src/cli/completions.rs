//! `entratool completions SHELL`: clap's script for the shell, with profile
//! names completed after `-p`/`--profile` (from `entratool config list
//! --names`, at completion time) in every shell clap writes for: bash, zsh,
//! fish, PowerShell and elvish.

use clap_complete::Shell;

/// The completion script of `shell` for `cmd`.
pub fn script(shell: Shell, cmd: &mut clap::Command) -> String {
    let mut text = Vec::new();
    clap_complete::generate(shell, cmd, "entratool", &mut text);
    with_profiles(shell, &String::from_utf8_lossy(&text))
}

/// clap's script with the profile names wired in after `-p` and `--profile`.
fn with_profiles(shell: Shell, script: &str) -> String {
    match shell {
        Shell::Bash => format!("{script}{BASH}"),
        Shell::Fish => format!("{script}{FISH}"),
        // clap leaves a profile's value to `_default`: it becomes the names.
        Shell::Zsh => {
            let wired = script
                .lines()
                .map(|l| {
                    if (l.contains("'-p+[") || l.contains("'--profile=[")) && l.contains(":NAME:_default'") {
                        l.replace(":NAME:_default'", ":NAME:_entratool_profiles'")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            // After `#compdef entratool`, so the helpers exist when the completion runs.
            match wired.split_once('\n') {
                Some((first, rest)) => format!("{first}\n{ZSH}{rest}\n"),
                None => wired,
            }
        }
        Shell::PowerShell => script.replacen(POWERSHELL_AFTER, &format!("{POWERSHELL_AFTER}{POWERSHELL}"), 1),
        Shell::Elvish => script.replacen(ELVISH_AFTER, &format!("{ELVISH_AFTER}{ELVISH}"), 1),
        _ => script.to_string(),
    }
}

const BASH: &str = r#"
_entratool_profiles() {
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    if [[ $prev == -p || $prev == --profile ]]; then
        COMPREPLY=($(compgen -W "$(entratool config list --names 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        return 0
    fi
    _entratool "$@"
}
complete -F _entratool_profiles -o nosort -o bashdefault -o default entratool
"#;

const FISH: &str = "complete -c entratool -s p -l profile -x -a '(entratool config list --names 2>/dev/null)'\n";

const ZSH: &str = r#"
# Profile names after -p/--profile (entratool config list --names).
_entratool_profile_names() {
    entratool config list --names 2>/dev/null
}
_entratool_profiles() {
    local -a names
    names=(${(f)"$(_entratool_profile_names)"})
    compadd -a names
}
"#;

/// Where PowerShell's script block starts: the profile names go first.
const POWERSHELL_AFTER: &str = "param($wordToComplete, $commandAst, $cursorPosition)\n";

const POWERSHELL: &str = r#"
    # Profile names after -p/--profile (entratool config list --names).
    $before = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -lt $cursorPosition })
    if ($before.Count -gt 0 -and @('-p', '--profile') -contains $before[-1].ToString()) {
        entratool config list --names 2>$null | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
            [System.Management.Automation.CompletionResult]::new($_, $_, [System.Management.Automation.CompletionResultType]::ParameterValue, $_)
        }
        return
    }
"#;

/// Where elvish's completer starts: the profile names go first.
const ELVISH_AFTER: &str = "set edit:completion:arg-completer[entratool] = {|@words|\n";

const ELVISH: &str = r#"    # Profile names after -p/--profile (entratool config list --names).
    if (and (> (count $words) 2) (has-value [-p --profile] $words[-2])) {
        e:entratool config list --names 2>/dev/null | from-lines
        return
    }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_shell_completes_profile_names() {
        for (shell, wired) in [
            (Shell::Bash, "_entratool_profiles()"),
            (Shell::Fish, "-s p -l profile -x -a '(entratool config list --names"),
            (Shell::Zsh, ":NAME:_entratool_profiles'"),
            (Shell::PowerShell, "@('-p', '--profile') -contains"),
            (Shell::Elvish, "has-value [-p --profile]"),
        ] {
            let text = script(shell, &mut crate::cli::Cli::command());
            assert!(text.contains(wired), "{shell}: {wired} missing");
            assert!(text.contains("config list --names"), "{shell}");
        }
        let zsh = script(Shell::Zsh, &mut crate::cli::Cli::command());
        assert!(!zsh.contains("'-p+[Profile name (else $ENTRATOOL_PROFILE, else defaultProfile)]:NAME:_default'"));
    }
}
