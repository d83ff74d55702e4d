//! The binary carries one TLS crypto provider, shared by the SQL drivers and the SQL Server
//! bridge. With two compiled in (sqlx's `ring` beside tiberius's `aws-lc-rs`), rustls cannot pick
//! one by itself: building a TLS configuration panics unless the process installed one first.

#[test]
fn rustls_picks_its_crypto_provider_by_itself() {
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "nothing installed a provider by hand in this test"
    );
    // Panics with "no process-level CryptoProvider available" when several are compiled in.
    let _config = rustls::ClientConfig::builder();
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
}
