//! `~/.netrc` (or `$NETRC`): `machine`, `default`, `login`, `password`,
//! `account`, `macdef`, with double-quoted values as curl reads them
//! (`password "two words"`, `\"` and `\\` inside). The format is a few
//! keywords; no maintained crate reads it better than these lines.

/// The whitespace-separated tokens of a netrc text, quotes removed;
/// `macdef` bodies (up to a blank line) skipped.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else {
            return tokens;
        };
        let mut token = String::new();
        if first == '"' {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => token.push('\n'),
                        Some('r') => token.push('\r'),
                        Some('t') => token.push('\t'),
                        Some(other) => token.push(other),
                        None => break,
                    },
                    other => token.push(other),
                }
            }
        } else {
            token.push(first);
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                token.push(c);
            }
        }
        if token == "macdef" && first != '"' {
            // The macro's name, then its body up to an empty line.
            while chars.next_if(|&c| c != '\n').is_some() {}
            let mut previous = ' ';
            for c in chars.by_ref() {
                if c == '\n' && previous == '\n' {
                    break;
                }
                previous = c;
            }
            continue;
        }
        tokens.push(token);
    }
}

/// One `machine` (or `default`) entry.
#[derive(Debug, Default)]
struct Entry {
    machine: Option<String>,
    login: Option<String>,
    password: Option<String>,
}

fn entries(text: &str) -> Vec<Entry> {
    let tokens = tokens(text);
    let mut entries: Vec<Entry> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let value = tokens.get(i + 1).cloned();
        match tokens[i].as_str() {
            "machine" => {
                entries.push(Entry {
                    machine: value,
                    ..Entry::default()
                });
                i += 2;
            }
            "default" => {
                entries.push(Entry::default());
                i += 1;
            }
            keyword @ ("login" | "password" | "account") => {
                if let Some(entry) = entries.last_mut() {
                    match keyword {
                        "login" => entry.login = value,
                        "password" => entry.password = value,
                        _ => {}
                    }
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    entries
}

/// The login and password for `host`: from its first `machine` entry (the
/// first whose `login` is `user`, when the URL names a user), else from
/// `default`.
pub(crate) fn lookup(text: &str, host: &str, user: Option<&str>) -> Option<(String, String)> {
    let entries = entries(text);
    let fits = |entry: &&Entry| user.is_none_or(|u| entry.login.as_deref() == Some(u));
    let found = entries
        .iter()
        .filter(|e| e.machine.as_deref() == Some(host))
        .find(fits)
        .or_else(|| entries.iter().filter(|e| e.machine.is_none()).find(fits))?;
    Some((
        found.login.clone().or_else(|| user.map(String::from))?,
        found.password.clone().unwrap_or_default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(login: &str, password: &str) -> Option<(String, String)> {
        Some((login.into(), password.into()))
    }

    #[test]
    fn machines_and_the_default() {
        let text = "machine a.example login alice password one\n\ndefault login anon password two\nmachine b.example\n  login bob\n  password three\n";
        assert_eq!(lookup(text, "a.example", None), pair("alice", "one"));
        assert_eq!(lookup(text, "b.example", None), pair("bob", "three"));
        assert_eq!(lookup(text, "c.example", None), pair("anon", "two"));
        assert_eq!(lookup("machine x login y password z", "other", None), None);
    }

    /// A URL with a user and no password takes the password of that
    /// user's entry, as curl does.
    #[test]
    fn the_urls_user_picks_the_entry() {
        let text = "machine h login alice password a1\nmachine h login bob password b2\n";
        assert_eq!(lookup(text, "h", Some("bob")), pair("bob", "b2"));
        assert_eq!(lookup(text, "h", Some("alice")), pair("alice", "a1"));
        assert_eq!(lookup(text, "h", Some("carol")), None);
        assert_eq!(lookup(text, "h", None), pair("alice", "a1"));
    }

    #[test]
    fn quoted_values_and_macros() {
        let text = "macdef init\ncd /pub\nmachine evil login x password y\n\n\
                    machine h login \"al ice\" password \"p \\\"w\\\\d\"\n";
        assert_eq!(lookup(text, "h", None), pair("al ice", "p \"w\\d"));
        // The machine line inside the macro is not an entry.
        assert_eq!(lookup(text, "evil", None), None);
        // A password with no quotes keeps every character but spaces.
        assert_eq!(
            lookup("machine h login a password p\"q#r", "h", None),
            pair("a", "p\"q#r")
        );
    }
}
