//! diesel table definitions, valid for both backends (same column types in `migrations/sqlite` and
//! `migrations/postgres`). Add a `table!` here with each migration that adds a table.

diesel::table! {
    /// The SM-DP+ profile inventory (SGP.22 v2.5 §5.3).
    profiles (id) {
        id -> BigInt,
        operator_id -> Text,
        iccid -> Text,
        profile_type -> Text,
        state -> Text,
        eid -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        /// rspd's device lock (ES2+ extension `allowedImeis`): comma-separated IMEIs (14 digits, no check digit).
        allowed_imeis -> Nullable<Text>,
        /// rspd's device lock (ES2+ extension `allowedTacs`): comma-separated 8-digit TACs.
        allowed_tacs -> Nullable<Text>,
    }
}

diesel::table! {
    /// SAIP profile packages by ICCID, with the StoreMetadata fields (SGP.22 v2.5 §5.5.3).
    profile_packages (iccid) {
        iccid -> Text,
        operator_id -> Text,
        package_der -> Binary,
        service_provider_name -> Text,
        profile_name -> Text,
        profile_class -> BigInt,
        created_at -> BigInt,
        /// Master key id when `package_der` is sealed (rspd::secrets); NULL for rows from before sealing.
        key_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// Download orders (activation code matchingId → profile); the state is the profile's.
    orders (id) {
        id -> BigInt,
        operator_id -> Text,
        iccid -> Text,
        matching_id -> Text,
        eid -> Nullable<Text>,
        cc_hash -> Nullable<Binary>,
        cc_attempts_left -> Integer,
        session_id -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        /// ConfirmOrder `smdsAddress` (SGP.22 v2.5 §5.3.2), stored; rspd registers no event itself.
        smds_address -> Nullable<Text>,
    }
}

diesel::table! {
    /// ES9+ download sessions keyed by transactionId (hex), SGP.22 v2.5 §3.1.2–§3.1.3.
    download_sessions (transaction_id) {
        transaction_id -> Text,
        state -> Text,
        server_address -> Text,
        curve -> Text,
        ci_pkid -> Binary,
        server_challenge -> Binary,
        euicc_challenge -> Binary,
        eid -> Nullable<Text>,
        order_id -> Nullable<BigInt>,
        operator_id -> Nullable<Text>,
        iccid -> Nullable<Text>,
        euicc_public_key -> Nullable<Binary>,
        smdp_signature2 -> Nullable<Binary>,
        cc_required -> Bool,
        otpk_euicc -> Nullable<Binary>,
        bpp -> Nullable<Binary>,
        expires_at -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// The durable HandleNotification inbox (SGP.22 v2.5 §5.6.4).
    notifications (id) {
        id -> BigInt,
        pending_notification -> Binary,
        received_at -> BigInt,
        processed_at -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    /// eIM: registered eUICCs and their association (SGP.32 v1.2 §2.11.1.2).
    eim_euiccs (eid) {
        eid -> Text,
        euicc_certificate -> Binary,
        eim_id -> Text,
        eim_key_curve -> Text,
        counter_value -> BigInt,
        association_token -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        operator_id -> Text,
        label -> Nullable<Text>,
        last_seen -> Nullable<BigInt>,
        r_plmn -> Nullable<Binary>,
        state_change_cause -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// eIM: signed eUICC packages and their order state (SGP.32 v1.2 §2.11.1.1, §2.11.2.1).
    eim_packages (id) {
        id -> BigInt,
        eid -> Text,
        state -> Text,
        counter_value -> BigInt,
        eim_transaction_id -> Binary,
        package_der -> Binary,
        result_der -> Nullable<Binary>,
        failure_reason -> Nullable<Text>,
        expires_at -> Nullable<BigInt>,
        dispatched_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// eIM: profiles known per eUICC.
    eim_profiles (eid, iccid) {
        eid -> Text,
        iccid -> Text,
        state -> Text,
        fallback_attribute -> Bool,
        last_seen -> BigInt,
    }
}

diesel::table! {
    /// Profile types per operator with their StoreMetadata (SGP.22 v2.5 §5.5.3) and low-stock threshold.
    profile_types (operator_id, name) {
        operator_id -> Text,
        name -> Text,
        service_provider_name -> Text,
        profile_name -> Text,
        profile_class -> BigInt,
        profile_policy_rules -> Nullable<Text>,
        notification_configuration_info -> Nullable<Text>,
        low_stock_threshold -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// SAIP templates, sealed; never orderable themselves.
    profile_templates (operator_id, name) {
        operator_id -> Text,
        name -> Text,
        profile_type -> Text,
        key_id -> Text,
        package_sealed -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Personalization batches (one upload).
    personalization_batches (id) {
        id -> BigInt,
        operator_id -> Text,
        template -> Text,
        profile_type -> Text,
        row_count -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Sealed personalization data of template-backed profiles.
    profile_personalizations (iccid) {
        iccid -> Text,
        operator_id -> Text,
        template -> Text,
        batch_id -> Nullable<BigInt>,
        key_id -> Text,
        data_sealed -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// ES2+ calls and their first answer (SGP.22 v2.5 §5.3 / §6.5.1.3 header), so a retry changes nothing.
    es2_calls (operator_id, function_requester_identifier, function_call_identifier) {
        operator_id -> Text,
        function_requester_identifier -> Text,
        function_call_identifier -> Text,
        function_name -> Text,
        request_digest -> Binary,
        response -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Outbox of ES2+.HandleDownloadProgressInfo calls (SGP.22 v2.5 §5.3.5), in order per (operator, ICCID).
    es2_progress_outbox (id) {
        id -> BigInt,
        operator_id -> Text,
        iccid -> Text,
        profile_type -> Text,
        event_key -> Text,
        event -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        leased_until -> Nullable<BigInt>,
        delivered_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// eIM campaigns: one intent over many eUICCs, released at a rate.
    eim_campaigns (id) {
        id -> BigInt,
        operator_id -> Text,
        name -> Text,
        intent -> Text,
        state -> Text,
        rate_per_minute -> BigInt,
        max_in_flight -> BigInt,
        window_start -> BigInt,
        window_released -> BigInt,
        device_count -> BigInt,
        idempotency_key -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// eIM orders: one intent for one eUICC, run as a sequence of packages.
    eim_orders (id) {
        id -> BigInt,
        operator_id -> Text,
        eid -> Text,
        campaign_id -> Nullable<BigInt>,
        intent -> Text,
        step_count -> BigInt,
        state -> Text,
        current_step -> BigInt,
        current_package_id -> Nullable<BigInt>,
        version -> BigInt,
        failure_reason -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// eIM order steps: the package queued for each step.
    eim_order_steps (order_id, step_index) {
        order_id -> BigInt,
        step_index -> BigInt,
        kind -> Text,
        package_id -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(eim_orders, eim_packages, eim_order_steps, eim_euiccs, eim_campaigns);

diesel::table! {
    /// The hash-chained audit trail: operator calls and state transitions (migration `…_audit`).
    audit_log (id) {
        id -> BigInt,
        seq -> Nullable<BigInt>,
        at_ms -> BigInt,
        kind -> Text,
        operator_id -> Nullable<Text>,
        actor_subject -> Nullable<Text>,
        actor_fingerprint -> Nullable<Text>,
        peer -> Nullable<Text>,
        method -> Nullable<Text>,
        path -> Nullable<Text>,
        status -> Nullable<BigInt>,
        outcome -> Nullable<Text>,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<Text>,
        iccid -> Nullable<Text>,
        eid -> Nullable<Text>,
        matching_id -> Nullable<Text>,
        from_state -> Nullable<Text>,
        to_state -> Nullable<Text>,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
        /// The raw request path of a call, moved to `audit_identifiers` by the insert trigger (always NULL after).
        path_detail -> Nullable<Text>,
    }
}

diesel::table! {
    /// The clear identifiers of audit rows (by `audit_log.id`), outside the hash chain (the chain hashes keyed
    /// digests); erasable.
    audit_identifiers (log_id) {
        log_id -> BigInt,
        iccid -> Nullable<Text>,
        eid -> Nullable<Text>,
        matching_id -> Nullable<Text>,
        target_id -> Nullable<Text>,
        path -> Nullable<Text>,
        erased_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The audit chain's head: the last seq and hash (one row, id = 1).
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(orders, profiles);

diesel::table! {
    /// ES9+ transactionId (hex) of an indirect download relayed to an external SM-DP+ → its address.
    eim_relay_sessions (transaction_id) {
        transaction_id -> Text,
        smdp_address -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Notifications to forward to an external SM-DP+ over ES9+ handleNotification, until delivered.
    eim_notification_outbox (id) {
        id -> BigInt,
        smdp_address -> Text,
        pending_notification -> Binary,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Secrets the server generates for itself, shared by every node (e.g. `opaque_ids`).
    server_keys (name) {
        name -> Text,
        secret -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Operator API `Idempotency-Key`s (issue 10 item 7): the first request's digest and, once finished, its answer.
    operator_idempotency (operator_id, idempotency_key) {
        operator_id -> Text,
        idempotency_key -> Text,
        request_digest -> Binary,
        /// NULL while the first request runs.
        status -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> BigInt,
    }
}
