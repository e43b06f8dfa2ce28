//! Background jobs of the inventory: the secrets key file re-read (a `rspd keys rotate` run by another process
//! becomes active here without a restart) and the stock levels per operator and profile type published as
//! metrics, with a warning when a type with a low-stock threshold runs low (the ES2+ DownloadOrder pool,
//! SGP.22 v2.5 §5.3.1).

use std::time::Duration;

use actix_web::web;

use crate::http::metrics::Metrics;
use crate::smdp::inventory::InventoryRepository;
use crate::store::Store;

/// Every `interval`: reload the key file, then refresh the stock gauges.
pub async fn run(store: Store, metrics: Metrics, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let (store, metrics) = (store.clone(), metrics.clone());
        match web::block(move || refresh(&store, &metrics)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "inventory job failed"),
            Err(e) => tracing::warn!(error = %e, "inventory job not run"),
        }
    }
}

fn refresh(store: &Store, metrics: &Metrics) -> Result<(), String> {
    if let Err(e) = store.reload_keyring() {
        tracing::warn!(error = %e, "secrets key file not re-read");
    }
    for operator_id in store.operators_with_profiles().map_err(|e| e.to_string())? {
        for level in store.stock(&operator_id).map_err(|e| e.to_string())? {
            metrics.set_stock(&operator_id, &level);
            if level.is_low() {
                tracing::warn!(operator = %operator_id, profile_type = %level.profile_type,
                    available = level.available(), threshold = ?level.low_stock_threshold, "low stock");
            }
        }
    }
    Ok(())
}
