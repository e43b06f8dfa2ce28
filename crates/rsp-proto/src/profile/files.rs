//! File content inside the file-system profile elements (TCA SAIP v2.3 §8.3.2 "File": a SEQUENCE OF
//! { doNotCreate [0], fileDescriptor [1] Fcp, fillFileOffset [2], fillFileContent [3] }): EF.ICCID in PE-MF
//! (`ef-iccid` [4], ETSI TS 102 221 §13.2) and EF.IMSI in PE-USIM (`ef-imsi` [3], 3GPP TS 31.102 §4.2.2).

use crate::codec::tlv::{self, Tag, Tlv, TlvError};

use super::tree;

/// PE-MF `ef-iccid [4] File`.
pub(crate) const PE_MF_EF_ICCID: Tag = Tag(0xA4);
/// PE-USIM `ef-imsi [3] File`.
pub(crate) const PE_USIM_EF_IMSI: Tag = Tag(0xA3);

/// `fillFileOffset [2] UInt16`.
const FILL_FILE_OFFSET: Tag = Tag(0x82);
/// `fillFileContent [3] OCTET STRING`.
const FILL_FILE_CONTENT: Tag = Tag(0x83);

/// Largest file position a File's fill commands may reach (issue 10 item 8). ETSI TS 102 222 / TS 102 221 file
/// sizes are two bytes (`80` in the FCP), so no file of a profile is longer; `fillFileOffset` values add up, so
/// without this cap a crafted package could ask for ~10^12 bytes of memory.
pub const MAX_FILE_SIZE: usize = 0xFFFF;

/// The file content a File's fill commands write, from offset 0; bytes skipped by `fillFileOffset` and never
/// written read as 'FF' here. `None` when the File has no `fillFileContent`. A position past [`MAX_FILE_SIZE`]
/// is [`ContentError::TooLarge`], found before any memory is taken for it.
pub(crate) fn content(file: &Tlv<'_>) -> Result<Option<Vec<u8>>, ContentError> {
    let mut data: Vec<u8> = Vec::new();
    let mut position = 0usize;
    let mut filled = false;
    for command in file.children()? {
        match command.tag() {
            FILL_FILE_OFFSET => {
                let skip = tree::uint(command.value()).filter(|v| *v <= 0xFFFF).ok_or(ContentError::BadOffset)?;
                position = position.saturating_add(skip as usize);
                if position > MAX_FILE_SIZE {
                    return Err(ContentError::TooLarge);
                }
            }
            FILL_FILE_CONTENT => {
                let end = position.saturating_add(command.value().len());
                if end > MAX_FILE_SIZE {
                    return Err(ContentError::TooLarge);
                }
                if data.len() < end {
                    data.resize(end, 0xFF);
                }
                data[position..end].copy_from_slice(command.value());
                position = end;
                filled = true;
            }
            _ => {}
        }
    }
    Ok(filled.then_some(data))
}

/// The File with its fill commands replaced by one `fillFileContent` holding `content` (written from offset
/// 0); `doNotCreate` / `fileDescriptor` keep their bytes and their order.
pub(crate) fn with_content(file: &Tlv<'_>, content: &[u8]) -> Result<Vec<u8>, TlvError> {
    let mut value = Vec::with_capacity(file.value().len() + content.len());
    for command in file.children()? {
        if command.tag() != FILL_FILE_OFFSET && command.tag() != FILL_FILE_CONTENT {
            value.extend_from_slice(command.raw());
        }
    }
    tlv::encode_into(FILL_FILE_CONTENT, content, &mut value);
    Ok(tlv::encode(file.tag(), &value))
}

/// Why a File's content could not be read.
#[derive(Debug)]
pub(crate) enum ContentError {
    Tlv(TlvError),
    BadOffset,
    /// The fill commands reach past [`MAX_FILE_SIZE`].
    TooLarge,
}

impl From<TlvError> for ContentError {
    fn from(e: TlvError) -> Self {
        ContentError::Tlv(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_replaces_fill_content() {
        // A4 { A1 { 82 02 41 21 } 82 01 02 83 02 AA BB }
        let bytes = hex::decode("A40DA1048202412182010283 02AABB".replace(' ', "")).unwrap();
        let file = tlv::parse_single(&bytes).unwrap();
        assert_eq!(content(&file).unwrap(), Some(vec![0xFF, 0xFF, 0xAA, 0xBB]));
        let new = with_content(&file, &[1, 2, 3]).unwrap();
        assert_eq!(hex::encode(&new), "a40ba10482024121830301 0203".replace(' ', ""));
        assert_eq!(content(&tlv::parse_single(&new).unwrap()).unwrap(), Some(vec![1, 2, 3]));
    }

    /// Issue 10 item 8: offsets add up. 20 000 `fillFileOffset 65535` commands (80 kB) asked for 1.3 GB before;
    /// 15 million of them (a 64 MiB upload) for ~10^12 bytes, aborting the process. Refused at the first position
    /// past 64 KiB, before anything is allocated.
    #[test]
    fn fill_file_offset_bomb_is_refused() {
        let mut value = Vec::new();
        for _ in 0..20_000 {
            value.extend_from_slice(&[0x82, 0x03, 0x00, 0xFF, 0xFF]);
        }
        value.extend_from_slice(&[0x83, 0x01, 0xAA]);
        let bomb = tlv::encode(PE_MF_EF_ICCID, &value);
        assert!(matches!(content(&tlv::parse_single(&bomb).unwrap()), Err(ContentError::TooLarge)));
        // One offset to the last byte of a 64 KiB file is still a file.
        let edge = tlv::encode(PE_MF_EF_ICCID, &hex::decode("820300FFFE8301AA").unwrap());
        assert_eq!(content(&tlv::parse_single(&edge).unwrap()).unwrap().map(|c| c.len()), Some(MAX_FILE_SIZE));
        let past = tlv::encode(PE_MF_EF_ICCID, &hex::decode("820300FFFF8301AA").unwrap());
        assert!(matches!(content(&tlv::parse_single(&past).unwrap()), Err(ContentError::TooLarge)));
    }
}
