//! Random sessions of our client engine against our server engine: random
//! operations, control bytes delivered in random pieces, simulated time
//! stepped to the earlier of both sides' deadlines. Every operation ends
//! exactly once, and what the client reports agrees with what the server
//! did to its file system.

use super::*;
use crate::client::StoreMode;
use crate::server::harness::Node;
use proptest::prelude::*;

/// Paths the operations pick from: files, directories, and names that do
/// not exist yet.
const PATHS: [&str; 6] = ["/readme", "/pub", "/pub/a.txt", "/new", "/pub/new", "/dir"];

#[derive(Debug, Clone)]
enum Op {
    Pwd,
    Cwd(usize),
    Cdup,
    Mkdir(usize),
    Rmdir(usize),
    Delete(usize),
    Rename(usize, usize),
    Size(usize),
    Mdtm(usize),
    List,
    Nlst,
    Retrieve(usize),
    Store(usize, Vec<u8>, bool),
    Append(usize, Vec<u8>),
    Noop,
}

fn path() -> impl Strategy<Value = usize> {
    0..PATHS.len()
}

/// Text without CR, so that TYPE A carries it unchanged.
fn content() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(b'\n'), b'a'..=b'z'], 0..40)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Pwd),
        path().prop_map(Op::Cwd),
        Just(Op::Cdup),
        path().prop_map(Op::Mkdir),
        path().prop_map(Op::Rmdir),
        path().prop_map(Op::Delete),
        (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
        path().prop_map(Op::Size),
        path().prop_map(Op::Mdtm),
        Just(Op::List),
        Just(Op::Nlst),
        path().prop_map(Op::Retrieve),
        (path(), content(), any::<bool>()).prop_map(|(p, c, a)| Op::Store(p, c, a)),
        (path(), content()).prop_map(|(p, c)| Op::Append(p, c)),
        Just(Op::Noop),
    ]
}

fn node(pair: &Pair, path: &str) -> Option<Node> {
    pair.fs.nodes.get(path.as_bytes()).cloned()
}

/// Names directly under `/`, as the server's file system holds them.
fn root_names(pair: &Pair) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = pair
        .fs
        .nodes
        .keys()
        .filter(|p| p.len() > 1 && !p[1..].contains(&b'/'))
        .map(|p| p[1..].to_vec())
        .collect();
    names.sort();
    names
}

/// Runs one operation and checks its outcome against the file system.
fn check(pair: &mut Pair, op: &Op) -> Result<(), TestCaseError> {
    let before = pair.fs.nodes.clone();
    let bytes = |i: usize| PATHS[i].as_bytes();
    pair.received.clear();
    let id = match op {
        Op::Pwd => pair.client.pwd(),
        Op::Cwd(p) => pair.client.cwd(bytes(*p)),
        Op::Cdup => pair.client.cdup(),
        Op::Mkdir(p) => pair.client.mkdir(bytes(*p)),
        Op::Rmdir(p) => pair.client.rmdir(bytes(*p)),
        Op::Delete(p) => pair.client.delete(bytes(*p)),
        Op::Rename(a, b) => pair.client.rename(bytes(*a), bytes(*b)),
        Op::Size(p) => pair.client.size(bytes(*p)),
        Op::Mdtm(p) => pair.client.mdtm(bytes(*p)),
        Op::List => pair.client.list(Some(b"/")),
        Op::Nlst => pair.client.nlst(Some(b"/")),
        Op::Retrieve(p) => pair.client.retrieve(bytes(*p), 0, false),
        Op::Store(p, data, ascii) => {
            pair.upload = data.clone();
            pair.client.store(bytes(*p), StoreMode::Replace, *ascii)
        }
        Op::Append(p, data) => {
            pair.upload = data.clone();
            pair.client.store(bytes(*p), StoreMode::Append, false)
        }
        Op::Noop => pair.client.noop(),
    };
    pair.settle();
    let ended: Vec<_> = pair.outcomes.drain(..).collect();
    prop_assert_eq!(ended.len(), 1, "{:?}: {:?}", op, ended);
    let (done, result) = ended.into_iter().next().unwrap();
    prop_assert_eq!(done, id);
    let unchanged = pair.fs.nodes == before;
    match (op, result) {
        (Op::Store(p, data, _), Ok(Output::Transferred { bytes })) => {
            prop_assert_eq!(node(pair, PATHS[*p]), Some(Node::File(data.clone())));
            prop_assert!(bytes >= data.len() as u64);
        }
        (Op::Append(p, data), Ok(Output::Transferred { .. })) => {
            let old = match before.get(PATHS[*p].as_bytes()) {
                Some(Node::File(old)) => old.clone(),
                _ => Vec::new(),
            };
            prop_assert_eq!(
                node(pair, PATHS[*p]),
                Some(Node::File([old, data.clone()].concat()))
            );
        }
        (Op::Retrieve(p), Ok(Output::Transferred { bytes })) => {
            prop_assert_eq!(
                node(pair, PATHS[*p]),
                Some(Node::File(pair.received.clone()))
            );
            prop_assert_eq!(bytes, pair.received.len() as u64);
        }
        (Op::Size(p), Ok(Output::Size(size))) => match node(pair, PATHS[*p]) {
            Some(Node::File(content)) => prop_assert_eq!(size, content.len() as u64),
            other => prop_assert!(false, "SIZE {size} of {other:?}"),
        },
        (Op::Mkdir(p), Ok(Output::Path(_))) => {
            prop_assert!(!before.contains_key(PATHS[*p].as_bytes()));
            prop_assert_eq!(node(pair, PATHS[*p]), Some(Node::Dir));
        }
        (Op::Rmdir(p) | Op::Delete(p), Ok(Output::Done)) => {
            prop_assert!(before.contains_key(PATHS[*p].as_bytes()));
            prop_assert_eq!(node(pair, PATHS[*p]), None);
        }
        (Op::Rename(a, b), Ok(Output::Done)) => {
            prop_assert_eq!(
                node(pair, PATHS[*b]),
                before.get(PATHS[*a].as_bytes()).cloned()
            );
            if a != b {
                prop_assert_eq!(node(pair, PATHS[*a]), None);
            }
        }
        (Op::List, Ok(Output::Listing(listing))) => {
            let mut names: Vec<Vec<u8>> = listing.entries.iter().map(|e| e.name.to_vec()).collect();
            names.sort();
            prop_assert_eq!(names, root_names(pair));
        }
        (Op::Nlst, Ok(Output::Names(names))) => {
            let mut names: Vec<Vec<u8>> = names
                .iter()
                .map(|n| n.strip_prefix(b"/").unwrap_or(n).to_vec())
                .collect();
            names.sort();
            prop_assert_eq!(names, root_names(pair));
        }
        // A refused command changes nothing on the server.
        (_, Err(ClientError::Rejected(_))) => prop_assert!(unchanged, "{:?}", op),
        (Op::Retrieve(p), Err(error)) => {
            prop_assert!(
                !matches!(node(pair, PATHS[*p]), Some(Node::File(_))),
                "{error:?}"
            )
        }
        (Op::Pwd | Op::Cwd(_) | Op::Cdup | Op::Mdtm(_) | Op::Noop, Ok(_)) => {
            prop_assert!(unchanged, "{:?}", op)
        }
        (op, other) => prop_assert!(false, "{op:?} ended with {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_sessions_agree_with_the_server(
        ops in proptest::collection::vec(op(), 1..16),
        active in any::<bool>(),
        splits in proptest::collection::vec(1usize..24, 0..6),
    ) {
        let mode = if active { DataMode::Active } else { DataMode::Passive };
        let mut pair = Pair::new(mode);
        pair.splits = splits;
        pair.fs.dir("/dir");
        pair.settle();
        pair.outcomes.clear();
        let id = pair.client.login(b"alice", b"secret", None);
        pair.settle();
        prop_assert_eq!(pair.outcomes.drain(..).collect::<Vec<_>>(), [(id, Ok(Output::LoggedIn))]);
        for op in &ops {
            check(&mut pair, op)?;
        }
        let quit = pair.client.quit();
        pair.settle();
        prop_assert_eq!(pair.outcomes.drain(..).collect::<Vec<_>>(), [(quit, Ok(Output::Done))]);
        prop_assert!(pair.client.is_closed());
    }
}
