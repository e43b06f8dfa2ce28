//! PE-AKAParameter (TCA SAIP v2.3 §8.6 "Network Access Application"): the USIM/ISIM authentication algorithm
//! and its parameters — `algorithmID`, `algorithmOptions`, `key` (Ki) and `opc` (OPc / TOPc) — read, and the
//! key and OPc rewritten for personalization.

use crate::codec::tlv::{self, Tag, Tlv};

use super::elements::ProfileElement;
use super::error::ProfileError;
use super::secret::Secret;
use super::tree;

/// `algoConfiguration [1]` (a tagged CHOICE, hence explicit).
const ALGO_CONFIGURATION: Tag = Tag(0xA1);
/// `mappingParameter [0] MappingParameter`.
const MAPPING_PARAMETER: Tag = Tag(0xA0);
/// `algoParameter [1] AlgoParameter`.
const ALGO_PARAMETER: Tag = Tag(0xA1);
const ALGORITHM_ID: Tag = Tag(0x80);
const ALGORITHM_OPTIONS: Tag = Tag(0x81);
const KEY: Tag = Tag(0x82);
const OPC: Tag = Tag(0x83);
const MAPPING_SOURCE: Tag = Tag(0x81);

const NAME: &str = "PE-AKAParameter";

/// `algorithmID`: `milenage(1)`, `tuak(2)`, `usim-test-algorithm(3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmId {
    Milenage,
    Tuak,
    UsimTestAlgorithm,
    Other(u32),
}

impl AlgorithmId {
    fn from_value(v: u32) -> Self {
        match v {
            1 => Self::Milenage,
            2 => Self::Tuak,
            3 => Self::UsimTestAlgorithm,
            n => Self::Other(n),
        }
    }
}

/// `AlgoParameter`: the algorithm and its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgoParameter {
    pub algorithm_id: AlgorithmId,
    pub algorithm_options: u8,
    /// `key`: Ki (16 bytes; TUAK also 32).
    pub key: Secret<Vec<u8>>,
    /// `opc`: OPc (Milenage), TOPc (TUAK).
    pub opc: Secret<Vec<u8>>,
}

/// `algoConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgoConfiguration {
    /// Parameters shared with another application, named by its AID (`mappingSource`).
    MappingParameter {
        mapping_source: Vec<u8>,
    },
    AlgoParameter(AlgoParameter),
}

/// One PE-AKAParameter element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AkaParameter {
    /// Index of the element in the package.
    pub element_index: usize,
    pub algo_configuration: AlgoConfiguration,
}

impl AkaParameter {
    pub(crate) fn read(element: &ProfileElement, index: usize) -> Result<Self, ProfileError> {
        let malformed = ProfileError::malformed(index, element.offset());
        let pe = element.tlv().map_err(malformed)?;
        let missing = |field| ProfileError::MissingField { element_index: index, element: NAME, field };
        let bad = |field, reason| ProfileError::BadField { element_index: index, element: NAME, field, reason };
        let config = pe.child(ALGO_CONFIGURATION).map_err(malformed)?.ok_or(missing("algoConfiguration"))?;
        let choice = config.children().map_err(malformed)?;
        let algo_configuration = match choice.as_slice() {
            [c] if c.tag() == MAPPING_PARAMETER => {
                let source = c.child(MAPPING_SOURCE).map_err(malformed)?.ok_or(missing("mappingSource"))?;
                AlgoConfiguration::MappingParameter { mapping_source: source.value().to_vec() }
            }
            [c] if c.tag() == ALGO_PARAMETER => {
                let field = |tag, name| -> Result<Tlv<'_>, ProfileError> {
                    c.child(tag).map_err(malformed)?.ok_or(missing(name))
                };
                let algorithm_id = tree::uint(field(ALGORITHM_ID, "algorithmID")?.value())
                    .map(AlgorithmId::from_value)
                    .ok_or(bad("algorithmID", "not a non-negative INTEGER"))?;
                let algorithm_options = match field(ALGORITHM_OPTIONS, "algorithmOptions")?.value() {
                    [o] => *o,
                    _ => return Err(bad("algorithmOptions", "not one byte")),
                };
                AlgoConfiguration::AlgoParameter(AlgoParameter {
                    algorithm_id,
                    algorithm_options,
                    key: Secret::new(field(KEY, "key")?.value().to_vec()),
                    opc: Secret::new(field(OPC, "opc")?.value().to_vec()),
                })
            }
            _ => return Err(bad("algoConfiguration", "not one mappingParameter or algoParameter")),
        };
        Ok(AkaParameter { element_index: index, algo_configuration })
    }

    /// The element with `key` and/or `opc` of its algoParameter replaced (lengths must match the template's);
    /// `None` when the element maps its parameters from another application (nothing to write).
    pub(crate) fn with_keys(
        element: &ProfileElement,
        index: usize,
        key: Option<&[u8; 16]>,
        opc: Option<&[u8; 16]>,
    ) -> Result<Option<Vec<u8>>, ProfileError> {
        let malformed = ProfileError::malformed(index, element.offset());
        let pe = element.tlv().map_err(malformed)?;
        let mut edit = |t: &Tlv<'_>| -> Result<Option<Vec<u8>>, ProfileError> {
            let (new, field): (Option<&[u8; 16]>, &'static str) =
                if t.tag() == KEY { (key, "key") } else { (opc, "opc") };
            let Some(new) = new else { return Ok(None) };
            if t.value().len() != new.len() {
                return Err(ProfileError::KeyLengthMismatch {
                    element_index: index,
                    field,
                    template_len: t.value().len(),
                    new_len: new.len(),
                });
            }
            Ok(Some(tlv::encode(t.tag(), new)))
        };
        let mut bytes = pe.raw().to_vec();
        let mut replaced = 0;
        for field in [KEY, OPC] {
            let current = tlv::parse_single(&bytes).map_err(malformed)?;
            let (next, n) =
                tree::rewrite(&current, &[ALGO_CONFIGURATION, ALGO_PARAMETER, field], &mut edit, &malformed)?;
            bytes = next;
            replaced += n;
        }
        Ok((replaced > 0).then_some(bytes))
    }
}
