//! The IMEI lock of an order (an rspd extension of ES2+ DownloadOrder/ConfirmOrder: `allowedImeis`,
//! `allowedTacs`) and its check against `deviceInfo` of ctxParams1 in ES9+ AuthenticateClient
//! (SGP.22 v2.5 §5.6.3; `DeviceInfo` §2.5.x / ES10b §5.7.13).
//!
//! Encodings (SGP.22 v2.1+ §4.2 "Device Information"): the IMEI is 8 octets of TBCD (3GPP TS 29.002
//! §17.7.8: digit 2n−1 in bits 4321, digit 2n in bits 8765), "except that the last octet contains the check
//! digit (in high nibble) and an 'F' filler (in low nibble)"; SGP.22 v2.0 devices send plain TBCD (check digit
//! in the low nibble, F high), which is accepted too. The TAC is the first 4 octets of that encoding (8 digits).
//! An IMEI is compared on its first 14 digits (TAC + serial number); the check digit follows from them.

use std::fmt;

use crate::profile::Iccid;

/// The devices an order may be downloaded to. Empty lists: no lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceLock {
    /// 14 digits each (TAC + SNR, no check digit).
    pub imeis: Vec<String>,
    /// 8 digits each.
    pub tacs: Vec<String>,
}

/// The device as ctxParams1.deviceInfo describes it, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// 8 digits.
    pub tac: String,
    /// 15 digits (14 + check digit), when the LPA sent one.
    pub imei: Option<String>,
}

/// Why a device is refused (SGP.22 v2.5 §5.6.3 status 8.2.5/4.3 "No eligible Profile for this eUICC/Device").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceRefusal {
    #[error("this profile is locked to other devices and the device sent no IMEI in deviceInfo")]
    NoImei,
    #[error("this profile is locked to other devices (IMEI {imei} / TAC {tac} not allowed)")]
    NotAllowed { imei: String, tac: String },
}

/// The event "an order's device lock refused a device" (for the operator: HandleDownloadProgressInfo, §5.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRefused {
    pub operator_id: String,
    pub iccid: String,
    pub eid: String,
    pub device: DeviceIdentity,
    pub refusal: DeviceRefusal,
}

impl DeviceLock {
    /// Parses operator input: IMEIs of 14 or 15 digits (a 15th is checked as the Luhn check digit), TACs of 8.
    pub fn new(imeis: &[String], tacs: &[String]) -> Result<DeviceLock, String> {
        let mut lock = DeviceLock::default();
        for imei in imeis {
            let imei = imei.trim();
            if !imei.bytes().all(|b| b.is_ascii_digit()) || !(imei.len() == 14 || imei.len() == 15) {
                return Err(format!("IMEI `{imei}` must be 14 or 15 digits"));
            }
            if imei.len() == 15
                && Iccid::luhn_check_digit(&imei[..14]).map(|d| char::from(b'0' + d)) != imei.chars().nth(14)
            {
                return Err(format!("IMEI `{imei}` has a wrong check digit"));
            }
            lock.imeis.push(imei[..14].to_owned());
        }
        for tac in tacs {
            let tac = tac.trim();
            if tac.len() != 8 || !tac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("TAC `{tac}` must be 8 digits"));
            }
            lock.tacs.push(tac.to_owned());
        }
        Ok(lock)
    }

    pub fn is_locked(&self) -> bool {
        !self.imeis.is_empty() || !self.tacs.is_empty()
    }

    /// The stored form: comma-separated, `None` for an empty list.
    pub fn stored(list: &[String]) -> Option<String> {
        (!list.is_empty()).then(|| list.join(","))
    }

    /// From the stored columns.
    pub fn from_stored(imeis: Option<&str>, tacs: Option<&str>) -> DeviceLock {
        let split = |s: Option<&str>| -> Vec<String> {
            s.map(|s| s.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
        };
        DeviceLock { imeis: split(imeis), tacs: split(tacs) }
    }

    /// Whether the device may download: its IMEI is listed, or its TAC is. No lock: always.
    pub fn check(&self, device: &DeviceIdentity) -> Result<(), DeviceRefusal> {
        if !self.is_locked() {
            return Ok(());
        }
        if self.tacs.contains(&device.tac) {
            return Ok(());
        }
        let Some(imei) = &device.imei else {
            return Err(DeviceRefusal::NoImei);
        };
        if imei.len() >= 14 && self.imeis.iter().any(|allowed| allowed == &imei[..14]) {
            return Ok(());
        }
        Err(DeviceRefusal::NotAllowed { imei: imei.clone(), tac: device.tac.clone() })
    }
}

impl DeviceIdentity {
    /// Decodes `tac` (4 octets) and `imei` (8 octets) of DeviceInfo; a malformed IMEI is treated as absent.
    pub fn decode(tac: &[u8], imei: Option<&[u8]>) -> DeviceIdentity {
        DeviceIdentity { tac: tbcd_digits(tac), imei: imei.and_then(decode_imei) }
    }
}

/// TBCD digits, low nibble first; filler and non-digit nibbles are dropped.
fn tbcd_digits(bytes: &[u8]) -> String {
    let mut out = String::new();
    for b in bytes {
        for nibble in [b & 0x0F, b >> 4] {
            if nibble <= 9 {
                out.push(char::from(b'0' + nibble));
            }
        }
    }
    out
}

fn decode_imei(bytes: &[u8]) -> Option<String> {
    let [first @ .., last] = bytes else { return None };
    if first.len() != 7 {
        return None;
    }
    let mut digits = tbcd_digits(first);
    // §4.2 (v2.1+): check digit high, F low; v2.0: plain TBCD (check digit low, F high).
    let check = match (last >> 4, last & 0x0F) {
        (cd, 0x0F) if cd <= 9 => cd,
        (0x0F, cd) if cd <= 9 => cd,
        _ => return None,
    };
    if digits.len() != 14 {
        return None;
    }
    digits.push(char::from(b'0' + check));
    Some(digits)
}

/// Encodes a 15-digit IMEI as SGP.22 v2.1+ §4.2 wants it (for tests and the conformance LPA).
pub fn encode_imei(imei: &str) -> Option<[u8; 8]> {
    let d: Vec<u8> = imei.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if d.len() != 15 || d.iter().any(|x| *x > 9) {
        return None;
    }
    let mut out = [0u8; 8];
    for i in 0..7 {
        out[i] = d[2 * i] | (d[2 * i + 1] << 4);
    }
    out[7] = (d[14] << 4) | 0x0F;
    Some(out)
}

/// Encodes an 8-digit TAC as the first 4 octets of the IMEI encoding.
pub fn encode_tac(tac: &str) -> Option<[u8; 4]> {
    let d: Vec<u8> = tac.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if d.len() != 8 || d.iter().any(|x| *x > 9) {
        return None;
    }
    Some([d[0] | (d[1] << 4), d[2] | (d[3] << 4), d[4] | (d[5] << 4), d[6] | (d[7] << 4)])
}

impl fmt::Display for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TAC {}, IMEI {}", self.tac, self.imei.as_deref().unwrap_or("absent"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imei_round_trips_in_both_encodings() {
        let imei = "356938035643809";
        let enc = encode_imei(imei).unwrap();
        assert_eq!(hex::encode(enc), "539683306534089f");
        assert_eq!(DeviceIdentity::decode(&enc[..4], Some(&enc)).imei.as_deref(), Some(imei));
        assert_eq!(DeviceIdentity::decode(&enc[..4], Some(&enc)).tac, "35693803");
        // v2.0 plain TBCD: last octet F9 → check digit low.
        let mut v20 = enc;
        v20[7] = 0xF9;
        assert_eq!(decode_imei(&v20).as_deref(), Some(imei));
        assert_eq!(decode_imei(&[0xAA; 8]), None);
    }

    #[test]
    fn lock_allows_listed_imei_or_tac_and_refuses_others() {
        let lock = DeviceLock::new(&["356938035643809".into()], &["35290611".into()]).unwrap();
        let ok = DeviceIdentity { tac: "35693803".into(), imei: Some("356938035643809".into()) };
        assert!(lock.check(&ok).is_ok());
        let by_tac = DeviceIdentity { tac: "35290611".into(), imei: None };
        assert!(lock.check(&by_tac).is_ok());
        let other = DeviceIdentity { tac: "11111111".into(), imei: Some("111111111111116".into()) };
        assert!(matches!(lock.check(&other), Err(DeviceRefusal::NotAllowed { .. })));
        let none = DeviceIdentity { tac: "11111111".into(), imei: None };
        assert_eq!(lock.check(&none), Err(DeviceRefusal::NoImei));
        assert!(DeviceLock::default().check(&none).is_ok());
        assert!(DeviceLock::new(&["356938035643808".into()], &[]).is_err());
        assert!(DeviceLock::new(&[], &["1234".into()]).is_err());
    }
}
