DROP INDEX profile_packages_key_idx;
ALTER TABLE profile_packages DROP COLUMN key_id;
DROP TABLE profile_personalizations;
DROP TABLE personalization_batches;
DROP TABLE profile_templates;
DROP TABLE profile_types;
