//! Writes the fuzz targets' seed corpora into `fuzz/seeds/<target>/`:
//! `cargo test --test it fuzz_seeds -- --ignored`. The seeds are defined in the fuzz crate
//! (`fuzz/src/seeds.rs`, which the wallet target also reads its passphrase from).

#[path = "../../fuzz/src/seeds.rs"]
mod seeds;

#[test]
#[ignore = "writes fuzz/seeds; run by hand after an encoding changes"]
fn write_fuzz_seeds() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let n = seeds::write_all(&dir)?;
    assert!(n > 0);
    Ok(())
}
