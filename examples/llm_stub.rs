//! A local stand-in for an OpenAI-compatible chat-completions endpoint (the
//! one the model stage's tests use), to try the `llm` stage and measure its
//! throughput without a model:
//!
//! ```text
//! cargo run --release --example llm_stub -- 8123 &
//! OPENAI_BASE_URL=http://127.0.0.1:8123/v1 curate run data.jsonl --out out --stages llm
//! ```
//!
//! It answers at once with a score and a yes/no that follow from the
//! prompt's hash. Arguments: the port, then optionally the per mille of
//! prompts whose first attempt fails.

#[path = "../tests/it/llm_stub.rs"]
#[allow(dead_code)]
mod llm_stub;

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8123);
    let first_attempt_permille = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let stub = llm_stub::Stub::start_on(
        port,
        llm_stub::Faults {
            first_attempt_permille,
            ..Default::default()
        },
    );
    eprintln!("answering at {}", stub.url);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(10));
        eprintln!("{} requests", stub.count());
    }
}
