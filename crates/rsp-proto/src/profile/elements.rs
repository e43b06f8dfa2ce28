//! The profile element kinds, one per alternative of the SAIP `ProfileElement` CHOICE (TCA SAIP v2.3 §8.1,
//! tags `[0]` header … `[29]` df-saip; see `asn1/PEDefinitions.asn`), and one received element with its raw bytes.

use std::fmt;

use crate::codec::tlv::{self, Tag, Tlv, TlvError};

/// Which `ProfileElement` alternative an element is, named as in PEDefinitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileElementKind {
    /// `header` [0] ProfileHeader.
    Header,
    /// `genericFileManagement` [1] PE-GenericFileManagement.
    GenericFileManagement,
    /// `pinCodes` [2] PE-PINCodes.
    PinCodes,
    /// `pukCodes` [3] PE-PUKCodes.
    PukCodes,
    /// `akaParameter` [4] PE-AKAParameter.
    AkaParameter,
    /// `cdmaParameter` [5] PE-CDMAParameter.
    CdmaParameter,
    /// `securityDomain` [6] PE-SecurityDomain.
    SecurityDomain,
    /// `rfm` [7] PE-RFM.
    Rfm,
    /// `application` [8] PE-Application.
    Application,
    /// `nonStandard` [9] PE-NonStandard.
    NonStandard,
    /// `end` [10] PE-End.
    End,
    /// `rfu1`…`rfu5` [11]…[15] PE-Dummy (the number is the tag number).
    Rfu(u32),
    /// `mf` [16] PE-MF.
    Mf,
    /// `cd` [17] PE-CD.
    Cd,
    /// `telecom` [18] PE-TELECOM.
    Telecom,
    /// `usim` [19] PE-USIM.
    Usim,
    /// `opt-usim` [20] PE-OPT-USIM.
    OptUsim,
    /// `isim` [21] PE-ISIM.
    Isim,
    /// `opt-isim` [22] PE-OPT-ISIM.
    OptIsim,
    /// `phonebook` [23] PE-PHONEBOOK.
    Phonebook,
    /// `gsm-access` [24] PE-GSM-ACCESS.
    GsmAccess,
    /// `csim` [25] PE-CSIM.
    Csim,
    /// `opt-csim` [26] PE-OPT-CSIM.
    OptCsim,
    /// `eap` [27] PE-EAP.
    Eap,
    /// `df-5gs` [28] PE-DF-5GS.
    Df5gs,
    /// `df-saip` [29] PE-DF-SAIP.
    DfSaip,
    /// A later alternative (the CHOICE is extensible): any other context-specific constructed tag, kept as raw bytes.
    Other(u32),
}

impl ProfileElementKind {
    /// The alternative for an element's tag; `None` unless the tag is context-specific and constructed,
    /// as every `ProfileElement` alternative is (AUTOMATIC TAGS over SEQUENCE types).
    pub fn from_tag(tag: Tag) -> Option<Self> {
        if tag.class() != 2 || !tag.is_constructed() {
            return None;
        }
        let number = tag_number(tag);
        Some(match number {
            0 => Self::Header,
            1 => Self::GenericFileManagement,
            2 => Self::PinCodes,
            3 => Self::PukCodes,
            4 => Self::AkaParameter,
            5 => Self::CdmaParameter,
            6 => Self::SecurityDomain,
            7 => Self::Rfm,
            8 => Self::Application,
            9 => Self::NonStandard,
            10 => Self::End,
            11..=15 => Self::Rfu(number),
            16 => Self::Mf,
            17 => Self::Cd,
            18 => Self::Telecom,
            19 => Self::Usim,
            20 => Self::OptUsim,
            21 => Self::Isim,
            22 => Self::OptIsim,
            23 => Self::Phonebook,
            24 => Self::GsmAccess,
            25 => Self::Csim,
            26 => Self::OptCsim,
            27 => Self::Eap,
            28 => Self::Df5gs,
            29 => Self::DfSaip,
            n => Self::Other(n),
        })
    }

    /// The PEDefinitions type name, for messages.
    pub fn spec_name(&self) -> &'static str {
        match self {
            Self::Header => "ProfileHeader",
            Self::GenericFileManagement => "PE-GenericFileManagement",
            Self::PinCodes => "PE-PINCodes",
            Self::PukCodes => "PE-PUKCodes",
            Self::AkaParameter => "PE-AKAParameter",
            Self::CdmaParameter => "PE-CDMAParameter",
            Self::SecurityDomain => "PE-SecurityDomain",
            Self::Rfm => "PE-RFM",
            Self::Application => "PE-Application",
            Self::NonStandard => "PE-NonStandard",
            Self::End => "PE-End",
            Self::Rfu(_) => "PE-Dummy",
            Self::Mf => "PE-MF",
            Self::Cd => "PE-CD",
            Self::Telecom => "PE-TELECOM",
            Self::Usim => "PE-USIM",
            Self::OptUsim => "PE-OPT-USIM",
            Self::Isim => "PE-ISIM",
            Self::OptIsim => "PE-OPT-ISIM",
            Self::Phonebook => "PE-PHONEBOOK",
            Self::GsmAccess => "PE-GSM-ACCESS",
            Self::Csim => "PE-CSIM",
            Self::OptCsim => "PE-OPT-CSIM",
            Self::Eap => "PE-EAP",
            Self::Df5gs => "PE-DF-5GS",
            Self::DfSaip => "PE-DF-SAIP",
            Self::Other(_) => "ProfileElement (later alternative)",
        }
    }

    /// Whether the element starts with a `PEHeader` (every alternative except ProfileHeader and PE-Dummy;
    /// later alternatives are not checked).
    pub(crate) fn has_pe_header(&self) -> bool {
        !matches!(self, Self::Header | Self::Rfu(_) | Self::Other(_))
    }
}

/// The tag number of a tag (low form: the low 5 bits; high form: the base-128 continuation octets).
fn tag_number(tag: Tag) -> u32 {
    let bytes = tag.to_bytes();
    match bytes.split_first() {
        Some((first, rest)) if first & 0x1F == 0x1F => {
            rest.iter().fold(0u32, |acc, b| (acc << 7) | u32::from(b & 0x7F))
        }
        Some((first, _)) => u32::from(first & 0x1F),
        None => 0,
    }
}

/// One profile element as received: its kind, where it started, and its exact bytes (re-encoded as they are).
#[derive(Clone, PartialEq, Eq)]
pub struct ProfileElement {
    kind: ProfileElementKind,
    offset: usize,
    raw: Vec<u8>,
}

impl ProfileElement {
    pub(crate) fn new(kind: ProfileElementKind, offset: usize, raw: Vec<u8>) -> Self {
        ProfileElement { kind, offset, raw }
    }

    pub fn kind(&self) -> ProfileElementKind {
        self.kind
    }

    /// Offset of the element in the package it was parsed from.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The element's bytes (tag, length, value) exactly as received, or as re-encoded by personalization.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The element as a TLV (checked when the package was parsed).
    pub fn tlv(&self) -> Result<Tlv<'_>, TlvError> {
        tlv::parse_single(&self.raw)
    }
}

impl fmt::Debug for ProfileElement {
    // The raw bytes hold keys and PINs: show only what the element is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(@{}, {} bytes)", self.kind.spec_name(), self.offset, self.raw.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_tag() {
        assert_eq!(ProfileElementKind::from_tag(Tag(0xA0)), Some(ProfileElementKind::Header));
        assert_eq!(ProfileElementKind::from_tag(Tag(0xAA)), Some(ProfileElementKind::End));
        assert_eq!(ProfileElementKind::from_tag(Tag(0xB0)), Some(ProfileElementKind::Mf));
        assert_eq!(ProfileElementKind::from_tag(Tag(0xB3)), Some(ProfileElementKind::Usim));
        assert_eq!(ProfileElementKind::from_tag(Tag(0xBD)), Some(ProfileElementKind::DfSaip));
        assert_eq!(ProfileElementKind::from_tag(Tag(0xBF1E)), Some(ProfileElementKind::Other(30)));
        assert_eq!(ProfileElementKind::from_tag(Tag(0xBF8101)), Some(ProfileElementKind::Other(129)));
        assert_eq!(ProfileElementKind::from_tag(Tag(0x30)), None);
        assert_eq!(ProfileElementKind::from_tag(Tag(0x80)), None);
    }
}
