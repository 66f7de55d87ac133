//! A throw-away SMTP server on loopback (RFC 5321, the part a client that
//! sends one message uses): it answers from a [`Script`] and records what
//! it received. Written here rather than taken from crates.io so that the
//! tests need nothing but tokio, and so that misbehaving on purpose (hanging
//! up at a given command, refusing STARTTLS) is one field of the script.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;

/// How the server behaves; the default is a well-behaved server that offers
/// 8BITMIME and nothing else (no STARTTLS, no AUTH).
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// Lists STARTTLS in its EHLO reply, then refuses it with 454.
    pub offers_starttls: bool,
    /// Answers every RCPT with 550.
    pub rejects_recipients: bool,
    /// Closes the connection without a reply when this command arrives:
    /// a verb (`"EHLO"`, `"MAIL"`, ...), `"."` for the end of the message,
    /// or `"CONNECT"` for before the greeting.
    pub hangs_up_at: Option<&'static str>,
}

/// What the server saw, over all its connections.
#[derive(Debug, Default)]
pub struct Received {
    pub connections: usize,
    pub mail_from: Vec<String>,
    pub rcpt_to: Vec<String>,
    /// Each message as sent after DATA, dot-stuffing undone, lines joined
    /// with `\n`.
    pub messages: Vec<String>,
    pub starttls_asked: bool,
    pub quit: bool,
}

pub struct FakeSmtp {
    port: u16,
    task: JoinHandle<Received>,
}

impl FakeSmtp {
    /// A server for one connection.
    pub async fn start(script: Script) -> Self {
        Self::start_for(script, 1).await
    }

    /// A server that serves `connections` connections, one after another.
    pub async fn start_for(script: Script, connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut received = Received::default();
            for _ in 0..connections {
                let (stream, _) = listener.accept().await.unwrap();
                received.connections += 1;
                converse(stream, &script, &mut received).await;
            }
            received
        });
        Self { port, task }
    }

    /// `smtp://127.0.0.1:<port>` followed by `rest` (a query, say).
    pub fn url(&self, rest: &str) -> String {
        format!("smtp://127.0.0.1:{}{rest}", self.port)
    }

    /// Waits until every expected connection has ended; what they carried.
    pub async fn finish(self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the client did not connect, or did not leave")
            .unwrap()
    }
}

async fn converse(stream: tokio::net::TcpStream, script: &Script, received: &mut Received) {
    let hangs_up_at = |verb: &str| script.hangs_up_at == Some(verb);
    if hangs_up_at("CONNECT") {
        return;
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    reply(&mut write, "220 fake.test ESMTP ready").await;
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if hangs_up_at(&verb) {
            return;
        }
        let answer = match verb.as_str() {
            "EHLO" => {
                let starttls = if script.offers_starttls {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                format!("250-fake.test\r\n{starttls}250 8BITMIME")
            }
            "HELO" | "RSET" | "NOOP" => "250 OK".into(),
            "MAIL" => {
                received.mail_from.push(path_of(&line));
                "250 OK".into()
            }
            "RCPT" if script.rejects_recipients => "550 5.1.1 no such mailbox".into(),
            "RCPT" => {
                received.rcpt_to.push(path_of(&line));
                "250 OK".into()
            }
            "DATA" => {
                reply(&mut write, "354 end with <CRLF>.<CRLF>").await;
                let mut message = Vec::new();
                loop {
                    match lines.next_line().await {
                        Ok(Some(line)) if line == "." => break,
                        Ok(Some(line)) => {
                            // RFC 5321 4.5.2: the client doubled a leading dot.
                            message.push(line.strip_prefix('.').unwrap_or(&line).to_owned());
                        }
                        _ => return,
                    }
                }
                if hangs_up_at(".") {
                    return;
                }
                received.messages.push(message.join("\n"));
                "250 queued".into()
            }
            "STARTTLS" => {
                received.starttls_asked = true;
                "454 4.7.0 TLS not available".into()
            }
            "QUIT" => {
                received.quit = true;
                reply(&mut write, "221 bye").await;
                return;
            }
            _ => "502 5.5.1 command not implemented".into(),
        };
        reply(&mut write, &answer).await;
    }
}

/// The address of `MAIL FROM:<a@b> PARAM` or `RCPT TO:<a@b>`, brackets kept.
fn path_of(line: &str) -> String {
    let (_, rest) = line.split_once(':').unwrap_or_default();
    rest.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn reply(write: &mut OwnedWriteHalf, answer: &str) {
    // The client may already have gone (that is what some tests check).
    write
        .write_all(format!("{answer}\r\n").as_bytes())
        .await
        .ok();
}
