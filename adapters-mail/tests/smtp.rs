//! `SmtpMailer` against a throw-away SMTP server on loopback: a plain
//! delivery read back from what the server received, a server that does not
//! offer the STARTTLS the URL asks for (or refuses it), a server that
//! rejects the recipient, and servers that hang up mid-conversation. Each
//! failure must come back as an error, promptly, without a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_smtp;

use std::time::Duration;

use fake_smtp::{FakeSmtp, Script};
use minifb_adapters_mail::SmtpMailer;
use minifb_application::ports::{Mail, Mailer};

const FROM: &str = "minifb <noreply@minifb.test>";

const HANDING_OVER_FAILED: &str = "could not hand the message to the SMTP server";

/// Far below lettre's own 60 s timeout: a send that waits for it has hung.
const PROMPT: Duration = Duration::from_secs(10);

fn mail() -> Mail {
    Mail {
        to: "reader@example.com".into(),
        subject: "Reset your password".into(),
        text: "Hello,\nyour code is 123456.\n.a line that starts with a dot".into(),
    }
}

async fn send(url: &str) -> anyhow::Result<()> {
    let mailer = SmtpMailer::new(url, FROM)?;
    tokio::time::timeout(PROMPT, mailer.send(mail()))
        .await
        .expect("the send neither finished nor failed in time")
}

/// A send to `url` that must fail: its error says the hand-over failed,
/// and the chain below says why (returned, for the test to check).
async fn failure(url: &str) -> String {
    let err = send(url).await.expect_err("the send succeeded");
    assert_eq!(err.to_string(), HANDING_OVER_FAILED, "{err:#}");
    format!("{err:#}")
}

#[tokio::test]
async fn a_plain_delivery_reaches_the_server_with_recipient_subject_and_body() {
    let server = FakeSmtp::start(Script::default()).await;

    send(&server.url("")).await.unwrap();

    let received = server.finish().await;
    assert_eq!(received.mail_from, vec!["<noreply@minifb.test>"]);
    assert_eq!(received.rcpt_to, vec!["<reader@example.com>"]);
    assert!(received.quit, "the adapter leaves without QUIT");
    let message = &received.messages[0];
    let header = |name: &str| {
        message
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
    };
    assert_eq!(header("To").as_deref(), Some("reader@example.com"));
    assert_eq!(header("Subject").as_deref(), Some("Reset your password"));
    assert_eq!(
        header("From").as_deref(),
        Some("minifb <noreply@minifb.test>")
    );
    let body: Vec<&str> = message.lines().skip_while(|l| !l.is_empty()).collect();
    assert_eq!(
        body,
        [
            "",
            "Hello,",
            "your code is 123456.",
            ".a line that starts with a dot"
        ]
    );
}

#[tokio::test]
async fn each_mail_is_its_own_conversation() {
    let server = FakeSmtp::start_for(Script::default(), 2).await;
    let mailer = SmtpMailer::new(&server.url(""), FROM).unwrap();

    for _ in 0..2 {
        tokio::time::timeout(PROMPT, mailer.send(mail()))
            .await
            .unwrap()
            .unwrap();
    }

    let received = server.finish().await;
    assert_eq!(received.messages.len(), 2);
    assert_eq!(received.connections, 2);
}

/// A conversation the server ends before a message: it is an error that
/// names the server's reason, and no message was handed over.
#[tokio::test]
async fn a_conversation_refused_before_the_message_sends_nothing() {
    let offers_starttls = Script {
        offers_starttls: true,
        ..Script::default()
    };
    let rejects_recipients = Script {
        rejects_recipients: true,
        ..Script::default()
    };
    // (the server, the URL's query, with credentials, what the error
    // names, whether STARTTLS was asked for, whether a sender was named)
    let cases = [
        (
            Script::default(),
            "?tls=required",
            false,
            "STARTTLS",
            false,
            false,
        ),
        (offers_starttls, "?tls=required", false, "454", true, false),
        (Script::default(), "", true, "authentication", false, false),
        (rejects_recipients, "", false, "550", false, true),
    ];
    for (script, query, credentials, reason, starttls_asked, sender_named) in cases {
        let server = FakeSmtp::start(script).await;
        let mut url = server.url(query);
        if credentials {
            url = url.replace("smtp://", "smtp://user:secret@");
        }

        let said = failure(&url).await;

        assert!(said.contains(reason), "{url}: {said}");
        let received = server.finish().await;
        assert_eq!(received.starttls_asked, starttls_asked, "{url}");
        assert_eq!(!received.mail_from.is_empty(), sender_named, "{url}");
        assert!(received.messages.is_empty(), "{url}");
    }
}

#[tokio::test]
async fn a_server_that_hangs_up_mid_conversation_is_an_error_not_a_hang() {
    // Before the greeting, after EHLO, MAIL, RCPT, the DATA command and the
    // message itself: every point where the client waits for a reply.
    for verb in ["CONNECT", "EHLO", "MAIL", "RCPT", "DATA", "."] {
        let server = FakeSmtp::start(Script {
            hangs_up_at: Some(verb),
            ..Script::default()
        })
        .await;

        failure(&server.url("")).await;

        assert!(server.finish().await.messages.is_empty(), "{verb}");
    }
}

#[tokio::test]
async fn a_closed_port_is_an_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    let said = failure(&format!("smtp://127.0.0.1:{port}")).await;

    assert!(said.contains("Connection refused"), "{said}");
}

#[tokio::test]
async fn an_invalid_recipient_is_refused_before_connecting() {
    // Nothing listens on the port: reaching the network would fail otherwise.
    let mailer = SmtpMailer::new("smtp://127.0.0.1:9", FROM).unwrap();

    let err = mailer
        .send(Mail {
            to: "not an address".into(),
            ..mail()
        })
        .await
        .unwrap_err();

    assert_eq!(err.to_string(), "the recipient is not a valid address");
}

#[test]
fn configuration_errors_name_the_variable() {
    let cases = [
        ("http://mail.example.com", FROM, "MINIFB_SMTP_URL"),
        ("not a url", FROM, "MINIFB_SMTP_URL"),
        ("smtp://mail.example.com", "no at sign", "MINIFB_MAIL_FROM"),
    ];
    for (url, from, variable) in cases {
        let err = SmtpMailer::new(url, from).err().unwrap();
        assert!(
            err.to_string().starts_with(variable),
            "{url} / {from}: {err}"
        );
    }
    for url in [
        "smtp://mail.example.com",
        "smtp://mail.example.com:2525?tls=required",
        "smtps://user:pass@mail.example.com",
    ] {
        assert!(SmtpMailer::new(url, FROM).is_ok(), "{url}");
    }
}
