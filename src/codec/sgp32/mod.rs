//! SGP.32 v1.2 ESipa / eIM package types (module `SGP32Definitions`, subset in `asn1/SGP32Definitions.asn`).
