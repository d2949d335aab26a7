//! The commands `sealgrid demo` prints at its end for its own output: the audit of its
//! rounds from the files it wrote, and the disclosure of one bid with the trustees it
//! leaves running (`--keep-trustees`). The demo test runs exactly these lines, and the
//! README test checks that the README shows the line a default run prints, so the three
//! cannot drift apart.

use std::ops::RangeInclusive;
use std::path::{Component, Path, PathBuf};

/// `path` without `.` and `name/..` components (`prover/../target` is `target`), and
/// relative to the current directory when it lies below it: what a person can paste.
///
/// The cleaning is lexical: it does not follow symbolic links, which is right for the
/// paths printed here (built from the source tree's own directories).
pub fn tidy(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(path),
            // No current directory: the path as given, only cleaned.
            Err(_) => return normalize(path),
        }
    };
    let clean = normalize(&absolute);
    match std::env::current_dir().map(|cwd| normalize(&cwd)) {
        Ok(cwd) => match clean.strip_prefix(&cwd) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
            _ => clean,
        },
        Err(_) => clean,
    }
}

/// Drops `.` components and folds `name/..` pairs.
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `/..` is `/`
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}

/// What the printed commands refer to.
#[derive(Clone, Debug)]
pub struct DemoOutput {
    /// The `sealgrid` executable to run.
    pub exe: PathBuf,
    /// The demo's directory (`market.json`, `chain.json`, `bundles/`).
    pub dir: PathBuf,
    /// The key store, when it is not the one `sealgrid audit` uses by default.
    pub key_dir: Option<PathBuf>,
    /// The demo's rounds.
    pub rounds: RangeInclusive<u64>,
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

impl DemoOutput {
    /// `sealgrid audit` of every demo round from the demo's files, with an HTML report
    /// beside them (`DIR/audit.html`).
    pub fn audit(&self) -> Vec<String> {
        let d = &self.dir;
        let mut argv = vec![
            text(&self.exe),
            "audit".into(),
            "--market".into(),
            text(&d.join("market.json")),
            "--embedded-state".into(),
            text(&d.join("chain.json")),
            "--bundles".into(),
            text(&d.join("bundles")),
            "--rounds".into(),
            format!("{}..{}", self.rounds.start(), self.rounds.end()),
            "--report".into(),
            text(&d.join("audit.html")),
        ];
        if let Some(k) = &self.key_dir {
            argv.extend(["--key-dir".into(), text(k)]);
        }
        // The local trustees' disclosure logs (`trustee-<id>.disclosures.jsonl`).
        let mut logs: Vec<PathBuf> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("trustee-") && n.ends_with(".disclosures.jsonl"))
            })
            .collect();
        logs.sort();
        for l in logs {
            argv.extend(["--disclosures".into(), text(&l)]);
        }
        argv
    }

    /// `sealgrid audit disclose` of bid `bid` of the first demo round with the trustees
    /// at `trustees` (the demo committee's allow-list names `auditor`).
    pub fn disclose(&self, bid: usize, trustees: &[String], auditor: &str) -> Vec<String> {
        let d = &self.dir;
        let mut argv = vec![
            text(&self.exe),
            "audit".into(),
            "disclose".into(),
            "--market".into(),
            text(&d.join("market.json")),
            "--embedded-state".into(),
            text(&d.join("chain.json")),
            "--round".into(),
            self.rounds.start().to_string(),
            "--bid".into(),
            bid.to_string(),
        ];
        for t in trustees {
            argv.extend(["--trustee".into(), t.clone()]);
        }
        argv.extend(["--auditor".into(), auditor.into()]);
        // The auditor's certificate, made with the local market's (`DIR/certs/`).
        let certs = d.join("certs");
        argv.extend([
            "--tls-ca".into(),
            text(&certs.join("ca.pem")),
            "--tls-cert".into(),
            text(&certs.join(format!("{auditor}.pem"))),
            "--tls-key".into(),
            text(&certs.join(format!("{auditor}.key"))),
        ]);
        argv
    }
}

/// The lines `sealgrid demo` prints at its end: the audit command for its files and, with
/// the trustees it keeps serving (`kept`), the disclosure command for bid 0 of its first
/// round (else how to keep them). Each command is on a line of its own, indented by two
/// spaces.
pub fn next_steps(out: &DemoOutput, kept: Option<&[String]>, auditor: &str) -> String {
    let mut s = format!(
        "redo the audit of the demo's rounds from its files (public data only):\n  {}\n",
        shell_line(&out.audit())
    );
    match kept {
        Some(trustees) => {
            s += &format!(
                "the committee's trustees keep serving at {} (Ctrl-C stops them); open bid 0 of round {} with them:\n  {}\n",
                trustees.join(" "),
                out.rounds.start(),
                shell_line(&out.disclose(0, trustees, auditor))
            );
        }
        None => s += "to open a bid with the committee's trustees, run the demo with --keep-trustees: it keeps them serving and prints the `audit disclose` command\n",
    }
    s
}

/// `argv` as one line a POSIX shell reads back into the same words (words with
/// anything but `[A-Za-z0-9_./:=@%+,-]` are single-quoted).
pub fn shell_line(argv: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c);
    argv.iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(plain) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a shell command line, as far as the README and the demo's output use
/// the shell: blanks separate words, single and double quotes group, a backslash
/// escapes the next character and a backslash before a newline joins lines; a `#` at
/// the start of a word starts a comment. `None` on an unterminated quote.
pub fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(n) => word.get_or_insert_with(String::new).push(n),
            },
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        x => w.push(x),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        x => w.push(x),
                    }
                }
            }
            '#' if word.is_none() => {
                // a comment runs to the end of the line
                for x in chars.by_ref() {
                    if x == '\n' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_folds_parent_components_and_strips_the_current_directory() {
        assert_eq!(
            normalize(Path::new("/a/prover/../target/./x")),
            Path::new("/a/target/x")
        );
        assert_eq!(normalize(Path::new("../a/b/..")), Path::new("../a"));
        assert_eq!(normalize(Path::new("/../a")), Path::new("/a"));
        let cwd = std::env::current_dir().expect("a current directory");
        assert_eq!(
            tidy(&cwd.join("prover/../target/sealgrid-demo")),
            Path::new("target/sealgrid-demo")
        );
        assert_eq!(tidy(Path::new("/")), Path::new("/"));
    }

    #[test]
    fn shell_line_reads_back_into_the_same_words() {
        let argv: Vec<String> = ["sealgrid", "a b", "it's", "", "--x=1", "$HOME"]
            .map(String::from)
            .to_vec();
        let line = shell_line(&argv);
        assert_eq!(shell_words(&line), Some(argv));
        assert_eq!(
            shell_words("a \\\n  b \"c d\" # note\ne"),
            Some(["a", "b", "c d", "e"].map(String::from).to_vec())
        );
        assert_eq!(shell_words("'open"), None);
    }
}
