//! Rebuilds the crate when a migration is added or changed: `embed_migrations!` in
//! `src/store/migrations.rs` reads `migrations/` at compile time, and cargo would not notice a new
//! migration directory on its own.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
