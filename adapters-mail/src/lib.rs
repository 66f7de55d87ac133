//! Mail adapters of the `Mailer` port: an outbox file by default (one JSON
//! line per message, the development and test mailbox), SMTP when
//! `MINIFB_SMTP_URL` is set. Errors carry what failed (the file, the SMTP
//! server) for the log; the caller decides what a failed delivery means.

use std::path::PathBuf;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minifb_application::ports::{Mail, Mailer};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Appends each message as one JSON line `{to, subject, text, created_at}`
/// to a file: the development and test mailbox.
pub struct OutboxMailer {
    path: PathBuf,
    lock: Mutex<()>,
}

impl OutboxMailer {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(&serde_json::json!({
            "to": mail.to,
            "subject": mail.subject,
            "text": mail.text,
            "created_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        }))?;
        line.push('\n');
        // One writer at a time, so lines never interleave.
        let _guard = self.lock.lock().await;
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.ok();
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .with_context(|| format!("could not open the mail outbox {}", self.path.display()))?;
        file.write_all(line.as_bytes()).await?;
        file.flush().await?;
        Ok(())
    }
}

/// Sends over SMTP (`smtp://`, `smtps://`, `smtp://...?tls=required`).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| anyhow::anyhow!("MINIFB_SMTP_URL is not a valid smtp:// or smtps:// URL"))?
            .build();
        let from = from
            .parse()
            .map_err(|_| anyhow::anyhow!("MINIFB_MAIL_FROM is not a valid mailbox"))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail
                .to
                .parse()
                .context("the recipient is not a valid address")?)
            .subject(mail.subject)
            .body(mail.text)?;
        self.transport
            .send(message)
            .await
            .context("could not hand the message to the SMTP server")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_gets_one_json_line_per_message() {
        let dir = std::env::temp_dir().join(format!("minifb-outbox-{}", uuid_like()));
        let path = dir.join("outbox.jsonl");
        let mailer = OutboxMailer::new(&path);
        for n in 0..2 {
            mailer
                .send(Mail {
                    to: "a@b.c".into(),
                    subject: format!("s{n}"),
                    text: "line one\nline two".into(),
                })
                .await
                .unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = written
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["subject"], "s1");
        assert_eq!(lines[0]["text"], "line one\nline two");
        assert!(lines[0]["created_at"].as_str().unwrap().ends_with('Z'));
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn concurrent_messages_never_share_a_line() {
        let dir = std::env::temp_dir().join(format!("minifb-outbox-{}", uuid_like()));
        let path = dir.join("outbox.jsonl");
        let mailer = std::sync::Arc::new(OutboxMailer::new(&path));
        let sends: Vec<_> = (0..16)
            .map(|n| {
                let mailer = mailer.clone();
                tokio::spawn(async move {
                    mailer
                        .send(Mail {
                            to: format!("reader{n}@b.c"),
                            subject: "s".repeat(4096),
                            text: "t".repeat(4096),
                        })
                        .await
                })
            })
            .collect();
        for send in sends {
            send.await.unwrap().unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap();
        let mut recipients: Vec<String> = written
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["to"].to_string())
            .collect();
        recipients.sort();
        recipients.dedup();
        assert_eq!(recipients.len(), 16);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn an_outbox_that_cannot_be_opened_is_an_error_naming_the_file() {
        // Its parent is a file, so neither the folder nor the file can be made.
        let blocker = std::env::temp_dir().join(format!("minifb-outbox-{}", uuid_like()));
        std::fs::write(&blocker, "").unwrap();
        let path = blocker.join("outbox.jsonl");
        let mailer = OutboxMailer::new(&path);

        let err = mailer
            .send(Mail {
                to: "a@b.c".into(),
                subject: "s".into(),
                text: "t".into(),
            })
            .await
            .unwrap_err();

        assert_eq!(
            err.to_string(),
            format!("could not open the mail outbox {}", path.display())
        );
        std::fs::remove_file(blocker).ok();
    }

    fn uuid_like() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{}-{nanos:x}", std::process::id())
    }
}
