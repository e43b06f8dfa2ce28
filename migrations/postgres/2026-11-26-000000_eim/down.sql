DROP TABLE eim_profiles;
DROP TABLE eim_packages;
DROP TABLE eim_euiccs;
