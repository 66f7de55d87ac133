//! The admin page in a real browser: headless Chromium renders it with the
//! token, and the screenshot must show the dashboard (header, numbers and
//! chart bars), not the token form. Skipped, saying why, when Chromium is
//! not installed (Debian: `apt-get install chromium`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use minifb_tests::TestApp;
use minifb_tests::browser::{chromium, count_close, pixels};

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
    let dir =
        std::env::temp_dir().join(format!("minifb-chromium-{}", minifb_tests::unique_id("p")));
    std::fs::create_dir_all(&dir).unwrap();
    let screenshot = dir.join("admin.png");
    let url = format!("{}/admin#token={token}", app.base);

    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(&browser)
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
                &format!("--user-data-dir={}", dir.join("profile").display()),
                &format!("--screenshot={}", screenshot.display()),
                &url,
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("Chromium finished within 60 s")
    .unwrap();
    assert!(
        screenshot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (width, height, rgb) = pixels(&screenshot);
    assert_eq!((width, height), (1280, 1100));
    let header_blue = count_close(&rgb, [0x18, 0x77, 0xf2]);
    let chart_green = count_close(&rgb, [0x42, 0xb7, 0x2a]);
    assert!(
        header_blue > 10_000,
        "the header is missing ({header_blue} blue pixels)"
    );
    assert!(
        chart_green > 20,
        "no 2xx bars in the chart ({chart_green} green pixels)"
    );
    // Keep the picture for people to look at.
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-screenshot.png");
    std::fs::copy(&screenshot, &kept).ok();
    eprintln!("screenshot: {}", kept.display());
    Command::new("rm").arg("-rf").arg(&dir).status().ok();
}
