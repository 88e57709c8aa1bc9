//! Transcript tests: each drives a session through the in-memory harness
//! with a fake clock and checks the exact control output and actions.

use super::super::harness::{Behaviour, Harness, PASSIVE_PORT};
use super::*;
use crate::clock::Timestamp;
use crate::server::Direction;
use std::time::Duration;

fn anonymous_config() -> ServerConfig {
    ServerConfig {
        allow_anonymous: true,
        ..ServerConfig::default()
    }
}

fn fresh() -> Harness {
    let mut h = Harness::new(ServerConfig::default());
    assert_eq!(h.output(), "220 FTP server ready.\r\n");
    h
}

#[track_caller]
fn check(h: &mut Harness, input: &str, expected: &str) {
    assert_eq!(h.exchange(input), expected, "after {input:?}");
}

fn passive(h: &mut Harness) {
    check(
        h,
        "PASV\r\n",
        "227 Entering Passive Mode (127,0,0,1,195,80).\r\n",
    );
}

fn take_actions(h: &mut Harness) -> Vec<Action> {
    std::mem::take(&mut h.actions)
}

// ---- login ---------------------------------------------------------------

#[test]
fn greeting_uses_the_configured_banner() {
    let mut h = Harness::new(ServerConfig {
        banner: "Welcome.".into(),
        ..ServerConfig::default()
    });
    assert_eq!(h.output(), "220 Welcome.\r\n");
}

#[test]
fn login_success() {
    let mut h = fresh();
    check(
        &mut h,
        "USER alice\r\n",
        "331 Please specify the password.\r\n",
    );
    check(&mut h, "PASS secret\r\n", "230 Login successful.\r\n");
    let Some(Action::Authenticate { credentials, .. }) = h.actions.first() else {
        panic!("no Authenticate action: {:?}", h.actions);
    };
    assert_eq!(credentials.user, Bytes::from_static(b"alice"));
    assert_eq!(credentials.password.0, Bytes::from_static(b"secret"));
    assert!(!credentials.anonymous);
    check(&mut h, "PASS secret\r\n", "202 Already logged in.\r\n");
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_delayed_answer() {
    for user in ["alice", "mallory"] {
        let mut h = fresh();
        check(
            &mut h,
            &format!("USER {user}\r\n"),
            "331 Please specify the password.\r\n",
        );
        check(&mut h, "PASS wrong\r\nNOOP\r\n", "");
        h.advance(Duration::from_millis(999));
        assert_eq!(h.output(), "");
        h.advance(Duration::from_millis(1));
        assert_eq!(h.output(), "530 Login incorrect.\r\n200 NOOP ok.\r\n");
    }
}

#[test]
fn failed_logins_slow_down_then_disconnect() {
    let mut h = fresh();
    check(
        &mut h,
        "USER alice\r\nPASS a\r\n",
        "331 Please specify the password.\r\n",
    );
    h.advance(Duration::from_secs(1));
    assert_eq!(h.output(), "530 Login incorrect.\r\n");
    check(
        &mut h,
        "USER alice\r\nPASS b\r\n",
        "331 Please specify the password.\r\n",
    );
    h.advance(Duration::from_millis(1999));
    assert_eq!(h.output(), "");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.output(), "530 Login incorrect.\r\n");
    check(
        &mut h,
        "USER alice\r\nPASS c\r\n",
        "331 Please specify the password.\r\n",
    );
    h.advance(Duration::from_secs(4));
    assert_eq!(
        h.output(),
        "530 Login incorrect.\r\n421 Too many failed logins.\r\n"
    );
    assert!(h.closed);
    assert!(h.session.is_closed());
}

#[test]
fn login_delay_is_capped() {
    let config = ServerConfig {
        max_login_failures: 10,
        ..ServerConfig::default()
    };
    let mut h = Harness::new(config);
    h.output();
    for _ in 0..5 {
        h.input("USER x\r\nPASS y\r\n");
        h.advance(Duration::from_secs(5));
    }
    assert_eq!(h.output().matches("530 Login incorrect.").count(), 5);
}

#[test]
fn pass_needs_user_first() {
    let mut h = fresh();
    check(&mut h, "PASS secret\r\n", "503 Login with USER first.\r\n");
    check(&mut h, "ACCT x\r\n", "503 Login with USER first.\r\n");
}

#[test]
fn anonymous_login_only_when_enabled() {
    let mut h = Harness::new(anonymous_config());
    h.output();
    check(
        &mut h,
        "USER anonymous\r\nPASS me@example.com\r\n",
        "331 Please specify the password.\r\n230 Login successful.\r\n",
    );
    let Some(Action::Authenticate { credentials, .. }) = h.actions.first() else {
        panic!()
    };
    assert!(credentials.anonymous);
    // Read-only: writes are refused.
    check(&mut h, "MKD x\r\n", "550 Permission denied.\r\n");

    let mut h = fresh();
    h.input("USER ftp\r\nPASS me@example.com\r\n");
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.output(),
        "331 Please specify the password.\r\n530 Login incorrect.\r\n"
    );
    let Some(Action::Authenticate { credentials, .. }) = h.actions.first() else {
        panic!()
    };
    assert!(!credentials.anonymous);
}

#[test]
fn account_when_the_authenticator_asks_for_one() {
    let mut h = fresh();
    h.behaviour.auth = false;
    check(
        &mut h,
        "USER carol\r\nPASS pw\r\n",
        "331 Please specify the password.\r\n",
    );
    let Some(Action::Authenticate { id, .. }) = h.held.pop() else {
        panic!()
    };
    h.event(Event::Authenticated {
        id,
        result: Err(AuthError::AccountRequired),
    });
    assert_eq!(h.output(), "332 Need account for login.\r\n");
    h.input("ACCT dept\r\n");
    let Some(Action::Authenticate { id, credentials }) = h.held.pop() else {
        panic!()
    };
    assert_eq!(credentials.account, Some(Bytes::from_static(b"dept")));
    assert_eq!(credentials.user, Bytes::from_static(b"carol"));
    h.event(Event::Authenticated {
        id,
        result: Ok(Permissions::ReadOnly),
    });
    assert_eq!(h.output(), "230 Login successful.\r\n");
    check(&mut h, "ACCT again\r\n", "202 ACCT not needed.\r\n");
}

#[test]
fn authentication_service_down_closes_with_421() {
    let mut h = fresh();
    h.behaviour.auth = false;
    h.input("USER carol\r\nPASS pw\r\n");
    let Some(Action::Authenticate { id, .. }) = h.held.pop() else {
        panic!()
    };
    h.output();
    h.event(Event::Authenticated {
        id,
        result: Err(AuthError::Unavailable),
    });
    assert_eq!(h.output(), "421 Login service unavailable.\r\n");
    assert!(h.closed);
}

#[test]
fn answers_to_stale_request_ids_are_ignored() {
    let mut h = fresh();
    h.behaviour.auth = false;
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    h.event(Event::Authenticated {
        id: RequestId(999),
        result: Ok(Permissions::ReadWrite),
    });
    assert_eq!(h.output(), "");
    h.event(Event::Storage {
        id: RequestId(999),
        result: Ok(Response::Done),
    });
    assert_eq!(h.output(), "");
    h.release();
    assert_eq!(h.output(), "230 Login successful.\r\n");
}

#[test]
fn commands_before_login() {
    let mut h = fresh();
    for line in [
        "PWD",
        "CWD /",
        "LIST",
        "RETR a",
        "STOR a",
        "PASV",
        "PORT 127,0,0,1,4,1",
        "MKD x",
        "SIZE a",
        "TYPE I",
        "MODE S",
    ] {
        check(
            &mut h,
            &format!("{line}\r\n"),
            "530 Please login with USER and PASS.\r\n",
        );
    }
    check(&mut h, "SYST\r\n", "215 UNIX Type: L8\r\n");
    check(&mut h, "NOOP\r\n", "200 NOOP ok.\r\n");
    check(&mut h, "OPTS UTF8 ON\r\n", "200 Always in UTF8 mode.\r\n");
    check(&mut h, "AUTH TLS\r\n", "502 TLS is not configured.\r\n");
    check(&mut h, "PBSZ 0\r\n", "503 PBSZ needs AUTH first.\r\n");
    check(&mut h, "PROT P\r\n", "503 PROT needs AUTH first.\r\n");
    check(&mut h, "LANG EN\r\n", "200 Using EN.\r\n");
    assert!(h.exchange("FEAT\r\n").starts_with("211-"));
    assert!(h.exchange("HELP\r\n").starts_with("214-"));
    assert!(h.exchange("STAT\r\n").contains("Not logged in"));
}

#[test]
fn user_again_restarts_the_login() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "USER bob\r\n",
        "331 Please specify the password.\r\n",
    );
    check(
        &mut h,
        "PWD\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    check(&mut h, "PASS hunter2\r\n", "230 Login successful.\r\n");
    check(&mut h, "MKD x\r\n", "550 Permission denied.\r\n");
}

/// STAT with a path lists files: it needs a login, before the first one
/// and after REIN or a new USER alike, and a logout tells the caller to drop
/// the previous user's storage.
#[test]
fn stat_with_a_path_needs_a_login() {
    let mut h = fresh();
    check(
        &mut h,
        "STAT /pub\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    assert!(h.exchange("STAT\r\n").starts_with("211-"));
    check(
        &mut h,
        "USER alice\r\n",
        "331 Please specify the password.\r\n",
    );
    check(
        &mut h,
        "STAT /pub\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    check(&mut h, "PASS secret\r\n", "230 Login successful.\r\n");
    assert!(h.exchange("STAT /pub\r\n").contains("a.txt"));
    take_actions(&mut h);

    check(&mut h, "REIN\r\n", "220 Service ready for new user.\r\n");
    assert_eq!(take_actions(&mut h), [Action::Logout]);
    check(
        &mut h,
        "STAT /pub\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    check(
        &mut h,
        "RETR /readme\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    assert_eq!(take_actions(&mut h), []);

    // USER while logged in ends that login too.
    let mut h = Harness::logged_in();
    take_actions(&mut h);
    check(
        &mut h,
        "USER bob\r\n",
        "331 Please specify the password.\r\n",
    );
    assert_eq!(take_actions(&mut h), [Action::Logout]);
    check(
        &mut h,
        "STAT /pub\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    assert_eq!(take_actions(&mut h), []);
    // REIN with nobody logged in has nothing to drop.
    check(&mut h, "REIN\r\n", "220 Service ready for new user.\r\n");
    assert_eq!(take_actions(&mut h), []);
}

/// The root of a user's tree stays: the engine refuses before the storage
/// is asked, whatever the storage would do.
#[test]
fn the_root_can_be_neither_removed_nor_renamed() {
    let mut h = Harness::logged_in();
    take_actions(&mut h);
    let refused = "550 The root directory cannot be removed or renamed.\r\n";
    for command in ["RMD /\r\n", "XRMD .\r\n", "RMD pub/..\r\n", "RNFR /\r\n"] {
        check(&mut h, command, refused);
    }
    check(&mut h, "RNFR pub\r\n", "350 Ready for RNTO.\r\n");
    check(&mut h, "RNTO /\r\n", refused);
    let storage_asked: Vec<_> = take_actions(&mut h)
        .into_iter()
        .filter(|a| matches!(a, Action::Storage { request, .. } if !matches!(request, Request::Stat(_))))
        .collect();
    assert_eq!(storage_asked, []);
}

#[test]
fn rein_returns_to_the_just_connected_state() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "TYPE I\r\nCWD pub\r\n",
        "200 Switching to Binary mode.\r\n250 Directory successfully changed.\r\n",
    );
    check(&mut h, "REIN\r\n", "220 Service ready for new user.\r\n");
    check(
        &mut h,
        "PWD\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    check(
        &mut h,
        "HOST ftp.example.com\r\n",
        "220 FTP server ready.\r\n",
    );
    check(
        &mut h,
        "USER alice\r\nPASS secret\r\nPWD\r\n",
        "331 Please specify the password.\r\n230 Login successful.\r\n257 \"/\" is the current directory\r\n",
    );
    check(
        &mut h,
        "SIZE readme\r\n",
        "550 SIZE not allowed in ASCII mode.\r\n",
    );
}

#[test]
fn quit_closes() {
    let mut h = Harness::logged_in();
    check(&mut h, "QUIT\r\nNOOP\r\n", "221 Goodbye.\r\n");
    assert!(h.closed);
    check(&mut h, "NOOP\r\n", "");
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn host_before_user_only() {
    let mut h = fresh();
    check(
        &mut h,
        "HOST ftp.example.com\r\n",
        "220 FTP server ready.\r\n",
    );
    check(
        &mut h,
        "USER alice\r\n",
        "331 Please specify the password.\r\n",
    );
    check(
        &mut h,
        "HOST other.example.com\r\n",
        "503 HOST must come before USER.\r\n",
    );
    check(&mut h, "PASS secret\r\n", "230 Login successful.\r\n");
    let Some(Action::Authenticate { credentials, .. }) = h.actions.first() else {
        panic!()
    };
    assert_eq!(
        credentials.host,
        Some(HostName::Domain("ftp.example.com".into()))
    );
    let mut h = fresh();
    check(
        &mut h,
        "HOST host:21\r\n",
        "501 Malformed argument to HOST.\r\n",
    );
}

// ---- navigation ------------------------------------------------------------

#[test]
fn pwd_cwd_cdup() {
    let mut h = Harness::logged_in();
    check(&mut h, "PWD\r\n", "257 \"/\" is the current directory\r\n");
    check(
        &mut h,
        "CWD pub\r\n",
        "250 Directory successfully changed.\r\n",
    );
    check(
        &mut h,
        "XPWD\r\n",
        "257 \"/pub\" is the current directory\r\n",
    );
    check(
        &mut h,
        "CDUP\r\n",
        "250 Directory successfully changed.\r\n",
    );
    check(&mut h, "PWD\r\n", "257 \"/\" is the current directory\r\n");
    check(
        &mut h,
        "XCWD /pub\r\nXCUP\r\nPWD\r\n",
        "250 Directory successfully changed.\r\n250 Directory successfully changed.\r\n257 \"/\" is the current directory\r\n",
    );
    check(
        &mut h,
        "CWD missing\r\n",
        "550 No such file or directory.\r\n",
    );
    check(
        &mut h,
        "CWD readme\r\n",
        "550 Failed to change directory: not a directory.\r\n",
    );
    check(
        &mut h,
        "CWD a\0b\r\n",
        "501 File name holds a NUL byte.\r\n",
    );
}

#[test]
fn dot_dot_stays_in_the_root() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "CWD ../../../..\r\nPWD\r\n",
        "250 Directory successfully changed.\r\n257 \"/\" is the current directory\r\n",
    );
    check(
        &mut h,
        "CWD pub/../../pub\r\nPWD\r\n",
        "250 Directory successfully changed.\r\n257 \"/pub\" is the current directory\r\n",
    );
    let stats: Vec<_> = h
        .actions
        .iter()
        .filter_map(|a| {
            if let Action::Storage {
                request: Request::Stat(p),
                ..
            } = a
            {
                Some(p.to_string())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(stats, ["/", "/pub"]);
}

#[test]
fn pwd_and_mkd_double_quotes() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "MKD foo\"bar\r\n",
        "257 \"/foo\"\"bar\" created\r\n",
    );
    check(
        &mut h,
        "CWD foo\"bar\r\nPWD\r\n",
        "250 Directory successfully changed.\r\n257 \"/foo\"\"bar\" is the current directory\r\n",
    );
}

// ---- transfer parameters ---------------------------------------------------

#[test]
fn type_mode_stru_allo() {
    let mut h = Harness::logged_in();
    for (line, reply) in [
        ("TYPE A", "200 Switching to ASCII mode."),
        ("TYPE A N", "200 Switching to ASCII mode."),
        ("TYPE A T", "200 Switching to ASCII mode."),
        ("TYPE I", "200 Switching to Binary mode."),
        ("TYPE L 8", "200 Switching to Binary mode."),
        ("TYPE A C", "504 Unsupported TYPE."),
        ("TYPE E", "504 Unsupported TYPE."),
        ("TYPE L 7", "504 Unsupported TYPE."),
        ("TYPE Z", "504 TYPE parameter not implemented."),
        ("TYPE", "501 TYPE needs an argument."),
        ("MODE S", "200 Mode set to S."),
        ("MODE B", "504 Only MODE S is supported."),
        ("MODE C", "504 Only MODE S is supported."),
        ("STRU F", "200 Structure set to F."),
        ("STRU R", "504 Only STRU F is supported."),
        ("STRU P", "504 Only STRU F is supported."),
        ("ALLO 1000", "202 ALLO command ignored."),
    ] {
        check(&mut h, &format!("{line}\r\n"), &format!("{reply}\r\n"));
    }
}

// ---- data connections --------------------------------------------------------

#[test]
fn pasv_and_epsv() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    assert!(h.actions.contains(&Action::ListenData {
        ip: "127.0.0.1".parse().unwrap(),
        ports: 49152..=65534
    }));
    check(
        &mut h,
        "EPSV\r\n",
        "229 Entering Extended Passive Mode (|||50000|)\r\n",
    );
    check(
        &mut h,
        "EPSV 1\r\n",
        "229 Entering Extended Passive Mode (|||50000|)\r\n",
    );
    check(
        &mut h,
        "EPSV 2\r\n",
        "522 Network protocol not supported, use (1)\r\n",
    );
    check(
        &mut h,
        "EPSV 9\r\n",
        "522 Network protocol not supported, use (1)\r\n",
    );
    check(&mut h, "EPSV ALL\r\n", "200 EPSV ALL ok.\r\n");
    check(&mut h, "PASV\r\n", "500 EPSV ALL in effect; use EPSV.\r\n");
    check(
        &mut h,
        "PORT 127,0,0,1,4,1\r\n",
        "500 EPSV ALL in effect; use EPSV.\r\n",
    );
    check(
        &mut h,
        "EPRT |1|127.0.0.1|1025|\r\n",
        "500 EPSV ALL in effect; use EPSV.\r\n",
    );
    check(
        &mut h,
        "EPSV\r\n",
        "229 Entering Extended Passive Mode (|||50000|)\r\n",
    );
}

#[test]
fn pasv_announces_the_configured_address() {
    let config = ServerConfig {
        passive_address: Some("203.0.113.7".parse().unwrap()),
        passive_ports: 50000..=50010,
        ..ServerConfig::default()
    };
    let mut h = Harness::new(config);
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    check(
        &mut h,
        "PASV\r\n",
        "227 Entering Passive Mode (203,0,113,7,195,80).\r\n",
    );
    assert!(h.actions.contains(&Action::ListenData {
        ip: "127.0.0.1".parse().unwrap(),
        ports: 50000..=50010
    }));
}

#[test]
fn listen_failure_is_425() {
    let mut h = Harness::logged_in();
    h.behaviour.client_connects = false;
    h.session.handle_input(b"PASV\r\n", h.now);
    while h.session.poll_action().is_some() {}
    h.event(Event::ListenFailed);
    assert_eq!(h.output(), "425 Could not open a passive port.\r\n");
}

#[test]
fn ipv6_control_connection() {
    let mut h = Harness::with_addresses(
        ServerConfig::default(),
        "[::1]:40000".parse().unwrap(),
        "[::1]:21".parse().unwrap(),
    );
    h.output();
    h.behaviour.client_connects = false;
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    check(
        &mut h,
        "EPSV\r\n",
        "229 Entering Extended Passive Mode (|||50000|)\r\n",
    );
    assert!(h.actions.contains(&Action::ListenData {
        ip: "::1".parse().unwrap(),
        ports: 49152..=65534
    }));
    check(
        &mut h,
        "EPSV 1\r\n",
        "522 Network protocol not supported, use (2)\r\n",
    );
    check(
        &mut h,
        "EPSV 2\r\n",
        "229 Entering Extended Passive Mode (|||50000|)\r\n",
    );
    // As vsftpd: PASV on a pure IPv6 connection announces 0.0.0.0.
    check(
        &mut h,
        "PASV\r\n",
        "227 Entering Passive Mode (0,0,0,0,195,80).\r\n",
    );
    check(
        &mut h,
        "EPRT |2|::1|40001|\r\n",
        "200 EPRT command successful. Consider using EPSV.\r\n",
    );
    check(
        &mut h,
        "PORT 127,0,0,1,156,65\r\n",
        "504 Illegal PORT command.\r\n",
    );
}

#[test]
fn ipv4_mapped_addresses_are_the_same_host() {
    let mut h = Harness::with_addresses(
        ServerConfig::default(),
        "[::ffff:127.0.0.1]:40000".parse().unwrap(),
        "[::ffff:127.0.0.1]:21".parse().unwrap(),
    );
    h.output();
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    check(
        &mut h,
        "PORT 127,0,0,1,156,65\r\n",
        "200 PORT command successful. Consider using EPSV.\r\n",
    );
    check(
        &mut h,
        "PASV\r\n",
        "227 Entering Passive Mode (127,0,0,1,195,80).\r\n",
    );
    assert!(h.actions.contains(&Action::ListenData {
        ip: "127.0.0.1".parse().unwrap(),
        ports: 49152..=65534
    }));
    check(
        &mut h,
        "EPSV 1\r\n",
        "229 Entering Extended Passive Mode (|||50000|)\r\n",
    );
}

#[test]
fn port_and_eprt_refuse_bounces() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "PORT 127,0,0,1,156,65\r\n",
        "200 PORT command successful. Consider using EPSV.\r\n",
    );
    check(
        &mut h,
        "PORT 10,0,0,1,156,65\r\n",
        "504 Illegal PORT command.\r\n",
    );
    check(
        &mut h,
        "PORT 127,0,0,1,0,21\r\n",
        "504 Illegal PORT command.\r\n",
    );
    check(
        &mut h,
        "EPRT |1|127.0.0.1|1024|\r\n",
        "200 EPRT command successful. Consider using EPSV.\r\n",
    );
    check(
        &mut h,
        "EPRT |1|192.0.2.1|40000|\r\n",
        "504 Illegal EPRT command.\r\n",
    );
    check(
        &mut h,
        "EPRT |1|127.0.0.1|1023|\r\n",
        "504 Illegal EPRT command.\r\n",
    );
    check(
        &mut h,
        "EPRT |3|x|1|\r\n",
        "522 Network protocol not supported, use (1,2).\r\n",
    );
    check(
        &mut h,
        "PORT 1,2,3\r\n",
        "501 Malformed argument to PORT.\r\n",
    );
    // FXP only by configuration.
    let mut h = Harness::new(ServerConfig {
        allow_foreign_data_addresses: true,
        ..ServerConfig::default()
    });
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    check(
        &mut h,
        "PORT 10,0,0,1,156,65\r\n",
        "200 PORT command successful. Consider using EPSV.\r\n",
    );
}

#[test]
fn passive_connection_from_another_host_is_refused() {
    let mut h = Harness::logged_in();
    h.behaviour.client_connects = false;
    passive(&mut h);
    check(
        &mut h,
        "TYPE I\r\nRETR readme\r\n",
        "200 Switching to Binary mode.\r\n150 Opening BINARY mode data connection for /readme (7 bytes).\r\n",
    );
    take_actions(&mut h);
    h.event(Event::DataIncoming {
        peer: "192.0.2.66:5555".parse().unwrap(),
    });
    assert_eq!(take_actions(&mut h), [Action::RejectData]);
    assert_eq!(h.output(), "");
    h.event(Event::DataIncoming {
        peer: "127.0.0.1:5556".parse().unwrap(),
    });
    assert_eq!(h.output(), "226 Transfer complete.\r\n");
    assert_eq!(h.downloads, [b"read me".to_vec()]);
    let actions = take_actions(&mut h);
    assert_eq!(actions.first(), Some(&Action::AcceptData));
}

// ---- transfers -------------------------------------------------------------

#[test]
fn retr_needs_a_data_connection_setup() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "RETR readme\r\n",
        "425 Use PORT, PASV, EPRT or EPSV first.\r\n",
    );
    check(
        &mut h,
        "LIST\r\n",
        "425 Use PORT, PASV, EPRT or EPSV first.\r\n",
    );
}

#[test]
fn retr_when_the_client_connected_first_is_125() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    check(
        &mut h,
        "TYPE I\r\nRETR pub/a.txt\r\n",
        "200 Switching to Binary mode.\r\n125 Data connection already open; transfer starting.\r\n226 Transfer complete.\r\n",
    );
    assert_eq!(h.downloads, [b"hello\nworld\n".to_vec()]);
    // One connection per PASV.
    check(
        &mut h,
        "RETR pub/a.txt\r\n",
        "425 Use PORT, PASV, EPRT or EPSV first.\r\n",
    );
}

#[test]
fn retr_in_ascii_translates_line_ends() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    h.input("RETR pub/a.txt\r\n");
    assert!(h.actions.iter().any(|a| matches!(
        a,
        Action::Transfer {
            ascii: true,
            direction: Direction::Download,
            ..
        }
    )));
    assert_eq!(h.downloads, [b"hello\r\nworld\r\n".to_vec()]);
}

#[test]
fn rest_then_retr_resumes_and_is_used_once() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "TYPE I\r\nREST 6\r\n",
        "200 Switching to Binary mode.\r\n350 Restart position accepted (6).\r\n",
    );
    passive(&mut h);
    h.exchange("RETR pub/a.txt\r\n");
    passive(&mut h);
    h.exchange("RETR pub/a.txt\r\n");
    assert_eq!(
        h.downloads,
        [b"world\n".to_vec(), b"hello\nworld\n".to_vec()]
    );
    let offsets: Vec<u64> = h
        .actions
        .iter()
        .filter_map(|a| {
            if let Action::Storage {
                request: Request::OpenRead { offset, .. },
                ..
            } = a
            {
                Some(*offset)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(offsets, [6, 0]);
}

#[test]
fn rest_in_ascii_is_refused() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "REST 10\r\n",
        "501 REST not allowed in ASCII mode.\r\n",
    );
    check(
        &mut h,
        "REST 0\r\n",
        "350 Restart position accepted (0).\r\n",
    );
    check(&mut h, "REST x\r\n", "501 Malformed argument to REST.\r\n");
}

#[test]
fn retr_errors_come_without_150() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    check(
        &mut h,
        "RETR missing\r\n",
        "550 No such file or directory.\r\n",
    );
    check(&mut h, "RETR pub\r\n", "550 Is a directory.\r\n");
    check(&mut h, "RETR\r\n", "501 RETR needs an argument.\r\n");
}

#[test]
fn storage_errors_map_to_replies() {
    for (error, reply) in [
        (StorageError::NotFound, "550 No such file or directory.\r\n"),
        (StorageError::PermissionDenied, "550 Permission denied.\r\n"),
        (StorageError::InvalidName, "553 File name not allowed.\r\n"),
        (
            StorageError::StorageFull,
            "452 Insufficient storage space.\r\n",
        ),
        (
            StorageError::QuotaExceeded,
            "552 Storage allocation exceeded.\r\n",
        ),
        (StorageError::Busy, "450 File busy.\r\n"),
        (
            StorageError::Other("disk on fire\r\n200 fake".into()),
            "451 disk on fire  200 fake.\r\n",
        ),
    ] {
        let mut h = Harness::logged_in();
        h.behaviour.storage = false;
        h.input("MKD x\r\n");
        let Some(Action::Storage { id, .. }) = h.held.pop() else {
            panic!()
        };
        h.event(Event::Storage {
            id,
            result: Err(error),
        });
        assert_eq!(h.output(), reply);
    }
}

#[test]
fn stor_appe_and_resume() {
    let mut h = Harness::logged_in();
    check(&mut h, "TYPE I\r\n", "200 Switching to Binary mode.\r\n");
    passive(&mut h);
    h.upload = b"first".to_vec();
    check(
        &mut h,
        "STOR new.bin\r\n",
        "125 Data connection already open; transfer starting.\r\n226 Transfer complete.\r\n",
    );
    assert_eq!(h.fs.content("/new.bin"), Some(&b"first"[..]));
    passive(&mut h);
    h.upload = b"+more".to_vec();
    h.exchange("APPE new.bin\r\n");
    assert_eq!(h.fs.content("/new.bin"), Some(&b"first+more"[..]));
    passive(&mut h);
    h.upload = b"ST".to_vec();
    check(
        &mut h,
        "REST 3\r\n",
        "350 Restart position accepted (3).\r\n",
    );
    h.exchange("STOR new.bin\r\n");
    assert_eq!(h.fs.content("/new.bin"), Some(&b"firST"[..]));
    let modes: Vec<WriteMode> = h
        .actions
        .iter()
        .filter_map(|a| {
            if let Action::Storage {
                request: Request::OpenWrite { mode, .. },
                ..
            } = a
            {
                Some(*mode)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        modes,
        [WriteMode::Replace, WriteMode::Append, WriteMode::Resume(3)]
    );
}

#[test]
fn stor_in_ascii_translates_line_ends() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    h.upload = b"a\r\nb\r\n".to_vec();
    h.exchange("STOR t.txt\r\n");
    assert_eq!(h.fs.content("/t.txt"), Some(&b"a\nb\n"[..]));
}

#[test]
fn writes_need_write_permission() {
    let mut h = fresh();
    h.input("USER bob\r\nPASS hunter2\r\n");
    h.output();
    passive(&mut h);
    for line in [
        "STOR x",
        "APPE x",
        "STOU",
        "MKD d",
        "RMD pub",
        "DELE readme",
        "RNFR readme",
    ] {
        check(&mut h, &format!("{line}\r\n"), "550 Permission denied.\r\n");
    }
    assert!(h.fs.content("/readme").is_some());
}

#[test]
fn stor_into_a_missing_directory() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    check(
        &mut h,
        "STOR nowhere/x\r\n",
        "550 No such file or directory.\r\n",
    );
}

#[test]
fn stou_names_the_file_in_the_150() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    h.upload = b"u".to_vec();
    check(
        &mut h,
        "STOU\r\n",
        "125 FILE: file.1\r\n226 Transfer complete.\r\n",
    );
    assert_eq!(h.fs.content("/file.1"), Some(&b"u"[..]));
    h.behaviour.client_connects = false;
    passive(&mut h);
    check(&mut h, "STOU report\r\n", "150 FILE: report.2\r\n");
    h.event(Event::DataIncoming {
        peer: "127.0.0.1:6000".parse().unwrap(),
    });
    assert_eq!(h.output(), "226 Transfer complete.\r\n");
}

/// A STOU base that is not one file name (NUL, a slash, `..`) is
/// ignored: the storage never sees it (found by fuzzing: a NUL reached
/// the storage).
#[test]
fn stou_ignores_a_base_that_is_not_a_name() {
    for base in ["re\0port", "a/b", ".."] {
        let mut h = Harness::logged_in();
        passive(&mut h);
        h.input(&format!("STOU {base}\r\n"));
        let bases: Vec<_> = h
            .actions
            .iter()
            .filter_map(|a| {
                if let Action::Storage {
                    request: Request::CreateUnique { base, .. },
                    ..
                } = a
                {
                    Some(base.clone())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(bases, [None], "{base:?}");
        assert!(h.output().starts_with("125 FILE: file."), "{base:?}");
    }
}

#[test]
fn passive_transfer_waits_for_the_connection_then_times_out() {
    let mut h = Harness::logged_in();
    h.behaviour.client_connects = false;
    passive(&mut h);
    check(
        &mut h,
        "RETR readme\r\n",
        "150 Opening ASCII mode data connection for /readme (7 bytes).\r\n",
    );
    take_actions(&mut h);
    h.advance(Duration::from_secs(29));
    assert_eq!(h.output(), "");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.output(), "425 Failed to establish connection.\r\n");
    let actions = take_actions(&mut h);
    assert!(
        matches!(
            actions.as_slice(),
            [Action::CloseFile(_), Action::CloseData]
        ),
        "{actions:?}"
    );
    check(&mut h, "NOOP\r\n", "200 NOOP ok.\r\n");
}

#[test]
fn active_transfer_connects_to_the_port_address() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "PORT 127,0,0,1,156,65\r\n",
        "200 PORT command successful. Consider using EPSV.\r\n",
    );
    check(
        &mut h,
        "RETR readme\r\n",
        "150 Opening ASCII mode data connection for /readme (7 bytes).\r\n226 Transfer complete.\r\n",
    );
    assert!(h.actions.contains(&Action::ConnectData {
        to: "127.0.0.1:40001".parse().unwrap(),
        from_port: None
    }));
}

/// `NLST *.txt` and `NLST dir/*.txt`, as mget and mdelete send them: the
/// matching names, prefixed as asked; none matching is 550 No files
/// found, so mget fetches nothing rather than failing oddly.
#[test]
fn nlst_and_list_with_wildcards() {
    let mut h = Harness::logged_in();
    h.fs.dir("/logs")
        .file("/logs/a.txt", b"a")
        .file("/logs/b.txt", b"b")
        .file("/logs/c.gz", b"c")
        .file("/logs/.hidden.txt", b"h");
    let listed = |h: &mut Harness, command: &str| -> (String, String) {
        h.downloads.clear();
        h.input("PASV\r\n");
        h.output();
        h.input(command);
        let reply = h.output();
        let data = h
            .downloads
            .first()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_default();
        (reply, data)
    };
    let (reply, data) = listed(&mut h, "NLST logs/*.txt\r\n");
    assert!(reply.ends_with("226 Transfer complete.\r\n"), "{reply}");
    assert_eq!(data, "logs/a.txt\r\nlogs/b.txt\r\n");
    h.input("CWD logs\r\n");
    h.output();
    let (_, data) = listed(&mut h, "NLST *.t?t\r\n");
    assert_eq!(data, "a.txt\r\nb.txt\r\n");
    let (_, data) = listed(&mut h, "NLST [!a]*\r\n");
    assert_eq!(data, "b.txt\r\nc.gz\r\n");
    let (_, data) = listed(&mut h, "NLST .*\r\n");
    assert_eq!(data, ".hidden.txt\r\n");
    let (_, data) = listed(&mut h, "LIST -l *.gz\r\n");
    assert!(
        data.ends_with(" c.gz\r\n") && data.lines().count() == 1,
        "{data}"
    );
    let (reply, data) = listed(&mut h, "NLST *.zip\r\n");
    assert_eq!(reply, "550 No files found.\r\n");
    assert_eq!(data, "");
    let (reply, _) = listed(&mut h, "NLST /nowhere/*.txt\r\n");
    assert_eq!(reply, "550 No such file or directory.\r\n");
    let (_, data) = listed(&mut h, "NLST /read*\r\n");
    assert_eq!(data, "/readme\r\n");
    let long = format!("NLST {}\r\n", "*".repeat(300));
    let (reply, _) = listed(&mut h, &long);
    assert_eq!(reply, "501 Wildcard pattern too long.\r\n");
}

/// SITE CHMOD sets permission bits (octal, up to 777), for users who may
/// write; anything else is 501 and nothing is asked of the storage.
#[test]
fn site_chmod_sets_modes() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "SITE CHMOD 755 readme\r\n",
        "200 SITE CHMOD command ok.\r\n",
    );
    assert!(h.actions.iter().any(|a| matches!(
        a,
        Action::Storage {
            request: crate::storage::Request::SetMode { mode: 0o755, .. },
            ..
        }
    )));
    for bad in [
        "SITE CHMOD 4755 readme",
        "SITE CHMOD 9 readme",
        "SITE CHMOD 755",
        "SITE CHMOD rwx readme",
    ] {
        let reply = h.exchange(&format!("{bad}\r\n"));
        assert!(reply.starts_with("501 "), "{bad}: {reply}");
    }
    check(
        &mut h,
        "SITE CHMOD 644 missing\r\n",
        "550 No such file or directory.\r\n",
    );
    check(&mut h, "SITE HELP\r\n", "214 SITE CHMOD mode path.\r\n");
}

/// MFMT (and the older two-argument MDTM) set a file's modification
/// time, which MDTM and MLST then report; FEAT lists it; it needs write
/// permission and a well-formed time.
#[test]
fn mfmt_sets_the_modification_time() {
    let mut h = Harness::logged_in();
    let feat = h.exchange("FEAT\r\n");
    assert!(feat.contains(" MFMT\r\n"), "{feat}");
    check(
        &mut h,
        "MFMT 20200102030405 readme\r\n",
        "213 Modify=20200102030405; readme\r\n",
    );
    check(&mut h, "MDTM readme\r\n", "213 20200102030405\r\n");
    check(
        &mut h,
        "MDTM 20210102030405 readme\r\n",
        "213 Modify=20210102030405; readme\r\n",
    );
    check(&mut h, "MDTM readme\r\n", "213 20210102030405\r\n");
    check(
        &mut h,
        "MFMT 2020010203 readme\r\n",
        "501 MFMT needs YYYYMMDDHHMMSS and a path.\r\n",
    );
    check(
        &mut h,
        "MFMT 20201302030405 readme\r\n",
        "501 Bad time value.\r\n",
    );
    check(
        &mut h,
        "MFMT 20200102030405 missing\r\n",
        "550 No such file or directory.\r\n",
    );
    let mut anonymous = Harness::new(ServerConfig {
        allow_anonymous: true,
        ..ServerConfig::default()
    });
    anonymous.output();
    anonymous.input("USER anonymous\r\nPASS guest\r\n");
    anonymous.output();
    let refused = anonymous.exchange("MFMT 20200102030405 readme\r\n");
    assert!(refused.starts_with("550 "), "{refused}");
}

/// HASH with OPTS HASH and RANG. The harness's stand-in digest is the
/// hashed bytes themselves, so each reply shows which bytes were hashed.
#[test]
fn hash_digests_a_file_or_a_range_with_the_chosen_algorithm() {
    let mut h = Harness::logged_in();
    let feat = h.exchange("FEAT\r\n");
    assert!(
        feat.contains(" HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32\r\n"),
        "{feat}"
    );
    // "read me", zero-padded to SHA-256's 32 bytes.
    let padded = format!("72656164206d65{}", "00".repeat(25));
    let first_hash = format!("213 SHA-256 0-7 {padded} readme\r\n");
    let whole = "213 CRC32 0-7 72656164 readme\r\n";
    // RANG 2 5: bytes 2 to 5, both included ("ad m"); the reply's end is
    // one past the last byte, as the whole file's `0-7` is.
    let middle = "213 CRC32 2-6 6164206d readme\r\n";
    let ranged_transfer = "504 RANG applies to HASH only; range reset.\r\n";
    let transcript: &[(&str, &str)] = &[
        ("OPTS HASH\r\n", "200 SHA-256\r\n"),
        ("HASH readme\r\n", &first_hash),
        ("OPTS HASH crc32\r\n", "200 CRC32\r\n"),
        (
            "OPTS HASH SHA-3\r\n",
            "501 Unknown algorithm, current selection not changed.\r\n",
        ),
        ("HASH readme\r\n", whole),
        ("RANG 2 5\r\n", "350 Range set: bytes 2 to 5, for HASH.\r\n"),
        ("HASH readme\r\n", middle),
        // Used once: the next HASH covers the whole file again.
        ("HASH readme\r\n", whole),
        // An end past the file's stops at its end ("me"); a start past it
        // is an error.
        (
            "RANG 5 1000\r\n",
            "350 Range set: bytes 5 to 1000, for HASH.\r\n",
        ),
        ("HASH readme\r\n", "213 CRC32 5-7 6d650000 readme\r\n"),
        ("RANG 7 9\r\n", "350 Range set: bytes 7 to 9, for HASH.\r\n"),
        (
            "HASH readme\r\n",
            "554 Range starts past the end of the file (7 bytes).\r\n",
        ),
        (
            "RANG 5 2\r\n",
            "501 RANG end must not come before its start.\r\n",
        ),
        ("RANG 2 5\r\n", "350 Range set: bytes 2 to 5, for HASH.\r\n"),
        ("RANG 1 0\r\n", "350 Byte range reset.\r\n"),
        ("HASH readme\r\n", whole),
        // REST replaces a range.
        ("TYPE I\r\n", "200 Switching to Binary mode.\r\n"),
        ("RANG 2 5\r\n", "350 Range set: bytes 2 to 5, for HASH.\r\n"),
        ("REST 1\r\n", "350 Restart position accepted (1).\r\n"),
        ("HASH readme\r\n", whole),
        ("REST 0\r\n", "350 Restart position accepted (0).\r\n"),
        // A transfer never serves a range as if it were the file.
        (
            "PASV\r\n",
            "227 Entering Passive Mode (127,0,0,1,195,80).\r\n",
        ),
        ("RANG 2 5\r\n", "350 Range set: bytes 2 to 5, for HASH.\r\n"),
        ("RETR readme\r\n", ranged_transfer),
        ("RANG 2 5\r\n", "350 Range set: bytes 2 to 5, for HASH.\r\n"),
        ("STOR new\r\n", ranged_transfer),
        ("RANG 2 5\r\n", "350 Range set: bytes 2 to 5, for HASH.\r\n"),
        ("STOU\r\n", ranged_transfer),
        ("RANG 2 5\r\n", "350 Range set: bytes 2 to 5, for HASH.\r\n"),
        ("HASH readme\r\n", middle),
        ("HASH missing\r\n", "550 No such file or directory.\r\n"),
        ("HASH /\r\n", "550 Is a directory.\r\n"),
        ("HASH\r\n", "501 HASH needs an argument.\r\n"),
    ];
    for (command, reply) in transcript {
        check(&mut h, command, reply);
    }
    assert!(h.exchange("OPTS HASH MD5\r\nFEAT\r\n").contains(";MD5*;"));
    // REIN: back to the default algorithm.
    h.exchange("REIN\r\nUSER alice\r\nPASS secret\r\n");
    check(&mut h, "OPTS HASH\r\n", "200 SHA-256\r\n");
}

#[test]
fn hash_needs_a_login_and_can_be_turned_off() {
    let mut h = Harness::new(ServerConfig::default());
    h.output();
    check(
        &mut h,
        "HASH readme\r\n",
        "530 Please login with USER and PASS.\r\n",
    );
    let mut off = Harness::logged_in_with(ServerConfig {
        hash: false,
        ..ServerConfig::default()
    });
    assert!(!off.exchange("FEAT\r\n").contains("HASH"));
    check(&mut off, "HASH readme\r\n", "502 HASH is not enabled.\r\n");
    check(
        &mut off,
        "OPTS HASH MD5\r\n",
        "501 Option not understood.\r\n",
    );
}

/// `LIST -R` is refused, not served as one directory; other flags are
/// read and dropped as before.
#[test]
fn recursive_listing_is_refused() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "PASV\r\n",
        "227 Entering Passive Mode (127,0,0,1,195,80).\r\n",
    );
    for command in ["LIST -R\r\n", "LIST -laR pub\r\n", "NLST -R\r\n"] {
        check(
            &mut h,
            command,
            "504 Recursive listing (-R) is not supported; list each directory.\r\n",
        );
    }
    assert!(
        !h.actions
            .iter()
            .any(|a| matches!(a, Action::SendListing { .. }))
    );
    check(
        &mut h,
        "LIST -la\r\n",
        "125 Data connection already open; transfer starting.\r\n226 Transfer complete.\r\n",
    );
}

/// `EPRT |2|::|port|` (lftp, active mode on IPv6) names no address: the
/// control connection's peer, as vsftpd reads it; `0.0.0.0` likewise.
#[test]
fn eprt_without_an_address_means_the_control_peer() {
    let mut h = Harness::with_addresses(
        ServerConfig::default(),
        "[::1]:40000".parse().unwrap(),
        "[::1]:21".parse().unwrap(),
    );
    h.output();
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    check(
        &mut h,
        "EPRT |2|::|40001|\r\n",
        "200 EPRT command successful. Consider using EPSV.\r\n",
    );
    h.input("RETR readme\r\n");
    assert!(h.actions.contains(&Action::ConnectData {
        to: "[::1]:40001".parse().unwrap(),
        from_port: None
    }));
    let mut h = Harness::logged_in();
    h.input("EPRT |1|0.0.0.0|40002|\r\nRETR readme\r\n");
    assert!(h.actions.contains(&Action::ConnectData {
        to: "127.0.0.1:40002".parse().unwrap(),
        from_port: None
    }));
}

#[test]
fn active_from_port_l_minus_1_when_configured() {
    let mut h = Harness::new(ServerConfig {
        active_from_port_l_minus_1: true,
        ..ServerConfig::default()
    });
    h.input("USER alice\r\nPASS secret\r\nEPRT |1|127.0.0.1|40001|\r\nRETR readme\r\n");
    assert!(h.actions.contains(&Action::ConnectData {
        to: "127.0.0.1:40001".parse().unwrap(),
        from_port: Some(20)
    }));
}

#[test]
fn active_connect_failure_is_425() {
    let mut h = Harness::logged_in();
    h.behaviour.connect_succeeds = false;
    h.input("PORT 127,0,0,1,156,65\r\nRETR readme\r\n");
    h.output();
    h.held.clear();
    h.event(Event::DataConnectFailed);
    assert_eq!(h.output(), "425 Failed to establish connection.\r\n");
}

#[test]
fn transfer_failures() {
    for (result, reply) in [
        (
            Err(TransferError::ConnectionLost),
            "426 Connection closed; transfer aborted.\r\n",
        ),
        (
            Err(TransferError::Storage(StorageError::StorageFull)),
            "552 Storage allocation exceeded.\r\n",
        ),
        (
            Err(TransferError::Storage(StorageError::Other(
                "read error".into(),
            ))),
            "451 Local error: read error.\r\n",
        ),
    ] {
        let mut h = Harness::logged_in();
        h.behaviour.transfers_complete = false;
        passive(&mut h);
        h.exchange("RETR readme\r\n");
        h.start_held_transfer();
        h.finish_transfer(result);
        assert_eq!(h.output(), reply);
    }
}

#[test]
fn abor_during_a_transfer_is_426_then_226() {
    let mut h = Harness::logged_in();
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    h.start_held_transfer();
    // BSD ftp's urgent sequence before ABOR.
    h.input_bytes(b"\xff\xf4\xff\xf2ABOR\r\n");
    assert_eq!(
        h.output(),
        "426 Connection closed; transfer aborted.\r\n226 ABOR successful.\r\n"
    );
    assert!(h.actions.contains(&Action::AbortTransfer));
    check(&mut h, "NOOP\r\n", "200 NOOP ok.\r\n");
}

#[test]
fn abor_after_the_transfer_finished_gets_its_own_reply() {
    let mut h = Harness::logged_in();
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    h.start_held_transfer();
    h.session.handle_input(b"ABOR\r\n", h.now);
    // The transfer ended before the abort reached it.
    while let Some(action) = h.session.poll_action() {
        assert_eq!(action, Action::AbortTransfer);
    }
    h.finish_transfer(Ok(()));
    assert_eq!(
        h.output(),
        "226 Transfer complete.\r\n226 ABOR successful.\r\n"
    );
}

#[test]
fn abor_without_a_transfer_is_225() {
    let mut h = Harness::logged_in();
    check(&mut h, "ABOR\r\n", "225 No transfer to ABOR.\r\n");
    passive(&mut h);
    take_actions(&mut h);
    check(&mut h, "ABOR\r\n", "225 No transfer to ABOR.\r\n");
    assert_eq!(take_actions(&mut h), [Action::CloseData]);
}

#[test]
fn abor_while_waiting_for_the_data_connection() {
    let mut h = Harness::logged_in();
    h.behaviour.client_connects = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    check(
        &mut h,
        "ABOR\r\n",
        "426 Connection closed; transfer aborted.\r\n226 ABOR successful.\r\n",
    );
}

#[test]
fn commands_during_a_transfer_wait_except_abor_stat_quit() {
    let mut h = Harness::logged_in();
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    h.start_held_transfer();
    check(&mut h, "NOOP\r\nPWD\r\n", "");
    let status = h.exchange("STAT\r\n");
    assert!(status.starts_with("211-FTP server status:\r\n"), "{status}");
    assert!(
        status.contains("In progress: download of /readme"),
        "{status}"
    );
    h.finish_transfer(Ok(()));
    assert_eq!(
        h.output(),
        "226 Transfer complete.\r\n200 NOOP ok.\r\n257 \"/\" is the current directory\r\n"
    );
}

#[test]
fn quit_during_a_transfer_waits_for_it() {
    let mut h = Harness::logged_in();
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    h.start_held_transfer();
    check(&mut h, "QUIT\r\n", "");
    assert!(!h.closed);
    h.finish_transfer(Ok(()));
    assert_eq!(h.output(), "226 Transfer complete.\r\n221 Goodbye.\r\n");
    assert!(h.closed);
}

#[test]
fn control_connection_dropped_mid_transfer_aborts_it() {
    let mut h = Harness::logged_in();
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    h.start_held_transfer();
    take_actions(&mut h);
    h.event(Event::ControlClosed);
    let actions = take_actions(&mut h);
    assert_eq!(actions[0], Action::AbortTransfer);
    assert!(actions.contains(&Action::Close));
    assert_eq!(h.output(), "");
}

// ---- files and directories -----------------------------------------------------

#[test]
fn dele_mkd_rmd() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "DELE readme\r\n",
        "250 Delete operation successful.\r\n",
    );
    assert!(h.fs.content("/readme").is_none());
    check(
        &mut h,
        "DELE readme\r\n",
        "550 No such file or directory.\r\n",
    );
    check(&mut h, "DELE pub\r\n", "550 Is a directory.\r\n");
    check(&mut h, "MKD new\r\n", "257 \"/new\" created\r\n");
    check(&mut h, "XMKD /new/sub\r\n", "257 \"/new/sub\" created\r\n");
    check(&mut h, "MKD new\r\n", "550 File exists.\r\n");
    check(&mut h, "RMD new\r\n", "550 Directory not empty.\r\n");
    check(
        &mut h,
        "XRMD new/sub\r\n",
        "250 Remove directory operation successful.\r\n",
    );
    check(
        &mut h,
        "RMD new\r\n",
        "250 Remove directory operation successful.\r\n",
    );
    check(&mut h, "RMD new\r\n", "550 No such file or directory.\r\n");
    check(&mut h, "MKD\r\n", "501 MKD needs an argument.\r\n");
}

#[test]
fn rename() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "RNFR readme\r\nRNTO pub/moved\r\n",
        "350 Ready for RNTO.\r\n250 Rename successful.\r\n",
    );
    assert_eq!(h.fs.content("/pub/moved"), Some(&b"read me"[..]));
    check(&mut h, "RNTO x\r\n", "503 RNFR required first.\r\n");
    check(
        &mut h,
        "RNFR missing\r\n",
        "550 No such file or directory.\r\n",
    );
    check(&mut h, "RNTO x\r\n", "503 RNFR required first.\r\n");
    // Any other command in between cancels the rename.
    check(
        &mut h,
        "RNFR pub/moved\r\nNOOP\r\nRNTO x\r\n",
        "350 Ready for RNTO.\r\n200 NOOP ok.\r\n503 RNFR required first.\r\n",
    );
    check(
        &mut h,
        "RNFR pub/moved\r\nBOGUS\r\nRNTO x\r\n",
        "350 Ready for RNTO.\r\n500 Unknown command.\r\n503 RNFR required first.\r\n",
    );
}

#[test]
fn size_and_mdtm() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "SIZE readme\r\n",
        "550 SIZE not allowed in ASCII mode.\r\n",
    );
    check(
        &mut h,
        "TYPE I\r\nSIZE readme\r\n",
        "200 Switching to Binary mode.\r\n213 7\r\n",
    );
    check(
        &mut h,
        "SIZE pub\r\n",
        "550 Could not get file size: is a directory.\r\n",
    );
    check(
        &mut h,
        "SIZE missing\r\n",
        "550 No such file or directory.\r\n",
    );
    check(&mut h, "MDTM readme\r\n", "213 20261118100640\r\n");
    check(
        &mut h,
        "MDTM missing\r\n",
        "550 No such file or directory.\r\n",
    );
}

// ---- listings ------------------------------------------------------------------

#[test]
fn list_nlst_mlsd() {
    let mut h = Harness::logged_in();
    h.fs.file("/pub/.hidden", b"x");
    passive(&mut h);
    check(
        &mut h,
        "LIST pub\r\n",
        "125 Data connection already open; transfer starting.\r\n226 Transfer complete.\r\n",
    );
    passive(&mut h);
    h.exchange("LIST -la pub\r\n");
    passive(&mut h);
    h.exchange("NLST\r\n");
    passive(&mut h);
    h.exchange("NLST pub\r\n");
    passive(&mut h);
    h.exchange("MLSD pub\r\n");
    passive(&mut h);
    h.exchange("LIST readme\r\n");
    let listings: Vec<String> = h
        .downloads
        .iter()
        .map(|d| String::from_utf8(d.clone()).unwrap())
        .collect();
    assert_eq!(
        listings[0],
        "-rw-r--r--    1 ftp      ftp            12 Nov 18 10:06 a.txt\r\n"
    );
    assert_eq!(
        listings[1],
        "-rw-r--r--    1 ftp      ftp             1 Nov 18 10:06 .hidden\r\n-rw-r--r--    1 ftp      ftp            12 Nov 18 10:06 a.txt\r\n"
    );
    assert_eq!(listings[2], "pub\r\nreadme\r\n");
    assert_eq!(listings[3], "pub/a.txt\r\n");
    assert!(
        listings[4].starts_with("type=file;size=1;modify=20261118100640;perm=adfrw;unique="),
        "{}",
        listings[4]
    );
    assert!(
        listings[4].ends_with("UNIX.mode=0644; a.txt\r\n"),
        "{}",
        listings[4]
    );
    assert_eq!(listings[4].lines().count(), 2);
    assert_eq!(
        listings[5],
        "-rw-r--r--    1 ftp      ftp             7 Nov 18 10:06 readme\r\n"
    );
}

#[test]
fn listing_errors() {
    let mut h = Harness::logged_in();
    passive(&mut h);
    check(
        &mut h,
        "LIST missing\r\n",
        "550 No such file or directory.\r\n",
    );
    check(&mut h, "MLSD readme\r\n", "501 Not a directory.\r\n");
    check(
        &mut h,
        "NLST missing\r\n",
        "550 No such file or directory.\r\n",
    );
}

#[test]
fn mlst_and_opts_mlst() {
    let mut h = Harness::logged_in();
    let reply = h.exchange("MLST readme\r\n");
    let lines: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(lines[0], "250-Listing /readme");
    assert!(
        lines[1].starts_with(" type=file;size=7;modify=20261118100640;perm=adfrw;unique="),
        "{reply}"
    );
    assert!(lines[1].ends_with("; /readme"));
    assert_eq!(lines[2], "250 End");
    check(
        &mut h,
        "OPTS MLST type;size;\r\n",
        "200 MLST OPTS type;size;\r\n",
    );
    check(
        &mut h,
        "MLST\r\n",
        "250-Listing /\r\n type=dir; /\r\n250 End\r\n",
    );
    assert!(
        h.exchange("FEAT\r\n")
            .contains(" MLST type*;size*;modify;perm;unique;UNIX.mode;\r\n")
    );
    check(&mut h, "OPTS MLST\r\n", "200 MLST OPTS\r\n");
    check(
        &mut h,
        "MLST readme\r\n",
        "250-Listing /readme\r\n  /readme\r\n250 End\r\n",
    );
    check(
        &mut h,
        "MLST missing\r\n",
        "550 No such file or directory.\r\n",
    );
}

#[test]
fn stat_with_a_path_lists_on_the_control_connection() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "STAT pub\r\n",
        "212-Status follows:\r\n-rw-r--r--    1 ftp      ftp            12 Nov 18 10:06 a.txt\r\n212 End of status\r\n",
    );
    check(
        &mut h,
        "STAT readme\r\n",
        "213-Status follows:\r\n-rw-r--r--    1 ftp      ftp             7 Nov 18 10:06 .\r\n213 End of status\r\n",
    );
    check(
        &mut h,
        "STAT missing\r\n",
        "550 No such file or directory.\r\n",
    );
}

#[test]
fn names_that_would_forge_lines_are_not_listed() {
    let mut h = Harness::logged_in();
    h.fs.file("/pub/evil\r\n226 Transfer complete.", b"");
    passive(&mut h);
    h.exchange("NLST pub\r\n");
    assert_eq!(h.downloads, [b"pub/a.txt\r\n".to_vec()]);
    let stat = h.exchange("STAT pub\r\n");
    assert_eq!(stat.matches("\r\n").count(), 3, "{stat}");
}

// ---- information and errors -------------------------------------------------------

#[test]
fn feat_lists_the_extensions() {
    let mut h = fresh();
    check(
        &mut h,
        "FEAT\r\n",
        "211-Extensions supported:\r\n EPRT\r\n EPSV\r\n HOST\r\n LANG EN*\r\n MDTM\r\n MFMT\r\n HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32\r\n MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n",
    );
}

#[test]
fn opts_help_site_lang_and_security_commands() {
    let mut h = Harness::logged_in();
    check(&mut h, "OPTS UTF8 ON\r\n", "200 Always in UTF8 mode.\r\n");
    check(
        &mut h,
        "OPTS UTF8 OFF\r\n",
        "504 UTF8 cannot be turned off.\r\n",
    );
    check(&mut h, "OPTS FOO bar\r\n", "501 Option not understood.\r\n");
    check(&mut h, "HELP RETR\r\n", "214 RETR is supported.\r\n");
    check(&mut h, "HELP FOO\r\n", "502 Unknown command.\r\n");
    let help = h.exchange("HELP\r\n");
    assert!(
        help.starts_with("214-The following commands are recognized.\r\n ABOR ")
            || help.contains(" RETR "),
        "{help}"
    );
    assert!(help.ends_with("214 Help OK.\r\n"));
    check(&mut h, "SITE HELP\r\n", "214 SITE CHMOD mode path.\r\n");
    check(
        &mut h,
        "SITE UTIME x 20200101000000\r\n",
        "504 SITE command not implemented.\r\n",
    );
    check(
        &mut h,
        "LANG\r\n",
        "200 Using the default language, EN.\r\n",
    );
    check(&mut h, "LANG en-GB\r\n", "200 Using EN.\r\n");
    check(&mut h, "LANG fr\r\n", "504 Only EN is available.\r\n");
    check(
        &mut h,
        "CCC\r\n",
        "533 Command channel is not protected.\r\n",
    );
    check(
        &mut h,
        "ADAT eA==\r\n",
        "503 No security exchange in progress.\r\n",
    );
    check(
        &mut h,
        "MIC eA==\r\n",
        "502 Protected commands are not supported.\r\n",
    );
    check(&mut h, "SMNT /x\r\n", "502 SMNT not implemented.\r\n");
}

#[test]
fn stat_without_argument() {
    let mut h = Harness::logged_in();
    check(
        &mut h,
        "STAT\r\n",
        "211-FTP server status:\r\n     Connected to 127.0.0.1\r\n     Logged in as alice\r\n     TYPE: ASCII\r\n     No data connection\r\n211 End of status\r\n",
    );
}

#[test]
fn syntax_errors() {
    let mut h = Harness::logged_in();
    check(&mut h, "BOGUS\r\n", "500 Unknown command.\r\n");
    check(&mut h, "\r\n", "500 Empty command line.\r\n");
    check(&mut h, "PWD x\r\n", "501 PWD takes no argument.\r\n");
    check(&mut h, "CWD\r\n", "501 CWD needs an argument.\r\n");
    check(
        &mut h,
        "PROT X\r\n",
        "504 PROT parameter not implemented.\r\n",
    );
}

#[test]
fn too_long_line_is_500_and_the_session_goes_on() {
    let mut h = Harness::logged_in();
    let long = format!("RETR {}\r\nNOOP\r\n", "x".repeat(5000));
    check(
        &mut h,
        &long,
        "500 Command line too long.\r\n200 NOOP ok.\r\n",
    );
}

#[test]
fn telnet_negotiation_is_refused() {
    let mut h = Harness::logged_in();
    h.input_bytes(b"\xff\xfb\x18NOOP\r\n");
    assert_eq!(h.output_bytes(), b"\xff\xfe\x18200 NOOP ok.\r\n");
}

#[test]
fn pipelined_commands_wait_for_outstanding_requests() {
    let mut h = fresh();
    h.behaviour.auth = false;
    h.behaviour.storage = false;
    check(
        &mut h,
        "USER alice\r\nPASS secret\r\nCWD pub\r\nPWD\r\n",
        "331 Please specify the password.\r\n",
    );
    h.release();
    assert_eq!(h.output(), "230 Login successful.\r\n");
    h.release();
    assert_eq!(
        h.output(),
        "250 Directory successfully changed.\r\n257 \"/pub\" is the current directory\r\n"
    );
}

#[test]
fn unread_input_is_bounded() {
    let mut h = fresh();
    h.behaviour.auth = false;
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    let chunk = "NOOP\r\n".repeat(1000);
    let mut rounds = 0;
    while h.session.wants_input() {
        h.input(&chunk);
        rounds += 1;
        assert!(rounds < 100);
    }
    assert_eq!(h.output(), "");
    for _ in 0..10 {
        h.input(&chunk);
    }
    assert_eq!(h.output(), "421 Too much unread input.\r\n");
    assert!(h.closed);
}

#[test]
fn idle_timeout_closes_with_421_but_not_during_transfers() {
    // The idle time counts from the last command or the end of the last
    // piece of work, whichever is later.
    let mut h = Harness::logged_in();
    h.advance(Duration::from_secs(299));
    check(&mut h, "NOOP\r\n", "200 NOOP ok.\r\n");
    h.advance(Duration::from_secs(299));
    assert_eq!(h.output(), "");
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    h.start_held_transfer();
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.output(), "");
    h.finish_transfer(Ok(()));
    assert_eq!(h.output(), "226 Transfer complete.\r\n");
    // The idle time counts from the end of the transfer.
    assert!(h.session.poll_timeout() > Some(h.now));
    h.advance(Duration::from_secs(299));
    assert_eq!(h.output(), "");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.output(), "421 Timeout.\r\n");
    assert!(h.closed);

    // The same for a slow storage answer (a HASH of a large file, say).
    let mut h = Harness::logged_in();
    h.behaviour.storage = false;
    h.input("MDTM readme\r\n");
    h.advance(Duration::from_secs(600));
    assert_eq!(h.output(), "");
    h.release();
    assert!(h.output().starts_with("213 "));
    h.advance(Duration::from_secs(299));
    assert_eq!(h.output(), "");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.output(), "421 Timeout.\r\n");
}

/// A connection that never logs in is closed after the login timeout,
/// long before the idle timeout would; the clock restarts when a login
/// ends (REIN), and a logged-in session is not subject to it.
#[test]
fn connections_that_never_log_in_are_closed() {
    let mut h = Harness::new(ServerConfig {
        login_timeout: Duration::from_secs(30),
        ..ServerConfig::default()
    });
    h.output();
    h.advance(Duration::from_secs(20));
    check(
        &mut h,
        "USER alice\r\n",
        "331 Please specify the password.\r\n",
    );
    h.advance(Duration::from_secs(9));
    assert_eq!(h.output(), "");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.output(), "421 Login timed out.\r\n");
    assert!(h.closed);

    let mut h = Harness::new(ServerConfig {
        login_timeout: Duration::from_secs(30),
        ..ServerConfig::default()
    });
    h.output();
    h.input("USER alice\r\nPASS secret\r\n");
    h.output();
    h.advance(Duration::from_secs(100));
    check(&mut h, "NOOP\r\n", "200 NOOP ok.\r\n");
    check(&mut h, "REIN\r\n", "220 Service ready for new user.\r\n");
    h.advance(Duration::from_secs(29));
    assert_eq!(h.output(), "");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.output(), "421 Login timed out.\r\n");
}

/// A timeout too large for any clock ("never") saturates instead of
/// overflowing the deadline arithmetic.
#[test]
fn unbounded_timeouts_never_expire() {
    let mut h = Harness::new(ServerConfig {
        idle_timeout: Duration::MAX,
        data_connection_timeout: Duration::MAX,
        login_timeout: Duration::MAX,
        ..ServerConfig::default()
    });
    assert_eq!(h.output(), "220 FTP server ready.\r\n");
    h.advance(Duration::from_secs(10 * 365 * 24 * 3600));
    check(&mut h, "NOOP\r\n", "200 NOOP ok.\r\n");
    assert_eq!(
        h.session.poll_timeout(),
        Some(Timestamp::from_elapsed(Duration::MAX))
    );
    assert!(!h.closed);
}

#[test]
fn poll_timeout_reports_the_earliest_deadline() {
    let mut h = Harness::logged_in();
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(300))
    );
    h.behaviour.client_connects = false;
    passive(&mut h);
    h.exchange("RETR readme\r\n");
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(30))
    );
}

#[test]
fn passive_port_in_the_227_reply() {
    assert_eq!(PASSIVE_PORT, 195 * 256 + 80);
    let mut h = Harness::logged_in();
    h.behaviour = Behaviour {
        client_connects: false,
        ..Behaviour::default()
    };
    passive(&mut h);
}

#[test]
fn notices_when_enabled() {
    let mut h = Harness::new(ServerConfig {
        notices: true,
        ..ServerConfig::default()
    });
    h.input("USER alice\r\nPASS secret\r\nEPSV\r\nRETR readme\r\n");
    let notices: Vec<Notice> = std::iter::from_fn(|| h.session.poll_notice()).collect();
    assert_eq!(
        notices[0],
        Notice::Reply {
            code: ReplyCode::SERVICE_READY
        }
    );
    assert_eq!(
        notices[1],
        Notice::Command {
            verb: Verb::User,
            argument: Some(Bytes::from_static(b"alice"))
        }
    );
    assert_eq!(
        notices[3],
        Notice::Command {
            verb: Verb::Pass,
            argument: None
        }
    );
    assert!(notices.contains(&Notice::LoggedIn {
        user: Bytes::from_static(b"alice"),
        anonymous: false,
        permissions: Permissions::ReadWrite
    }));
    assert!(notices.iter().any(|n| matches!(n, Notice::TransferFinished { direction: Some(Direction::Download), bytes: 7, result: Ok(()), description, .. } if description == "download of /readme")));
    let debug = format!("{notices:?}");
    assert!(!debug.contains("secret"), "{debug}");

    let mut h = Harness::logged_in();
    h.input("NOOP\r\n");
    assert_eq!(h.session.poll_notice(), None);
}

#[test]
fn refused_session_says_421_and_closes() {
    let config = Arc::new(ServerConfig::default());
    let mut s = Session::refuse(
        config,
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:21".parse().unwrap(),
        "Too many connections.",
        Timestamp::ZERO,
    );
    assert_eq!(
        s.poll_action(),
        Some(Action::Send(Bytes::from_static(
            b"421 Too many connections.\r\n"
        )))
    );
    assert_eq!(s.poll_action(), Some(Action::Close));
    assert_eq!(s.poll_action(), None);
    assert!(s.is_closed());
}

#[test]
fn shutting_down_aborts_a_running_transfer() {
    let mut h = Harness::logged_in();
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.exchange("STOR x\r\n");
    h.start_held_transfer();
    take_actions(&mut h);
    h.session.shut_down();
    h.drain();
    assert_eq!(h.output(), "421 Server shutting down.\r\n");
    let actions = take_actions(&mut h);
    assert_eq!(actions.first(), Some(&Action::AbortTransfer));
    assert_eq!(actions.last(), Some(&Action::Close));
    assert!(h.fs.content("/x").is_none());
}

mod properties;
#[cfg(feature = "tls")]
mod tls;

/// Each ABOR gets its own reply, a second one sent while the first is
/// still stopping the transfer too (found by the one-final-reply property).
#[test]
fn a_second_abor_during_an_abort_is_answered() {
    let mut h = Harness::logged_in();
    h.behaviour.transfers_complete = false;
    passive(&mut h);
    h.input("LIST\r\n");
    h.start_held_transfer();
    assert!(h.output().starts_with("125 "));
    // The harness stops a transfer at once when told.
    check(
        &mut h,
        "ABOR\r\nABOR\r\n",
        "426 Connection closed; transfer aborted.\r\n226 ABOR successful.\r\n225 No transfer to ABOR.\r\n",
    );
    assert_eq!(
        h.actions
            .iter()
            .filter(|a| matches!(a, Action::AbortTransfer))
            .count(),
        1
    );
}
