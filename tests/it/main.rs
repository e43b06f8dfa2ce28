//! rspd's integration tests, one binary: each test file is a module here (they used to be 33 binaries that each
//! linked the whole server). Support modules first, then one module per tested subject.

// Support: the running-server harnesses, certificate issuers and mock peers.
mod common;
mod eim_campaign_harness;
mod es2_mock;
mod es2_support;
mod es9_harness;
mod fleet_support;
mod inventory_support;

// Tests.
mod audit_chain;
mod eim_campaign;
mod eim_campaign_download;
mod eim_esipa;
mod eim_ipa;
mod eim_relay;
mod es2_functions;
mod es2_imei_lock;
mod es2_independent_client;
mod es2_progress_delivery;
mod es2_progress_outbox;
mod es9_crash;
mod es9_download;
mod es9_negative;
mod es9_round_trips;
mod es9_sgp26_interop;
mod fleet_api;
mod fleet_es9_history;
mod fleet_openapi;
mod fuzz_regressions;
mod inventory_api;
mod inventory_download;
mod inventory_store;
mod load_smoke;
mod multi_node;
mod serve;
mod store_eim;
mod store_repository;

// Test modules that grew out of one subject's file.
mod abuse;
mod bounds;
mod tenant_isolation;
