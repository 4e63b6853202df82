//! Questions on the terminal: plain answers from stdin, hidden ones from the
//! tty without echo. End of input (Ctrl-D) cancels; nothing is saved before
//! the last answer, so Ctrl-C or Ctrl-D leave every file as it was.

use std::io::BufRead;

use zeroize::Zeroizing;

use entratool::error::{Error, Result};

/// The library's [`SecretPrompt`](entratool::credential::SecretPrompt): a
/// hidden question on the terminal, a wrong answer said on stderr.
pub struct TerminalPrompt;

impl entratool::credential::SecretPrompt for TerminalPrompt {
    fn ask(&self, question: &str) -> Result<Zeroizing<String>> {
        match rpassword::prompt_password(question) {
            Ok(s) => Ok(Zeroizing::new(s)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(cancelled()),
            Err(e) => Err(Error::usage("cannot read the answer from the terminal").with_source(e)),
        }
    }

    fn wrong(&self, what: &str) {
        entratool::ewriteln!("✗ {what}, try again");
    }
}

pub struct Prompter {
    input: std::io::StdinLock<'static>,
}

fn cancelled() -> Error {
    Error::usage("cancelled: nothing was saved")
}

impl Prompter {
    pub fn new() -> Prompter {
        Prompter { input: std::io::stdin().lock() }
    }

    /// Prints `text` (no newline) and reads one line, trimmed.
    pub fn ask(&mut self, text: &str) -> Result<String> {
        entratool::output::stdout(text)?;
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                entratool::outln!();
                Err(cancelled())
            }
            Ok(_) => Ok(line.trim().to_string()),
        }
    }

    /// Asks until `check` accepts the answer, printing why it did not.
    pub fn ask_until<T>(&mut self, text: &str, check: impl Fn(&str) -> Result<T>) -> Result<T> {
        loop {
            let answer = self.ask(text)?;
            match check(&answer) {
                Ok(v) => return Ok(v),
                Err(e) => entratool::outln!("✗ {}", e.report("", "")),
            }
        }
    }

    /// A hidden answer: not echoed, zeroized when dropped.
    pub fn ask_hidden(&mut self, text: &str) -> Result<Zeroizing<String>> {
        entratool::output::stdout("")?;
        entratool::credential::SecretPrompt::ask(&TerminalPrompt, text)
    }
}
