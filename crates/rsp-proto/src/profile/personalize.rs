//! Personalizing a profile template (the SM-DP+ "profile generation" step behind SGP.22 §3.1.1 / ES2+
//! DownloadOrder): a new ICCID (ProfileHeader `iccid`, TCA SAIP v2.3 §8.3, and EF.ICCID in PE-MF), IMSI
//! (EF.IMSI in PE-USIM, 3GPP TS 31.102 §4.2.2), Ki and OPc (PE-AKAParameter, SAIP §8.6) and PIN/ADM/PUK values
//! (PE-PINCodes / PE-PUKCodes, SAIP §8.5). Only the elements that change are re-encoded (their lengths and
//! those of the structures enclosing a changed value recomputed); every other element keeps its bytes.

use std::collections::BTreeMap;

use super::aka::AkaParameter;
use super::elements::{ProfileElement, ProfileElementKind};
use super::error::ProfileError;
use super::files;
use super::header::ProfileHeader;
use super::identities::{Iccid, Imsi};
use super::package::ProfilePackage;
use super::pins::{self, PinValue, PukValue};
use super::secret::Secret;
use super::tree;

/// The values to write into a template; `None` / absent entries leave the template's value.
///
/// - `iccid`: written to the ProfileHeader and to EF.ICCID of every PE-MF.
/// - `imsi`: written to EF.IMSI of every PE-USIM.
/// - `ki`, `opc`: written to every PE-AKAParameter with an `algoParameter` (USIM and ISIM share them in the
///   TS.48 profiles); elements that map their parameters from another application are left alone.
/// - `pins` by `PINKeyReferenceValue` (e.g. [`pins::PIN_APPL1`], [`pins::SECOND_PIN_APPL1`], [`pins::ADM1`]),
///   `puks` by `PUKKeyReferenceValue`: every PINConfiguration / PUKConfiguration with that key reference, in
///   every PE-PINCodes / PE-PUKCodes, gets the value.
#[derive(Debug, Clone, Default)]
pub struct Personalization {
    pub iccid: Option<Iccid>,
    pub imsi: Option<Imsi>,
    pub ki: Option<Secret<[u8; 16]>>,
    pub opc: Option<Secret<[u8; 16]>>,
    pub pins: BTreeMap<u8, PinValue>,
    pub puks: BTreeMap<u8, PukValue>,
}

impl ProfilePackage {
    /// A new package: this one with `p`'s values written in. Fails when the template has no place for a value
    /// that was asked for (e.g. no PE-USIM for the IMSI, no PINConfiguration with a given key reference).
    pub fn personalize(&self, p: &Personalization) -> Result<ProfilePackage, ProfileError> {
        let mut written = Written::default();
        let mut elements = Vec::with_capacity(self.elements().len());
        for (index, element) in self.elements().iter().enumerate() {
            let new_raw = match element.kind() {
                ProfileElementKind::Header => match &p.iccid {
                    Some(iccid) => Some(ProfileHeader::with_iccid(element, index, iccid)?),
                    None => None,
                },
                ProfileElementKind::Mf => match &p.iccid {
                    Some(iccid) => {
                        written.ef_iccid = true;
                        Some(with_file_content(element, index, files::PE_MF_EF_ICCID, &iccid.to_ef_iccid())?)
                    }
                    None => None,
                },
                ProfileElementKind::Usim => match &p.imsi {
                    Some(imsi) => {
                        written.ef_imsi = true;
                        Some(with_file_content(element, index, files::PE_USIM_EF_IMSI, &imsi.to_ef_imsi())?)
                    }
                    None => None,
                },
                ProfileElementKind::AkaParameter => {
                    let new = AkaParameter::with_keys(
                        element,
                        index,
                        p.ki.as_ref().map(Secret::expose),
                        p.opc.as_ref().map(Secret::expose),
                    )?;
                    written.aka |= new.is_some();
                    new
                }
                ProfileElementKind::PinCodes if !p.pins.is_empty() => {
                    let lookup = |key_ref: u8| p.pins.get(&key_ref).map(|v| *v.expose());
                    let (new, refs) = pins::with_pin_values(element, index, &lookup)?;
                    written.pins.extend(refs);
                    new
                }
                ProfileElementKind::PukCodes if !p.puks.is_empty() => {
                    let lookup = |key_ref: u8| p.puks.get(&key_ref).map(|v| *v.expose());
                    let (new, refs) = pins::with_puk_values(element, index, &lookup)?;
                    written.puks.extend(refs);
                    new
                }
                _ => None,
            };
            elements.push(match new_raw {
                Some(raw) => ProfileElement::new(element.kind(), 0, raw),
                None => ProfileElement::new(element.kind(), 0, element.raw().to_vec()),
            });
        }
        written.check(p)?;
        // Re-parse the result: offsets recomputed, and every check of `parse` applies to what we built.
        let der: Vec<u8> = elements.iter().flat_map(|e| e.raw().iter().copied()).collect();
        ProfilePackage::parse(&der)
    }
}

/// PE-MF / PE-USIM with one File's content replaced.
fn with_file_content(
    element: &ProfileElement,
    index: usize,
    file_tag: crate::codec::tlv::Tag,
    content: &[u8],
) -> Result<Vec<u8>, ProfileError> {
    let malformed = ProfileError::malformed(index, element.offset());
    let pe = element.tlv().map_err(malformed)?;
    let mut edit = |file: &crate::codec::tlv::Tlv<'_>| -> Result<Option<Vec<u8>>, ProfileError> {
        Ok(Some(files::with_content(file, content).map_err(malformed)?))
    };
    let (bytes, n) = tree::rewrite(&pe, &[file_tag], &mut edit, &malformed)?;
    if n == 0 {
        // parse() made sure the file is there; keep the error honest if that ever changes.
        return Err(ProfileError::NotInTemplate { what: "file to personalize" });
    }
    Ok(bytes)
}

/// What personalization actually wrote, to refuse a request the template cannot satisfy.
#[derive(Default)]
struct Written {
    ef_iccid: bool,
    ef_imsi: bool,
    aka: bool,
    pins: Vec<u8>,
    puks: Vec<u8>,
}

impl Written {
    fn check(&self, p: &Personalization) -> Result<(), ProfileError> {
        if p.iccid.is_some() && !self.ef_iccid {
            return Err(ProfileError::NotInTemplate { what: "EF.ICCID (PE-MF)" });
        }
        if p.imsi.is_some() && !self.ef_imsi {
            return Err(ProfileError::NotInTemplate { what: "EF.IMSI (PE-USIM)" });
        }
        if (p.ki.is_some() || p.opc.is_some()) && !self.aka {
            return Err(ProfileError::NotInTemplate { what: "PE-AKAParameter with algoParameter" });
        }
        if p.pins.keys().any(|k| !self.pins.contains(k)) {
            return Err(ProfileError::NotInTemplate { what: "PINConfiguration for a requested key reference" });
        }
        if p.puks.keys().any(|k| !self.puks.contains(k)) {
            return Err(ProfileError::NotInTemplate { what: "PUKConfiguration for a requested key reference" });
        }
        Ok(())
    }
}
