-- ES2+ (SGP.22 v2.5 §5.3): the smdsAddress of ConfirmOrder, the device lock of an order (rspd extension:
-- allowed IMEIs / TACs, comma-separated digits, NULL = no lock) and the answers of ES2+ calls, so a retried call
-- (same operator, functionRequesterIdentifier, functionCallIdentifier) gets the first answer and changes nothing.
ALTER TABLE orders ADD COLUMN smds_address TEXT NULL;
ALTER TABLE profiles ADD COLUMN allowed_imeis TEXT NULL;
ALTER TABLE profiles ADD COLUMN allowed_tacs TEXT NULL;

CREATE TABLE es2_calls (
    operator_id                    TEXT    NOT NULL,
    function_requester_identifier  TEXT    NOT NULL,
    function_call_identifier       TEXT    NOT NULL,
    function_name                  TEXT    NOT NULL,
    request_digest                 BLOB    NOT NULL,
    response                       TEXT    NOT NULL,
    created_at                     BIGINT  NOT NULL,
    PRIMARY KEY (operator_id, function_requester_identifier, function_call_identifier)
);
