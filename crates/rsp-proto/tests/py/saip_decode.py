#!/usr/bin/env python3
"""Independent decoder for rspd's profile tests: decodes a SAIP unprotected profile package with the
pycrate-generated PEDefinitions module shipped in PyPI `asn1play` (TCA eUICC Profile Package v2.3.1) and prints,
as JSON, the fields rspd personalizes. Exit code 3 with a `SKIP:` line when the decoder is not installed.

Usage: saip_decode.py PACKAGE.der
"""
import json
import sys

try:
    from asn1_play.generated_code.asn1.TCA.eUICC_Profile_Package.v2_3_1.python_gen.epp.epp import PEDefinitions
except Exception as exc:  # ImportError, or a broken install
    print(f"SKIP: asn1play's SAIP PEDefinitions module cannot be imported ({exc!r}); pip install asn1play")
    sys.exit(3)


def fill_content(file_commands):
    """Concatenated fillFileContent of one File (SEQUENCE OF CHOICE), as hex."""
    return "".join(v.hex() for (k, v) in file_commands if k == "fillFileContent")


def main(path):
    data = open(path, "rb").read()
    pe = PEDefinitions.ProfileElement
    out = {"elements": [], "reencode_identical": True, "aka": [], "pins": [], "puks": []}
    offset = 0
    while offset < len(data):
        pe.from_ber(data[offset:])
        der = pe.to_ber()
        size = len(der)
        if der != data[offset:offset + size]:
            out["reencode_identical"] = False
        kind, val = pe.get_val()
        out["elements"].append(kind)
        if kind == "header":
            out["header_iccid"] = val["iccid"].hex()
        elif kind == "mf":
            out["ef_iccid"] = fill_content(val["ef-iccid"])
        elif kind == "usim":
            out["ef_imsi"] = fill_content(val["ef-imsi"])
        elif kind == "akaParameter":
            alt, algo = val["algoConfiguration"]
            if alt == "algoParameter":
                out["aka"].append({"algorithmID": algo["algorithmID"], "key": algo["key"].hex(), "opc": algo["opc"].hex()})
        elif kind == "pinCodes":
            alt, configs = val["pinCodes"]
            if alt == "pinconfig":
                out["pins"] += [{"keyReference": c["keyReference"], "pinValue": c["pinValue"].hex()} for c in configs]
        elif kind == "pukCodes":
            out["puks"] += [{"keyReference": c["keyReference"], "pukValue": c["pukValue"].hex()} for c in val["pukCodes"]]
        offset += size
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
