//! The local AWS emulator, for the tests that need one: MiniStack, started by
//! tests/aws/ministack.py, which sets `AWS_ENDPOINT_URL`. Without an endpoint on loopback
//! these tests say so and pass, so that a plain `cargo test` never talks to a real account.
#![allow(dead_code)]

/// The emulator's endpoint, if one on loopback is set.
pub fn endpoint() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| e.starts_with("http://127.0.0.1") || e.starts_with("http://localhost"))
}

/// A runtime and the SDK configuration for the emulator; `None` (having said which make
/// target runs the test) when there is none.
pub fn emulator(make_target: &str) -> Option<(tokio::runtime::Runtime, aws_config::SdkConfig)> {
    if endpoint().is_none() {
        eprintln!("skipped: no AWS_ENDPOINT_URL on loopback (run `{make_target}`)");
        return None;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let conf = rt.block_on(aws_config::defaults(aws_config::BehaviorVersion::latest()).load());
    Some((rt, conf))
}

/// Now, in epoch ms: the emulator keeps log events within its retention of the present.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
