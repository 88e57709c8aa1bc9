//! Property tests of the server session.

use super::super::super::harness::{Harness, MemoryFs, Node};
use super::*;
use crate::reply::ReplyParser;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Command lines worth combining, valid and not.
fn command_line() -> impl Strategy<Value = Vec<u8>> {
    let fixed = prop_oneof![
        Just("USER alice"),
        Just("PASS secret"),
        Just("PASS wrong"),
        Just("USER bob"),
        Just("PASS hunter2"),
        Just("PWD"),
        Just("CWD pub"),
        Just("CWD .."),
        Just("CDUP"),
        Just("TYPE I"),
        Just("TYPE A"),
        Just("PASV"),
        Just("EPSV"),
        Just("EPSV ALL"),
        Just("PORT 127,0,0,1,156,65"),
        Just("EPRT |1|127.0.0.1|40001|"),
        Just("RETR readme"),
        Just("RETR pub/a.txt"),
        Just("STOR up"),
        Just("APPE up"),
        Just("STOU"),
        Just("REST 3"),
        Just("LIST"),
        Just("NLST pub"),
        Just("MLSD"),
        Just("MLST readme"),
        Just("SIZE readme"),
        Just("MDTM readme"),
        Just("MKD d"),
        Just("RMD d"),
        Just("DELE up"),
        Just("RNFR up"),
        Just("RNTO down"),
        Just("ABOR"),
        Just("STAT"),
        Just("STAT pub"),
        Just("FEAT"),
        Just("OPTS MLST type;"),
        Just("HELP"),
        Just("NOOP"),
        Just("SYST"),
        Just("REIN"),
        Just("HOST example.com"),
        Just("LANG EN"),
        Just("ALLO 5"),
        Just("SITE X"),
        Just("BOGUS"),
        Just(""),
    ]
    .prop_map(|s| s.as_bytes().to_vec());
    prop_oneof![8 => fixed, 1 => proptest::collection::vec(any::<u8>(), 0..12)]
}

fn session_input() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(command_line(), 0..25).prop_map(|lines| {
        let mut input = Vec::new();
        for line in lines {
            input.extend_from_slice(&line);
            input.extend_from_slice(b"\r\n");
        }
        input
    })
}

/// The output and the actions of a session fed `input` in pieces. Data
/// connections never open here: when a client's connection lands relative
/// to its next command depends on the network, not on how the control bytes
/// were split, so the harness would make the outcome depend on the split.
/// Transfer ordering has its own transcript tests.
fn run_split(input: &[u8], cuts: &[usize]) -> (Vec<u8>, Vec<Action>) {
    let mut h = Harness::new(ServerConfig::default());
    h.behaviour.client_connects = false;
    h.behaviour.connect_succeeds = false;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut start = 0;
    for cut in cuts.into_iter().chain([input.len()]) {
        h.input_bytes(&input[start..cut]);
        start = cut;
    }
    let actions = std::mem::take(&mut h.actions);
    (h.output_bytes(), actions)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_split_gives_the_same_actions(input in session_input(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        prop_assert_eq!(run_split(&input, &[]), run_split(&input, &cuts));
    }

    #[test]
    fn every_line_gets_exactly_one_final_reply(input in session_input()) {
        // Timeouts add their own 421; they are tested on their own.
        let mut h = Harness::new(ServerConfig {
            max_login_failures: 1000,
            login_timeout: Duration::MAX,
            ..ServerConfig::default()
        });
        h.input_bytes(&input);
        for _ in 0..40 {
            h.advance(Duration::from_secs(5));
        }
        let mut lines = LineDecoder::new(ServerConfig::default().max_line);
        lines.push(&input);
        let complete = lines.filter(|item| !matches!(item, ControlItem::TelnetReply(_))).count();
        let mut parser = ReplyParser::default();
        parser.push(&h.output_bytes());
        let replies: Vec<Reply> = std::iter::from_fn(|| parser.next_reply()).map(|r| r.unwrap()).collect();
        prop_assert_eq!(replies.first().map(|r| r.code), Some(ReplyCode::SERVICE_READY));
        let finals = replies.iter().skip(1).filter(|r| !r.code.is_preliminary()).count();
        // Aborting a transfer adds a reply for the transfer: none runs here,
        // as the harness completes transfers at once.
        if h.closed {
            prop_assert!(finals <= complete, "{} replies to {} lines", finals, complete);
        } else {
            prop_assert_eq!(finals, complete);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut h = Harness::logged_in();
        h.input_bytes(&input);
        h.advance(Duration::from_secs(600));
        let mut parser = ReplyParser::default();
        parser.push(&h.output_bytes());
        while let Some(reply) = parser.next_reply() {
            prop_assert!(reply.is_ok());
        }
    }
}

/// Operations on a flat namespace of a few names.
#[derive(Debug, Clone)]
enum Op {
    Stor(usize, Vec<u8>),
    Appe(usize, Vec<u8>),
    Dele(usize),
    Rename(usize, usize),
    Mkd(usize),
    Rmd(usize),
}

const NAMES: [&str; 3] = ["a", "b", "c"];

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES.len();
    let content = proptest::collection::vec(any::<u8>(), 0..20);
    prop_oneof![
        (name.clone(), content.clone()).prop_map(|(n, c)| Op::Stor(n, c)),
        (name.clone(), content).prop_map(|(n, c)| Op::Appe(n, c)),
        name.clone().prop_map(Op::Dele),
        (name.clone(), name.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        name.clone().prop_map(Op::Mkd),
        name.prop_map(Op::Rmd),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum ModelNode {
    File(Vec<u8>),
    Dir,
}

/// What the reference model expects of each operation: the new state and
/// the final reply's code.
fn model_step(model: &mut BTreeMap<&'static str, ModelNode>, op: &Op) -> u16 {
    match op {
        Op::Stor(n, content) => match model.get(NAMES[*n]) {
            Some(ModelNode::Dir) => 550,
            _ => {
                model.insert(NAMES[*n], ModelNode::File(content.clone()));
                226
            }
        },
        Op::Appe(n, content) => match model.get_mut(NAMES[*n]) {
            Some(ModelNode::Dir) => 550,
            Some(ModelNode::File(old)) => {
                old.extend_from_slice(content);
                226
            }
            None => {
                model.insert(NAMES[*n], ModelNode::File(content.clone()));
                226
            }
        },
        Op::Dele(n) => match model.get(NAMES[*n]) {
            Some(ModelNode::File(_)) => {
                model.remove(NAMES[*n]);
                250
            }
            _ => 550,
        },
        Op::Rename(a, b) => {
            let (from, to) = (NAMES[*a], NAMES[*b]);
            match (model.get(from).cloned(), model.get(to)) {
                // RNFR fails, so RNTO finds no pending rename.
                (None, _) => 503,
                (Some(_), Some(ModelNode::Dir)) => 550,
                (Some(node), _) => {
                    model.remove(from);
                    model.insert(to, node);
                    250
                }
            }
        }
        Op::Mkd(n) => {
            if model.contains_key(NAMES[*n]) {
                550
            } else {
                model.insert(NAMES[*n], ModelNode::Dir);
                257
            }
        }
        Op::Rmd(n) => match model.get(NAMES[*n]) {
            Some(ModelNode::Dir) => {
                model.remove(NAMES[*n]);
                250
            }
            _ => 550,
        },
    }
}

fn last_code(output: &str) -> u16 {
    let mut parser = ReplyParser::default();
    parser.push(output.as_bytes());
    let replies: Vec<Reply> = std::iter::from_fn(|| parser.next_reply())
        .map(|r| r.unwrap())
        .collect();
    replies.last().map_or(0, |r| r.code.get())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_a_model(ops in proptest::collection::vec(op(), 1..20)) {
        let mut h = Harness::logged_in();
        h.fs = MemoryFs::new();
        h.exchange("TYPE I\r\nCWD /\r\n");
        let mut model = BTreeMap::new();
        for op in &ops {
            let expected = model_step(&mut model, op);
            let output = match op {
                Op::Stor(n, content) | Op::Appe(n, content) => {
                    h.exchange("EPSV\r\n");
                    h.upload = content.clone();
                    let verb = if matches!(op, Op::Stor(..)) { "STOR" } else { "APPE" };
                    h.exchange(&format!("{verb} {}\r\n", NAMES[*n]))
                }
                Op::Dele(n) => h.exchange(&format!("DELE {}\r\n", NAMES[*n])),
                Op::Rename(a, b) => h.exchange(&format!("RNFR {}\r\nRNTO {}\r\n", NAMES[*a], NAMES[*b])),
                Op::Mkd(n) => h.exchange(&format!("MKD {}\r\n", NAMES[*n])),
                Op::Rmd(n) => h.exchange(&format!("RMD {}\r\n", NAMES[*n])),
            };
            prop_assert_eq!(last_code(&output), expected, "{:?} answered {}", op, output);

            // NLST names, SIZE and RETR of every name agree with the model.
            h.downloads.clear();
            h.exchange("EPSV\r\nNLST\r\n");
            let listed = String::from_utf8(h.downloads.pop().unwrap()).unwrap();
            let expected_names: Vec<&str> = model.keys().copied().collect();
            prop_assert_eq!(listed.lines().collect::<Vec<_>>(), expected_names);
            for name in NAMES {
                let size = h.exchange(&format!("SIZE {name}\r\n"));
                h.downloads.clear();
                let retr = h.exchange(&format!("EPSV\r\nRETR {name}\r\n"));
                match model.get(name) {
                    Some(ModelNode::File(content)) => {
                        prop_assert_eq!(size, format!("213 {}\r\n", content.len()));
                        prop_assert!(retr.ends_with("226 Transfer complete.\r\n"), "{}", retr);
                        prop_assert_eq!(h.downloads.pop(), Some(content.clone()));
                    }
                    Some(ModelNode::Dir) => {
                        prop_assert!(size.starts_with("550 "));
                        prop_assert!(retr.ends_with("550 Is a directory.\r\n"), "{}", retr);
                    }
                    None => {
                        prop_assert_eq!(size, "550 No such file or directory.\r\n");
                        prop_assert!(retr.ends_with("550 No such file or directory.\r\n"), "{}", retr);
                    }
                }
            }
            let fs_names: Vec<String> = h.fs.nodes.iter()
                .filter(|(p, _)| p.as_slice() != b"/")
                .map(|(p, n)| format!("{}:{}", String::from_utf8_lossy(p), matches!(n, Node::Dir)))
                .collect();
            let model_names: Vec<String> = model.iter()
                .map(|(name, n)| format!("/{name}:{}", matches!(n, ModelNode::Dir)))
                .collect();
            prop_assert_eq!(fs_names, model_names);
        }
    }
}
