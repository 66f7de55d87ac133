//! The admin page in a real browser: headless Chromium renders it with the
//! token, and the screenshot must show the dashboard (header, numbers and
//! chart bars), not the token form. Skipped, saying why, when Chromium is
//! not installed (Debian: `apt-get install chromium`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use minifb_tests::TestApp;
use serde_json::json;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| {
            std::env::var_os("PATH")
                .map(|paths| {
                    std::env::split_paths(&paths)
                        .map(move |dir| dir.join(name))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .find(|path| path.is_file())
}

/// Pixels of the screenshot, as RGB.
fn pixels(path: &std::path::Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    let rgb = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, rgb)
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_page_renders_the_dashboard_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let app = TestApp::spawn().await;
    let Some(token) = app.admin_token.clone() else {
        eprintln!("skipped: set MINIFB_TEST_ADMIN_TOKEN to test the back office");
        return;
    };
    let user = app.user("browser").await;
    for n in 0..5 {
        app.post(
            "/posts",
            Some(&user.token),
            json!({ "content": format!("post {n}") }),
        )
        .await;
    }
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
    let header_blue = rgb
        .iter()
        .filter(|p| close(**p, [0x18, 0x77, 0xf2]))
        .count();
    let chart_green = rgb
        .iter()
        .filter(|p| close(**p, [0x42, 0xb7, 0x2a]))
        .count();
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
