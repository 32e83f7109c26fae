//! `pg_probe` with mimalloc as the process's allocator, as the Node and
//! Python modules and the CLI ship: what `benches/storage.sh` times. The
//! options and output are `pg_probe`'s.
//!
//! ```text
//! DATABASE_URL=… cargo run --release --features postgres --example pg_probe_mimalloc
//! ```

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "pg_probe.rs"]
mod probe;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    probe::main()
}
