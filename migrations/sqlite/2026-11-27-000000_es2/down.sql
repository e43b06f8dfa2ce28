DROP TABLE es2_calls;
ALTER TABLE profiles DROP COLUMN allowed_tacs;
ALTER TABLE profiles DROP COLUMN allowed_imeis;
ALTER TABLE orders DROP COLUMN smds_address;
