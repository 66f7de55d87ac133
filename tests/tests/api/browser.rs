//! The admin page in a real browser: headless Chromium renders it with the
//! token, and the screenshots must show the dashboard (header, numbers and
//! chart bars), not the token form: in the 24-hour view, and in the
//! last-hour view, whose per-minute bars are 24 times as wide. The rendered
//! page must also show the open streams of every process and the latency
//! table. Skipped, saying why, when Chromium is not installed (Debian:
//! `apt-get install chromium`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use minifb_tests::TestApp;
use minifb_tests::browser::{chromium, count_close, pixels};

/// Runs headless Chromium on `url` with a profile of its own under `dir`
/// (the chosen chart view is kept in the profile) and `action`
/// (`--screenshot=...` or `--dump-dom`).
async fn chromium_on(browser: &Path, dir: &Path, profile: &str, url: &str, action: &str) -> Output {
    tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--window-size=1280,1100",
                "--virtual-time-budget=8000",
                &format!("--user-data-dir={}", dir.join(profile).display()),
                action,
                url,
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("Chromium finished within 60 s")
    .unwrap()
}

/// A screenshot of `url`: its pixels, after checking its size.
async fn screenshot(browser: &Path, dir: &Path, name: &str, url: &str) -> Vec<[u8; 3]> {
    let file = dir.join(format!("{name}.png"));
    let output = chromium_on(
        browser,
        dir,
        name,
        url,
        &format!("--screenshot={}", file.display()),
    )
    .await;
    assert!(
        file.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (width, height, rgb) = pixels(&file);
    assert_eq!((width, height), (1280, 1100));
    // Keep the picture for people to look at.
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("admin-{name}.png"));
    std::fs::copy(&file, &kept).ok();
    eprintln!("screenshot: {}", kept.display());
    rgb
}

/// The text of the element with this id in a dumped DOM (no nested tags).
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let open = start + dom[start..].find('>').unwrap() + 1;
    let close = open + dom[open..].find('<').unwrap();
    &dom[open..close]
}

/// The cells of the table row that starts with `first` in a dumped DOM.
fn row_of(dom: &str, first: &str) -> Vec<String> {
    let start = dom
        .find(&format!("<td>{first}</td>"))
        .unwrap_or_else(|| panic!("no row for {first}"));
    let end = start + dom[start..].find("</tr>").unwrap();
    dom[start..end]
        .split("</td>")
        .filter_map(|cell| cell.rsplit('>').next())
        .filter(|cell| !cell.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_page_renders_the_dashboard_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let Some((app, token)) = TestApp::with_admin_token().await else {
        return;
    };
    let user = app.user("browser").await;
    app.posts_by(&user, 5).await;
    let _stream = app.stream_of(&user, None).await;
    let dir =
        std::env::temp_dir().join(format!("minifb-chromium-{}", minifb_tests::unique_id("p")));
    std::fs::create_dir_all(&dir).unwrap();
    let url = |view: &str| format!("{}/admin#token={token}&view={view}", app.base);

    let day = screenshot(&browser, &dir, "day", &url("day")).await;
    let hour = screenshot(&browser, &dir, "hour", &url("hour")).await;
    let dom = chromium_on(&browser, &dir, "dom", &url("hour"), "--dump-dom").await;
    let dom = String::from_utf8_lossy(&dom.stdout);

    let header_blue = count_close(&day, [0x18, 0x77, 0xf2]);
    let day_green = count_close(&day, [0x42, 0xb7, 0x2a]);
    let hour_green = count_close(&hour, [0x42, 0xb7, 0x2a]);
    assert!(
        header_blue > 10_000,
        "the header is missing ({header_blue} blue pixels)"
    );
    assert!(
        day_green > 20,
        "no 2xx bars in the 24-hour chart ({day_green} green pixels)"
    );
    // The same requests in minute bars of 1/60 of the width instead of
    // 1/1440.
    assert!(
        hour_green > 1000 && hour_green > 4 * day_green,
        "the last-hour chart does not spread the minutes out \
         ({hour_green} green pixels, {day_green} in the 24-hour chart)"
    );

    assert_eq!(
        text_of(&dom, "chart-title"),
        "Requests per minute, last hour"
    );
    let total: i64 = text_of(&dom, "open-streams-total").parse().unwrap();
    assert!(total >= 1, "the open stream is counted: {total}");
    assert!(
        text_of(&dom, "open-streams-detail").contains("Per process: "),
        "{}",
        text_of(&dom, "open-streams-detail")
    );
    let posts = row_of(&dom, "POST /posts");
    assert_eq!(posts.len(), 4, "endpoint, requests, p50, p99: {posts:?}");
    assert!(posts[1].parse::<i64>().unwrap() >= 5, "{posts:?}");
    for quantile in &posts[2..] {
        let ms: f64 = quantile.replace(',', "").parse().unwrap();
        assert!(ms > 0.0, "{posts:?}");
    }
    Command::new("rm").arg("-rf").arg(&dir).status().ok();
}
