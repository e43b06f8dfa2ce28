//! `rspd keys rotate`: every sealed row re-encrypted under the active master key (`crate::secrets`), in batches of
//! short transactions. Each row update is compare-and-set on its old key id, so a crash or a concurrent run loses
//! nothing and running again simply continues (rows already under the active key are not touched). Rows written
//! in clear before sealing existed (`profile_packages.key_id` NULL) are sealed on the way.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::secrets::RowBinding;
use crate::smdp::RepoError;
use crate::store::connection::{dispatch, write_transaction};
use crate::store::error::StoreError;
use crate::store::prepared::PreparedExt;
use crate::store::schema::{profile_packages as pp, profile_personalizations as ppz, profile_templates as pt};
use crate::store::smdp::inventory::{secrets_error, template_key, PACKAGES, PERSONALIZATIONS, TEMPLATES};
use crate::store::Store;

/// What a rotation pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Rows re-encrypted (or sealed for the first time), per table.
    pub resealed: Vec<(&'static str, usize)>,
}

impl RotationReport {
    pub fn total(&self) -> usize {
        self.resealed.iter().map(|(_, n)| n).sum()
    }
}

impl Store {
    /// Re-encrypts every sealed row not under the active key, `batch_size` rows per transaction.
    pub fn reseal_all(&self, batch_size: i64) -> Result<RotationReport, RepoError> {
        let batch_size = batch_size.max(1);
        Ok(RotationReport {
            resealed: vec![
                (PACKAGES, self.reseal_packages(batch_size)?),
                (TEMPLATES, self.reseal_templates(batch_size)?),
                (PERSONALIZATIONS, self.reseal_personalizations(batch_size)?),
            ],
        })
    }

    /// The master key ids some row is sealed under (and `None`-keyed clear rows are not listed).
    pub fn key_ids_in_use(&self) -> Result<BTreeSet<String>, RepoError> {
        let mut conn = self.conn()?;
        let mut ids: BTreeSet<String> = BTreeSet::new();
        let packages = dispatch!(&mut *conn, c => pp::table.select(pp::key_id).distinct().load::<Option<String>>(c))
            .map_err(StoreError::from)?;
        ids.extend(packages.into_iter().flatten());
        let templates = dispatch!(&mut *conn, c => pt::table.select(pt::key_id).distinct().load::<String>(c))
            .map_err(StoreError::from)?;
        ids.extend(templates);
        let rows = dispatch!(&mut *conn, c => ppz::table.select(ppz::key_id).distinct().load::<String>(c))
            .map_err(StoreError::from)?;
        ids.extend(rows);
        Ok(ids)
    }

    /// How many packages are still stored in clear (written before sealing existed).
    pub fn clear_package_count(&self) -> Result<i64, RepoError> {
        let mut conn = self.conn()?;
        Ok(dispatch!(&mut *conn, c => pp::table.filter(pp::key_id.is_null()).count().get_result::<i64>(c))
            .map_err(StoreError::from)?)
    }

    fn reseal_packages(&self, batch_size: i64) -> Result<usize, RepoError> {
        let keyring = self.keyring()?;
        let active = keyring.active().id().as_str().to_owned();
        let mut done = 0;
        loop {
            let mut conn = self.conn()?;
            let rows = dispatch!(&mut *conn, c => pp::table
                .filter(pp::key_id.is_null().or(pp::key_id.ne(&active)))
                .order(pp::iccid)
                .limit(batch_size)
                .select((pp::iccid, pp::key_id, pp::package_der))
                .load::<(String, Option<String>, Vec<u8>)>(c))
            .map_err(StoreError::from)?;
            drop(conn);
            if rows.is_empty() {
                return Ok(done);
            }
            let mut updates = Vec::with_capacity(rows.len());
            for (iccid, old, blob) in rows {
                let row = RowBinding { table: PACKAGES, primary_key: &iccid };
                let sealed = match &old {
                    Some(key_id) => keyring.reseal(row, key_id, &blob).map_err(secrets_error)?,
                    None => Some(keyring.seal(row, &blob).map_err(secrets_error)?),
                };
                if let Some(sealed) = sealed {
                    updates.push((iccid, old, sealed));
                }
            }
            done += self.write(|conn| {
                write_transaction!(conn, c => {
                    let mut n = 0;
                    for (iccid, old, sealed) in &updates {
                        let set = (pp::package_der.eq(&sealed.blob), pp::key_id.eq(Some(&sealed.key_id)));
                        n += match old {
                            Some(old) => diesel::update(pp::table.find(iccid).filter(pp::key_id.eq(old))).set(set).prepared().execute(c)?,
                            None => diesel::update(pp::table.find(iccid).filter(pp::key_id.is_null())).set(set).prepared().execute(c)?,
                        };
                    }
                    Ok::<usize, diesel::result::Error>(n)
                })
            })?;
        }
    }

    fn reseal_templates(&self, batch_size: i64) -> Result<usize, RepoError> {
        let keyring = self.keyring()?;
        let active = keyring.active().id().as_str().to_owned();
        let mut done = 0;
        loop {
            let mut conn = self.conn()?;
            let rows = dispatch!(&mut *conn, c => pt::table
                .filter(pt::key_id.ne(&active))
                .order((pt::operator_id, pt::name))
                .limit(batch_size)
                .select((pt::operator_id, pt::name, pt::key_id, pt::package_sealed))
                .load::<(String, String, String, Vec<u8>)>(c))
            .map_err(StoreError::from)?;
            drop(conn);
            if rows.is_empty() {
                return Ok(done);
            }
            let mut updates = Vec::with_capacity(rows.len());
            for (operator_id, name, old, blob) in rows {
                let key = template_key(&operator_id, &name);
                let row = RowBinding { table: TEMPLATES, primary_key: &key };
                if let Some(sealed) = keyring.reseal(row, &old, &blob).map_err(secrets_error)? {
                    updates.push((operator_id, name, old, sealed));
                }
            }
            done += self.write(|conn| {
                write_transaction!(conn, c => {
                    let mut n = 0;
                    for (operator_id, name, old, sealed) in &updates {
                        n += diesel::update(
                            pt::table.filter(pt::operator_id.eq(operator_id)).filter(pt::name.eq(name)).filter(pt::key_id.eq(old)),
                        )
                        .set((pt::package_sealed.eq(&sealed.blob), pt::key_id.eq(&sealed.key_id)))
                        .prepared().execute(c)?;
                    }
                    Ok::<usize, diesel::result::Error>(n)
                })
            })?;
        }
    }

    fn reseal_personalizations(&self, batch_size: i64) -> Result<usize, RepoError> {
        let keyring = self.keyring()?;
        let active = keyring.active().id().as_str().to_owned();
        let mut done = 0;
        loop {
            let mut conn = self.conn()?;
            let rows = dispatch!(&mut *conn, c => ppz::table
                .filter(ppz::key_id.ne(&active))
                .order(ppz::iccid)
                .limit(batch_size)
                .select((ppz::iccid, ppz::key_id, ppz::data_sealed))
                .load::<(String, String, Vec<u8>)>(c))
            .map_err(StoreError::from)?;
            drop(conn);
            if rows.is_empty() {
                return Ok(done);
            }
            let mut updates = Vec::with_capacity(rows.len());
            for (iccid, old, blob) in rows {
                let row = RowBinding { table: PERSONALIZATIONS, primary_key: &iccid };
                if let Some(sealed) = keyring.reseal(row, &old, &blob).map_err(secrets_error)? {
                    updates.push((iccid, old, sealed));
                }
            }
            done += self.write(|conn| {
                write_transaction!(conn, c => {
                    let mut n = 0;
                    for (iccid, old, sealed) in &updates {
                        n += diesel::update(ppz::table.find(iccid).filter(ppz::key_id.eq(old)))
                            .set((ppz::data_sealed.eq(&sealed.blob), ppz::key_id.eq(&sealed.key_id)))
                            .prepared().execute(c)?;
                    }
                    Ok::<usize, diesel::result::Error>(n)
                })
            })?;
        }
    }
}
