DROP TABLE notifications;
DROP TABLE download_sessions;
DROP TABLE orders;
DROP TABLE profile_packages;
